/**
 * The quota's pure rules: what a send counts toward, the limit rule, the views and pacing. The SQLite
 * store decides consumes with `firstExceeded` itself; the PostgreSQL function is pinned to it by the store
 * contract tests.
 */
import type { Periods } from '../periods/types.js'
import type { Account } from '../accounts/types.js'
import type { AccountState, AccountZone, ConsumeState } from './store.js'
import { COUNTERS, LIMIT_NAMES, LIMITS, type Delays, type Kind, type LimitName, type Limits, type PeriodUsage, type Refusal, type UsagePair, type UsageView, type Warmup } from './types.js'

export const zeroUsage = (): PeriodUsage => ({ messages: 0, images: 0, videos: 0 })

/** The counters a send of this kind adds to: every send is a message; media also count as their kind. */
export function increments (kind: Kind, count: number): PeriodUsage {
  return {
    messages: count,
    images: kind === 'image' ? count : 0,
    videos: kind === 'video' ? count : 0
  }
}

export function addUsage (a: PeriodUsage, b: PeriodUsage): PeriodUsage {
  const sum = zeroUsage()
  for (const c of COUNTERS) sum[c] = a[c] + b[c]
  return sum
}

export function subUsage (a: PeriodUsage, b: PeriodUsage): PeriodUsage {
  const diff = zeroUsage()
  for (const c of COUNTERS) diff[c] = a[c] - b[c]
  return diff
}

/** Which limits a kind touches, in the fixed order denials are reported in. */
export function limitsTouched (kind: Kind): LimitName[] {
  return LIMIT_NAMES.filter((l) => LIMITS[l].kinds.includes(kind))
}

const used = (usage: UsagePair, limit: LimitName): number => usage[LIMITS[limit].period][LIMITS[limit].counter]

/**
 * THE limit rule: the first limit that `count` sends of `kind` would pass, or null when all of them fit.
 * A limit the kind does not touch never refuses it, even when its counter is already over (through `record`).
 * `warmupCap` (or null: no warm-up) caps the day's messages right after `messages_per_day`; only where it is
 * the lower of the two does it refuse, as `warmup`.
 */
export function firstExceeded (usage: UsagePair, kind: Kind, count: number, limits: Limits, warmupCap: number | null = null): Exclude<Refusal, 'account_paused'> | null {
  for (const limit of LIMIT_NAMES) {
    if (LIMITS[limit].kinds.includes(kind) && used(usage, limit) + count > limits[limit]) return limit
    if (limit === 'messages_per_day' && warmupCap !== null && usage.day.messages + count > warmupCap) return 'warmup'
  }
  return null
}

/** After this long without a send, a warm-up starts over from its first day (README, "How quotas work"). */
export const WARMUP_IDLE_MS = 72 * 3_600_000

const DAY_MS = 86_400_000

/** Day `n` of a warm-up that began on day key `start` (1 on its first day), counted in the account's day keys. */
function warmupDayOf (start: string, day: string): number {
  return Math.max(1, Math.round((Date.parse(`${day}T00:00:00Z`) - Date.parse(`${start}T00:00:00Z`)) / DAY_MS) + 1)
}

/**
 * The day a warm-up stands on: it began on `start` (null: never) and last sent at `lastSend` (epoch ms);
 * without a send for WARMUP_IDLE_MS it stands on its first day again.
 */
export function warmupDay (state: { start: string | null, lastSend: number | null }, day: string, at: number): number {
  if (state.start === null || state.lastSend === null || at - state.lastSend > WARMUP_IDLE_MS) return 1
  return warmupDayOf(state.start, day)
}

/**
 * The warm-up's cap of the day's messages on day `n`: `start_per_day` on day 1 growing geometrically to
 * `messages_per_day` on day `days`, rounded to whole messages; null once it no longer binds (disabled, or
 * its days are over). A start above the daily limit never raises it: the lower binds.
 */
export function warmupCap (warmup: Warmup, dailyLimit: number, n: number): number | null {
  if (!warmup.enabled || n >= warmup.days) return null
  const start = warmup.start_per_day
  if (start >= dailyLimit) return null
  if (n <= 1 || start === 0) return start
  return Math.min(dailyLimit, Math.round(start * Math.pow(dailyLimit / start, (n - 1) / (warmup.days - 1))))
}

/** The end of the pause in force at `at` (epoch ms), or null: a pause that has ended is none. */
export function pausedUntil (state: Pick<AccountState, 'paused_until'>, at: number): number | null {
  return state.paused_until !== null && state.paused_until > at ? state.paused_until : null
}

/** What the account's stored state and its configuration make of a send at `at` (epoch ms) on day `day`. */
export function consumeStateOf (account: Pick<Account, 'warmup' | 'limits'>, state: AccountState, day: string, at: number): ConsumeState {
  const n = account.warmup.enabled ? warmupDay({ start: state.warmup_start, lastSend: state.last_send_at }, day, at) : 1
  return {
    warmup_day: n,
    warmup_cap: warmupCap(account.warmup, account.limits.messages_per_day, n),
    paused_until: pausedUntil(state, at),
    slow: state.slow_until !== null && state.slow_until > at
  }
}

/**
 * THE refusal rule with the account's state: a paused account is refused before any limit, then
 * `firstExceeded` under the warm-up's cap in force. Both the SQLite store and `check` decide with it; the
 * PostgreSQL function is pinned to it by the store contract tests.
 */
export function refusalOf (usage: UsagePair, kind: Kind, count: number, limits: Limits, state: Pick<ConsumeState, 'paused_until' | 'warmup_cap'>): Refusal | null {
  return state.paused_until !== null ? 'account_paused' : firstExceeded(usage, kind, count, limits, state.warmup_cap)
}

/** The limits as they bind today: the daily one lowered by the warm-up's cap (README, "How quotas work"). */
export function effectiveLimits (limits: Limits, cap: number | null): Limits {
  return cap === null ? { ...limits } : { ...limits, messages_per_day: Math.min(limits.messages_per_day, cap) }
}

export function usageView (usage: UsagePair): UsageView {
  const view = {} as UsageView
  for (const limit of LIMIT_NAMES) view[LIMITS[limit].view] = used(usage, limit)
  return view
}

/** What is left under each limit (pass the effective ones); never negative (recorded sends may pass a limit). */
export function remainingView (usage: UsagePair, limits: Limits): UsageView {
  const view = {} as UsageView
  for (const limit of LIMIT_NAMES) view[LIMITS[limit].view] = Math.max(0, limits[limit] - used(usage, limit))
  return view
}

/**
 * A standard normal draw from two uniform ones (Box–Muller). `1 - u` keeps the logarithm finite for a
 * random() of 0; a misbehaving random() outside [0, 1) is clamped into it.
 */
export function normalDraw (random: () => number): number {
  const u = Math.min(Math.max(random(), 0), 1 - Number.EPSILON)
  const v = Math.min(Math.max(random(), 0), 1)
  return Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * v)
}

/**
 * Human-shaped pacing (README, "How quotas work"): a whole number of seconds drawn from a normal
 * distribution centred in [min, max] with σ = (max − min) / 4 and clamped to it, doubled once half of the
 * day's messages are used and tripled from 80 %, doubled again while the account's health is low
 * (`slow`), plus the media pause for an image or a video.
 */
export function pacingDelay (delays: Delays, kind: Kind, messagesBefore: number, dailyLimit: number, random: () => number, slow = false): number {
  const { min_seconds: min, max_seconds: max } = delays
  const drawn = (min + max) / 2 + normalDraw(random) * (max - min) / 4
  const base = Math.min(max, Math.max(min, Math.round(drawn)))
  const share = dailyLimit > 0 ? messagesBefore / dailyLimit : 1
  const factor = (share >= 0.8 ? 3 : share >= 0.5 ? 2 : 1) * (slow ? 2 : 1)
  return base * factor + (kind === 'text' ? 0 : delays.media_seconds)
}

/** Seconds until `end`, at least 1 so a client never retries in a busy loop. */
export function secondsUntil (end: Date, now: Date): number {
  return Math.max(1, Math.ceil((end.getTime() - now.getTime()) / 1000))
}

/** When a send refused by `limit` may be tried again: the end of that limit's period (the warm-up's: the day). */
export function retryAfter (limit: Exclude<Refusal, 'account_paused'>, p: Pick<Periods, 'hourEnd' | 'dayEnd' | 'weekEnd'>, at: Date): number {
  const period = limit === 'warmup' ? 'day' : LIMITS[limit].period
  return secondsUntil(period === 'hour' ? p.hourEnd : period === 'day' ? p.dayEnd : p.weekEnd, at)
}

/** When a refusal may be tried again: the pause's end, or the end of the refusing limit's period. */
export function refusalRetry (limit: Refusal, state: Pick<ConsumeState, 'paused_until'>, p: Pick<Periods, 'hourEnd' | 'dayEnd' | 'weekEnd'>, at: Date): number {
  if (limit === 'account_paused') return secondsUntil(new Date(state.paused_until ?? at.getTime()), at)
  return retryAfter(limit, p, at)
}

/** The delay of a granted send (`pacingDelay`): its share of the day is of the daily cap in force, slowed while health is low. */
export function grantedDelay (account: Pick<Account, 'delays'>, kind: Kind, before: UsagePair, limits: Limits, state: Pick<ConsumeState, 'slow' | 'warmup_cap'>, random: () => number): number {
  return pacingDelay(account.delays, kind, before.day.messages, effectiveLimits(limits, state.warmup_cap).messages_per_day, random, state.slow)
}

/** The settings of an account that make its period keys (a consume is counted under keys made from the committed ones). */
export const zoneOf = (a: AccountZone): AccountZone => ({ timezone: a.timezone, reset_time: a.reset_time, week_start: a.week_start })

/** Whether two accounts' settings make the same period keys. */
export function sameZone (a: AccountZone, b: AccountZone): boolean {
  return a.timezone === b.timezone && a.reset_time === b.reset_time && a.week_start === b.week_start
}
