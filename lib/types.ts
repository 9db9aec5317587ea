/** Domain types shared by the quota rules, the stores and the service. */

export type Kind = 'text' | 'image' | 'video'
export const KINDS: readonly Kind[] = ['text', 'image', 'video']

export type WeekStart = 'monday' | 'tuesday' | 'wednesday' | 'thursday' | 'friday' | 'saturday' | 'sunday'
export const WEEK_DAYS: readonly WeekStart[] = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday']

export type LimitName = 'messages_per_day' | 'messages_per_week' | 'images_per_day' | 'videos_per_week'
export const LIMIT_NAMES: readonly LimitName[] = ['messages_per_day', 'messages_per_week', 'images_per_day', 'videos_per_week']

export type Limits = Record<LimitName, number>

export interface Delays {
  min_seconds: number
  max_seconds: number
  media_seconds: number
}

export interface AccountConfig {
  timezone: string
  /** Local time of day, `HH:MM`, at which days and weeks begin. */
  reset_time: string
  week_start: WeekStart
  limits: Limits
  delays: Delays
}

export interface Account extends AccountConfig {
  id: string
  /** ISO 8601 instant. */
  created_at: string
}

/** The counters of one period (a day or a week) of one account. */
export interface PeriodUsage {
  messages: number
  images: number
  videos: number
}

export type ResetType = 'daily' | 'weekly'
export type ResetSource = 'schedule' | 'catch-up' | 'manual'

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

export type Role = 'admin' | 'agent'

export interface ApiKeyRecord {
  id: string
  name: string
  role: Role
  account: string | null
  created_at: string
  last_used_at: string | null
}
