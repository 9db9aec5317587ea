import type { Account } from '../../accounts/types.js'
import type { ConsumeInput, ConsumeResult, ReleaseInput } from '../../quota/store.js'
import { addUsage, firstExceeded, increments, sameZone, zoneOf } from '../../quota/rules.js'
import type { PeriodUsage, UsagePair } from '../../quota/types.js'
import { checkDayRange, checkUsageKeys, rowToUsage } from '../sql/rows.js'
import { SHARED_SQL } from '../sql/statements.js'
import type { SqliteAppliers, SqliteConn } from './index.js'

const SQL = {
  addUsage: `INSERT INTO usage (account, period, messages, images, videos) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (account, period) DO UPDATE SET
      messages = messages + excluded.messages, images = images + excluded.images, videos = videos + excluded.videos`,
  release: `UPDATE usage SET messages = max(messages - ?, 0), images = max(images - ?, 0), videos = max(videos - ?, 0)
    WHERE account = ? AND period = ?`
} as const

/** `account` reads the account as committed: inside a batch, the cache was checked when the write lock was taken. */
export function sqliteQuota (c: SqliteConn, account: (id: string) => Account | null) {
  const usage = (account: string, period: string): PeriodUsage => rowToUsage(c.get(SHARED_SQL.getPeriodUsage, account, period))

  /**
   * Inside the batch's write transaction: the account as committed (no other connection can commit while
   * this one holds the write lock), both rows, the one limit rule, both writes.
   */
  function consume (input: ConsumeInput): ConsumeResult {
    const committed = account(input.account)
    if (committed === null) return { ok: false, limit: null, account: 'missing' }
    if (!sameZone(committed, input.zone)) return { ok: false, limit: null, account: 'changed', zone: zoneOf(committed) }
    const limits = committed.limits
    const inc = increments(input.kind, input.count)
    const before: UsagePair = { day: usage(input.account, input.day), week: usage(input.account, input.week) }
    if (input.mode === 'consume') {
      const limit = firstExceeded(before, input.kind, input.count, limits)
      if (limit !== null) return { ok: false, limit, usage: before, limits }
    }
    c.run(SQL.addUsage, input.account, input.day, inc.messages, inc.images, inc.videos)
    c.run(SQL.addUsage, input.account, input.week, inc.messages, inc.images, inc.videos)
    return { ok: true, before, after: { day: addUsage(before.day, inc), week: addUsage(before.week, inc) }, limits }
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
      getUsage (account: string, day: string, week: string): UsagePair {
        checkUsageKeys(account, day, week)
        return { day: usage(account, day), week: usage(account, week) }
      },
      dayHistory (account: string, from: string, to: string) {
        checkDayRange(account, from, to)
        return c.all(SHARED_SQL.dayHistory, account, from, to, account, from, to).map(r => ({ day: String(r.day), ...rowToUsage(r) }))
      }
    },
    appliers,
    usage
  }
}
