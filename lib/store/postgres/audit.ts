import { DataKeyErased, linkRecord, type AuditHead, type AuditQuery, type AuditRangeQuery, type StoredAudit } from '../../audit/store.js'
import { AUDIT_SQL, auditRangeSql, auditValues, listAuditSql, pruneBound, rowToAudit, rowToHead } from '../sql/audit.js'
import { num, toIso } from '../sql/rows.js'
import { dialect } from '../sql/statements.js'
import type { PostgresAppliers, PostgresConn } from './index.js'

/**
 * The chain head row, created when missing and locked in the same statement: every append of one account waits
 * here for the one before it to commit, on whichever instance, so two appends never read the same head.
 */
const LOCK_HEAD = `INSERT INTO audit_heads (account, seq, hash) VALUES ($1, 0, NULL)
  ON CONFLICT (account) DO UPDATE SET seq = audit_heads.seq RETURNING seq, hash, checkpoint_seq, checkpoint_hash`
/** The data key must still exist, and cannot be erased before this transaction commits. */
const KEEP_DATA_KEY = 'SELECT 1 FROM data_keys WHERE id = $1 FOR KEY SHARE'
/**
 * The record and the head's move in one statement (one round trip fewer while the head is locked): the insert's
 * $1 is the account, $2 the seq and $10 the record's hash.
 */
const APPEND = `WITH appended AS (${dialect.pg(AUDIT_SQL.insert)}) UPDATE audit_heads SET seq = $2, hash = $10 WHERE account = $1`

export function postgresAudit (c: PostgresConn) {
  const appliers: Pick<PostgresAppliers, 'audit.append' | 'audit.prune'> = {
    'audit.append': {
      async run (q, { entry, data_key: dataKey }) {
        const head = rowToHead((await q.query(LOCK_HEAD, [entry.account]))[0])
        if (dataKey !== null && (await q.query(KEEP_DATA_KEY, [dataKey])).length === 0) throw DataKeyErased(dataKey)
        const record = linkRecord(head.hash, entry)
        const seq = head.seq + 1
        await q.query(APPEND, [entry.account, seq, ...auditValues(record, dataKey)])
        return { seq, hash: record.hash }
      },
      transactional: true
    },
    'audit.prune': {
      async run (q, { account, before, max }) {
        const rows = await q.query(dialect.pg(AUDIT_SQL.head) + ' FOR UPDATE', [account])
        if (rows.length === 0) return 0
        const head = rowToHead(rows[0])
        const firstKept = (await q.query(dialect.pg(AUDIT_SQL.firstKept), [account, head.checkpoint_seq, toIso(before)]))[0]?.seq
        const last = pruneBound(head.checkpoint_seq, head.seq, firstKept === null || firstKept === undefined ? null : num(firstKept), max)
        if (last <= head.checkpoint_seq) return 0
        const hash = String((await q.query(dialect.pg(AUDIT_SQL.hashAt), [account, last]))[0].hash)
        const removed = (await q.result(dialect.pg(AUDIT_SQL.prune), [account, head.checkpoint_seq, last])).rowCount ?? 0
        await q.query(dialect.pg(AUDIT_SQL.checkpoint), [last, hash, account])
        return removed
      },
      transactional: true
    }
  }

  return {
    reads: {
      async listAudit (query: AuditQuery): Promise<StoredAudit[]> {
        const { sql, params } = listAuditSql(query)
        return (await c.pool.query(dialect.pg(sql), params)).map(rowToAudit)
      },
      async auditRange (query: AuditRangeQuery): Promise<StoredAudit[]> {
        const { sql, params } = auditRangeSql(query)
        return (await c.pool.query(dialect.pg(sql), params)).map(rowToAudit)
      },
      async getAudit (id: string): Promise<StoredAudit | null> {
        const rows = await c.pool.query(dialect.pg(AUDIT_SQL.get), [id])
        return rows.length === 0 ? null : rowToAudit(rows[0])
      },
      async auditHead (account: string): Promise<AuditHead | null> {
        const rows = await c.pool.query(dialect.pg(AUDIT_SQL.head), [account])
        return rows.length === 0 ? null : rowToHead(rows[0])
      },
      async auditAccounts (): Promise<string[]> {
        return (await c.pool.query(AUDIT_SQL.accounts)).map((r) => String(r.account))
      }
    },
    appliers
  }
}
