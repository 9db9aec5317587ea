import t from 'tap'
import { activeAt } from '../../../lib/accounts/hours.js'
import { WEEK_DAYS, type ActiveHours, type WeekDay } from '../../../lib/accounts/types.js'

const at = (iso: string): Date => new Date(iso)
const account = (timezone: string, active_hours: Partial<ActiveHours> | 'always') => ({
  timezone,
  active_hours: active_hours === 'always' ? active_hours : { start: '09:00', end: '18:00', days: [...WEEK_DAYS] as WeekDay[], ...active_hours }
})
const closed = (iso: string) => ({ open: false, opens_at: new Date(iso) })
const open = { open: true }

t.test('always is always open', async (t) => {
  t.strictSame(activeAt(account('Europe/Paris', 'always'), at('2026-03-29T01:30:00Z')), open)
})

t.test('a day span: before, inside, at its end', async (t) => {
  const a = account('UTC', {})
  t.strictSame(activeAt(a, at('2026-01-14T08:59:59Z')), closed('2026-01-14T09:00:00Z'))
  t.strictSame(activeAt(a, at('2026-01-14T09:00:00Z')), open, 'the start is inside')
  t.strictSame(activeAt(a, at('2026-01-14T17:59:59Z')), open)
  t.strictSame(activeAt(a, at('2026-01-14T18:00:00Z')), closed('2026-01-15T09:00:00Z'), 'the end is outside')
})

t.test('only the listed days open', async (t) => {
  const a = account('UTC', { days: ['monday', 'tuesday', 'wednesday', 'thursday', 'friday'] })
  t.strictSame(activeAt(a, at('2026-01-16T18:30:00Z')), closed('2026-01-19T09:00:00Z'), 'Friday evening: Monday morning')
  t.strictSame(activeAt(a, at('2026-01-17T12:00:00Z')), closed('2026-01-19T09:00:00Z'), 'Saturday is closed')
})

t.test('a span past midnight belongs to the day it starts on', async (t) => {
  const a = account('UTC', { start: '22:00', end: '06:00', days: ['friday'] })
  t.strictSame(activeAt(a, at('2026-01-16T21:00:00Z')), closed('2026-01-16T22:00:00Z'), 'Friday before it starts')
  t.strictSame(activeAt(a, at('2026-01-16T23:30:00Z')), open, 'Friday night')
  t.strictSame(activeAt(a, at('2026-01-17T05:59:00Z')), open, 'Saturday morning, though Saturday is not listed')
  t.strictSame(activeAt(a, at('2026-01-17T06:00:00Z')), closed('2026-01-23T22:00:00Z'), 'then next Friday')
  t.strictSame(activeAt(a, at('2026-01-15T23:00:00Z')), closed('2026-01-16T22:00:00Z'), 'Thursday night is not Friday\'s')
  t.strictSame(activeAt(a, at('2026-01-16T02:00:00Z')), closed('2026-01-16T22:00:00Z'), 'nor Friday early morning')
})

t.test('Europe/Paris: the day after the spring change opens an hour earlier in UTC, never 24 h later', async (t) => {
  const a = account('Europe/Paris', {})
  // Saturday 2026-03-28 is UTC+1, Sunday 2026-03-29 is UTC+2 from 03:00.
  t.strictSame(activeAt(a, at('2026-03-28T17:30:00Z')), closed('2026-03-29T07:00:00Z'))
  t.strictSame(activeAt(a, at('2026-03-29T07:00:00Z')), open)
  t.strictSame(activeAt(a, at('2026-03-29T15:59:00Z')), open)
  t.strictSame(activeAt(a, at('2026-03-29T16:00:00Z')), closed('2026-03-30T07:00:00Z'))
})

t.test('Europe/Paris: a start inside the skipped hour opens at the jump', async (t) => {
  const a = account('Europe/Paris', { start: '02:30', end: '05:00', days: ['sunday'] })
  t.strictSame(activeAt(a, at('2026-03-29T00:40:00Z')), closed('2026-03-29T01:00:00Z'), '01:40 local: opens at 03:00 local')
  t.strictSame(activeAt(a, at('2026-03-29T01:00:00Z')), open)
  t.strictSame(activeAt(a, at('2026-03-29T02:59:00Z')), open, '04:59 local')
  t.strictSame(activeAt(a, at('2026-03-29T03:00:00Z')), closed('2026-04-05T00:30:00Z'), 'an ordinary Sunday opens at 02:30 +02')
})

t.test('Europe/Paris: a start in the repeated hour opens at its first occurrence', async (t) => {
  const a = account('Europe/Paris', { start: '02:30', end: '04:00', days: ['sunday'] })
  // 2026-10-25: 02:00-03:00 happens twice, at +02 then at +01.
  t.strictSame(activeAt(a, at('2026-10-25T00:00:00Z')), closed('2026-10-25T00:30:00Z'))
  t.strictSame(activeAt(a, at('2026-10-25T01:10:00Z')), open, '02:10 local, the second time')
  t.strictSame(activeAt(a, at('2026-10-25T02:59:00Z')), open, '03:59 local (+01)')
  t.strictSame(activeAt(a, at('2026-10-25T03:00:00Z')), closed('2026-11-01T01:30:00Z'))
})

t.test('America/Sao_Paulo (DST of 2018-2019): midnight skipped, then an hour repeated', async (t) => {
  // 2018-11-04 (a Sunday) had no 00:00-01:00.
  const night = account('America/Sao_Paulo', { start: '00:30', end: '08:00', days: ['sunday'] })
  t.strictSame(activeAt(night, at('2018-11-04T02:50:00Z')), closed('2018-11-04T03:00:00Z'), 'Saturday 23:50: opens at 01:00 (the jump)')
  t.strictSame(activeAt(night, at('2018-11-04T09:59:00Z')), open, '07:59 local (-02)')
  t.strictSame(activeAt(night, at('2018-11-04T10:00:00Z')), closed('2018-11-11T02:30:00Z'))
  // 2019-02-16 (a Saturday): 23:00-24:00 happened at -02 then at -03.
  const late = account('America/Sao_Paulo', { start: '23:30', end: '08:00', days: ['saturday'] })
  t.strictSame(activeAt(late, at('2019-02-17T01:00:00Z')), closed('2019-02-17T01:30:00Z'), 'the first 23:30')
  t.strictSame(activeAt(late, at('2019-02-17T10:59:00Z')), open, 'Sunday 07:59 (-03)')
  t.strictSame(activeAt(late, at('2019-02-17T11:00:00Z')), closed('2019-02-24T02:30:00Z'))
  const day = account('America/Sao_Paulo', {})
  t.strictSame(activeAt(day, at('2018-11-03T22:00:00Z')), closed('2018-11-04T11:00:00Z'), 'Saturday 19:00 -03: Sunday 09:00 -02')
})

t.test('America/Santiago: a Sunday that starts at 01:00, a Saturday whose 23:00 hour repeats', async (t) => {
  // 2026-09-06 (a Sunday) has no 00:00-01:00; 2026-04-04 (a Saturday) has 23:00-24:00 at -03 then -04.
  const early = account('America/Santiago', { start: '00:15', end: '10:00', days: ['sunday'] })
  t.strictSame(activeAt(early, at('2026-09-06T03:00:00Z')), closed('2026-09-06T04:00:00Z'), 'opens at the jump')
  t.strictSame(activeAt(early, at('2026-09-06T04:00:00Z')), open)
  t.strictSame(activeAt(early, at('2026-09-06T13:00:00Z')), closed('2026-09-13T03:15:00Z'), '10:00 -03 is the end')
  const night = account('America/Santiago', { start: '23:30', end: '07:00', days: ['saturday'] })
  t.strictSame(activeAt(night, at('2026-04-05T02:00:00Z')), closed('2026-04-05T02:30:00Z'), 'the first 23:30 (-03)')
  t.strictSame(activeAt(night, at('2026-04-05T03:10:00Z')), open, '23:10 the second time (-04)')
  t.strictSame(activeAt(night, at('2026-04-05T10:59:00Z')), open, 'Sunday 06:59 (-04)')
  t.strictSame(activeAt(night, at('2026-04-05T11:00:00Z')), closed('2026-04-12T03:30:00Z'))
  const day = account('America/Santiago', {})
  t.strictSame(activeAt(day, at('2026-09-05T23:00:00Z')), closed('2026-09-06T12:00:00Z'), 'Saturday 19:00 -04: Sunday 09:00 -03')
})
