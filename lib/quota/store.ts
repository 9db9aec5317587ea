/** What the quota engine needs of a store. */
import type { AccountConfig } from '../accounts/types.js'
import type { UnitOfWork, WriteOp } from '../shared/unit-of-work.js'
import type { Kind, LimitName, Limits, PeriodUsage, UsagePair } from './types.js'

/** The settings that make an account's period keys: a consume counts only under keys made from the committed ones. */
export type AccountZone = Pick<AccountConfig, 'timezone' | 'reset_time' | 'week_start'>

export interface ConsumeInput {
  account: string
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
}

/**
 * Decided by the account as committed when the guarded write runs, never by a copy read earlier: a limit
 * lowered to 0 stops the next consume, and a deleted account counts nothing.
 */
export type ConsumeResult =
  | { ok: true, before: UsagePair, after: UsagePair, limits: Limits }
  /** Nothing changed. `limit` is the first limit the send would pass (`firstExceeded`). */
  | { ok: false, limit: LimitName, usage: UsagePair, limits: Limits }
  /**
   * Nothing changed: the account is gone (`missing`), or its time zone, reset time or week start are no
   * longer the ones `day` and `week` were computed with (`changed`: compute them again and retry).
   */
  | { ok: false, limit: null, account: 'missing' }
  | { ok: false, limit: null, account: 'changed', zone: AccountZone }

/** Atomic check-and-increment of every counter the kind touches (day row, then week row). */
export interface ConsumeOp extends WriteOp<'quota.consume', ConsumeResult> {
  readonly input: ConsumeInput
}

export const consumeOp = (input: ConsumeInput): ConsumeOp => ({ op: 'quota.consume', input })

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

export interface QuotaReads {
  getUsage: (account: string, day: string, week: string) => Promise<UsagePair>
  /** Day rows of the account with from <= day <= to, ascending; days without a row are absent. */
  dayHistory: (account: string, from: string, to: string) => Promise<Array<{ day: string } & PeriodUsage>>
}

export type QuotaStore = QuotaReads & UnitOfWork<ConsumeOp>
