import { parseResetTime } from './periods.js'
import { WEEK_DAYS, type AccountConfig, type ResetType } from './types.js'

type Settings = Pick<AccountConfig, 'timezone' | 'reset_time' | 'week_start'>

export interface PlannedJob {
  /** Stable id: the same settings always give the same job, so re-planning never starts one twice. */
  id: string
  type: ResetType
  /** The settings it serves; accounts with exactly these settings are its accounts. */
  group: string
  cronExpression: string
  timezone: string
}

/** Accounts whose days and weeks begin at the same instants share a group (and so their jobs). */
export function groupKey (s: Settings): string {
  return `${s.timezone}|${s.reset_time}|${s.week_start}`
}

/**
 * One daily and one weekly cron job per distinct (time zone, reset time, week start).
 * Croner (toad-scheduler's engine) fires a wall time that falls in a DST gap at the first instant after it,
 * which is when such a day begins (America/Santiago 2024-09-08 begins at 01:00).
 */
export function planJobs (accounts: Settings[]): PlannedJob[] {
  const groups = new Map<string, Settings>()
  for (const a of accounts) groups.set(groupKey(a), a)
  const jobs: PlannedJob[] = []
  for (const [group, s] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
    const time = parseResetTime(s.reset_time)
    if (time === null) throw new Error(`invalid reset_time ${JSON.stringify(s.reset_time)}`)
    // Cron day-of-week counts from Sunday = 0; WEEK_DAYS starts on Monday.
    const dow = (WEEK_DAYS.indexOf(s.week_start) + 1) % 7
    jobs.push({ id: `reset-daily:${group}`, type: 'daily', group, cronExpression: `${time.minute} ${time.hour} * * *`, timezone: s.timezone })
    jobs.push({ id: `reset-weekly:${group}`, type: 'weekly', group, cronExpression: `${time.minute} ${time.hour} * * ${dow}`, timezone: s.timezone })
  }
  return jobs
}
