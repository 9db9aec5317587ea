/**
 * The audit records and data keys as both backends store them: the statements written once with `?`
 * placeholders (`dialect.pg` numbers them), the listing's filters, and the row mapping.
 *
 * A record is its columns (`id`, `account`, `timestamp`, `type`, `action`: the ones filtered on) and `body`,
 * the JSON text of every other field, exactly as hashed. A record read back is rebuilt from all of them, so an
 * edit of any column, the filtered ones included, shows in `verify`. `data_key` is a lookup column only (which
 * contact's key the texts are under); it is not part of the record.
 */
import type { AuditHead, AuditQuery, AuditRangeQuery, StoredAudit } from '../../audit/store.js'
import { AUDIT_TYPES, type AuditEntry, type AuditRecord } from '../../audit/types.js'
import type { StoredDataKey } from '../../encryption/store.js'
import { num, toIso, type Row } from './rows.js'

const COLUMN_FIELDS = new Set(['id', 'account', 'timestamp', 'type', 'action', 'prev_hash', 'hash'])

export const AUDIT_SQL = {
  insert: 'INSERT INTO audit_records (account, seq, id, timestamp, type, action, data_key, body, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  get: 'SELECT * FROM audit_records WHERE id = ?',
  head: 'SELECT seq, hash, checkpoint_seq, checkpoint_hash FROM audit_heads WHERE account = ?',
  accounts: 'SELECT account FROM audit_heads ORDER BY account',
  /** The first record retention keeps: the oldest at or after the cut-off. */
  firstKept: 'SELECT min(seq) AS seq FROM audit_records WHERE account = ? AND seq > ? AND timestamp >= ?',
  hashAt: 'SELECT hash FROM audit_records WHERE account = ? AND seq = ?',
  prune: 'DELETE FROM audit_records WHERE account = ? AND seq > ? AND seq <= ?',
  checkpoint: 'UPDATE audit_heads SET checkpoint_seq = ?, checkpoint_hash = ? WHERE account = ?',
  dataKeyExists: 'SELECT 1 AS found FROM data_keys WHERE id = ?'
} as const

export const DATA_KEY_SQL = {
  get: 'SELECT * FROM data_keys WHERE id = ?',
  insert: `INSERT INTO data_keys (id, account, contact_index, contact, wrapped, kid, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (account, contact_index) DO NOTHING`,
  counts: 'SELECT kid, count(*) AS n FROM data_keys GROUP BY kid ORDER BY kid',
  notUnder: 'SELECT * FROM data_keys WHERE kid <> ? ORDER BY id LIMIT ?',
  under: 'SELECT * FROM data_keys WHERE kid = ? ORDER BY id LIMIT 1',
  rewrap: 'UPDATE data_keys SET wrapped = ?, contact = ?, contact_index = ?, kid = ? WHERE id = ? AND wrapped = ?'
} as const

/** `account = ? AND contact_index IN (?, …)`, for one index list. */
export function dataKeyIndexSql (head: string, indexes: readonly string[]): string {
  return `${head} WHERE account = ? AND contact_index IN (${indexes.map(() => '?').join(', ')})`
}

export function checkIndexes (indexes: readonly string[]): void {
  if (!Array.isArray(indexes) || indexes.length === 0 || indexes.some((i) => typeof i !== 'string')) {
    throw new TypeError('store: a data key lookup needs a non-empty list of indexes')
  }
}

function filters (q: { account: string, from?: string, to?: string }): { where: string[], params: unknown[] } {
  const where = ['account = ?']
  const params: unknown[] = [q.account]
  if (q.from !== undefined) { where.push('timestamp >= ?'); params.push(toIso(q.from)) }
  if (q.to !== undefined) { where.push('timestamp <= ?'); params.push(toIso(q.to)) }
  return { where, params }
}

/** The listing: its filters, newest first (by chain position), `limit` last. */
export function listAuditSql (q: AuditQuery): { sql: string, params: unknown[] } {
  const { where, params } = filters(q)
  if (q.type !== undefined) { where.push('type = ?'); params.push(q.type) }
  if (q.action !== undefined) { where.push('action = ?'); params.push(q.action) }
  if (q.data_keys !== undefined) {
    if (q.data_keys.length === 0) where.push('1 = 0')
    else { where.push(`data_key IN (${q.data_keys.map(() => '?').join(', ')})`); params.push(...q.data_keys) }
  }
  if (q.before_seq !== undefined) { where.push('seq < ?'); params.push(q.before_seq) }
  params.push(q.limit)
  return { sql: `SELECT * FROM audit_records WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT ?`, params }
}

/** Oldest first, after a chain position (export and verify page through an account with it). */
export function auditRangeSql (q: AuditRangeQuery): { sql: string, params: unknown[] } {
  const { where, params } = filters(q)
  where.push('seq > ?')
  params.push(q.after_seq)
  if (q.until_seq !== undefined) { where.push('seq <= ?'); params.push(q.until_seq) }
  params.push(q.limit)
  return { sql: `SELECT * FROM audit_records WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ?`, params }
}

export function checkAuditEntry (entry: AuditEntry): void {
  if (entry === null || typeof entry !== 'object') throw new TypeError('store: audit.append needs an entry')
  for (const name of ['id', 'account', 'timestamp', 'type'] as const) {
    if (typeof entry[name] !== 'string' || entry[name] === '') throw new TypeError(`store: an audit entry needs ${name}`)
  }
  if (!(AUDIT_TYPES as readonly string[]).includes(entry.type)) throw new TypeError(`store: unknown audit type ${JSON.stringify(entry.type)}`)
  if (toIso(entry.timestamp) !== entry.timestamp) throw new TypeError('store: an audit timestamp is ISO 8601 with milliseconds, UTC')
}

/** The columns of a linked record, in `AUDIT_SQL.insert` order after (account, seq). */
export function auditValues (record: AuditRecord, dataKey: string | null): unknown[] {
  const body: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(record)) {
    if (!COLUMN_FIELDS.has(key) && value !== undefined && value !== null) body[key] = value
  }
  return [record.id, record.timestamp, record.type, record.action ?? null, dataKey, JSON.stringify(body), record.prev_hash, record.hash]
}

export function rowToAudit (row: Row): StoredAudit {
  const body = JSON.parse(String(row.body)) as Record<string, unknown>
  const record: Record<string, unknown> = {
    ...body,
    id: String(row.id),
    timestamp: String(row.timestamp),
    account: String(row.account),
    type: String(row.type),
    prev_hash: String(row.prev_hash),
    hash: String(row.hash),
    seq: num(row.seq)
  }
  if (row.action !== null && row.action !== undefined) record.action = String(row.action)
  return record as unknown as StoredAudit
}

export function rowToDataKey (row: Row): StoredDataKey {
  return {
    id: String(row.id),
    account: String(row.account),
    contact_index: String(row.contact_index),
    contact: row.contact === null || row.contact === undefined ? null : String(row.contact),
    wrapped: String(row.wrapped),
    kid: String(row.kid),
    created_at: String(row.created_at)
  }
}

export function dataKeyValues (k: StoredDataKey): unknown[] {
  return [k.id, k.account, k.contact_index, k.contact, k.wrapped, k.kid, toIso(k.created_at)]
}

/** The retention cut: records after `checkpoint` up to the last one older than `before`, at most `max` of them. */
export function pruneBound (checkpoint: number, head: number, firstKept: number | null, max: number): number {
  const last = (firstKept ?? head + 1) - 1
  return Math.min(last, checkpoint + max)
}

export const rowToHead = (row: Row): AuditHead => ({
  seq: num(row.seq),
  hash: row.hash === null ? null : String(row.hash),
  checkpoint_seq: num(row.checkpoint_seq),
  checkpoint_hash: row.checkpoint_hash === null ? null : String(row.checkpoint_hash)
})
