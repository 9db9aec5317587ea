/**
 * An instant's day and week in an account's time zone. Apart from periods.ts so that a type that names it
 * (the quota engine's events, in the package's declarations) does not pull in periods.ts's luxon settings.
 */
export interface Periods {
  /** The local calendar hour (`YYYY-MM-DDTHH`) of the instant: a repeated hour (DST ends) is one period of two hours. */
  hour: string
  /** Instant the local hour label changes next (exclusive). */
  hourEnd: Date
  /** The local calendar date (YYYY-MM-DD) on which the current day began. */
  day: string
  /** ISO week key (`2025-W01`) of the Monday within the current week. */
  week: string
  /** Instant the current day began (inclusive). */
  dayStart: Date
  /** Instant the next day begins (exclusive). */
  dayEnd: Date
  weekStart: Date
  weekEnd: Date
  previousDay: string
  previousWeek: string
}
