/** Ban signals and the account's health (README, "How quotas work"). */

/** What a gateway sees from WhatsApp: Baileys' 401/403/463 codes, repeated send failures, reports. */
export const SIGNAL_TYPES = ['disconnected', 'logged_out', 'rate_limited', 'send_failed', 'blocked_by_contact', 'reported', 'forbidden'] as const
export type SignalType = typeof SIGNAL_TYPES[number]

/**
 * What each signal costs the score (from 100), and how fast the cost fades: halved every `half_life_hours`.
 * A lost connection is common and soon forgotten; a report or a 403 means WhatsApp is looking at the number.
 */
export const SIGNAL_COSTS: Readonly<Record<SignalType, { points: number, half_life_hours: number }>> = {
  disconnected: { points: 5, half_life_hours: 1 },
  send_failed: { points: 5, half_life_hours: 6 },
  rate_limited: { points: 20, half_life_hours: 12 },
  blocked_by_contact: { points: 10, half_life_hours: 24 },
  logged_out: { points: 40, half_life_hours: 24 },
  reported: { points: 30, half_life_hours: 48 },
  forbidden: { points: 50, half_life_hours: 48 }
}

/** Below this score pacing doubles. */
export const SLOW_BELOW = 60
/** Below this score a signal pauses the account for PAUSE_MS. */
export const PAUSE_BELOW = 30
export const PAUSE_MS = 3_600_000
/** Signals older than this no longer count (their cost has faded to almost nothing) and are not listed. */
export const SIGNAL_WINDOW_MS = 14 * 86_400_000

export const PAUSE_REASONS = ['health', 'manual'] as const
export type PauseReason = typeof PAUSE_REASONS[number]

/** One signal as stored: `detail` (free text from the gateway, which may name a contact) sealed under the account's data key. */
export interface StoredSignal {
  id: string
  account: string
  type: SignalType
  /** Epoch ms. */
  at: number
  key_id: string | null
  detail: string | null
}
