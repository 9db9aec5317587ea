/** What the resets engine needs of a store. */
import type { UnitOfWork, WriteOp } from '../shared/unit-of-work.js'
import type { ResetRecord, ResetSource, ResetType } from './types.js'

export interface ResetInput {
  account: string
  reset_type: ResetType
  source: ResetSource
  /** Period the reset opens (schedule, catch-up) or clears (manual). */
  period: string
  /** Period whose counters go in `before` when the reset does not clear (the period that just ended). */
  previous_period?: string
  timestamp: string
}

/**
 * Record a reset. `manual`: clear the counters of `period` and always record.
 * `schedule` / `catch-up`: record only when (account, reset_type, period) has no reset yet (any source),
 * in the same transaction as the ledger row, so concurrent instances record it exactly once; null when it had one.
 */
export interface RecordResetOp extends WriteOp<'resets.record', ResetRecord | null> {
  readonly input: ResetInput
}

export const recordResetOp = (input: ResetInput): RecordResetOp => ({ op: 'resets.record', input })

export interface ResetQuery {
  account?: string
  reset_type?: ResetType
  limit: number
  /** Only resets whose id is lower (cursor for the next page). */
  before?: number
}

export interface ResetReads {
  /** The newest reset of each type of the account. */
  lastResets: (account: string) => Promise<{ daily: ResetRecord | null, weekly: ResetRecord | null }>
  /** Newest first. */
  listResets: (query: ResetQuery) => Promise<ResetRecord[]>
}

export type ResetStore = ResetReads & UnitOfWork<RecordResetOp>
