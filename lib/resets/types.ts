import type { PeriodUsage } from '../quota/types.js'

export const RESET_TYPES = ['daily', 'weekly'] as const
export type ResetType = typeof RESET_TYPES[number]
export const RESET_SOURCES = ['schedule', 'catch-up', 'manual'] as const
export type ResetSource = typeof RESET_SOURCES[number]

export interface ResetRecord {
  id: number
  account: string
  reset_type: ResetType
  source: ResetSource
  /** The period the reset opens or clears: `2026-01-18` or `2026-W03`. */
  period: string
  /** ISO 8601 instant. */
  timestamp: string
  /** The counters of the period before the reset cleared them (manual) or of the period that ended (schedule, catch-up). */
  before: PeriodUsage
}

export interface ResetView {
  reset_type: ResetType
  timestamp: string
  accounts: string[]
}
