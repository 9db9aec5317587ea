import { emptyKnowledge, withoutProduct, withProduct } from '../../knowledge/store.js'
import type { KnowledgeBase, VersionedKnowledge } from '../../knowledge/types.js'
import { num, type Row } from '../sql/rows.js'
import type { PostgresAppliers, PostgresConn, Queryable } from './index.js'

const SQL = {
  get: 'SELECT version, doc FROM knowledge WHERE account = $1',
  version: 'SELECT version FROM knowledge WHERE account = $1',
  // A whole replacement is one statement: it needs no read, so no lock beyond its own row's.
  put: `INSERT INTO knowledge (account, version, doc) VALUES ($1, 1, $2::jsonb)
    ON CONFLICT (account) DO UPDATE SET version = knowledge.version + 1, doc = excluded.doc RETURNING version`,
  // The row a product change locks: created empty at version 0 when missing, and at 1 when the transaction commits.
  ensure: 'INSERT INTO knowledge (account, version, doc) VALUES ($1, 0, $2::jsonb) ON CONFLICT (account) DO NOTHING',
  lock: 'SELECT version, doc FROM knowledge WHERE account = $1 FOR UPDATE',
  update: 'UPDATE knowledge SET version = version + 1, doc = $2::jsonb WHERE account = $1 RETURNING version'
} as const

/** pg hands jsonb back parsed. */
const toKnowledge = (row: Row): VersionedKnowledge => ({ ...(row.doc as unknown as KnowledgeBase), version: num(row.version) })

/**
 * One row per account. A product change is read-modify-write of the document under `SELECT … FOR UPDATE` in
 * one transaction, so two instances changing products of one account at once never lose either change.
 */
export function postgresKnowledge (c: PostgresConn) {
  async function locked (q: Queryable, account: string): Promise<VersionedKnowledge | null> {
    const rows = await q.query(SQL.lock, [account])
    return rows.length === 0 ? null : toKnowledge(rows[0])
  }
  const update = async (q: Queryable, account: string, kb: KnowledgeBase): Promise<number> =>
    num((await q.query(SQL.update, [account, JSON.stringify(kb)]))[0].version)

  const appliers: Pick<PostgresAppliers, 'knowledge.put' | 'knowledge.putProduct' | 'knowledge.deleteProduct'> = {
    'knowledge.put': {
      run: async (q, { account, knowledge }) => num((await q.query(SQL.put, [account, JSON.stringify(knowledge)]))[0].version)
    },
    'knowledge.putProduct': {
      transactional: true,
      async run (q, { account, product }) {
        await q.query(SQL.ensure, [account, JSON.stringify(emptyKnowledge())])
        const found = await locked(q, account)
        if (found === null) throw new Error(`store: the knowledge base of ${JSON.stringify(account)} could not be locked`)
        const { version: _, ...current } = found
        const { knowledge, created } = withProduct(current, product)
        return { created, version: await update(q, account, knowledge) }
      }
    },
    'knowledge.deleteProduct': {
      transactional: true,
      async run (q, { account, id }) {
        const found = await locked(q, account)
        if (found === null) return { existed: false, version: 0 }
        const { version, ...current } = found
        const changed = withoutProduct(current, id)
        if (changed === null) return { existed: false, version }
        return { existed: true, version: await update(q, account, changed) }
      }
    }
  }

  return {
    reads: {
      async getKnowledge (account: string): Promise<VersionedKnowledge | null> {
        const rows = await c.pool.query(SQL.get, [account])
        return rows.length === 0 ? null : toKnowledge(rows[0])
      },
      async knowledgeVersion (account: string): Promise<number> {
        const rows = await c.pool.query(SQL.version, [account])
        return rows.length === 0 ? 0 : num(rows[0].version)
      }
    },
    appliers
  }
}
