import t from 'tap'
import { groupJobs, groupKey, nextBoundary } from '../../../lib/resets/plan.js'
import type { WeekStart } from '../../../lib/accounts/types.js'

const settings = (timezone = 'UTC', reset_time = '00:00', week_start: WeekStart = 'monday') => ({ timezone, reset_time, week_start })

t.test('one daily and one weekly job per (time zone, reset time, week start), with a stable id', async (t) => {
  t.same(groupJobs(settings('Europe/Paris', '06:00')), [
    { id: 'reset-daily:Europe/Paris|06:00|monday', type: 'daily', group: 'Europe/Paris|06:00|monday', timezone: 'Europe/Paris', settings: settings('Europe/Paris', '06:00') },
    { id: 'reset-weekly:Europe/Paris|06:00|monday', type: 'weekly', group: 'Europe/Paris|06:00|monday', timezone: 'Europe/Paris', settings: settings('Europe/Paris', '06:00') }
  ])
  const ids = (s: ReturnType<typeof settings>) => groupJobs(s).map((j) => j.id)
  const distinct = [settings(), settings('Europe/Paris'), settings('Europe/Paris', '06:00'), settings('Europe/Paris', '06:00', 'sunday')]
  t.equal(new Set(distinct.flatMap(ids)).size, 8, 'each of the three settings makes another group')
  t.same(ids(settings('Europe/Paris')), ids(settings('Europe/Paris')), 'the same settings, the same jobs')
  const account = { ...settings('Asia/Tokyo'), id: 'x', limits: {} }
  t.equal(groupKey(account), 'Asia/Tokyo|00:00|monday', 'only the three settings make the key')
  t.same(groupJobs(account)[0].settings, settings('Asia/Tokyo'), 'a job keeps the settings only, not the account it was planned from')
})

t.test('next boundary: the instant the next day or week begins', async (t) => {
  const daily = (s = settings()) => ({ type: 'daily' as const, settings: s })
  const weekly = (s = settings()) => ({ type: 'weekly' as const, settings: s })
  const iso = (d: Date) => d.toISOString()

  t.equal(iso(nextBoundary(daily(), new Date('2026-01-18T23:59:59Z'))), '2026-01-19T00:00:00.000Z')
  t.equal(iso(nextBoundary(daily(), new Date('2026-01-19T00:00:00Z'))), '2026-01-20T00:00:00.000Z', 'strictly after: a boundary does not follow itself')
  t.equal(iso(nextBoundary(weekly(), new Date('2026-01-14T10:00:00Z'))), '2026-01-19T00:00:00.000Z', 'Monday')
  t.equal(iso(nextBoundary(weekly(settings('UTC', '00:00', 'sunday')), new Date('2026-01-14T10:00:00Z'))), '2026-01-18T00:00:00.000Z')
  t.equal(iso(nextBoundary(daily(settings('UTC', '06:30')), new Date('2026-01-18T06:29:00Z'))), '2026-01-18T06:30:00.000Z')
  t.equal(iso(nextBoundary(weekly(), new Date('2024-12-29T12:00:00Z'))), '2024-12-30T00:00:00.000Z', 'ISO week 2025-W01 begins in 2024')

  // Europe/Paris DST days: the day of the change lasts 23 h (March) or 25 h (October).
  const paris = settings('Europe/Paris')
  t.equal(iso(nextBoundary(daily(paris), new Date('2026-03-28T12:00:00Z'))), '2026-03-28T23:00:00.000Z')
  t.equal(iso(nextBoundary(daily(paris), new Date('2026-03-28T23:00:00Z'))), '2026-03-29T22:00:00.000Z')
  t.equal(iso(nextBoundary(daily(paris), new Date('2026-10-24T22:00:00Z'))), '2026-10-25T23:00:00.000Z')
  t.equal(iso(nextBoundary(weekly(paris), new Date('2026-03-28T12:00:00Z'))), '2026-03-29T22:00:00.000Z', 'Monday 00:00 CEST')

  // A reset time inside the DST gap begins the day when the gap ends; one repeated begins it at its first occurrence.
  const paris0230 = settings('Europe/Paris', '02:30')
  t.equal(iso(nextBoundary(daily(paris0230), new Date('2026-03-28T12:00:00Z'))), '2026-03-29T01:00:00.000Z', '03:00 CEST')
  t.equal(iso(nextBoundary(daily(paris0230), new Date('2026-03-29T01:00:00Z'))), '2026-03-30T00:30:00.000Z')
  t.equal(iso(nextBoundary(daily(paris0230), new Date('2026-10-24T12:00:00Z'))), '2026-10-25T00:30:00.000Z', '02:30 CEST, the first one')
  t.equal(iso(nextBoundary(daily(paris0230), new Date('2026-10-25T00:30:00Z'))), '2026-10-26T01:30:00.000Z', 'not 02:30 CET the same day')

  // America/Santiago 2024-09-08 has no midnight: the day begins at 01:00 local (04:00 UTC).
  const santiago = settings('America/Santiago')
  t.equal(iso(nextBoundary(daily(santiago), new Date('2024-09-08T03:59:59Z'))), '2024-09-08T04:00:00.000Z')
  t.equal(iso(nextBoundary(daily(santiago), new Date('2024-09-08T04:00:00Z'))), '2024-09-09T03:00:00.000Z', 'a 23-hour day')
  t.equal(iso(nextBoundary(weekly(settings('America/Santiago', '00:00', 'sunday')), new Date('2024-09-05T12:00:00Z'))), '2024-09-08T04:00:00.000Z')
})
