/** What the quota engine needs of a store. */
import type { AccountConfig } from '../accounts/types.js'
import type { Periods } from '../periods/types.js'
import type { UnitOfWork, WriteOp } from '../shared/unit-of-work.js'
import type { Kind, Limits, PeriodUsage, Refusal, UsagePair } from './types.js'

/** The settings that make an account's period keys: a consume counts only under keys made from the committed ones. */
export type AccountZone = Pick<AccountConfig, 'timezone' | 'reset_time' | 'week_start'>

export interface ConsumeInput {
  account: string
  /** Local hour key, `YYYY-MM-DDTHH`. */
  hour: string
  /** Day key, `YYYY-MM-DD`. */
  day: string
  /** Week key, `YYYY-Www`. */
  week: string
  kind: Kind
  count: number
  /** `consume` refuses when a counter would pass its limit; `record` always counts (the send already happened). */
  mode: 'consume' | 'record'
  /** What `day` and `week` were computed with. The limits are not an input: the store reads the committed ones. */
  zone: AccountZone
  /** The instant of the send (epoch ms): the pause and the warm-up's idle time are judged at it. */
  at: number
}

/** What the account's state made of a consume: its warm-up day and cap, and its pause (epoch ms, or null). */
export interface ConsumeState {
  warmup_day: number
  warmup_cap: number | null
  paused_until: number | null
  /** The account's health is low: pacing doubles. */
  slow: boolean
}

/**
 * Decided by the account as committed when the guarded write runs, never by a copy read earlier: a limit
 * lowered to 0 stops the next consume, and a deleted account counts nothing.
 */
export type ConsumeResult =
  | { ok: true, before: UsagePair, after: UsagePair, limits: Limits, state: ConsumeState }
  /** Nothing changed. `limit` is `account_paused` or the first limit the send would pass (`firstExceeded`). */
  | { ok: false, limit: Refusal, usage: UsagePair, limits: Limits, state: ConsumeState }
  /**
   * Nothing changed: the account is gone (`missing`), or its time zone, reset time or week start are no
   * longer the ones `day` and `week` were computed with (`changed`: compute them again and retry).
   */
  | { ok: false, limit: null, account: 'missing' }
  | { ok: false, limit: null, account: 'changed', zone: AccountZone }

/** Atomic check-and-increment of every counter the kind touches (hour, day and week rows), and of the warm-up's state. */
export interface ConsumeOp extends WriteOp<'quota.consume', ConsumeResult> {
  readonly input: ConsumeInput
}

export const consumeOp = (input: ConsumeInput): ConsumeOp => ({ op: 'quota.consume', input })

/** The consume of `count` sends of `kind` at `at`, counted under the periods `p` of the account's zone. */
export function consumeAt (account: AccountZone & { id: string }, p: Pick<Periods, 'hour' | 'day' | 'week'>, at: Date, kind: Kind, count: number, mode: ConsumeInput['mode']): ConsumeOp {
  return consumeOp({
    account: account.id,
    hour: p.hour,
    day: p.day,
    week: p.week,
    kind,
    count,
    mode,
    zone: { timezone: account.timezone, reset_time: account.reset_time, week_start: account.week_start },
    at: at.getTime()
  })
}

/** The keys of the rows a read of the periods `p` returns. */
export const keysOf = (p: Pick<Periods, 'hour' | 'day' | 'week'>): UsageKeys => ({ hour: p.hour, day: p.day, week: p.week })

/**
 * Give back what a consume counted (a send that failed): the rows of `periods` (the day and week keys it was
 * counted under that are still current) lowered, never below 0.
 */
export interface ReleaseInput {
  account: string
  periods: readonly string[]
  kind: Kind
  count: number
}

/** The number of rows lowered. */
export interface ReleaseOp extends WriteOp<'quota.release', number> {
  readonly input: ReleaseInput
}

export const releaseOp = (input: ReleaseInput): ReleaseOp => ({ op: 'quota.release', input })

export type QuotaOp = ConsumeOp | ReleaseOp

/** The period keys of an instant whose rows a read returns. */
export type UsageKeys = Pick<ConsumeInput, 'hour' | 'day' | 'week'>

/** What is kept per account beside its counters: the pause, and the warm-up's first day and last send. */
export interface AccountState {
  /** Epoch ms, or null. */
  paused_until: number | null
  pause_reason: string | null
  /** Epoch ms until which pacing doubles (health below its threshold), or null. */
  slow_until: number | null
  /** Day key of the warm-up's first day. */
  warmup_start: string | null
  /** Epoch ms of the last send counted while warm-up was on. */
  last_send_at: number | null
}

export interface QuotaReads {
  getUsage: (account: string, keys: UsageKeys) => Promise<UsagePair>
  /** The account's pause and warm-up state; an account never paused nor warmed up reads all null. */
  getState: (account: string) => Promise<AccountState>
  /** Day rows of the account with from <= day <= to, ascending; days without a row are absent. */
  dayHistory: (account: string, from: string, to: string) => Promise<Array<{ day: string } & PeriodUsage>>
}

export type QuotaStore = QuotaReads & UnitOfWork<ConsumeOp>
