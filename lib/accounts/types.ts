import type { Delays, Limits } from '../quota/types.js'

export const WEEK_DAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const
export type WeekStart = typeof WEEK_DAYS[number]

/** The account `default` always exists; requests that name no account use it. */
export const DEFAULT_ACCOUNT = 'default'
export const ACCOUNT_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,127}$'

export interface AccountConfig {
  timezone: string
  /** Local time of day, `HH:MM`, at which days and weeks begin. */
  reset_time: string
  week_start: WeekStart
  limits: Limits
  delays: Delays
}

/** One WhatsApp number and its settings. */
export interface Account extends AccountConfig {
  id: string
  /** ISO 8601 instant. */
  created_at: string
}

/** A configuration as a PUT gives it: what is omitted takes the defaults. */
export type AccountInput = Partial<Omit<AccountConfig, 'limits' | 'delays'>> & {
  limits?: Partial<Limits>
  delays?: Partial<Delays>
}
