/** The health engine's statements and checks, shared by both backends (`dialect.pg` numbers them for PostgreSQL). */
import type { PauseOp, SignalOp } from '../../health/store.js'
import { PAUSE_REASONS, SIGNAL_TYPES, type StoredSignal } from '../../health/types.js'
import { num, textOrNull, type Row } from './rows.js'
import { SHARED_SQL } from './statements.js'

export const HEALTH_SQL = {
  ensureState: 'INSERT INTO account_state (account) VALUES (?) ON CONFLICT (account) DO NOTHING',
  // The quota's read of the state (SHARED_SQL.getState), here to be locked in PostgreSQL's transaction.
  state: SHARED_SQL.getState,
  insertSignal: 'INSERT INTO account_signals (id, account, type, at, key_id, detail) VALUES (?, ?, ?, ?, ?, ?)',
  window: 'SELECT type, at FROM account_signals WHERE account = ? AND at >= ?',
  // Each signal takes the account's signals that no longer count with it: they never pile up.
  forget: 'DELETE FROM account_signals WHERE account = ? AND at < ?',
  setHealth: 'UPDATE account_state SET paused_until = ?, pause_reason = ?, slow_until = ? WHERE account = ?',
  setPause: 'UPDATE account_state SET paused_until = ?, pause_reason = ? WHERE account = ?',
  list: 'SELECT * FROM account_signals WHERE account = ? AND at >= ? ORDER BY at DESC, id DESC LIMIT ?'
} as const

export const signalValues = (s: StoredSignal): unknown[] => [s.id, s.account, s.type, s.at, s.key_id, s.detail]

export function rowToSignal (r: Row): StoredSignal {
  return { id: String(r.id), account: String(r.account), type: String(r.type) as StoredSignal['type'], at: num(r.at), key_id: textOrNull(r.key_id), detail: textOrNull(r.detail) }
}

export function checkSignalOp (op: SignalOp): void {
  const s = op.signal
  if (s === null || typeof s !== 'object' || typeof s.id !== 'string' || s.id === '' || typeof s.account !== 'string' || s.account === '') {
    throw new TypeError('store: a signal needs an id and an account')
  }
  if (!(SIGNAL_TYPES as readonly string[]).includes(s.type)) throw new TypeError(`store: unknown signal type ${JSON.stringify(s.type)}`)
  if (!Number.isSafeInteger(s.at)) throw new TypeError('store: a signal\'s at is epoch milliseconds')
  if ((s.detail === null) !== (s.key_id === null)) throw new TypeError('store: a signal\'s detail is sealed under a data key')
}

export function checkPauseOp (op: PauseOp): void {
  if (typeof op.account !== 'string' || op.account === '') throw new TypeError('store: health.pause needs an account')
  if (op.until !== null && !Number.isSafeInteger(op.until)) throw new TypeError('store: health.pause\'s until is epoch milliseconds or null')
  if ((op.until === null) !== (op.reason === null) || (op.reason !== null && !(PAUSE_REASONS as readonly string[]).includes(op.reason))) {
    throw new TypeError('store: a pause has a reason, a resume none')
  }
}
