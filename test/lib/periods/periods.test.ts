import t from 'tap'
import { DateTime, Settings } from 'luxon'
import { isValidTimeZone, lastDays, parseResetTime, periodsAt, type PeriodSettings } from '../../../lib/periods/periods.js'
import { WEEK_DAYS } from '../../../lib/accounts/types.js'

const DEFAULTS: PeriodSettings = { timezone: 'UTC', reset_time: '00:00', week_start: 'monday' }
const HOUR = 3_600_000

function at (iso: string, settings: Partial<PeriodSettings> = {}): ReturnType<typeof periodsAt> {
  return periodsAt(new Date(iso), { ...DEFAULTS, ...settings })
}

function hours (p: { dayStart: Date, dayEnd: Date }): number {
  return (p.dayEnd.getTime() - p.dayStart.getTime()) / HOUR
}

t.test('ISO weeks around New Year', async (t) => {
  const p = at('2024-12-30T12:00:00Z')
  t.equal(p.day, '2024-12-30')
  t.equal(p.week, '2025-W01')
  t.equal(p.weekStart.toISOString(), '2024-12-30T00:00:00.000Z')
  t.equal(p.weekEnd.toISOString(), '2025-01-06T00:00:00.000Z')
  t.equal(p.previousWeek, '2024-W52')
  t.equal(at('2021-01-03T23:59:59.999Z').week, '2020-W53')
  t.equal(at('2021-01-04T00:00:00Z').week, '2021-W01')
  t.equal(at('2021-01-04T00:00:00Z').previousWeek, '2020-W53')
  t.equal(at('2024-12-30T12:00:00Z').week, '2025-W01')
  t.equal(at('2021-01-03T12:00:00Z').week, '2020-W53')
  t.equal(at('2026-01-05T12:00:00Z').week, '2026-W02')
  t.throws(() => lastDays('2026-W02', 1), 'a week key is not a day')
  t.throws(() => lastDays('2026-02-30', 1), 'nor is a date that does not exist')
})

t.test('previous day and week across year ends', async (t) => {
  const p = at('2026-01-01T00:00:00Z')
  t.equal(p.day, '2026-01-01')
  t.equal(p.previousDay, '2025-12-31')
  t.equal(p.week, '2026-W01')
  t.equal(p.previousWeek, '2025-W52')
  t.equal(at('2025-01-01T10:00:00Z').previousWeek, '2024-W52')
  t.equal(at('2024-03-01T10:00:00Z').previousDay, '2024-02-29')
})

t.test('the day ends exactly at dayEnd', async (t) => {
  const p = at('2026-01-18T12:00:00Z', { timezone: 'Europe/Paris' })
  t.equal(p.day, '2026-01-18')
  t.equal(p.dayEnd.toISOString(), '2026-01-18T23:00:00.000Z')
  t.equal(periodsAt(new Date(p.dayEnd.getTime() - 1), { ...DEFAULTS, timezone: 'Europe/Paris' }).day, '2026-01-18')
  const next = periodsAt(p.dayEnd, { ...DEFAULTS, timezone: 'Europe/Paris' })
  t.equal(next.day, '2026-01-19')
  t.equal(next.dayStart.getTime(), p.dayEnd.getTime())
  t.equal(next.previousDay, '2026-01-18')
})

t.test('reset_time 04:30 in Asia/Kolkata', async (t) => {
  const s = { timezone: 'Asia/Kolkata', reset_time: '04:30' }
  const before = at('2026-01-18T22:59:59.999Z', s)
  t.equal(before.day, '2026-01-18')
  t.equal(before.dayEnd.toISOString(), '2026-01-18T23:00:00.000Z')
  const after = at('2026-01-18T23:00:00Z', s)
  t.equal(after.day, '2026-01-19')
  t.equal(after.dayStart.toISOString(), '2026-01-18T23:00:00.000Z')
  // Sunday 2026-01-18 before 04:30 still belongs to Saturday, the last day of week 03.
  t.equal(at('2026-01-18T22:59:59.999Z', s).week, '2026-W03')
  t.equal(at('2026-01-18T23:00:00Z', s).week, '2026-W04')
  t.equal(after.weekStart.toISOString(), '2026-01-18T23:00:00.000Z')
})

t.test('Europe/Paris DST days last 23 and 25 hours', async (t) => {
  const spring = at('2026-03-29T12:00:00Z', { timezone: 'Europe/Paris' })
  t.equal(spring.day, '2026-03-29')
  t.equal(spring.dayStart.toISOString(), '2026-03-28T23:00:00.000Z')
  t.equal(spring.dayEnd.toISOString(), '2026-03-29T22:00:00.000Z')
  t.equal(hours(spring), 23)
  const fall = at('2026-10-25T12:00:00Z', { timezone: 'Europe/Paris' })
  t.equal(fall.dayStart.toISOString(), '2026-10-24T22:00:00.000Z')
  t.equal(fall.dayEnd.toISOString(), '2026-10-25T23:00:00.000Z')
  t.equal(hours(fall), 25)
  // Weeks containing a DST change are 167 and 169 hours long.
  t.equal((spring.weekEnd.getTime() - spring.weekStart.getTime()) / HOUR, 167)
  t.equal((fall.weekEnd.getTime() - fall.weekStart.getTime()) / HOUR, 169)
})

t.test('a reset_time inside the gap starts the day when the gap ends', async (t) => {
  // Paris skips 02:00-03:00 on 2026-03-29: luxon alone would answer 03:30.
  const p = at('2026-03-29T12:00:00Z', { timezone: 'Europe/Paris', reset_time: '02:30' })
  t.equal(p.dayStart.toISOString(), '2026-03-29T01:00:00.000Z')
  t.equal(p.dayEnd.toISOString(), '2026-03-30T00:30:00.000Z')
  t.equal(at('2026-03-29T00:59:59.999Z', { timezone: 'Europe/Paris', reset_time: '02:30' }).day, '2026-03-28')
})

t.test('a reset_time inside the overlap takes its first occurrence, whatever the date today', async (t) => {
  const s = { timezone: 'Europe/Paris', reset_time: '02:30' }
  const check = (): void => {
    // 02:30 happens at 00:30Z (CEST) and again at 01:30Z (CET).
    const p = at('2026-10-25T12:00:00Z', s)
    t.equal(p.dayStart.toISOString(), '2026-10-25T00:30:00.000Z')
    t.equal(at('2026-10-25T00:29:59.999Z', s).day, '2026-10-24')
    t.equal(at('2026-10-25T00:30:00Z', s).day, '2026-10-25')
    // Second pass through 02:15, wall clock before the reset time, but after the day began.
    t.equal(at('2026-10-25T01:15:00Z', s).day, '2026-10-25')
    t.equal(at('2026-10-24T12:00:00Z', s).dayEnd.toISOString(), '2026-10-25T00:30:00.000Z')
  }
  // luxon's own guess of an ambiguous time depends on the zone's offset now.
  const realNow = Settings.now
  t.teardown(() => { Settings.now = realNow; Settings.resetCaches() })
  for (const now of ['2026-01-15T00:00:00Z', '2026-07-15T00:00:00Z']) {
    Settings.now = () => Date.parse(now)
    Settings.resetCaches()
    check()
  }
})

t.test('America/Sao_Paulo (DST until 2019)', async (t) => {
  const s = { timezone: 'America/Sao_Paulo' }
  // 2018-11-04 had no 00:00: the day began at 01:00 -02.
  const gap = at('2018-11-04T12:00:00Z', s)
  t.equal(gap.day, '2018-11-04')
  t.equal(gap.dayStart.toISOString(), '2018-11-04T03:00:00.000Z')
  t.equal(hours(gap), 23)
  t.equal(at('2018-11-04T02:59:59.999Z', s).day, '2018-11-03')
  // 2019-02-17 00:00 -02 went back to 2019-02-16 23:00 -03.
  const overlap = at('2019-02-16T12:00:00Z', s)
  t.equal(overlap.day, '2019-02-16')
  t.equal(overlap.dayStart.toISOString(), '2019-02-16T02:00:00.000Z')
  t.equal(overlap.dayEnd.toISOString(), '2019-02-17T03:00:00.000Z')
  t.equal(hours(overlap), 25)
  t.equal(at('2019-02-17T02:30:00Z', s).day, '2019-02-16')
  t.equal(at('2019-02-17T03:00:00Z', s).day, '2019-02-17')
})

t.test('days without a midnight', async (t) => {
  const santiago = at('2024-09-08T12:00:00Z', { timezone: 'America/Santiago' })
  t.equal(santiago.day, '2024-09-08')
  t.equal(santiago.dayStart.toISOString(), '2024-09-08T04:00:00.000Z')
  t.equal(DateTime.fromJSDate(santiago.dayStart, { zone: 'America/Santiago' }).toISO(), '2024-09-08T01:00:00.000-03:00')
  t.equal(at('2024-09-08T03:59:59.999Z', { timezone: 'America/Santiago' }).day, '2024-09-07')
  // A reset time inside the gap starts at the gap's end too, not 30 min later.
  t.equal(at('2024-09-08T12:00:00Z', { timezone: 'America/Santiago', reset_time: '00:30' }).dayStart.toISOString(), '2024-09-08T04:00:00.000Z')

  const havana = at('2024-03-10T12:00:00Z', { timezone: 'America/Havana' })
  t.equal(havana.day, '2024-03-10')
  t.equal(havana.dayStart.toISOString(), '2024-03-10T05:00:00.000Z')
  t.equal(hours(havana), 23)

  const tehran = at('2021-03-22T12:00:00Z', { timezone: 'Asia/Tehran' })
  t.equal(tehran.day, '2021-03-22')
  t.equal(tehran.dayStart.toISOString(), '2021-03-21T20:30:00.000Z')
  t.equal(tehran.weekStart.toISOString(), '2021-03-21T20:30:00.000Z')
  t.equal(tehran.week, '2021-W12')
  t.equal(at('2021-03-21T20:29:59.999Z', { timezone: 'Asia/Tehran' }).week, '2021-W11')
})

t.test('a day that never happened is never the current day', async (t) => {
  // Pacific/Apia went from 2011-12-29 23:59:59 -10 to 2011-12-31 00:00 +14.
  const s = { timezone: 'Pacific/Apia' }
  const last = at('2011-12-30T09:59:59.999Z', s)
  t.equal(last.day, '2011-12-29')
  t.equal(last.dayEnd.toISOString(), '2011-12-30T10:00:00.000Z')
  const next = at('2011-12-30T10:00:00Z', s)
  t.equal(next.day, '2011-12-31')
  t.equal(next.dayStart.toISOString(), '2011-12-30T10:00:00.000Z')
})

t.test('week_start sunday', async (t) => {
  const s = { week_start: 'sunday' as const }
  const sunday = at('2024-12-29T08:00:00Z', s)
  t.equal(sunday.weekStart.toISOString(), '2024-12-29T00:00:00.000Z')
  t.equal(sunday.weekEnd.toISOString(), '2025-01-05T00:00:00.000Z')
  t.equal(sunday.week, '2025-W01')
  t.equal(sunday.previousWeek, '2024-W52')
  t.equal(at('2025-01-04T23:59:59.999Z', s).week, '2025-W01')
  t.equal(at('2025-01-05T00:00:00Z', s).week, '2025-W02')
  t.equal(at('2024-12-28T23:59:59.999Z', s).week, '2024-W52')
})

t.test('every week start gives each week one unique key', async (t) => {
  for (const weekStart of WEEK_DAYS) {
    const keyOf = new Map<number, string>()
    const endOf = new Map<number, number>()
    for (let ms = Date.parse('2019-12-01T00:00:00Z'); ms < Date.parse('2021-02-01T00:00:00Z'); ms += 59 * HOUR) {
      const p = periodsAt(new Date(ms), { timezone: 'Europe/Paris', reset_time: '03:00', week_start: weekStart })
      const start = p.weekStart.getTime()
      const local = DateTime.fromJSDate(p.weekStart, { zone: 'Europe/Paris' })
      if (local.weekday !== WEEK_DAYS.indexOf(weekStart) + 1 || local.toFormat('HH:mm') !== '03:00') t.fail(`${weekStart}: week begins ${local.toISO()}`)
      if (!keyOf.has(start)) keyOf.set(start, p.week)
      endOf.set(start, p.weekEnd.getTime())
      if (keyOf.get(start) !== p.week) t.fail(`${weekStart}: two keys for one week`)
    }
    const keys = [...keyOf.values()]
    const starts = [...keyOf.keys()]
    t.ok(starts.slice(1).every((start, i) => endOf.get(starts[i]) === start), `${weekStart}: no week skipped`)
    t.equal(new Set(keys).size, keys.length, `${weekStart}: keys unique`)
    t.same(keys, [...keys].sort(), `${weekStart}: keys ascend`)
  }
})

t.test('periods tile time around DST changes', async (t) => {
  const changes: Array<[string, string[]]> = [
    ['Europe/Paris', ['2026-03-29', '2026-10-25']],
    ['America/Sao_Paulo', ['2018-11-04', '2019-02-17']],
    ['America/Santiago', ['2024-04-07', '2024-09-08']],
    ['America/Havana', ['2024-03-10', '2024-11-03']],
    ['Asia/Tehran', ['2021-03-22', '2021-09-22']],
    // 30-minute DST.
    ['Australia/Lord_Howe', ['2024-04-07', '2024-10-06']]
  ]
  for (const [timezone, dates] of changes) {
    for (const resetTime of ['00:00', '00:30', '01:30', '02:15', '23:30']) {
      const s: PeriodSettings = { timezone, reset_time: resetTime, week_start: 'wednesday' }
      for (const date of dates) {
        const from = Date.parse(`${date}T12:00:00Z`)
        let p = periodsAt(new Date(from - 3 * 24 * HOUR), s)
        let bad = 0
        while (p.dayEnd.getTime() < from + 3 * 24 * HOUR) {
          const next = periodsAt(p.dayEnd, s)
          const mid = periodsAt(new Date((next.dayStart.getTime() + next.dayEnd.getTime()) / 2), s)
          if (next.dayStart.getTime() !== p.dayEnd.getTime() || next.previousDay !== p.day || mid.day !== next.day ||
            next.weekStart > next.dayStart || next.weekEnd < next.dayEnd || hours(next) < 22.5 || hours(next) > 25.5) {
            bad++
            t.fail(`${timezone} ${resetTime}: ${p.day} -> ${next.day}`)
          }
          p = next
        }
        t.equal(bad, 0, `${timezone} ${resetTime} ${date}`)
      }
    }
  }
})

t.test('the Dates handed out are copies', async (t) => {
  const p = at('2026-06-01T10:00:00Z')
  p.dayEnd.setTime(0)
  t.equal(at('2026-06-01T11:00:00Z').dayEnd.toISOString(), '2026-06-02T00:00:00.000Z')
  t.throws(() => periodsAt(new Date(NaN), DEFAULTS), /invalid instant/)
})

t.test('lastDays', async (t) => {
  t.same(lastDays('2026-03-02', 3), ['2026-02-28', '2026-03-01', '2026-03-02'])
  t.same(lastDays('2024-03-01', 2), ['2024-02-29', '2024-03-01'])
  t.same(lastDays('2026-01-01', 2), ['2025-12-31', '2026-01-01'])
  // Calendar dates: a DST change in some zone changes nothing here.
  t.same(lastDays('2026-03-30', 2), ['2026-03-29', '2026-03-30'])
  t.same(lastDays('2026-01-01', 1), ['2026-01-01'])
  t.same(lastDays('2026-01-01', 0), [])
  t.throws(() => lastDays('2026-1-01', 2))
})

t.test('validation', async (t) => {
  t.equal(isValidTimeZone('UTC'), true)
  t.equal(isValidTimeZone('Europe/Paris'), true)
  t.equal(isValidTimeZone('Europe/Berln'), false)
  t.equal(isValidTimeZone(''), false)
  t.equal(isValidTimeZone('system'), false)
  t.equal(isValidTimeZone('UTC+3'), false)
  t.same(parseResetTime('04:30'), { hour: 4, minute: 30 })
  t.same(parseResetTime('00:00'), { hour: 0, minute: 0 })
  t.same(parseResetTime('23:59'), { hour: 23, minute: 59 })
  for (const bad of ['24:00', '7:00', '07:60', ' 07:00', '07:00 ', '0700', '07:00:00', '']) t.equal(parseResetTime(bad), null, bad)
  t.throws(() => at('2026-01-01T00:00:00Z', { timezone: 'Europe/Berln' }), /invalid time zone "Europe\/Berln"/)
  t.throws(() => at('2026-01-01T00:00:00Z', { reset_time: '24:00' }), /invalid reset time "24:00"/)
})

/** The hour key and end at an instant in a zone (the hour is the calendar's: the reset time plays no part). */
function hourOf (iso: string | number, timezone: string): { hour: string, end: string } {
  const p = periodsAt(new Date(iso), { ...DEFAULTS, timezone })
  return { hour: p.hour, end: p.hourEnd.toISOString() }
}

/** Every hour label from `from` to `to` (ISO), walked from one hourEnd to the next: key, start, end, length in hours. */
function walkHours (timezone: string, from: string, to: string): Array<{ hour: string, start: string, end: string, hours: number }> {
  const out = []
  let t = Date.parse(from)
  while (t < Date.parse(to)) {
    const p = periodsAt(new Date(t), { ...DEFAULTS, timezone })
    out.push({ hour: p.hour, start: new Date(t).toISOString(), end: p.hourEnd.toISOString(), hours: (p.hourEnd.getTime() - t) / HOUR })
    t = p.hourEnd.getTime()
  }
  return out
}

t.test('hour keys are the local calendar hour, YYYY-MM-DDTHH', async (t) => {
  t.same(hourOf('2026-01-18T12:00:00Z', 'UTC'), { hour: '2026-01-18T12', end: '2026-01-18T13:00:00.000Z' })
  t.same(hourOf('2026-01-18T12:59:59.999Z', 'UTC'), { hour: '2026-01-18T12', end: '2026-01-18T13:00:00.000Z' })
  t.same(hourOf('2026-01-18T13:00:00Z', 'UTC'), { hour: '2026-01-18T13', end: '2026-01-18T14:00:00.000Z' }, 'the next hour begins at hourEnd')
  t.same(hourOf('2026-01-18T23:30:00Z', 'Europe/Paris'), { hour: '2026-01-19T00', end: '2026-01-19T00:00:00.000Z' }, 'the local date, not UTC\'s')
  t.same(hourOf('2025-12-31T23:59:59.999Z', 'UTC'), { hour: '2025-12-31T23', end: '2026-01-01T00:00:00.000Z' })
  // Kolkata, reset at 04:30: 04:29 local on the 19th is still the day of the 18th, but its hour is the 19th's.
  const p = at('2026-01-18T22:59:00Z', { timezone: 'Asia/Kolkata', reset_time: '04:30' })
  t.equal(p.day, '2026-01-18')
  t.equal(p.hour, '2026-01-19T04')
  t.equal(p.hourEnd.toISOString(), '2026-01-18T23:30:00.000Z')
})

t.test('Europe/Paris: the skipped hour of spring never exists, the repeated hour of autumn lasts two hours', async (t) => {
  // 2026-03-29: 02:00 CET became 03:00 CEST at 01:00Z.
  t.same(walkHours('Europe/Paris', '2026-03-28T23:00:00Z', '2026-03-29T03:00:00Z').map(({ hour, end, hours }) => ({ hour, end, hours })), [
    { hour: '2026-03-29T00', end: '2026-03-29T00:00:00.000Z', hours: 1 },
    { hour: '2026-03-29T01', end: '2026-03-29T01:00:00.000Z', hours: 1 },
    { hour: '2026-03-29T03', end: '2026-03-29T02:00:00.000Z', hours: 1 },
    { hour: '2026-03-29T04', end: '2026-03-29T03:00:00.000Z', hours: 1 }
  ], 'no T02')
  t.same(hourOf('2026-03-29T00:59:59.999Z', 'Europe/Paris'), { hour: '2026-03-29T01', end: '2026-03-29T01:00:00.000Z' })
  t.same(hourOf('2026-03-29T01:00:00Z', 'Europe/Paris'), { hour: '2026-03-29T03', end: '2026-03-29T02:00:00.000Z' })

  // 2026-10-25: 03:00 CEST became 02:00 CET at 01:00Z; 02:xx happens twice, and is one hour key.
  const fall = walkHours('Europe/Paris', '2026-10-24T23:00:00Z', '2026-10-25T03:00:00Z')
  t.same(fall.map((h) => h.hour), ['2026-10-25T01', '2026-10-25T02', '2026-10-25T03'])
  t.same(fall[1], { hour: '2026-10-25T02', start: '2026-10-25T00:00:00.000Z', end: '2026-10-25T02:00:00.000Z', hours: 2 })
  for (const instant of ['2026-10-25T00:00:00Z', '2026-10-25T00:59:59.999Z', '2026-10-25T01:00:00Z', '2026-10-25T01:59:59.999Z']) {
    t.same(hourOf(instant, 'Europe/Paris'), { hour: '2026-10-25T02', end: '2026-10-25T02:00:00.000Z' }, `${instant}: both passes through 02:xx`)
  }
  t.same(hourOf('2026-10-25T02:00:00Z', 'Europe/Paris'), { hour: '2026-10-25T03', end: '2026-10-25T03:00:00.000Z' })
})

t.test('America/New_York: 2026-03-08 has no T02, 2026-11-01 T01 lasts two hours', async (t) => {
  t.same(walkHours('America/New_York', '2026-03-08T05:00:00Z', '2026-03-08T09:00:00Z').map((h) => [h.hour, h.hours]), [
    ['2026-03-08T00', 1], ['2026-03-08T01', 1], ['2026-03-08T03', 1], ['2026-03-08T04', 1]
  ])
  t.same(hourOf('2026-03-08T07:00:00Z', 'America/New_York'), { hour: '2026-03-08T03', end: '2026-03-08T08:00:00.000Z' })
  t.same(walkHours('America/New_York', '2026-11-01T04:00:00Z', '2026-11-01T08:00:00Z').map((h) => [h.hour, h.hours]), [
    ['2026-11-01T00', 1], ['2026-11-01T01', 2], ['2026-11-01T02', 1]
  ])
  t.same(hourOf('2026-11-01T06:30:00Z', 'America/New_York'), { hour: '2026-11-01T01', end: '2026-11-01T07:00:00.000Z' }, 'the second 01:30 (EST)')
})

t.test('Australia/Lord_Howe: a half-hour DST shift ends the label where the wall clock changes', async (t) => {
  // 2026-04-05: 02:00 (+11) went back to 01:30 (+10:30) at 15:00Z; 01:30-02:00 happened twice.
  t.same(walkHours('Australia/Lord_Howe', '2026-04-04T13:00:00Z', '2026-04-04T17:30:00Z').map((h) => [h.hour, h.start, h.hours]), [
    ['2026-04-05T00', '2026-04-04T13:00:00.000Z', 1],
    ['2026-04-05T01', '2026-04-04T14:00:00.000Z', 1.5],
    ['2026-04-05T02', '2026-04-04T15:30:00.000Z', 1],
    ['2026-04-05T03', '2026-04-04T16:30:00.000Z', 1]
  ])
  t.same(hourOf('2026-04-04T15:15:00Z', 'Australia/Lord_Howe'), { hour: '2026-04-05T01', end: '2026-04-04T15:30:00.000Z' }, 'the second 01:45')
  // 2026-10-04: 02:00 (+10:30) jumped to 02:30 (+11) at 15:30Z; T02 is half an hour long.
  t.same(walkHours('Australia/Lord_Howe', '2026-10-03T13:30:00Z', '2026-10-03T17:00:00Z').map((h) => [h.hour, h.start, h.hours]), [
    ['2026-10-04T00', '2026-10-03T13:30:00.000Z', 1],
    ['2026-10-04T01', '2026-10-03T14:30:00.000Z', 1],
    ['2026-10-04T02', '2026-10-03T15:30:00.000Z', 0.5],
    ['2026-10-04T03', '2026-10-03T16:00:00.000Z', 1]
  ])
})

t.test('Asia/Kolkata (+05:30, no DST): hours begin at local :00, UTC :30', async (t) => {
  t.same(hourOf('2026-01-18T06:45:00Z', 'Asia/Kolkata'), { hour: '2026-01-18T12', end: '2026-01-18T07:30:00.000Z' })
  t.same(hourOf('2026-01-18T06:29:59.999Z', 'Asia/Kolkata'), { hour: '2026-01-18T11', end: '2026-01-18T06:30:00.000Z' })
  t.same(hourOf('2026-01-18T06:30:00Z', 'Asia/Kolkata'), { hour: '2026-01-18T12', end: '2026-01-18T07:30:00.000Z' })
  t.same(hourOf('2026-01-18T18:29:59Z', 'Asia/Kolkata'), { hour: '2026-01-18T23', end: '2026-01-18T18:30:00.000Z' })
  t.same(hourOf('2026-01-18T18:30:00Z', 'Asia/Kolkata'), { hour: '2026-01-19T00', end: '2026-01-18T19:30:00.000Z' }, 'a new local date at UTC 18:30')
  const day = walkHours('Asia/Kolkata', '2026-01-17T18:30:00Z', '2026-01-18T18:30:00Z')
  t.equal(day.length, 24)
  t.ok(day.every((h) => h.hours === 1 && h.start.endsWith(':30:00.000Z')), 'every hour is one hour long, from UTC :30')
})

t.test('hour keys tile time around DST changes, whatever order instants are asked in', async (t) => {
  const changes: Array<[string, string]> = [
    ['Europe/Paris', '2026-03-29'], ['Europe/Paris', '2026-10-25'],
    ['America/New_York', '2026-03-08'], ['America/New_York', '2026-11-01'],
    ['Australia/Lord_Howe', '2026-04-05'], ['Australia/Lord_Howe', '2026-10-04'],
    ['Asia/Kolkata', '2026-01-18'], ['UTC', '2026-01-18']
  ]
  for (const [timezone, date] of changes) {
    const from = Date.parse(`${date}T00:00:00Z`) - 24 * HOUR
    const to = from + 48 * HOUR
    const step = 7 * 60_000
    const instants = Array.from({ length: Math.floor((to - from) / step) }, (_, i) => from + i * step)
    const forward = instants.map((ms) => hourOf(ms, timezone))
    // Backwards, and interleaved with another zone: the cache of the latest hour must not change answers.
    const backward = [...instants].reverse().map((ms) => { hourOf(ms, 'Asia/Tokyo'); return hourOf(ms, timezone) }).reverse()
    t.same(backward, forward, `${timezone} ${date}: the same answers in any order`)
    let bad = 0
    for (let i = 0; i < instants.length; i++) {
      const h = forward[i]
      const local = DateTime.fromMillis(instants[i], { zone: timezone })
      if (h.hour !== local.toFormat("yyyy-LL-dd'T'HH")) bad++
      if (Date.parse(h.end) <= instants[i]) bad++
      if (i > 0 && forward[i - 1].hour !== h.hour && !(forward[i - 1].hour < h.hour)) bad++
      if (i > 0 && forward[i - 1].hour === h.hour && forward[i - 1].end !== h.end) bad++
    }
    t.equal(bad, 0, `${timezone} ${date}: each key is the wall clock's hour, ascends, and has one end`)
    const walked = walkHours(timezone, new Date(from).toISOString(), new Date(to).toISOString())
    t.equal(new Set(walked.map((h) => h.hour)).size, walked.length, `${timezone} ${date}: a label is never two periods`)
    t.ok(walked.every((h, i) => i === 0 || periodsAt(new Date(Date.parse(h.start) - 1), { ...DEFAULTS, timezone }).hour === walked[i - 1].hour),
      `${timezone} ${date}: the key changes exactly at hourEnd`)
  }
})
