import { emptyKnowledge, withoutProduct, withProduct } from '../../knowledge/store.js'
import type { KnowledgeBase, VersionedKnowledge } from '../../knowledge/types.js'
import { num, type Row } from '../sql/rows.js'
import type { SqliteAppliers, SqliteConn } from './index.js'

const SQL = {
  get: 'SELECT version, doc FROM knowledge WHERE account = ?',
  version: 'SELECT version FROM knowledge WHERE account = ?',
  put: `INSERT INTO knowledge (account, version, doc) VALUES (?, 1, ?)
    ON CONFLICT (account) DO UPDATE SET version = version + 1, doc = excluded.doc RETURNING version`,
  update: 'UPDATE knowledge SET version = version + 1, doc = ? WHERE account = ? RETURNING version'
} as const

const toKnowledge = (row: Row): VersionedKnowledge => ({ ...(JSON.parse(String(row.doc)) as KnowledgeBase), version: num(row.version) })

/**
 * One row per account. A product change reads the document, changes it and writes it back inside the batch's
 * transaction: this store is the file's only writer, so no other change can come in between.
 */
export function sqliteKnowledge (c: SqliteConn) {
  const stored = (account: string): VersionedKnowledge | null => {
    const row = c.get(SQL.get, account)
    return row === undefined ? null : toKnowledge(row)
  }
  const write = (account: string, kb: KnowledgeBase): number => num((c.get(SQL.put, account, JSON.stringify(kb)) as Row).version)

  const appliers: Pick<SqliteAppliers, 'knowledge.put' | 'knowledge.putProduct' | 'knowledge.deleteProduct'> = {
    'knowledge.put': {
      run: ({ account, knowledge }) => write(account, knowledge),
      atomic: true
    },
    'knowledge.putProduct': {
      run: ({ account, product }) => {
        const { version: _, ...current } = stored(account) ?? { ...emptyKnowledge(), version: 0 }
        const { knowledge, created } = withProduct(current, product)
        return { created, version: write(account, knowledge) }
      },
      atomic: true
    },
    'knowledge.deleteProduct': {
      run: ({ account, id }) => {
        const found = stored(account)
        if (found === null) return { existed: false, version: 0 }
        const { version, ...current } = found
        const changed = withoutProduct(current, id)
        if (changed === null) return { existed: false, version }
        return { existed: true, version: num((c.get(SQL.update, JSON.stringify(changed), account) as Row).version) }
      },
      atomic: true
    }
  }

  return {
    reads: {
      getKnowledge: stored,
      knowledgeVersion: (account: string): number => {
        const row = c.get(SQL.version, account)
        return row === undefined ? 0 : num(row.version)
      }
    },
    appliers
  }
}
