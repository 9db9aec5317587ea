/** Decisions per hour over the last hours, as the dashboard's chart shows them: every hour listed, empty ones at 0. */
import type { HourlyDecisions } from './store.js'

const HOUR_MS = 3_600_000

export interface HourCounts {
  /** The hour's start, UTC (ISO 8601). */
  hour: string
  total: number
  /** A reply waiting for the gateway's report. */
  pending: number
  /** Nothing to send (ignore, wait, an alert for a person, a stop). */
  done: number
  sent: number
  failed: number
}

export interface HourlyView {
  account: string
  from: string
  to: string
  hours: HourCounts[]
}

/** The first instant of the oldest of `hours` hours that end with the current one. */
export function hourlySince (now: number, hours: number): string {
  return new Date((Math.floor(now / HOUR_MS) - hours + 1) * HOUR_MS).toISOString()
}

/** `rows` (the store's counts per UTC hour and status) spread over `hours` hours ending with the one `now` is in. */
export function hourlyView (account: string, rows: readonly HourlyDecisions[], now: number, hours: number): HourlyView {
  const first = Date.parse(hourlySince(now, hours))
  const list: HourCounts[] = Array.from({ length: hours }, (_, i) => ({
    hour: new Date(first + i * HOUR_MS).toISOString(), total: 0, pending: 0, done: 0, sent: 0, failed: 0
  }))
  for (const row of rows) {
    const index = (Date.parse(`${row.hour}:00:00.000Z`) - first) / HOUR_MS
    const cell = list[index]
    // A decision stamped after `now` (another instance's clock ahead) is outside the window.
    if (cell === undefined) continue
    cell[row.status] += row.count
    cell.total += row.count
  }
  return { account, from: list[0].hour, to: new Date(first + hours * HOUR_MS).toISOString(), hours: list }
}
