/** Whether an account is within its active hours, in its time zone (README, "Account settings"). */
import { DateTime, IANAZone, type Zone } from 'luxon'
import { parseResetTime } from '../periods/periods.js'
import { WEEK_DAYS, type AccountConfiguration } from './types.js'

export type Opening = { open: true } | { open: false, opens_at: Date }

interface WallTime { hour: number, minute: number }
/** A calendar date: luxon in UTC, where adding days is plain calendar arithmetic. */
type CalendarDate = DateTime<true>

const DAY_MS = 86_400_000
/** Enough days to pass any week of listed days, a skipped calendar day included. */
const SEARCH_DAYS = 10

/**
 * The instant `date` shows `time` in the zone. A wall time that does not exist (a DST gap) is the jump
 * itself, the first instant after the gap; one that happens twice (an overlap) is its first occurrence.
 */
function instantOf (date: CalendarDate, time: WallTime, zone: Zone): number {
  const { year, month, day } = date
  const { hour, minute } = time
  const dt = DateTime.fromObject({ year, month, day, hour, minute }, { zone })
  const ms = dt.toMillis()
  if (dt.day === day && dt.hour === hour && dt.minute === minute) {
    // Offsets equal a day either side: no overlap, and getPossibleOffsets' Intl lookups are spared.
    if (zone.offset(ms - DAY_MS) === dt.offset && zone.offset(ms + DAY_MS) === dt.offset) return ms
    return Math.min(...dt.getPossibleOffsets().map((d) => d.toMillis()))
  }
  // luxon moves a skipped wall time forward by the gap's length, so the jump is at most that far back.
  const shift = Date.UTC(dt.year, dt.month - 1, dt.day, dt.hour, dt.minute) - Date.UTC(year, month - 1, day, hour, minute)
  let lo = ms - shift
  let hi = ms
  if (zone.offset(lo) === dt.offset) return lo
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2)
    if (zone.offset(mid) === dt.offset) hi = mid
    else lo = mid
  }
  return hi
}

/**
 * Open at `at`, or when it next opens. A span runs from `start` on each listed day to the next `end`: on
 * the same day, or on the next one when `end` is before `start` (22:00-06:00 of a Friday ends on Saturday).
 * Every boundary is a wall time of its own calendar day, so a DST change moves it as the clocks move.
 */
export function activeAt (account: Pick<AccountConfiguration, 'timezone' | 'active_hours'>, at: Date): Opening {
  const hours = account.active_hours
  if (hours === 'always') return { open: true }
  const t = at.getTime()
  if (Number.isNaN(t)) throw new Error('invalid instant')
  const zone = IANAZone.create(account.timezone)
  if (!zone.isValid) throw new Error(`invalid time zone ${JSON.stringify(account.timezone)}`)
  const start = parseResetTime(hours.start)
  const end = parseResetTime(hours.end)
  if (start === null || end === null) throw new Error(`invalid active hours ${JSON.stringify(hours)}`)
  const overnight = end.hour * 60 + end.minute <= start.hour * 60 + start.minute
  const days = new Set<string>(hours.days)

  const local = DateTime.fromMillis(t, { zone })
  // From yesterday: its span may run past midnight into today.
  let date: CalendarDate = DateTime.utc(local.year, local.month, local.day).minus({ days: 1 })
  for (let i = 0; i < SEARCH_DAYS; i++, date = date.plus({ days: 1 })) {
    if (!days.has(WEEK_DAYS[date.weekday - 1])) continue
    const opens = instantOf(date, start, zone)
    const closes = instantOf(overnight ? date.plus({ days: 1 }) : date, end, zone)
    // Both ends in one skipped hour: a span of no time.
    if (closes <= opens) continue
    if (t < opens) return { open: false, opens_at: new Date(opens) }
    if (t < closes) return { open: true }
  }
  throw new Error(`active hours ${JSON.stringify(hours)} never open`)
}
