/** Day and week periods of an account, in its time zone (README, "Quotas"). */
import { DateTime, IANAZone, Settings } from 'luxon'
import { WEEK_DAYS, type WeekStart } from '../accounts/types.js'
import type { Periods } from './types.js'

// luxon otherwise returns invalid DateTimes silently (e.g. for 'Europe/Berln').
Settings.throwOnInvalid = true
declare module 'luxon' {
  interface TSSettings {
    throwOnInvalid: true
  }
}

export interface PeriodSettings {
  timezone: string
  /** `HH:MM` local. */
  reset_time: string
  week_start: WeekStart
}

export type { Periods } from './types.js'

interface ResetTime { hour: number, minute: number }

const DAY_MS = 86_400_000

const RESET_TIME = /^([01]\d|2[0-3]):([0-5]\d)$/

export function parseResetTime (value: string): ResetTime | null {
  const m = RESET_TIME.exec(value)
  return m === null ? null : { hour: Number(m[1]), minute: Number(m[2]) }
}

/** IANA names only: luxon's normalizeZone would also take 'system', 'UTC+3' and the like. */
export function isValidTimeZone (zone: string): boolean {
  return IANAZone.isValidZone(zone)
}

/** A calendar date: luxon in UTC, where adding days is plain calendar arithmetic. */
type CalendarDate = DateTime<true>

const DATE = /^\d{4}-\d{2}-\d{2}$/

function parseDate (date: string): CalendarDate {
  // fromISO alone would also take '2026-W10' or a time; throwOnInvalid rejects '2026-02-30'.
  if (!DATE.test(date)) throw new Error(`invalid date ${JSON.stringify(date)}, expected YYYY-MM-DD`)
  return DateTime.fromISO(date, { zone: 'utc' })
}

function dateKey (date: CalendarDate): string {
  return date.toISODate()
}

function weekKey (date: CalendarDate): string {
  return `${date.weekYear}-W${String(date.weekNumber).padStart(2, '0')}`
}

export function lastDays (day: string, n: number): string[] {
  const last = parseDate(day)
  const days: string[] = []
  for (let i = n - 1; i >= 0; i--) days.push(dateKey(last.minus({ days: i })))
  return days
}

/**
 * The instant (epoch ms) date D begins: D at reset_time in the zone, or, when that wall
 * time falls in a DST gap, the first instant after the gap; in an overlap, the earlier one.
 * `ref` is any DateTime in the zone near D: luxon guesses the offset from it.
 */
function startOf (date: CalendarDate, reset: ResetTime, ref: DateTime<true>): number {
  const { year, month, day } = date
  const { hour, minute } = reset
  const dt = ref.set({ year, month, day, hour, minute, second: 0, millisecond: 0 })
  if (dt.day === day && dt.hour === hour && dt.minute === minute) {
    const ms = dt.toMillis()
    // A repeated wall time needs a change of offset within the day before the later occurrence;
    // checking for one first spares getPossibleOffsets' four Intl lookups on ordinary days.
    if (dt.zone.offset(ms - DAY_MS) === dt.offset) return ms
    // luxon picks between the occurrences by its offset guess (for fromObject: the offset today).
    return Math.min(...dt.getPossibleOffsets().map((d) => d.toMillis()))
  }
  // luxon shifts a nonexistent wall time forward by the gap's length (00:30 in a 00:00-01:00
  // gap becomes 01:30), so the transition is at most that shift before its answer.
  const shift = Date.UTC(dt.year, dt.month - 1, dt.day, dt.hour, dt.minute) - Date.UTC(year, month - 1, day, hour, minute)
  return firstWithOffset(dt.toMillis() - shift, dt.toMillis(), dt.offset, dt.zone)
}

/** Earliest instant in [lo, hi] at which the zone has `offset`, which holds at hi and from there back to it. */
function firstWithOffset (lo: number, hi: number, offset: number, zone: DateTime['zone']): number {
  if (zone.offset(lo) === offset) return lo
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2)
    if (zone.offset(mid) === offset) hi = mid
    else lo = mid
  }
  return hi
}

/** Periods kept as epoch ms, so a cached one cannot be mutated through the Dates handed out. */
interface Computed { day: string, week: string, dayStart: number, dayEnd: number, weekStart: number, weekEnd: number, previousDay: string, previousWeek: string }

// Each day boundary costs a handful of Intl offset lookups (~15 µs each on Node 20): keep the
// latest periods of each settings, since nearly every call falls in the same day as the last one.
const latest = new Map<string, Computed>()
const LATEST_MAX = 1000

export function periodsAt (instant: Date, settings: PeriodSettings): Periods {
  const t = instant.getTime()
  if (Number.isNaN(t)) throw new Error('invalid instant')
  // Only valid settings are cached, and their parts hold no '|': the key is unambiguous.
  const key = `${settings.timezone}|${settings.reset_time}|${settings.week_start}`
  let c = latest.get(key)
  if (c === undefined || t < c.dayStart || t >= c.dayEnd) {
    c = compute(t, settings)
    if (latest.size >= LATEST_MAX) latest.clear()
    latest.set(key, c)
  }
  const h = hourAt(t, settings.timezone)
  return {
    hour: h.key,
    hourEnd: new Date(h.end),
    day: c.day,
    week: c.week,
    dayStart: new Date(c.dayStart),
    dayEnd: new Date(c.dayEnd),
    weekStart: new Date(c.weekStart),
    weekEnd: new Date(c.weekEnd),
    previousDay: c.previousDay,
    previousWeek: c.previousWeek
  }
}

function compute (t: number, settings: PeriodSettings): Computed {
  const zone = IANAZone.create(settings.timezone)
  if (!zone.isValid) throw new Error(`invalid time zone ${JSON.stringify(settings.timezone)}`)
  const reset = parseResetTime(settings.reset_time)
  if (reset === null) throw new Error(`invalid reset time ${JSON.stringify(settings.reset_time)}, expected HH:MM`)
  const weekStartDay = WEEK_DAYS.indexOf(settings.week_start) + 1
  if (weekStartDay === 0) throw new Error(`invalid week start ${JSON.stringify(settings.week_start)}`)

  const local = DateTime.fromMillis(t, { zone })
  // A first guess from the wall clock; around DST changes it can be a day off, hence the checks.
  let day: CalendarDate = DateTime.utc(local.year, local.month, local.day)
  if (local.hour * 60 + local.minute < reset.hour * 60 + reset.minute) day = day.minus({ days: 1 })
  let start = startOf(day, reset, local)
  let end = startOf(day.plus({ days: 1 }), reset, local)
  // Loops, not ifs: a day can be empty (Pacific/Apia skipped 2011-12-30).
  while (t < start) {
    day = day.minus({ days: 1 })
    end = start
    start = startOf(day, reset, local)
  }
  while (t >= end) {
    day = day.plus({ days: 1 })
    start = end
    end = startOf(day.plus({ days: 1 }), reset, local)
  }

  const sinceWeekStart = (day.weekday - weekStartDay + 7) % 7
  const firstDay = day.minus({ days: sinceWeekStart })
  const weekStart = sinceWeekStart === 0 ? start : startOf(firstDay, reset, local)
  const weekEnd = sinceWeekStart === 6 ? end : startOf(firstDay.plus({ days: 7 }), reset, local)
  // Every week holds exactly one Monday: its ISO week names the week uniquely for any week_start.
  const monday = firstDay.plus({ days: (8 - weekStartDay) % 7 })

  return {
    day: dateKey(day),
    week: weekKey(monday),
    dayStart: start,
    dayEnd: end,
    weekStart,
    weekEnd,
    previousDay: dateKey(day.minus({ days: 1 })),
    previousWeek: weekKey(monday.minus({ weeks: 1 }))
  }
}

interface Hour { key: string, start: number, end: number }

// The latest hour of each zone: a handful of Intl lookups to find, and every call in the hour shares it.
const latestHours = new Map<string, Hour>()

const hourKey = (local: DateTime): string => `${local.toISODate() as string}T${String(local.hour).padStart(2, '0')}`

/**
 * The calendar hour of instant `t` in the zone and when its label changes. The label is the wall clock's:
 * when clocks go back the repeated hour is one period (two hours long), when they go forward the skipped
 * hour never begins; a change of offset inside an hour (half-hour zones) ends the label where it changes.
 */
function hourAt (t: number, timezone: string): Hour {
  const cached = latestHours.get(timezone)
  if (cached !== undefined && t >= cached.start && t < cached.end) return cached
  const zone = IANAZone.create(timezone)
  if (!zone.isValid) throw new Error(`invalid time zone ${JSON.stringify(timezone)}`)
  const key = hourKey(DateTime.fromMillis(t, { zone }))
  let from = t
  for (;;) {
    const local = DateTime.fromMillis(from, { zone })
    // The next full hour under the offset that holds at `from`.
    const next = from - ((local.minute * 60 + local.second) * 1000 + local.millisecond) + 3_600_000
    const step = zone.offset(next - 1) === local.offset ? next : firstWithOffset(from, next - 1, zone.offset(next - 1), zone)
    if (hourKey(DateTime.fromMillis(step, { zone })) !== key) {
      const hour = { key, start: t, end: step }
      if (latestHours.size >= LATEST_MAX) latestHours.clear()
      latestHours.set(timezone, hour)
      return hour
    }
    from = step
  }
}
