/** What is counted and limited. Every enum is one `as const` array; its union type is derived from it. */

export const KINDS = ['text', 'image', 'video'] as const
export type Kind = typeof KINDS[number]

/** In this order denials are reported: the first limit a send would pass is the one named. */
export const LIMIT_NAMES = ['messages_per_day', 'messages_per_week', 'images_per_day', 'videos_per_week', 'messages_per_hour'] as const
export type LimitName = typeof LIMIT_NAMES[number]
export type Limits = Record<LimitName, number>

/**
 * Why a consume can be refused, in the order refusals are checked: the account paused (README, "How quotas
 * work"), then the limits, with the warm-up's daily cap right after the daily limit it lowers.
 */
export const REFUSALS = ['account_paused', 'messages_per_day', 'warmup', 'messages_per_week', 'images_per_day', 'videos_per_week', 'messages_per_hour'] as const
export type Refusal = typeof REFUSALS[number]

/** A new number's daily limit grows from `start_per_day` on its first day to `messages_per_day` on day `days`. */
export interface Warmup {
  enabled: boolean
  start_per_day: number
  days: number
}

export const COUNTERS = ['messages', 'images', 'videos'] as const
/** The counters of one period (an hour, a day or a week) of one account. */
export type PeriodUsage = Record<typeof COUNTERS[number], number>

/** The counters of the periods an instant falls in (every counter is kept per hour too; only its messages are capped). */
export interface UsagePair {
  hour: PeriodUsage
  day: PeriodUsage
  week: PeriodUsage
}

/** The field names the bot's clients already read (README, "Quick start"). */
export interface UsageView {
  messages_today: number
  messages_this_week: number
  images_today: number
  videos_this_week: number
  messages_this_hour: number
}

export interface Delays {
  min_seconds: number
  max_seconds: number
  media_seconds: number
}

export interface LimitDefinition {
  /** The period whose counter the limit caps; its end is when a refusal may retry. */
  period: keyof UsagePair
  counter: keyof PeriodUsage
  /** The kinds of send the limit applies to. */
  kinds: readonly Kind[]
  /** Its field in usage and remaining views. */
  view: keyof UsageView
}

/**
 * The one table of limits: the rule (rules.ts), the views, the stores' checks and the route schemas
 * are all read from here, so a new limit is one row plus its schema column and migration.
 */
export const LIMITS: Readonly<Record<LimitName, LimitDefinition>> = {
  messages_per_day: { period: 'day', counter: 'messages', kinds: KINDS, view: 'messages_today' },
  messages_per_week: { period: 'week', counter: 'messages', kinds: KINDS, view: 'messages_this_week' },
  images_per_day: { period: 'day', counter: 'images', kinds: ['image'], view: 'images_today' },
  videos_per_week: { period: 'week', counter: 'videos', kinds: ['video'], view: 'videos_this_week' },
  messages_per_hour: { period: 'hour', counter: 'messages', kinds: KINDS, view: 'messages_this_hour' }
}
