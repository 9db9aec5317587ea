import { periodsAt } from '../periods/periods.js'
import type { AccountConfig } from '../accounts/types.js'
import type { ResetType } from './types.js'

/** What makes an account's days and weeks begin when they do. */
export type GroupSettings = Pick<AccountConfig, 'timezone' | 'reset_time' | 'week_start'>

export interface PlannedJob {
  /** Stable id: the same settings always give the same job, so re-planning never starts one twice. */
  id: string
  type: ResetType
  /** The settings it serves; accounts with exactly these settings are its accounts. */
  group: string
  timezone: string
  settings: GroupSettings
}

/** Accounts whose days and weeks begin at the same instants share a group (and so their jobs). */
export function groupKey (s: GroupSettings): string {
  return `${s.timezone}|${s.reset_time}|${s.week_start}`
}

/** The daily and the weekly job of one group: every account with these settings shares them. */
export function groupJobs (s: GroupSettings): PlannedJob[] {
  const settings = { timezone: s.timezone, reset_time: s.reset_time, week_start: s.week_start }
  const group = groupKey(settings)
  return (['daily', 'weekly'] as const).map((type) => ({ id: `reset-${type}:${group}`, type, group, timezone: settings.timezone, settings }))
}

/**
 * The first instant after `after` at which the job's period (day or week) begins.
 *
 * Jobs fire at these instants rather than on a recurring wall-clock cron pattern: croner 10 mishandles
 * a pattern time that falls inside a DST change (`30 2 * * *` in Europe/Paris never fires on
 * 2026-03-29 and, on 2026-10-25, computes a next run in the past and fires continuously for half an
 * hour). The counters' own period code (lib/periods.ts) knows when each day and week begins, including
 * days without a midnight, so the schedule cannot disagree with the periods it resets.
 */
export function nextBoundary (job: Pick<PlannedJob, 'type' | 'settings'>, after: Date): Date {
  const p = periodsAt(after, job.settings)
  return job.type === 'daily' ? p.dayEnd : p.weekEnd
}
