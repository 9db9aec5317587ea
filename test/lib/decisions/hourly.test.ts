import t from 'tap'
import { hourlySince, hourlyView, type HourCounts } from '../../../lib/decisions/hourly.js'
import type { HourlyDecisions } from '../../../lib/decisions/store.js'

const at = (iso: string): number => Date.parse(iso)
const row = (hour: string, status: HourlyDecisions['status'], count: number): HourlyDecisions => ({ hour, status, count })
const empty = (hour: string): HourCounts => ({ hour, total: 0, pending: 0, done: 0, sent: 0, failed: 0 })

t.test('hourlySince: the start of the oldest of `hours` hours ending with the current one (UTC)', async (t) => {
  const cases: Array<[string, number, string, string]> = [
    ['2026-01-18T12:34:56.789Z', 24, '2026-01-17T13:00:00.000Z', 'mid-hour: 23 hours back from the current one'],
    ['2026-01-18T12:00:00.000Z', 24, '2026-01-17T13:00:00.000Z', 'at the top of the hour: that hour is the current one'],
    ['2026-01-18T12:59:59.999Z', 24, '2026-01-17T13:00:00.000Z', 'at hh:59:59.999: still the same hour'],
    ['2026-01-18T11:59:59.999Z', 24, '2026-01-17T12:00:00.000Z', 'one millisecond earlier: the window starts an hour earlier'],
    ['2026-01-18T12:00:00.000Z', 1, '2026-01-18T12:00:00.000Z', 'hours=1 is the current hour only'],
    ['2026-01-18T12:59:59.999Z', 1, '2026-01-18T12:00:00.000Z', 'hours=1 at hh:59:59.999'],
    ['2026-01-18T12:30:00.000Z', 168, '2026-01-11T13:00:00.000Z', 'a week'],
    ['2026-01-01T00:30:00.000Z', 3, '2025-12-31T22:00:00.000Z', 'across the new year'],
    ['2026-03-29T02:30:00.000Z', 2, '2026-03-29T01:00:00.000Z', 'UTC: no daylight-saving hour skipped (Europe changes that night)']
  ]
  for (const [now, hours, since, name] of cases) t.equal(hourlySince(at(now), hours), since, `${name} (${now}, ${hours})`)
})

t.test('hourlyView: every hour listed oldest first, zeros filled in, the last one the current hour', async (t) => {
  const view = hourlyView('acme', [], at('2026-01-18T12:34:56.789Z'), 24)
  t.equal(view.account, 'acme')
  t.equal(view.from, '2026-01-17T13:00:00.000Z', 'from: the start of the oldest hour')
  t.equal(view.to, '2026-01-18T13:00:00.000Z', 'to: the end of the current hour')
  t.equal(view.hours.length, 24)
  t.strictSame(view.hours, Array.from({ length: 24 }, (_, i) => empty(new Date(at('2026-01-17T13:00:00.000Z') + i * 3_600_000).toISOString())))
  t.equal(view.hours[0].hour, view.from)
  t.equal(view.hours[23].hour, '2026-01-18T12:00:00.000Z', 'the current hour is last')
  t.strictSame(Object.keys(view.hours[0]), ['hour', 'total', 'pending', 'done', 'sent', 'failed'], 'the fields, in the order the API shows them')
  t.strictSame(Object.keys(view), ['account', 'from', 'to', 'hours'])
})

t.test('hourlyView: rows in the oldest and the current hour counted, rows outside the window ignored, totals summed', async (t) => {
  const rows = [
    row('2026-01-17T12', 'sent', 7), // the hour before the window
    row('2026-01-17T13', 'pending', 1), // the oldest hour
    row('2026-01-17T13', 'sent', 2),
    row('2026-01-18T03', 'done', 4),
    row('2026-01-18T03', 'failed', 1),
    row('2026-01-18T12', 'done', 1), // the current hour
    row('2026-01-18T12', 'failed', 2),
    row('2026-01-18T12', 'pending', 3),
    row('2026-01-18T12', 'sent', 5),
    row('2026-01-18T13', 'sent', 9) // after `now` (a clock ahead): outside too
  ]
  const view = hourlyView('acme', rows, at('2026-01-18T12:10:00.000Z'), 24)
  t.equal(view.hours.length, 24)
  t.strictSame(view.hours[0], { hour: '2026-01-17T13:00:00.000Z', total: 3, pending: 1, done: 0, sent: 2, failed: 0 }, 'the oldest hour')
  t.strictSame(view.hours[14], { hour: '2026-01-18T03:00:00.000Z', total: 5, pending: 0, done: 4, sent: 0, failed: 1 })
  t.strictSame(view.hours[23], { hour: '2026-01-18T12:00:00.000Z', total: 11, pending: 3, done: 1, sent: 5, failed: 2 }, 'the current hour')
  const others = view.hours.filter((_, i) => i !== 0 && i !== 14 && i !== 23)
  t.strictSame(others, others.map((h) => empty(h.hour)), 'every other hour is at 0')
  t.equal(view.hours.reduce((n, h) => n + h.total, 0), 19, 'the 7 before and the 9 after the window are not counted anywhere')
  for (const h of view.hours) t.equal(h.total, h.pending + h.done + h.sent + h.failed, `${h.hour}: total = the sum of the statuses`)
})

t.test('hourlyView at the edges of the current hour', async (t) => {
  const rows = [row('2026-01-18T11', 'sent', 1), row('2026-01-18T12', 'sent', 2), row('2026-01-18T13', 'sent', 4)]

  const top = hourlyView('a', rows, at('2026-01-18T12:00:00.000Z'), 2)
  t.strictSame(top.hours.map((h) => [h.hour, h.sent]), [['2026-01-18T11:00:00.000Z', 1], ['2026-01-18T12:00:00.000Z', 2]], 'at exactly 12:00, 12h is the current hour')
  t.same([top.from, top.to], ['2026-01-18T11:00:00.000Z', '2026-01-18T13:00:00.000Z'])

  const last = hourlyView('a', rows, at('2026-01-18T12:59:59.999Z'), 2)
  t.strictSame(last.hours, top.hours, 'at 12:59:59.999 the window is the same')
  t.same([last.from, last.to], [top.from, top.to])

  const before = hourlyView('a', rows, at('2026-01-18T11:59:59.999Z'), 2)
  t.strictSame(before.hours.map((h) => [h.hour, h.sent]), [['2026-01-18T10:00:00.000Z', 0], ['2026-01-18T11:00:00.000Z', 1]], 'a millisecond before 12:00, 11h is the current one')

  const next = hourlyView('a', rows, at('2026-01-18T13:00:00.000Z'), 2)
  t.strictSame(next.hours.map((h) => [h.hour, h.sent]), [['2026-01-18T12:00:00.000Z', 2], ['2026-01-18T13:00:00.000Z', 4]], 'at 13:00 the window has moved on by one hour')
})

t.test('hourlyView with hours=1 and hours=168', async (t) => {
  const rows = [row('2026-01-11T12', 'done', 1), row('2026-01-11T13', 'done', 2), row('2026-01-18T11', 'sent', 3), row('2026-01-18T12', 'pending', 4)]
  const one = hourlyView('a', rows, at('2026-01-18T12:45:00.000Z'), 1)
  t.strictSame(one, {
    account: 'a',
    from: '2026-01-18T12:00:00.000Z',
    to: '2026-01-18T13:00:00.000Z',
    hours: [{ hour: '2026-01-18T12:00:00.000Z', total: 4, pending: 4, done: 0, sent: 0, failed: 0 }]
  }, 'the current hour alone; the hour before is outside')

  const week = hourlyView('a', rows, at('2026-01-18T12:45:00.000Z'), 168)
  t.equal(week.hours.length, 168)
  t.equal(week.from, '2026-01-11T13:00:00.000Z')
  t.strictSame(week.hours[0], { hour: '2026-01-11T13:00:00.000Z', total: 2, pending: 0, done: 2, sent: 0, failed: 0 }, 'the oldest hour of the week')
  t.strictSame(week.hours[166], { hour: '2026-01-18T11:00:00.000Z', total: 3, pending: 0, done: 0, sent: 3, failed: 0 })
  t.strictSame(week.hours[167], { hour: '2026-01-18T12:00:00.000Z', total: 4, pending: 4, done: 0, sent: 0, failed: 0 })
  t.equal(week.hours.reduce((n, h) => n + h.total, 0), 9, '2026-01-11T12 is one hour too old')
  const steps = week.hours.slice(1).map((h, i) => Date.parse(h.hour) - Date.parse(week.hours[i].hour))
  t.ok(steps.every((ms) => ms === 3_600_000), 'consecutive hours, one hour apart')
})

t.test('hourlyView reads the rows it is given without changing them', async (t) => {
  const rows = Object.freeze([Object.freeze(row('2026-01-18T12', 'sent', 2))])
  const view = hourlyView('a', rows, at('2026-01-18T12:00:00.000Z'), 1)
  t.equal(view.hours[0].sent, 2)
  t.strictSame(rows, [row('2026-01-18T12', 'sent', 2)])
})
