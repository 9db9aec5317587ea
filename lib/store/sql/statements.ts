/**
 * The statements both backends run as they are, written once with `?` placeholders; `dialect.pg` numbers
 * them for PostgreSQL. Statements that differ (upserts that report creation, the batched consume, the
 * one-statement delete) stay in each backend's engine file.
 */
import type { ResetQuery } from '../../resets/store.js'
import { ACCOUNT_COLUMNS } from './rows.js'

export const RESET_COLUMNS = 'account, reset_type, source, period, timestamp, before_messages, before_images, before_videos'

export const SHARED_SQL = {
  getAccount: 'SELECT * FROM accounts WHERE id = ?',
  listAccounts: 'SELECT * FROM accounts ORDER BY id',
  insertAccount: `INSERT INTO accounts (${ACCOUNT_COLUMNS.join(', ')}) VALUES (${ACCOUNT_COLUMNS.map(() => '?').join(', ')})`,
  accountUpdates: ACCOUNT_COLUMNS.filter(c => c !== 'id' && c !== 'created_at').map(c => `${c} = excluded.${c}`).join(', '),
  clearUsage: 'UPDATE usage SET messages = 0, images = 0, videos = 0 WHERE account = ? AND period = ?',
  // A day's scheduled reset drops the account's hour rows of the dates before it: only the current hour is
  // ever read, and a day has 24 of them. Hour keys (13 characters) sort before the day keys of later dates.
  pruneHours: 'DELETE FROM usage WHERE account = ? AND length(period) = 13 AND period < ?',
  insertLedger: 'INSERT INTO reset_periods (account, reset_type, period) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
  insertReset: `INSERT INTO resets (${RESET_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
  // What was sent each day: the counters, plus what manual daily resets cleared from them (a reset
  // clears the quota, not the history). Week keys (8 characters) and hour keys (13) can sort between
  // two day keys; the length keeps them out. A row that counts nothing
  // (PostgreSQL creates a send's rows before deciding, and keeps them when it refuses) is no history.
  dayHistory: `SELECT u.period AS day, u.messages + coalesce(r.messages, 0) AS messages,
      u.images + coalesce(r.images, 0) AS images, u.videos + coalesce(r.videos, 0) AS videos
    FROM usage u LEFT JOIN (
      SELECT period, sum(before_messages) AS messages, sum(before_images) AS images, sum(before_videos) AS videos
      FROM resets WHERE account = ? AND reset_type = 'daily' AND source = 'manual' AND period >= ? AND period <= ? GROUP BY period
    ) r ON r.period = u.period
    WHERE u.account = ? AND u.period >= ? AND u.period <= ? AND length(u.period) = 10
      AND (u.messages + u.images + u.videos > 0 OR r.period IS NOT NULL) ORDER BY u.period`,
  createKey: 'INSERT INTO api_keys (id, name, role, account, digest, created_at) VALUES (?, ?, ?, ?, ?, ?)',
  listKeys: 'SELECT id, name, role, account, created_at, last_used_at FROM api_keys WHERE revoked_at IS NULL ORDER BY created_at, id',
  findKey: 'SELECT * FROM api_keys WHERE digest = ?',
  revokeKey: 'UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL',
  touchKey: 'UPDATE api_keys SET last_used_at = ? WHERE id = ?',
  getPeriodUsage: 'SELECT messages, images, videos FROM usage WHERE account = ? AND period = ?',
  getState: 'SELECT paused_until, pause_reason, slow_until, warmup_start, last_send_at FROM account_state WHERE account = ?'
} as const

/** The reset listing: its filters, newest first, `limit` last. */
export function listResetsSql (q: ResetQuery): { sql: string, params: unknown[] } {
  const where: string[] = []
  const params: unknown[] = []
  if (q.account !== undefined) { where.push('account = ?'); params.push(q.account) }
  if (q.reset_type !== undefined) { where.push('reset_type = ?'); params.push(q.reset_type) }
  if (q.before !== undefined) { where.push('id < ?'); params.push(q.before) }
  params.push(q.limit)
  return { sql: `SELECT * FROM resets${where.length > 0 ? ' WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC LIMIT ?`, params }
}

const numbered = new Map<string, string>()

export const dialect = {
  /** `?` placeholders as PostgreSQL's `$1, $2, …` (none of these statements has a `?` in a literal). */
  pg (sql: string): string {
    let out = numbered.get(sql)
    if (out === undefined) {
      let n = 0
      out = sql.replace(/\?/g, () => `$${++n}`)
      if (numbered.size < 1000) numbered.set(sql, out)
    }
    return out
  }
}
