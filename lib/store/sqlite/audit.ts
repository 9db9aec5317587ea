import { DataKeyErased, linkRecord, type AuditHead, type AuditQuery, type AuditRangeQuery, type StoredAudit } from '../../audit/store.js'
import { AUDIT_SQL, auditRangeSql, auditValues, listAuditSql, pruneBound, rowToAudit, rowToHead } from '../sql/audit.js'
import { num, toIso, type Row } from '../sql/rows.js'
import type { SqliteAppliers, SqliteConn } from './index.js'

const UPSERT_HEAD = `INSERT INTO audit_heads (account, seq, hash) VALUES (?, ?, ?)
  ON CONFLICT (account) DO UPDATE SET seq = excluded.seq, hash = excluded.hash`

/**
 * Appends read the head, link, insert and move the head inside the batch's write transaction: this store is
 * the file's only writer while it holds the lock, so no other append can read the same head.
 */
export function sqliteAudit (c: SqliteConn) {
  const head = (account: string): AuditHead | null => {
    const row = c.get(AUDIT_SQL.head, account)
    return row === undefined ? null : rowToHead(row)
  }

  const appliers: Pick<SqliteAppliers, 'audit.append' | 'audit.prune'> = {
    'audit.append': {
      run: ({ entry, data_key: dataKey }) => {
        if (dataKey !== null && c.get(AUDIT_SQL.dataKeyExists, dataKey) === undefined) throw DataKeyErased(dataKey)
        const current = head(entry.account)
        const record = linkRecord(current?.hash ?? null, entry)
        const seq = (current?.seq ?? 0) + 1
        c.run(AUDIT_SQL.insert, entry.account, seq, ...auditValues(record, dataKey))
        c.run(UPSERT_HEAD, entry.account, seq, record.hash)
        return { seq, hash: record.hash }
      }
    },
    'audit.prune': {
      run: ({ account, before, max }) => {
        const current = head(account)
        if (current === null) return 0
        const firstKept = c.get(AUDIT_SQL.firstKept, account, current.checkpoint_seq, toIso(before))?.seq
        const last = pruneBound(current.checkpoint_seq, current.seq, firstKept === null || firstKept === undefined ? null : num(firstKept), max)
        if (last <= current.checkpoint_seq) return 0
        const hash = String((c.get(AUDIT_SQL.hashAt, account, last) as Row).hash)
        const removed = c.run(AUDIT_SQL.prune, account, current.checkpoint_seq, last).changes
        c.run(AUDIT_SQL.checkpoint, last, hash, account)
        return removed
      }
    }
  }

  return {
    reads: {
      listAudit: (q: AuditQuery): StoredAudit[] => {
        const { sql, params } = listAuditSql(q)
        return c.all(sql, ...params).map(rowToAudit)
      },
      auditRange: (q: AuditRangeQuery): StoredAudit[] => {
        const { sql, params } = auditRangeSql(q)
        return c.all(sql, ...params).map(rowToAudit)
      },
      getAudit: (id: string): StoredAudit | null => {
        const row = c.get(AUDIT_SQL.get, id)
        return row === undefined ? null : rowToAudit(row)
      },
      auditHead: head,
      auditAccounts: (): string[] => c.all(AUDIT_SQL.accounts).map((r) => String(r.account))
    },
    appliers
  }
}
