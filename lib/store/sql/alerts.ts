/** Alerts and their deliveries as both backends store them: statements with `?`, checks, row mapping. */
import { DELIVERY_STATUSES, type AlertQuery, type AttemptedOp, type StoredAlert, type StoredDelivery } from '../../alerts/store.js'
import type { AuditActor } from '../../audit/types.js'
import { ALERT_TRIGGERS } from '../../knowledge/types.js'
import { jsonValue, num, textOrNull, toIso, type Row } from './rows.js'

const ALERT_COLUMNS = [
  'id', 'account', 'key_id', 'contact', 'trigger', 'severity', 'state', 'message', 'decision_id', 'dedupe', 'created_at', 'acknowledged_at', 'acknowledged_by'
] as const
const DELIVERY_COLUMNS = [
  'id', 'alert_id', 'account', 'url', 'status', 'attempts', 'next_attempt_at', 'claim', 'claimed_until', 'last_status', 'last_error', 'created_at', 'delivered_at'
] as const
const marks = (n: number): string => Array.from({ length: n }, () => '?').join(', ')

export const ALERT_SQL = {
  insert: `INSERT INTO alerts (${ALERT_COLUMNS.join(', ')}) VALUES (${marks(ALERT_COLUMNS.length)}) ON CONFLICT DO NOTHING RETURNING id`,
  insertDelivery: `INSERT INTO alert_deliveries (${DELIVERY_COLUMNS.join(', ')}) VALUES (${marks(DELIVERY_COLUMNS.length)})`,
  ack: 'UPDATE alerts SET acknowledged_at = ?, acknowledged_by = ? WHERE id = ? AND acknowledged_at IS NULL',
  get: 'SELECT * FROM alerts WHERE id = ?',
  deliveries: 'SELECT * FROM alert_deliveries WHERE alert_id = ? ORDER BY created_at, id',
  pending: "SELECT count(*) AS n FROM alert_deliveries WHERE status = 'pending'",
  attempted: `UPDATE alert_deliveries SET status = ?, attempts = ?, next_attempt_at = ?, last_status = ?, last_error = ?, delivered_at = ?,
    claim = NULL, claimed_until = NULL WHERE id = ? AND claim = ?`
} as const

/** The claim of due deliveries; PostgreSQL locks the rows it takes and skips the ones another claim holds. */
export function claimSql (skipLocked: boolean): string {
  return `UPDATE alert_deliveries SET claim = ?, claimed_until = ? WHERE id IN (
    SELECT id FROM alert_deliveries WHERE status = 'pending' AND next_attempt_at <= ? AND (claimed_until IS NULL OR claimed_until < ?)
    ORDER BY next_attempt_at, id LIMIT ?${skipLocked ? ' FOR UPDATE SKIP LOCKED' : ''}) RETURNING *`
}

export function listAlertsSql (q: AlertQuery): { sql: string, params: unknown[] } {
  const where = ['account = ?']
  const params: unknown[] = [q.account]
  if (q.status === 'open') where.push('acknowledged_at IS NULL')
  if (q.status === 'acknowledged') where.push('acknowledged_at IS NOT NULL')
  if (q.severity !== undefined) { where.push('severity = ?'); params.push(q.severity) }
  if (q.before !== undefined) { where.push('id < ?'); params.push(q.before) }
  params.push(q.limit)
  return { sql: `SELECT * FROM alerts WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`, params }
}

function fail (message: string): never {
  throw new TypeError(`store: ${message}`)
}
const isId = (v: unknown): v is string => typeof v === 'string' && v !== ''
const iso = (v: string | null): string | null => v === null ? null : toIso(v)

export function checkAlert (a: StoredAlert, deliveries: readonly StoredDelivery[]): void {
  if (a === null || typeof a !== 'object' || !isId(a.id) || !isId(a.account)) fail('alerts.create needs an alert with an id and an account')
  if (!(ALERT_TRIGGERS as readonly string[]).includes(a.trigger)) fail(`unknown alert trigger ${JSON.stringify(a.trigger)}`)
  if (!['critical', 'high', 'warning'].includes(a.severity)) fail(`unknown alert severity ${JSON.stringify(a.severity)}`)
  toIso(a.created_at)
  if (!Array.isArray(deliveries)) fail('alerts.create needs a list of deliveries')
  for (const d of deliveries) {
    if (!isId(d?.id) || d.alert_id !== a.id || d.account !== a.account || !isId(d.url)) fail('a delivery needs an id, its alert and account, and a url')
    checkOutcome(d)
    toIso(d.created_at)
  }
}

export function checkOutcome (o: AttemptedOp['outcome']): void {
  if (!(DELIVERY_STATUSES as readonly string[]).includes(o?.status)) fail(`unknown delivery status ${JSON.stringify(o?.status)}`)
  if (!Number.isSafeInteger(o.attempts) || o.attempts < 0) fail('attempts must be an integer >= 0')
  if ((o.status === 'pending') !== (o.next_attempt_at !== null)) fail('a pending delivery, and only one, has a next attempt')
  if (o.next_attempt_at !== null) toIso(o.next_attempt_at)
}

export function alertValues (a: StoredAlert): unknown[] {
  return [
    a.id, a.account, a.key_id, a.contact, a.trigger, a.severity, a.state, a.message, a.decision_id, a.dedupe, toIso(a.created_at),
    iso(a.acknowledged_at), a.acknowledged_by === null ? null : JSON.stringify(a.acknowledged_by)
  ]
}

export function deliveryValues (d: StoredDelivery): unknown[] {
  return [
    d.id, d.alert_id, d.account, d.url, d.status, d.attempts, iso(d.next_attempt_at), d.claim, iso(d.claimed_until), d.last_status, d.last_error,
    toIso(d.created_at), iso(d.delivered_at)
  ]
}

export function attemptedValues (id: string, claim: string, o: AttemptedOp['outcome']): unknown[] {
  return [o.status, o.attempts, iso(o.next_attempt_at), o.last_status, o.last_error, iso(o.delivered_at), id, claim]
}

export function rowToAlert (r: Row): StoredAlert {
  return {
    id: String(r.id),
    account: String(r.account),
    key_id: textOrNull(r.key_id),
    contact: textOrNull(r.contact),
    trigger: String(r.trigger) as StoredAlert['trigger'],
    severity: String(r.severity) as StoredAlert['severity'],
    state: textOrNull(r.state),
    message: textOrNull(r.message),
    decision_id: textOrNull(r.decision_id),
    dedupe: textOrNull(r.dedupe),
    created_at: String(r.created_at),
    acknowledged_at: textOrNull(r.acknowledged_at),
    acknowledged_by: r.acknowledged_by === null || r.acknowledged_by === undefined ? null : jsonValue(r.acknowledged_by) as AuditActor
  }
}

export function rowToDelivery (r: Row): StoredDelivery {
  return {
    id: String(r.id),
    alert_id: String(r.alert_id),
    account: String(r.account),
    url: String(r.url),
    status: String(r.status) as StoredDelivery['status'],
    attempts: num(r.attempts),
    next_attempt_at: textOrNull(r.next_attempt_at),
    claim: textOrNull(r.claim),
    claimed_until: textOrNull(r.claimed_until),
    last_status: r.last_status === null || r.last_status === undefined ? null : num(r.last_status),
    last_error: textOrNull(r.last_error),
    created_at: String(r.created_at),
    delivered_at: textOrNull(r.delivered_at)
  }
}
