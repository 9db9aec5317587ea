/** The health score's pure rules (README, "How quotas work"). */
import { pausedUntil } from '../quota/rules.js'
import type { AccountState } from '../quota/store.js'
import { PAUSE_BELOW, PAUSE_MS, SIGNAL_COSTS, SIGNAL_WINDOW_MS, SLOW_BELOW, type PauseReason, type SignalType } from './types.js'

export interface ScoredSignal { type: SignalType, at: number }

/** What the signals still cost at `at`: each one's points halved every half-life since it came. */
function cost (signals: readonly ScoredSignal[], at: number): number {
  let total = 0
  for (const s of signals) {
    const age = Math.max(0, at - s.at)
    if (age > SIGNAL_WINDOW_MS) continue
    const { points, half_life_hours: half } = SIGNAL_COSTS[s.type]
    total += points * Math.pow(0.5, age / (half * 3_600_000))
  }
  return total
}

/** The score at `at`, a whole number from 0 to 100. */
export function healthScore (signals: readonly ScoredSignal[], at: number): number {
  return Math.max(0, Math.min(100, Math.floor(100 - cost(signals, at))))
}

/**
 * The first instant (to the second) from `at` on at which the score is back to `threshold` or above, with no
 * new signal; `at` itself when it already is. Costs only fade, so the score only rises: a search is exact.
 */
export function recoversAt (signals: readonly ScoredSignal[], at: number, threshold: number): number {
  if (healthScore(signals, at) >= threshold) return at
  let lo = at
  let hi = at + SIGNAL_WINDOW_MS
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2)
    if (healthScore(signals, mid) >= threshold) hi = mid
    else lo = mid
  }
  return Math.ceil(hi / 1000) * 1000
}

/** What the score means for the number, in a sentence an owner can act on. */
export function advice (score: number, paused: boolean): string {
  if (paused) return 'Paused: no message is sent until the pause ends. Check the number in WhatsApp and send nothing by hand in bulk meanwhile.'
  if (score < PAUSE_BELOW) return 'Critical: one more signal pauses the number. Stop campaigns and answer only customers who wrote first.'
  if (score < SLOW_BELOW) return 'At risk: pacing is doubled. Send fewer messages and avoid contacts who never wrote.'
  if (score < 90) return 'Recovering: recent signals still count against the number; they fade within hours to days.'
  return 'Healthy.'
}

/**
 * What a signal makes of the account's state, given every signal of the window (itself included): the score,
 * pacing slowed until the score is back to SLOW_BELOW, and a pause of PAUSE_MS when it fell below PAUSE_BELOW,
 * unless a pause by the score is in force already (one alert per pause). A shorter pause by hand becomes the
 * score's hour: a manual pause never shortens what the score asks for.
 */
export function afterSignal (state: AccountState, signals: readonly ScoredSignal[], at: number): {
  score: number
  paused_until: number | null
  pause_reason: PauseReason | string | null
  slow_until: number | null
  paused: boolean
} {
  const score = healthScore(signals, at)
  const slow = score < SLOW_BELOW ? Math.max(state.slow_until ?? 0, recoversAt(signals, at, SLOW_BELOW)) : state.slow_until
  const inForce = pausedUntil(state, at)
  if (score < PAUSE_BELOW && !(inForce !== null && state.pause_reason === 'health')) {
    return { score, paused_until: Math.max(at + PAUSE_MS, inForce ?? 0), pause_reason: 'health', slow_until: slow, paused: true }
  }
  return { score, paused_until: state.paused_until, pause_reason: state.pause_reason, slow_until: slow, paused: false }
}
