import type { Language } from '../knowledge/types.js'
import type { Delays, Limits, Warmup } from '../quota/types.js'

export const WEEK_DAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const
export type WeekStart = typeof WEEK_DAYS[number]
export type WeekDay = WeekStart

/** The account `default` always exists; requests that name no account use it. */
export const DEFAULT_ACCOUNT = 'default'
export const ACCOUNT_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,127}$'

export const OUTSIDE_HOURS = ['delay', 'ignore'] as const
export const ESCALATION_REPLIES = ['none', 'holding'] as const
export const AUTOMATION = ['on', 'off'] as const

/** What answers show instead of a webhook secret; sent back in a write, it keeps the stored secret. */
export const SECRET_MASK = '••••'

/** The configuration the quota engine reads: zone, day boundary, limits, pacing (also the environment's defaults). */
export interface AccountConfig {
  timezone: string
  /** Local time of day, `HH:MM`, at which days and weeks begin. */
  reset_time: string
  week_start: WeekStart
  limits: Limits
  delays: Delays
  /** A new number's ramp up to its daily limit (README, "How quotas work"). */
  warmup: Warmup
}

/** Opening hours in the account's time zone; `end` before `start` spans midnight into the next day. */
export interface ActiveHours {
  start: string
  end: string
  days: WeekDay[]
}

export interface AlertWebhook {
  url: string
  secret: string
}

/** The bot's settings of the account (README, "Account settings"). */
export interface AccountSettings {
  language: Language
  active_hours: ActiveHours | 'always'
  outside_hours: typeof OUTSIDE_HOURS[number]
  ai: { enabled: boolean, tone: string, max_length: number, temperature: number, reask: number }
  alert_numbers: string[]
  alert_webhooks: AlertWebhook[]
  escalation: { max_misunderstandings: number, sensitive_keywords: string[], reply: typeof ESCALATION_REPLIES[number] }
  forbidden_words: string[]
  allowed_domains: string[]
  human_takeover_minutes: number
  session_expiry_minutes: number
  typing: { enabled: boolean, chars_per_second: number, max_seconds: number }
  /** null: the language's default message. */
  fallback_message: string | null
  automation: typeof AUTOMATION[number]
}

/** Everything an account is configured with. */
export type AccountConfiguration = AccountConfig & AccountSettings

/** One WhatsApp number and its settings. */
export interface Account extends AccountConfiguration {
  id: string
  /** ISO 8601 instant. */
  created_at: string
}

/** A configuration as a PUT gives it: what is omitted takes the defaults; `active_hours: null` is "always". */
export type AccountInput = Partial<Omit<AccountConfiguration, 'limits' | 'delays' | 'warmup' | 'active_hours' | 'ai' | 'escalation' | 'typing'>> & {
  limits?: Partial<Limits>
  delays?: Partial<Delays>
  warmup?: Partial<Warmup>
  active_hours?: Partial<ActiveHours> | 'always' | null
  ai?: Partial<AccountSettings['ai']>
  escalation?: Partial<AccountSettings['escalation']>
  typing?: Partial<AccountSettings['typing']>
}
