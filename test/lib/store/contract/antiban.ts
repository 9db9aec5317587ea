/**
 * The anti-ban limits' store contract (README, "How quotas work"), run against every backend: the hourly cap,
 * the warm-up's daily cap and the order refusals are named in.
 */
import type { Test } from 'tap'
import { pauseOp, signalOp } from '../../../../lib/health/store.js'
import type { StoredSignal } from '../../../../lib/health/types.js'
import { firstExceeded, warmupCap } from '../../../../lib/quota/rules.js'
import { releaseOp } from '../../../../lib/quota/store.js'
import type { Kind, Limits, Refusal, Warmup } from '../../../../lib/quota/types.js'
import {
  BIG, consumeInput, DAY, HOUR, keys, makeAccount, noonOf, PLAIN, uid, usage, WEEK,
  type ContractContext, type Outcome, type TestConsume, type TestStore
} from './fixtures.js'

const HOUR_MS = 3_600_000
const DAY_MS = 86_400_000
const NEXT_WEEK = '2026-W04'

/** Day key `n` days after DAY (a Sunday, the last day of WEEK), with its week key. */
function dayAfter (n: number): { day: string, week: string } {
  const day = new Date(noonOf(DAY) + n * DAY_MS).toISOString().slice(0, 10)
  return { day, week: n === 0 ? WEEK : n <= 7 ? NEXT_WEEK : '2026-W05' }
}

/** Consumes one text after another until one is refused: the number granted, and the refusal. */
async function fill (store: TestStore, input: TestConsume, max = 1000): Promise<{ granted: Outcome[], refused: Outcome }> {
  const granted: Outcome[] = []
  for (let i = 0; i < max; i++) {
    const r = await store.consume(input)
    if (!r.ok) return { granted, refused: r }
    granted.push(r)
  }
  throw new Error(`${max} consumes were all granted`)
}

export function antibanContract (t: Test, { open }: ContractContext): void {
  t.test('the hourly cap refuses with messages_per_hour and counts in its own hour only', async (t) => {
    const store = await open(t)
    const id = uid('hourly')
    const limits = { messages_per_hour: 3 }
    for (let i = 1; i <= 3; i++) {
      t.match(await store.consume(consumeInput(id, 'text', 1, limits)), { ok: true, after: { hour: usage(i), day: usage(i), week: usage(i) } })
    }
    const over = { hour: usage(3), day: usage(3), week: usage(3) }
    t.strictSame(await store.consume(consumeInput(id, 'text', 1, limits)), { ok: false, limit: 'messages_per_hour', usage: over, state: PLAIN })
    t.match(await store.consume(consumeInput(id, 'image', 1, limits)), { ok: false, limit: 'messages_per_hour' }, 'an image is a message of the hour')
    t.match(await store.consume(consumeInput(id, 'video', 1, limits)), { ok: false, limit: 'messages_per_hour' }, 'so is a video')
    t.strictSame(await store.getUsage(id, keys()), over, 'the refusals changed nothing')

    // The next hour of the same day: a new hour row from 0, the day and the week keep counting.
    const next = { hour: '2026-01-18T13', at: noonOf(DAY) + HOUR_MS }
    t.strictSame(await store.consume(consumeInput(id, 'image', 2, limits, next)), {
      ok: true,
      before: { hour: usage(0), day: usage(3), week: usage(3) },
      after: { hour: usage(2, 2), day: usage(5, 2), week: usage(5, 2) },
      state: PLAIN
    })
    t.match(await store.consume(consumeInput(id, 'text', 2, limits, next)), { ok: false, limit: 'messages_per_hour', usage: { hour: usage(2, 2) } }, 'count is added whole')

    // A record counts past the cap, in its hour.
    t.match(await store.consume(consumeInput(id, 'text', 2, limits, { mode: 'record' })), { ok: true, after: { hour: usage(5), day: usage(7, 2) } })
    t.strictSame(await store.getUsage(id, keys()), { hour: usage(5), day: usage(7, 2), week: usage(7, 2) })
    t.strictSame(await store.getUsage(id, keys(DAY, WEEK, next.hour)), { hour: usage(2, 2), day: usage(7, 2), week: usage(7, 2) })
    t.strictSame(await store.getUsage(id, keys(DAY, WEEK, '2026-01-18T14')), { hour: usage(0), day: usage(7, 2), week: usage(7, 2) }, 'an hour not sent in reads 0')

    // Hour keys sort between day keys: the history of days never shows them.
    t.strictSame(await store.dayHistory(id, '2026-01-01', '2026-12-31'), [{ day: DAY, messages: 7, images: 2, videos: 0 }])
  })

  t.test('a cap above another never refuses first: the lowest binds', async (t) => {
    const store = await open(t)
    const id = uid('hourly-above')
    // An hourly cap above the daily limit: the day binds.
    const { granted, refused } = await fill(store, consumeInput(id, 'text', 1, { messages_per_day: 4, messages_per_hour: 100 }))
    t.equal(granted.length, 4)
    t.match(refused, { ok: false, limit: 'messages_per_day' })
    // A daily limit above the hourly cap: the hour binds.
    const other = uid('hourly-below')
    const second = await fill(store, consumeInput(other, 'text', 1, { messages_per_day: 100, messages_per_hour: 4 }))
    t.equal(second.granted.length, 4)
    t.match(second.refused, { ok: false, limit: 'messages_per_hour' })
  })

  t.test('refusals are named in order: the pause, the day, the warm-up, the week, images, videos, the hour last', async (t) => {
    const store = await open(t)
    const id = uid('order')
    const warm: Warmup = { enabled: true, start_per_day: 5, days: 14 }
    // Recorded past every limit below: the hour, the day and the week hold 10 messages, 6 images, 4 videos.
    await store.consume({ ...consumeInput(id, 'image', 6, {}, { mode: 'record' }), warmup: warm })
    await store.consume({ ...consumeInput(id, 'video', 4, {}, { mode: 'record' }), warmup: warm })
    const counters = { hour: usage(10, 6, 4), day: usage(10, 6, 4), week: usage(10, 6, 4) }
    t.strictSame(await store.getUsage(id, keys()), counters)

    // Each case lifts the limit the one before it was refused by.
    const tight: Limits = { messages_per_day: 10, messages_per_week: 10, images_per_day: 6, videos_per_week: 4, messages_per_hour: 10 }
    const cases: Array<{ kind: Kind, limits: Limits, warmup: Warmup, expected: Refusal }> = [
      { kind: 'video', limits: tight, warmup: warm, expected: 'messages_per_day' },
      { kind: 'video', limits: { ...tight, messages_per_day: 100 }, warmup: warm, expected: 'warmup' },
      { kind: 'video', limits: { ...tight, messages_per_day: 100 }, warmup: { ...warm, start_per_day: 50 }, expected: 'messages_per_week' },
      { kind: 'image', limits: { ...tight, messages_per_day: 100, messages_per_week: 100 }, warmup: { ...warm, enabled: false }, expected: 'images_per_day' },
      { kind: 'video', limits: { ...tight, messages_per_day: 100, messages_per_week: 100 }, warmup: { ...warm, enabled: false }, expected: 'videos_per_week' },
      { kind: 'video', limits: { ...BIG, messages_per_hour: 10 }, warmup: { ...warm, enabled: false }, expected: 'messages_per_hour' }
    ]
    for (const c of cases) {
      const r = await store.consume({ ...consumeInput(id, c.kind, 1, c.limits), warmup: c.warmup })
      t.match(r, { ok: false, limit: c.expected, usage: counters }, `${c.expected}`)
      const cap = c.warmup.enabled ? warmupCap(c.warmup, c.limits.messages_per_day, 1) : null
      t.equal(firstExceeded(counters, c.kind, 1, c.limits, cap), c.expected, `${c.expected}: as the one rule (lib/quota/rules.ts) says`)
    }
    t.strictSame(await store.getUsage(id, keys()), counters, 'no refusal changed anything')

    // A paused account is refused before any limit, even one the send would pass.
    const until = noonOf(DAY) + HOUR_MS
    await store.commit([pauseOp(id, until, 'manual')])
    const paused = await store.consume({ ...consumeInput(id, 'video', 1, tight), warmup: warm })
    t.match(paused, { ok: false, limit: 'account_paused', state: { paused_until: until } })
    t.match(await store.consume({ ...consumeInput(id, 'text', 1), warmup: { ...warm, enabled: false } }), { ok: false, limit: 'account_paused' }, 'and with room everywhere')
    t.match(await store.consume({ ...consumeInput(id, 'text', 1), warmup: { ...warm, enabled: false }, hour: '2026-01-18T13', at: until }), { ok: true, state: { paused_until: null } },
      'the pause is over at its end')
  })

  t.test('warm-up: day 1 caps at start_per_day, later days as warmupCap says, the result tells the day', async (t) => {
    const store = await open(t)
    const id = uid('warmup')
    const warmup: Warmup = { enabled: true, start_per_day: 3, days: 5 }
    const limits = { messages_per_day: 30 }
    // Sent every day (never idle for 72 h): day n of the warm-up is the n-th day key.
    let weekly = { week: WEEK, messages: 0 }
    for (let n = 1; n <= 6; n++) {
      const { day, week } = dayAfter(n - 1)
      const cap = warmupCap(warmup, 30, n)
      const { granted, refused } = await fill(store, { ...consumeInput(id, 'text', 1, limits, { day, week }), warmup })
      weekly = { week, messages: (weekly.week === week ? weekly.messages : 0) + granted.length }
      t.equal(granted.length, cap ?? 30, `day ${n}: ${cap ?? 'no cap, the daily limit'}`)
      t.ok(granted.every((g) => g.state.warmup_day === n && g.state.warmup_cap === cap), `day ${n}: each grant tells its warm-up day and cap`)
      t.strictSame(refused, {
        ok: false,
        limit: cap === null ? 'messages_per_day' : 'warmup',
        usage: { hour: usage(cap ?? 30), day: usage(cap ?? 30), week: usage(weekly.messages) },
        state: { ...PLAIN, warmup_day: n, warmup_cap: cap }
      }, `day ${n}: refused by ${cap === null ? 'the daily limit' : 'the warm-up'}`)
    }
    t.same([1, 2, 3, 4, 5].map((n) => warmupCap(warmup, 30, n)), [3, 5, 9, 17, null], 'the schedule this test walked (3 · 10^((n − 1) / 4), rounded)')
    const state = await store.getState(id)
    t.equal(state.warmup_start, DAY, 'the warm-up began on the first day a send was granted')
    t.equal(state.last_send_at, noonOf(dayAfter(5).day), 'its last send')
  })

  t.test('warm-up: starts over at day 1 after more than 72 h without a send', async (t) => {
    const store = await open(t)
    const warmup: Warmup = { enabled: true, start_per_day: 3, days: 5 }
    const limits = { messages_per_day: 30 }
    const send = async (id: string, n: number, at = noonOf(dayAfter(n).day)): Promise<Outcome> =>
      await store.consume({ ...consumeInput(id, 'text', 1, limits, { ...dayAfter(n), at }), warmup })

    const kept = uid('warmup-kept')
    const restarted = uid('warmup-restarted')
    for (const id of [kept, restarted]) {
      t.match(await send(id, 0), { ok: true, state: { warmup_day: 1, warmup_cap: 3 } })
      t.match(await send(id, 1), { ok: true, state: { warmup_day: 2, warmup_cap: 5 } })
    }
    // Day key 4 (warm-up day 5) is reached exactly 72 h after the last send at noon of day key 1.
    const lastSend = noonOf(dayAfter(1).day)
    t.match(await send(kept, 4, lastSend + 72 * HOUR_MS), { ok: true, state: { warmup_day: 5, warmup_cap: null } }, 'exactly 72 h: it goes on')
    t.match(await send(restarted, 4, lastSend + 72 * HOUR_MS + 1), { ok: true, state: { warmup_day: 1, warmup_cap: 3 } }, 'more than 72 h: day 1 again')
    t.equal((await store.getState(restarted)).warmup_start, dayAfter(4).day, 'from the day it started over')
    t.match(await send(restarted, 5), { ok: true, state: { warmup_day: 2, warmup_cap: 5 } }, 'and counts on from there')
    t.equal((await store.getState(kept)).warmup_start, DAY)

    // Refusals are not sends: they neither move the last send nor keep the warm-up going.
    const idle = uid('warmup-idle')
    const first = await fill(store, { ...consumeInput(idle, 'text', 1, limits), warmup })
    t.equal(first.granted.length, 3)
    for (const h of [13, 14]) {
      t.match(await store.consume({ ...consumeInput(idle, 'text', 1, limits, { hour: `${DAY}T${h}`, at: noonOf(DAY) + (h - 12) * HOUR_MS }), warmup }), { ok: false, limit: 'warmup' })
    }
    t.equal((await store.getState(idle)).last_send_at, noonOf(DAY), 'the last grant\'s instant')
    // Had a refusal at 13:00 or 14:00 counted, this would be 71 h or 70 h after it: warm-up day 4.
    const late = { ...dayAfter(3), at: noonOf(DAY) + 72 * HOUR_MS + 1 }
    t.match(await store.consume({ ...consumeInput(idle, 'text', 1, limits, late), warmup }), { ok: true, state: { warmup_day: 1, warmup_cap: 3 } },
      'the refused attempts in between did not count as sends')
  })

  t.test('warm-up: a record counts past its cap and keeps it going', async (t) => {
    const store = await open(t)
    const id = uid('warmup-record')
    const warmup: Warmup = { enabled: true, start_per_day: 3, days: 5 }
    const limits = { messages_per_day: 30 }
    t.match(await store.consume({ ...consumeInput(id, 'text', 5, limits, { mode: 'record' }), warmup }),
      { ok: true, after: { day: usage(5) }, state: { warmup_day: 1, warmup_cap: 3 } })
    t.strictSame(await store.consume({ ...consumeInput(id, 'text', 1, limits), warmup }),
      { ok: false, limit: 'warmup', usage: { hour: usage(5), day: usage(5), week: usage(5) }, state: { ...PLAIN, warmup_day: 1, warmup_cap: 3 } })
    t.match(await store.getState(id), { warmup_start: DAY, last_send_at: noonOf(DAY) }, 'a record is a send')
    t.match(await store.consume({ ...consumeInput(id, 'text', 1, limits, dayAfter(1)), warmup }), { ok: true, state: { warmup_day: 2 } })
  })

  t.test('warm-up disabled never refuses with warmup, nor keeps a warm-up state', async (t) => {
    const store = await open(t)
    const id = uid('warmup-off')
    const warmup: Warmup = { enabled: false, start_per_day: 1, days: 14 }
    const { granted, refused } = await fill(store, { ...consumeInput(id, 'text', 1, { messages_per_day: 5 }), warmup })
    t.equal(granted.length, 5)
    t.ok(granted.every((g) => g.state.warmup_cap === null && g.state.warmup_day === 1))
    t.strictSame(refused, { ok: false, limit: 'messages_per_day', usage: { hour: usage(5), day: usage(5), week: usage(5) }, state: PLAIN })
    t.match(await store.getState(id), { warmup_start: null, last_send_at: null })
  })

  t.test('warm-up: a start above messages_per_day never raises it', async (t) => {
    const store = await open(t)
    const id = uid('warmup-above')
    const warmup: Warmup = { enabled: true, start_per_day: 50, days: 14 }
    const { granted, refused } = await fill(store, { ...consumeInput(id, 'text', 1, { messages_per_day: 4 }), warmup })
    t.equal(granted.length, 4)
    t.ok(granted.every((g) => g.state.warmup_cap === null && g.state.warmup_day === 1))
    t.match(refused, { ok: false, limit: 'messages_per_day', state: { warmup_cap: null } })
  })

  t.test('messages_per_day: 0 stops a number at once, warm-up and room in the hour notwithstanding', async (t) => {
    const store = await open(t)
    const id = uid('stopped')
    const warmup: Warmup = { enabled: true, start_per_day: 20, days: 14 }
    const limits = { messages_per_day: 0, messages_per_hour: 1000 }
    t.strictSame(await store.consume({ ...consumeInput(id, 'text', 1, limits), warmup }),
      { ok: false, limit: 'messages_per_day', usage: { hour: usage(0), day: usage(0), week: usage(0) }, state: { ...PLAIN, warmup_day: 1, warmup_cap: null } })
    t.match(await store.consume({ ...consumeInput(id, 'image', 1, limits), warmup }), { ok: false, limit: 'messages_per_day' })
    t.match(await store.getState(id), { warmup_start: null, last_send_at: null }, 'a refusal starts no warm-up')
    t.match(await store.consume({ ...consumeInput(id, 'text', 1, limits, { mode: 'record' }), warmup }), { ok: true }, 'a record still counts')
    t.match(await store.consume({ ...consumeInput(id, 'text', 1, limits), warmup }), { ok: false, limit: 'messages_per_day' })
  })

  t.test('1000 concurrent consumes against an hourly cap of 30 grant exactly 30 (one instance)', async (t) => {
    const store = await open(t)
    const id = uid('hour-race-one')
    const results = await Promise.all(Array.from({ length: 1000 }, () => store.consume(consumeInput(id, 'text', 1, { messages_per_hour: 30 }))))
    t.equal(results.filter((r) => r.ok).length, 30)
    t.equal(results.filter((r) => !r.ok && r.limit === 'messages_per_hour').length, 970)
    const afters = results.flatMap((r) => r.ok ? [r.after.hour.messages] : []).sort((a, b) => a - b)
    t.strictSame(afters, Array.from({ length: 30 }, (_, i) => i + 1), 'each grant saw its own count')
    t.strictSame(await store.getUsage(id, keys()), { hour: usage(30), day: usage(30), week: usage(30) })
  })

  t.test('1000 concurrent consumes from two instances against an hourly cap grant exactly the cap in each hour', async (t) => {
    const a = await open(t)
    const b = await open(t)
    const id = uid('hour-race-two')
    const limits = { messages_per_hour: 30 }
    const later = { hour: '2026-01-18T13', at: noonOf(DAY) + HOUR_MS }
    // Two hours of the same day at once: each has its own cap; the day row counts both.
    const results = await Promise.all(Array.from({ length: 1000 }, (_, i) =>
      (i % 2 === 0 ? a : b).consume(consumeInput(id, 'image', 1, limits, i % 4 < 2 ? {} : later))))
    t.equal(results.filter((r) => r.ok).length, 60)
    t.equal(results.filter((r) => !r.ok && r.limit === 'messages_per_hour').length, 940)
    for (const s of [a, b]) {
      t.strictSame(await s.getUsage(id, keys()), { hour: usage(30, 30), day: usage(60, 60), week: usage(60, 60) })
      t.strictSame(await s.getUsage(id, keys(DAY, WEEK, later.hour)), { hour: usage(30, 30), day: usage(60, 60), week: usage(60, 60) })
    }
  })

  t.test('1000 concurrent consumes from two instances on a warming account grant exactly its cap', async (t) => {
    const a = await open(t)
    const b = await open(t)
    const id = uid('warmup-race')
    const warmup: Warmup = { enabled: true, start_per_day: 20, days: 14 }
    const account = makeAccount(id, { limits: { ...BIG, messages_per_day: 200 }, warmup })
    await a.putAccount(account)
    await b.putAccount(account)
    const results = await Promise.all(Array.from({ length: 1000 }, (_, i) =>
      (i % 2 === 0 ? a : b).consume({ ...consumeInput(id, 'text', 1, { messages_per_day: 200 }), warmup })))
    t.equal(results.filter((r) => r.ok).length, 20)
    t.equal(results.filter((r) => !r.ok && r.limit === 'warmup').length, 980)
    t.ok(results.every((r) => r.state.warmup_day === 1 && r.state.warmup_cap === 20))
    t.strictSame(await b.getUsage(id, keys()), { hour: usage(20), day: usage(20), week: usage(20) })
    t.match(await a.getState(id), { warmup_start: DAY, last_send_at: noonOf(DAY) })
  })

  t.test('quota.release gives back the hour row when its key is given', async (t) => {
    const store = await open(t)
    const id = uid('release-hour')
    await store.consume(consumeInput(id, 'image', 3))
    // What a failed decision gives back (lib/decisions/service.ts): the hour, the day and the week still current.
    const released = store.commit([releaseOp({ account: id, periods: [HOUR, DAY, WEEK], kind: 'image', count: 2 })])
    t.strictSame(await released.catch((err: Error) => err.message), [3], 'three rows lowered')
    t.strictSame(await store.getUsage(id, keys()), { hour: usage(1, 1), day: usage(1, 1), week: usage(1, 1) })
  })

  t.test('a day\'s scheduled reset drops the hour rows of the dates before it, and nothing else', async (t) => {
    const store = await open(t)
    const id = uid('prune-hours')
    await store.consume(consumeInput(id, 'text', 2, {}, { day: '2026-01-17' }))
    await store.consume(consumeInput(id, 'text', 1))
    await store.consume(consumeInput(id, 'text', 4, {}, { hour: '2026-01-18T00' }))
    const recorded = await store.recordReset({ account: id, reset_type: 'daily', source: 'schedule', period: DAY, previous_period: '2026-01-17', timestamp: '2026-01-18T00:00:00.000Z' })
    t.match(recorded, { period: DAY, before: usage(2) })
    t.strictSame(await store.getUsage(id, keys('2026-01-17')), { hour: usage(0), day: usage(2), week: usage(7) }, 'yesterday\'s hour row is gone, its day row kept for the history')
    t.strictSame(await store.getUsage(id, keys()), { hour: usage(1), day: usage(5), week: usage(7) }, 'today\'s hour rows stay')
    t.strictSame(await store.getUsage(id, keys(DAY, WEEK, '2026-01-18T00')), { hour: usage(4), day: usage(5), week: usage(7) })
    t.strictSame((await store.dayHistory(id, '2026-01-17', DAY)).map((d) => [d.day, d.messages]), [['2026-01-17', 2], [DAY, 5]])
  })

  t.test('signals: the score, the slow-down and one pause by the score, decided under the state row on every instance', async (t) => {
    const a = await open(t)
    const b = await open(t)
    const id = uid('signals')
    await a.putAccount(makeAccount(id))
    const at = noonOf(DAY)
    let n = 0
    const signal = (s: TestStore, type: StoredSignal['type'], when = at) =>
      s.commit([signalOp({ id: uid(`sig-${n++}`), account: id, type, at: when, key_id: null, detail: null })]).then(([r]) => r)
    t.match(await signal(a, 'send_failed'), { score: 95, paused_until: null, slow_until: null, paused: false })
    const slowed = await signal(b, 'forbidden')
    t.match(slowed, { score: 45, paused_until: null, paused: false }, 'seen from the other instance too')
    t.ok(slowed.slow_until !== null && slowed.slow_until > at, 'slowed until the score is back to 60')
    t.match(await a.consume({ ...consumeInput(id, 'text', 1), at: at + 1000 }), { ok: true, state: { slow: true, paused_until: null } })

    // Eight instances' worth of signals at once: the score is decided one signal at a time, so one pause only.
    const racing = await Promise.all(Array.from({ length: 8 }, (_, i) => signal(i % 2 === 0 ? a : b, 'rate_limited')))
    t.equal(racing.filter((r) => r.paused).length, 1, 'exactly one signal paused the account')
    const until = racing.find((r) => r.paused)?.paused_until
    t.equal(until, at + 3_600_000, 'for an hour')
    t.ok(racing.every((r) => r.paused_until === until), 'and every other signal saw that pause')
    t.match(await b.consume({ ...consumeInput(id, 'text', 1), at: at + 1000 }), { ok: false, limit: 'account_paused', state: { paused_until: until } })

    // A pause by hand shorter than the score's hour becomes that hour; a longer one is kept.
    const later = at + 2 * 3_600_000
    t.match((await b.commit([pauseOp(id, later + 60_000, 'manual')]))[0], { paused_until: until, pause_reason: 'health' }, 'the state before')
    t.match(await signal(a, 'reported', later), { paused: true, paused_until: later + 3_600_000 })
    await a.commit([pauseOp(id, later + 10 * 3_600_000, 'manual')])
    t.match(await signal(b, 'logged_out', later + 1000), { paused: true, paused_until: later + 10 * 3_600_000 })
    t.match(await a.getState(id), { pause_reason: 'health', paused_until: later + 10 * 3_600_000 })
    t.match((await a.commit([pauseOp(id, null, null)]))[0], { paused_until: later + 10 * 3_600_000 })
    t.match(await a.getState(id), { paused_until: null, pause_reason: null })

    // Signals older than the window no longer count, and are forgotten with the next one.
    t.equal((await a.listSignals(id, 0, 100)).length, 12)
    t.match(await signal(b, 'disconnected', at + 15 * 86_400_000), { score: 95, paused: false })
    t.strictSame((await a.listSignals(id, 0, 100)).map((s) => s.type), ['disconnected'])
  })
}
