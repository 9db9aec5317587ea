/** What the health engine needs of a store. */
import type { AccountState } from '../quota/store.js'
import type { WriteOp } from '../shared/unit-of-work.js'
import type { PauseReason, StoredSignal } from './types.js'

/** The account's state after a signal, as the transaction that stored it decided it. */
export interface SignalResult {
  score: number
  /** Epoch ms, or null. */
  paused_until: number | null
  slow_until: number | null
  /** This signal paused the account (it was not paused already). */
  paused: boolean
}

/**
 * Store a signal and decide, under the account's state row lock (two instances never both miss a pause), the
 * score from the window's signals, the slow-down and the pause.
 */
export interface SignalOp extends WriteOp<'health.signal', SignalResult> {
  readonly signal: StoredSignal
}

/** Pause the account until `until` (epoch ms) for `reason`, or lift the pause (`until` null). The state before. */
export interface PauseOp extends WriteOp<'health.pause', AccountState> {
  readonly account: string
  readonly until: number | null
  readonly reason: PauseReason | null
}

export type HealthOp = SignalOp | PauseOp

export const signalOp = (signal: StoredSignal): SignalOp => ({ op: 'health.signal', signal })
export const pauseOp = (account: string, until: number | null, reason: PauseReason | null): PauseOp => ({ op: 'health.pause', account, until, reason })

export interface HealthReads {
  /** The account's signals with at >= since, newest first, at most `limit`. */
  listSignals: (account: string, since: number, limit: number) => Promise<StoredSignal[]>
}
