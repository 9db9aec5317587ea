import type { StoredDataKey } from '../../encryption/store.js'
import { DATA_KEY_SQL, checkIndexes, dataKeyIndexSql, dataKeyValues, rowToDataKey } from '../sql/audit.js'
import { num } from '../sql/rows.js'
import type { SqliteAppliers, SqliteConn } from './index.js'

export function sqliteDataKeys (c: SqliteConn) {
  const find = (account: string, indexes: readonly string[]): StoredDataKey | null => {
    checkIndexes(indexes)
    const row = c.get(dataKeyIndexSql('SELECT * FROM data_keys', indexes) + ' ORDER BY created_at, id LIMIT 1', account, ...indexes)
    return row === undefined ? null : rowToDataKey(row)
  }

  const appliers: Pick<SqliteAppliers, 'dataKeys.ensure' | 'dataKeys.rewrap' | 'dataKeys.erase'> = {
    'dataKeys.ensure': {
      run: ({ key, indexes }) => {
        const found = find(key.account, indexes)
        if (found !== null) return found
        c.run(DATA_KEY_SQL.insert, ...dataKeyValues(key))
        return find(key.account, [key.contact_index]) as StoredDataKey
      }
    },
    'dataKeys.rewrap': {
      run: ({ id, from, to }) => c.run(DATA_KEY_SQL.rewrap, to.wrapped, to.contact, to.contact_index, to.kid, id, from).changes > 0,
      atomic: true
    },
    'dataKeys.erase': {
      run: ({ account, indexes }) => {
        checkIndexes(indexes)
        return c.all(dataKeyIndexSql('DELETE FROM data_keys', indexes) + ' RETURNING id', account, ...indexes).map((r) => String(r.id)).sort()
      },
      atomic: true
    }
  }

  return {
    reads: {
      getDataKey: (id: string): StoredDataKey | null => {
        const row = c.get(DATA_KEY_SQL.get, id)
        return row === undefined ? null : rowToDataKey(row)
      },
      findDataKey: find,
      dataKeyCounts: (): Record<string, number> => Object.fromEntries(c.all(DATA_KEY_SQL.counts).map((r) => [String(r.kid), num(r.n)])),
      dataKeyUnder: (kid: string): StoredDataKey | null => {
        const row = c.get(DATA_KEY_SQL.under, kid)
        return row === undefined ? null : rowToDataKey(row)
      },
      dataKeysNotUnder: (kid: string, limit: number): StoredDataKey[] => c.all(DATA_KEY_SQL.notUnder, kid, limit).map(rowToDataKey)
    },
    appliers
  }
}
