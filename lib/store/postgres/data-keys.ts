import type { StoredDataKey } from '../../encryption/store.js'
import { DATA_KEY_SQL, checkIndexes, dataKeyIndexSql, dataKeyValues, rowToDataKey } from '../sql/audit.js'
import { num } from '../sql/rows.js'
import { dialect } from '../sql/statements.js'
import type { PostgresAppliers, PostgresConn, Queryable } from './index.js'

async function find (q: Queryable, account: string, indexes: readonly string[]): Promise<StoredDataKey | null> {
  checkIndexes(indexes)
  const rows = await q.query(dialect.pg(dataKeyIndexSql('SELECT * FROM data_keys', indexes) + ' ORDER BY created_at, id LIMIT 1'), [account, ...indexes])
  return rows.length === 0 ? null : rowToDataKey(rows[0])
}

export function postgresDataKeys (c: PostgresConn) {
  const appliers: Pick<PostgresAppliers, 'dataKeys.ensure' | 'dataKeys.rewrap' | 'dataKeys.erase'> = {
    'dataKeys.ensure': {
      // The loser of two inserts at once waits for the winner's commit, does nothing, and reads the winner's key.
      async run (q, { key, indexes }) {
        const found = await find(q, key.account, indexes)
        if (found !== null) return found
        await q.query(dialect.pg(DATA_KEY_SQL.insert), dataKeyValues(key))
        return await find(q, key.account, [key.contact_index]) as StoredDataKey
      },
      transactional: true
    },
    'dataKeys.rewrap': {
      run: async (q, { id, from, to }) => ((await q.result(dialect.pg(DATA_KEY_SQL.rewrap), [to.wrapped, to.contact, to.contact_index, to.kid, id, from])).rowCount ?? 0) > 0
    },
    'dataKeys.erase': {
      async run (q, { account, indexes }) {
        checkIndexes(indexes)
        const rows = await q.query(dialect.pg(dataKeyIndexSql('DELETE FROM data_keys', indexes) + ' RETURNING id'), [account, ...indexes])
        return rows.map((r) => String(r.id)).sort()
      }
    }
  }

  return {
    reads: {
      async getDataKey (id: string): Promise<StoredDataKey | null> {
        const rows = await c.pool.query(dialect.pg(DATA_KEY_SQL.get), [id])
        return rows.length === 0 ? null : rowToDataKey(rows[0])
      },
      findDataKey: async (account: string, indexes: readonly string[]) => await find(c.pool, account, indexes),
      async dataKeyCounts (): Promise<Record<string, number>> {
        return Object.fromEntries((await c.pool.query(DATA_KEY_SQL.counts)).map((r) => [String(r.kid), num(r.n)]))
      },
      async dataKeyUnder (kid: string): Promise<StoredDataKey | null> {
        const rows = await c.pool.query(dialect.pg(DATA_KEY_SQL.under), [kid])
        return rows.length === 0 ? null : rowToDataKey(rows[0])
      },
      async dataKeysNotUnder (kid: string, limit: number): Promise<StoredDataKey[]> {
        return (await c.pool.query(dialect.pg(DATA_KEY_SQL.notUnder), [kid, limit])).map(rowToDataKey)
      }
    },
    appliers
  }
}
