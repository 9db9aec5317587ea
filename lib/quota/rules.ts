/**
 * The quota's pure rules: what a send counts toward, the limit rule, the views and pacing. The SQLite
 * store decides consumes with `firstExceeded` itself; the PostgreSQL function is pinned to it by the store
 * contract tests.
 */
import type { Periods } from '../periods/types.js'
import type { AccountZone } from './store.js'
import { COUNTERS, LIMIT_NAMES, LIMITS, type Delays, type Kind, type LimitName, type Limits, type PeriodUsage, type UsagePair, type UsageView } from './types.js'

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
 */
export function firstExceeded (usage: UsagePair, kind: Kind, count: number, limits: Limits): LimitName | null {
  for (const limit of LIMIT_NAMES) {
    if (LIMITS[limit].kinds.includes(kind) && used(usage, limit) + count > limits[limit]) return limit
  }
  return null
}

export function usageView (usage: UsagePair): UsageView {
  const view = {} as UsageView
  for (const limit of LIMIT_NAMES) view[LIMITS[limit].view] = used(usage, limit)
  return view
}

/** What is left under each limit; never negative (recorded sends may pass a limit). */
export function remainingView (usage: UsagePair, limits: Limits): UsageView {
  const view = {} as UsageView
  for (const limit of LIMIT_NAMES) view[LIMITS[limit].view] = Math.max(0, limits[limit] - used(usage, limit))
  return view
}

/**
 * Human-like pacing (README, "Quotas"): a uniform whole number of seconds in [min, max], doubled once half of
 * the day's messages are used and tripled from 80 %, plus the media pause for an image or a video.
 */
export function pacingDelay (delays: Delays, kind: Kind, messagesBefore: number, dailyLimit: number, random: () => number): number {
  const span = delays.max_seconds - delays.min_seconds + 1
  // Clamp so that a random() of exactly 1 (a misbehaving injected RNG) still stays within [min, max].
  const base = delays.min_seconds + Math.min(span - 1, Math.floor(random() * span))
  const share = dailyLimit > 0 ? messagesBefore / dailyLimit : 1
  const factor = share >= 0.8 ? 3 : share >= 0.5 ? 2 : 1
  return base * factor + (kind === 'text' ? 0 : delays.media_seconds)
}

/** Seconds until `end`, at least 1 so a client never retries in a busy loop. */
export function secondsUntil (end: Date, now: Date): number {
  return Math.max(1, Math.ceil((end.getTime() - now.getTime()) / 1000))
}

/** When a send refused by `limit` may be tried again: the end of that limit's period. */
export function retryAfter (limit: LimitName, p: Pick<Periods, 'dayEnd' | 'weekEnd'>, at: Date): number {
  return secondsUntil(LIMITS[limit].period === 'day' ? p.dayEnd : p.weekEnd, at)
}

/** The settings of an account that make its period keys (a consume is counted under keys made from the committed ones). */
export const zoneOf = (a: AccountZone): AccountZone => ({ timezone: a.timezone, reset_time: a.reset_time, week_start: a.week_start })

/** Whether two accounts' settings make the same period keys. */
export function sameZone (a: AccountZone, b: AccountZone): boolean {
  return a.timezone === b.timezone && a.reset_time === b.reset_time && a.week_start === b.week_start
}
