/** The resets engine's store contract, run against every backend. */
import type { Test } from 'tap'
import { consumeInput, DAY, ISO, keys, uid, usage, WEEK, type ContractContext, type TestStore } from './fixtures.js'

export function resetsContract (t: Test, { open }: ContractContext): void {
  t.test('schedule and catch-up resets are recorded exactly once', async (t) => {
    const a = await open(t)
    const b = await open(t)
    const id = uid('once')
    await a.consume(consumeInput(id, 'image', 3, {}, { day: '2026-01-17' }))
    const attempt = (s: TestStore, source: 'schedule' | 'catch-up'): ReturnType<TestStore['recordReset']> =>
      s.recordReset({ account: id, reset_type: 'daily', source, period: DAY, previous_period: '2026-01-17', timestamp: '2026-01-18T00:00:00.000Z' })
    const results = await Promise.all([attempt(a, 'schedule'), attempt(b, 'schedule'), attempt(a, 'catch-up'), attempt(b, 'schedule'), attempt(a, 'schedule')])
    const recorded = results.filter(r => r !== null)
    t.equal(recorded.length, 1, 'one of five racing attempts records')
    t.match(recorded[0], { account: id, reset_type: 'daily', period: DAY, timestamp: '2026-01-18T00:00:00.000Z', before: usage(3, 3) })
    t.equal(typeof recorded[0]?.id, 'number')
    t.equal(await a.hasReset(id, 'daily', DAY), true)
    t.equal(await a.hasReset(id, 'weekly', WEEK), false)
    t.equal(await a.hasReset(id, 'daily', '2026-01-19'), false)
    t.equal((await a.listResets({ account: id, limit: 10 })).length, 1)
    t.equal(await attempt(b, 'catch-up'), null, 'later attempts record nothing')

    // No previous period (or an empty one): before is zeros. The week's counters are untouched.
    const weekly = await a.recordReset({ account: id, reset_type: 'weekly', source: 'catch-up', period: WEEK, timestamp: '2026-01-18T00:00:02.000Z' })
    t.strictSame(weekly?.before, usage(0))
    t.strictSame(await a.getUsage(id, keys('2026-01-17', '2026-W03')), { hour: usage(0), day: usage(3, 3), week: usage(3, 3) },
      'periodic resets clear nothing but the hour rows of the days before, which no consume reads again')
  })

  t.test('manual reset clears only its period, records before, and always records', async (t) => {
    const store = await open(t)
    const id = uid('manual')
    await store.consume(consumeInput(id, 'video', 4))
    await store.consume(consumeInput(id, 'image', 2, {}, { day: '2026-01-17' }))
    const daily = await store.recordReset({ account: id, reset_type: 'daily', source: 'manual', period: DAY, timestamp: '2026-01-18T09:00:00.000Z' })
    t.match(daily, { account: id, reset_type: 'daily', source: 'manual', period: DAY, timestamp: '2026-01-18T09:00:00.000Z', before: usage(4, 0, 4) })
    // The hourly cap is not the day's quota: a daily reset leaves the hour's row as it was.
    t.strictSame(await store.getUsage(id, keys(DAY, WEEK)), { hour: usage(4, 0, 4), day: usage(0), week: usage(6, 2, 4) }, 'the day is cleared, the week kept')
    t.strictSame(await store.getUsage(id, keys('2026-01-17', WEEK)), { hour: usage(2, 2), day: usage(2, 2), week: usage(6, 2, 4) }, 'other days kept')
    t.equal(await store.hasReset(id, 'daily', DAY), true, 'a manual reset counts for the period')
    t.equal(await store.recordReset({ account: id, reset_type: 'daily', source: 'schedule', period: DAY, timestamp: '2026-01-18T09:00:01.000Z' }), null)

    const again = await store.recordReset({ account: id, reset_type: 'daily', source: 'manual', period: DAY, timestamp: '2026-01-18T09:30:00.000Z' })
    t.strictSame(again?.before, usage(0), 'a second manual reset records again')

    const weekly = await store.recordReset({ account: id, reset_type: 'weekly', source: 'manual', period: WEEK, timestamp: '2026-01-18T10:00:00.000Z' })
    t.strictSame(weekly?.before, usage(6, 2, 4))
    t.strictSame(await store.getUsage(id, keys('2026-01-17', WEEK)), { hour: usage(2, 2), day: usage(2, 2), week: usage(0) }, 'the week is cleared, the days kept')

    // The counters restart from zero after a manual reset.
    const r = await store.consume(consumeInput(id, 'text', 1, { messages_per_day: 1 }))
    t.match(r, { ok: true, after: { day: usage(1), week: usage(1) } })

    const none = await store.recordReset({ account: uid('manual-empty'), reset_type: 'daily', source: 'manual', period: DAY, timestamp: '2026-01-18T10:00:00.000Z' })
    t.strictSame(none?.before, usage(0), 'a manual reset of an account without counters records zeros')
  })

  t.test('listResets filters newest first with a cursor; lastResets gives the newest of each type', async (t) => {
    const store = await open(t)
    const a = uid('hist-a')
    const b = uid('hist-b')
    t.strictSame(await store.lastResets(a), { daily: null, weekly: null })
    const days = ['2026-01-12', '2026-01-13', '2026-01-14', '2026-01-15', '2026-01-16']
    for (const [i, day] of days.entries()) {
      await store.recordReset({ account: a, reset_type: 'daily', source: 'schedule', period: day, timestamp: `${day}T00:00:00.000Z` })
      await store.recordReset({ account: b, reset_type: 'daily', source: 'catch-up', period: day, timestamp: `${day}T00:00:00.000Z` })
      if (i === 1) await store.recordReset({ account: a, reset_type: 'weekly', source: 'schedule', period: '2026-W03', timestamp: `${day}T00:00:00.000Z` })
    }
    await store.recordReset({ account: a, reset_type: 'daily', source: 'manual', period: '2026-01-16', timestamp: '2026-01-16T12:00:00.000Z' })

    const all = await store.listResets({ account: a, limit: 50 })
    t.equal(all.length, 7)
    t.ok(all.every((r, i) => i === 0 || r.id < all[i - 1].id), 'newest first')
    t.ok(all.every(r => r.account === a && ISO.test(r.timestamp)))
    t.equal(all[0].source, 'manual')

    const daily = await store.listResets({ account: a, reset_type: 'daily', limit: 50 })
    t.equal(daily.length, 6)
    t.ok(daily.every(r => r.reset_type === 'daily'))

    const page1 = await store.listResets({ account: a, limit: 3 })
    const page2 = await store.listResets({ account: a, limit: 3, before: page1[2].id })
    const page3 = await store.listResets({ account: a, limit: 3, before: page2[2].id })
    t.strictSame([...page1, ...page2, ...page3].map(r => r.id), all.map(r => r.id))
    t.equal(page3.length, 1)
    t.strictSame(await store.listResets({ account: a, limit: 0 }), [])

    const weekly = await store.listResets({ reset_type: 'weekly', limit: 1000 })
    t.ok(weekly.some(r => r.account === a) && weekly.every(r => r.reset_type === 'weekly'), 'filter by type across accounts')
    const everyone = await store.listResets({ limit: 1000 })
    t.ok(everyone.some(r => r.account === a) && everyone.some(r => r.account === b))

    const last = await store.lastResets(a)
    t.equal(last.daily?.id, all[0].id)
    t.equal(last.daily?.source, 'manual')
    t.equal(last.weekly?.period, '2026-W03')
    t.strictSame((await store.lastResets(b)).weekly, null)
  })
}
