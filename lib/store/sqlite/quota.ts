import type { Account } from '../../accounts/types.js'
import type { AccountState, ConsumeInput, ConsumeResult, ReleaseInput, UsageKeys } from '../../quota/store.js'
import { addUsage, consumeStateOf, increments, refusalOf, sameZone, zoneOf } from '../../quota/rules.js'
import type { PeriodUsage, UsagePair } from '../../quota/types.js'
import { checkDayRange, checkUsageKeys, rowToState, rowToUsage } from '../sql/rows.js'
import { SHARED_SQL } from '../sql/statements.js'
import type { SqliteAppliers, SqliteConn } from './index.js'

const SQL = {
  addUsage: `INSERT INTO usage (account, period, messages, images, videos) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (account, period) DO UPDATE SET
      messages = messages + excluded.messages, images = images + excluded.images, videos = videos + excluded.videos`,
  release: `UPDATE usage SET messages = max(messages - ?, 0), images = max(images - ?, 0), videos = max(videos - ?, 0)
    WHERE account = ? AND period = ?`,
  warmed: `INSERT INTO account_state (account, warmup_start, last_send_at) VALUES (?, ?, ?)
    ON CONFLICT (account) DO UPDATE SET warmup_start = excluded.warmup_start,
      last_send_at = max(coalesce(account_state.last_send_at, 0), excluded.last_send_at)`
} as const

/** `account` reads the account as committed: inside a batch, the cache was checked when the write lock was taken. */
export function sqliteQuota (c: SqliteConn, account: (id: string) => Account | null) {
  const usage = (account: string, period: string): PeriodUsage => rowToUsage(c.get(SHARED_SQL.getPeriodUsage, account, period))
  const state = (account: string): AccountState => rowToState(c.get(SHARED_SQL.getState, account))
  const pair = (account: string, keys: UsageKeys): UsagePair => ({ hour: usage(account, keys.hour), day: usage(account, keys.day), week: usage(account, keys.week) })

  /**
   * Inside the batch's write transaction: the account as committed (no other connection can commit while
   * this one holds the write lock), its state, the three rows, the one limit rule, the writes.
   */
  function consume (input: ConsumeInput): ConsumeResult {
    const committed = account(input.account)
    if (committed === null) return { ok: false, limit: null, account: 'missing' }
    if (!sameZone(committed, input.zone)) return { ok: false, limit: null, account: 'changed', zone: zoneOf(committed) }
    const limits = committed.limits
    const stored = state(input.account)
    const st = consumeStateOf(committed, stored, input.day, input.at)
    const inc = increments(input.kind, input.count)
    const before = pair(input.account, input)
    if (input.mode === 'consume') {
      const limit = refusalOf(before, input.kind, input.count, limits, st)
      if (limit !== null) return { ok: false, limit, usage: before, limits, state: st }
    }
    for (const period of [input.hour, input.day, input.week]) c.run(SQL.addUsage, input.account, period, inc.messages, inc.images, inc.videos)
    if (committed.warmup.enabled) c.run(SQL.warmed, input.account, st.warmup_day === 1 ? input.day : stored.warmup_start, input.at)
    return {
      ok: true,
      before,
      after: { hour: addUsage(before.hour, inc), day: addUsage(before.day, inc), week: addUsage(before.week, inc) },
      limits,
      state: st
    }
  }

  function release (input: ReleaseInput): number {
    const inc = increments(input.kind, input.count)
    let rows = 0
    for (const period of input.periods) rows += c.run(SQL.release, inc.messages, inc.images, inc.videos, input.account, period).changes
    return rows
  }

  const appliers: Pick<SqliteAppliers, 'quota.consume' | 'quota.release'> = {
    // Atomic: nothing but a broken database makes a consume throw, and then the whole batch goes.
    'quota.consume': { run: (op) => consume(op.input), atomic: true },
    'quota.release': { run: (op) => release(op.input), atomic: true }
  }

  return {
    reads: {
      getUsage (account: string, keys: UsageKeys): UsagePair {
        checkUsageKeys(account, keys)
        return pair(account, keys)
      },
      getState: state,
      dayHistory (account: string, from: string, to: string) {
        checkDayRange(account, from, to)
        return c.all(SHARED_SQL.dayHistory, account, from, to, account, from, to).map(r => ({ day: String(r.day), ...rowToUsage(r) }))
      }
    },
    appliers,
    usage,
    state
  }
}
