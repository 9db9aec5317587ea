/** What the quota engine needs of a store. */
import type { UnitOfWork, WriteOp } from '../shared/unit-of-work.js'
import type { Kind, LimitName, Limits, PeriodUsage, UsagePair } from './types.js'

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
  limits: Limits
}

export type ConsumeResult =
  | { ok: true, before: UsagePair, after: UsagePair }
  /** Nothing changed. `limit` is the first limit the send would pass (`firstExceeded`). */
  | { ok: false, limit: LimitName, usage: UsagePair }

/** Atomic check-and-increment of every counter the kind touches (day row, then week row). */
export interface ConsumeOp extends WriteOp<'quota.consume', ConsumeResult> {
  readonly input: ConsumeInput
}

export const consumeOp = (input: ConsumeInput): ConsumeOp => ({ op: 'quota.consume', input })

export interface QuotaReads {
  getUsage: (account: string, day: string, week: string) => Promise<UsagePair>
  /** Day rows of the account with from <= day <= to, ascending; days without a row are absent. */
  dayHistory: (account: string, from: string, to: string) => Promise<Array<{ day: string } & PeriodUsage>>
}

export type QuotaStore = QuotaReads & UnitOfWork<ConsumeOp>
