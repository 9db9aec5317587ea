import t from 'tap'
import {
  consumeStateOf, effectiveLimits, firstExceeded, increments, limitsTouched, normalDraw, pacingDelay, remainingView, retryAfter,
  WARMUP_IDLE_MS, warmupCap, warmupDay
} from '../../../lib/quota/rules.js'
import type { AccountState } from '../../../lib/quota/store.js'
import type { Warmup } from '../../../lib/quota/types.js'
import { seededRandom } from '../../../lib/shared/seeded.js'

const limits = { messages_per_day: 10, messages_per_week: 20, images_per_day: 3, videos_per_week: 2, messages_per_hour: 30 }
const zero = { messages: 0, images: 0, videos: 0 }
const usage = (day: Partial<typeof zero>, week: Partial<typeof zero> = {}, hour: Partial<typeof zero> = {}) =>
  ({ hour: { ...zero, ...hour }, day: { ...zero, ...day }, week: { ...zero, ...week } })
const HOUR_MS = 3_600_000

/** A random() that answers the given values in turn (then repeats the last). */
const sequence = (...values: number[]): () => number => {
  let i = 0
  return () => values[Math.min(i++, values.length - 1)]
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length
const sd = (xs: number[]): number => {
  const m = mean(xs)
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1))
}

t.test('what each kind counts toward (README, "How quotas work")', async (t) => {
  t.same(increments('text', 2), { messages: 2, images: 0, videos: 0 })
  t.same(increments('image', 1), { messages: 1, images: 1, videos: 0 })
  t.same(increments('video', 3), { messages: 3, images: 0, videos: 3 })
  // Every send is a message of the hour too.
  t.same(limitsTouched('text'), ['messages_per_day', 'messages_per_week', 'messages_per_hour'])
  t.same(limitsTouched('image'), ['messages_per_day', 'messages_per_week', 'images_per_day', 'messages_per_hour'])
  t.same(limitsTouched('video'), ['messages_per_day', 'messages_per_week', 'videos_per_week', 'messages_per_hour'])
})

t.test('the first limit a send would pass, in the fixed order', async (t) => {
  t.equal(firstExceeded(usage({ messages: 9 }), 'text', 1, limits), null)
  t.equal(firstExceeded(usage({ messages: 10 }), 'text', 1, limits), 'messages_per_day')
  t.equal(firstExceeded(usage({ messages: 1 }, { messages: 20 }), 'text', 1, limits), 'messages_per_week')
  t.equal(firstExceeded(usage({ images: 3 }), 'text', 1, limits), null, 'a text ignores the image limit')
  t.equal(firstExceeded(usage({ images: 3 }), 'image', 1, limits), 'images_per_day')
  t.equal(firstExceeded(usage({}, { videos: 2 }), 'video', 1, limits), 'videos_per_week')
  t.equal(firstExceeded(usage({ messages: 5 }), 'text', 6, limits), 'messages_per_day', 'count is added whole')
  t.equal(firstExceeded(usage({}), 'text', 1, { ...limits, messages_per_day: 0 }), 'messages_per_day', '0 forbids')
})

t.test('the hourly cap: counted on the hour row, refused last', async (t) => {
  const hourly = { ...limits, messages_per_day: 100, messages_per_week: 100, messages_per_hour: 5 }
  t.equal(firstExceeded(usage({ messages: 50 }, { messages: 50 }, { messages: 4 }), 'text', 1, hourly), null, 'exactly at the cap is allowed')
  t.equal(firstExceeded(usage({ messages: 50 }, { messages: 50 }, { messages: 5 }), 'text', 1, hourly), 'messages_per_hour')
  t.equal(firstExceeded(usage({}, {}, { messages: 3 }), 'text', 3, hourly), 'messages_per_hour', 'count is added whole')
  t.equal(firstExceeded(usage({}, {}, { messages: 5 }), 'image', 1, hourly), 'messages_per_hour', 'an image is a message of the hour')
  t.equal(firstExceeded(usage({}, {}, { messages: 5 }), 'video', 1, hourly), 'messages_per_hour', 'so is a video')
  t.equal(firstExceeded(usage({ messages: 60 }), 'text', 1, hourly), null, 'the day row does not count toward the hour')
  t.equal(firstExceeded(usage({ images: 3 }, {}, { messages: 5 }), 'image', 1, hourly), 'images_per_day', 'every other limit is named before it')
  t.equal(firstExceeded(usage({}, { videos: 2 }, { messages: 5 }), 'video', 1, hourly), 'videos_per_week')
  t.equal(firstExceeded(usage({}, { messages: 100 }, { messages: 5 }), 'text', 1, hourly), 'messages_per_week')
  t.equal(firstExceeded(usage({}), 'text', 1, { ...hourly, messages_per_hour: 0 }), 'messages_per_hour', '0 forbids')
  t.equal(firstExceeded(usage({ messages: 10 }), 'text', 1, { ...limits, messages_per_hour: 1000 }), 'messages_per_day', 'a cap above the daily limit: the lower binds')
})

t.test('the warm-up cap comes right after the daily limit', async (t) => {
  const big = { ...limits, messages_per_day: 200, messages_per_week: 1000, messages_per_hour: 1000 }
  t.equal(firstExceeded(usage({ messages: 19 }), 'text', 1, big, 20), null, 'exactly at the cap is allowed')
  t.equal(firstExceeded(usage({ messages: 20 }), 'text', 1, big, 20), 'warmup')
  t.equal(firstExceeded(usage({ messages: 18 }), 'text', 3, big, 20), 'warmup', 'count is added whole')
  t.equal(firstExceeded(usage({ messages: 200 }), 'text', 1, big, 20), 'messages_per_day', 'the daily limit is named before the warm-up')
  t.equal(firstExceeded(usage({ messages: 20 }, { messages: 1000 }), 'text', 1, big, 20), 'warmup', 'the warm-up before the week')
  t.equal(firstExceeded(usage({ messages: 20, images: 3 }, {}, { messages: 1000 }), 'image', 1, big, 20), 'warmup', 'before images and the hour')
  t.equal(firstExceeded(usage({ messages: 20 }), 'text', 1, big, null), null, 'no cap: no warm-up refusal')
  t.equal(firstExceeded(usage({}), 'text', 1, big, 0), 'warmup', 'a cap of 0 forbids')
})

t.test('remaining never goes below zero', async (t) => {
  t.same(remainingView(usage({ messages: 12, images: 1 }, { messages: 12, videos: 5 }, { messages: 31 }), limits),
    { messages_today: 0, messages_this_week: 8, images_today: 2, videos_this_week: 0, messages_this_hour: 0 })
  t.same(remainingView(usage({ messages: 3 }, { messages: 3 }, { messages: 3 }), effectiveLimits(limits, 5)),
    { messages_today: 2, messages_this_week: 17, images_today: 3, videos_this_week: 2, messages_this_hour: 27 }, 'under the warm-up, what is left of its cap')
})

t.test('effective limits: the warm-up lowers the daily one, never raises it', async (t) => {
  t.same(effectiveLimits(limits, null), limits)
  t.not(effectiveLimits(limits, null), limits, 'a copy')
  t.same(effectiveLimits(limits, 4), { ...limits, messages_per_day: 4 })
  t.same(effectiveLimits(limits, 50), limits)
})

t.test('warmupCap: start_per_day on day 1, geometric up to messages_per_day on day `days`', async (t) => {
  const w: Warmup = { enabled: true, start_per_day: 20, days: 14 }
  // 20 · 10^((n − 1) / 13), rounded: the ratio of one day to the next is the same all along.
  const schedule = Array.from({ length: 14 }, (_, i) => warmupCap(w, 200, i + 1))
  t.same(schedule, [20, 24, 29, 34, 41, 48, 58, 69, 82, 98, 118, 140, 168, null])
  t.equal(warmupCap(w, 200, 1), 20, 'day 1: the start')
  t.equal(warmupCap(w, 200, 8), 69, 'mid-way')
  t.equal(warmupCap(w, 200, 14), null, 'day `days`: the daily limit itself binds')
  t.same(effectiveLimits({ ...limits, messages_per_day: 200 }, warmupCap(w, 200, 14)).messages_per_day, 200)
  t.equal(warmupCap(w, 200, 40), null, 'and after')
  t.equal(warmupCap(w, 200, 0), 20, 'a day before the first is the first')
  t.equal(warmupCap({ enabled: true, start_per_day: 10, days: 5 }, 50, 3), 22, 'rounded: 10 · 5^(1/2) = 22.36')
  t.equal(warmupCap({ enabled: true, start_per_day: 10, days: 5 }, 50, 4), 33, 'rounded: 33.44')
  for (let n = 1; n < 14; n++) {
    const cap = warmupCap(w, 200, n) as number
    t.ok(cap >= 20 && cap < 200, `day ${n}: between the start and the daily limit`)
  }
})

t.test('warmupCap: the cases where it does not bind, and start 0', async (t) => {
  t.equal(warmupCap({ enabled: false, start_per_day: 20, days: 14 }, 200, 1), null, 'disabled')
  t.equal(warmupCap({ enabled: true, start_per_day: 200, days: 14 }, 200, 1), null, 'start at the daily limit')
  t.equal(warmupCap({ enabled: true, start_per_day: 500, days: 14 }, 200, 1), null, 'start above it: the lower (the daily limit) binds')
  t.equal(warmupCap({ enabled: true, start_per_day: 20, days: 14 }, 0, 1), null, 'a daily limit of 0 binds by itself')
  t.equal(warmupCap({ enabled: true, start_per_day: 20, days: 1 }, 200, 1), null, 'a warm-up of one day is over on its first')
  // Geometric growth from 0 stays 0: nothing is granted until day `days`.
  t.same(Array.from({ length: 5 }, (_, i) => warmupCap({ enabled: true, start_per_day: 0, days: 5 }, 200, i + 1)), [0, 0, 0, 0, null], 'start 0')
})

t.test('warmupDay: counted in day keys from the first, over again after 72 h without a send', async (t) => {
  const at = Date.parse('2026-01-20T12:00:00Z')
  t.equal(warmupDay({ start: null, lastSend: null }, '2026-01-20', at), 1, 'never sent: day 1')
  t.equal(warmupDay({ start: '2026-01-18', lastSend: null }, '2026-01-20', at), 1, 'no last send: day 1')
  t.equal(warmupDay({ start: '2026-01-20', lastSend: at - HOUR_MS }, '2026-01-20', at), 1, 'its first day')
  t.equal(warmupDay({ start: '2026-01-18', lastSend: at - HOUR_MS }, '2026-01-20', at), 3)
  t.equal(warmupDay({ start: '2026-01-30', lastSend: at - HOUR_MS }, '2026-02-02', at), 4, 'across a month end')
  t.equal(warmupDay({ start: '2025-12-31', lastSend: at - HOUR_MS }, '2026-01-13', at), 14, 'across a year end')
  t.equal(warmupDay({ start: '2026-01-21', lastSend: at - HOUR_MS }, '2026-01-20', at), 1, 'a day before the first is the first')
  t.equal(WARMUP_IDLE_MS, 72 * HOUR_MS)
  t.equal(warmupDay({ start: '2026-01-10', lastSend: at - 72 * HOUR_MS }, '2026-01-20', at), 11, 'exactly 72 h: it goes on')
  t.equal(warmupDay({ start: '2026-01-10', lastSend: at - 72 * HOUR_MS - 1 }, '2026-01-20', at), 1, 'more than 72 h: day 1 again')
})

t.test('consumeStateOf: what the stored state makes of a send', async (t) => {
  const at = Date.parse('2026-01-20T12:00:00Z')
  const none: AccountState = { paused_until: null, pause_reason: null, slow_until: null, warmup_start: null, last_send_at: null }
  const warming = { warmup: { enabled: true, start_per_day: 20, days: 14 }, limits: { ...limits, messages_per_day: 200 } }
  const plain = { warmup: { enabled: false, start_per_day: 20, days: 14 }, limits: { ...limits, messages_per_day: 200 } }
  t.same(consumeStateOf(plain, none, '2026-01-20', at), { warmup_day: 1, warmup_cap: null, paused_until: null, slow: false })
  t.same(consumeStateOf(plain, { ...none, warmup_start: '2026-01-01', last_send_at: at - HOUR_MS }, '2026-01-20', at),
    { warmup_day: 1, warmup_cap: null, paused_until: null, slow: false }, 'warm-up off: its stored days do not count')
  t.same(consumeStateOf(warming, none, '2026-01-20', at), { warmup_day: 1, warmup_cap: 20, paused_until: null, slow: false })
  t.same(consumeStateOf(warming, { ...none, warmup_start: '2026-01-13', last_send_at: at - HOUR_MS }, '2026-01-20', at),
    { warmup_day: 8, warmup_cap: 69, paused_until: null, slow: false })
  t.same(consumeStateOf(warming, { ...none, warmup_start: '2026-01-13', last_send_at: at - 73 * HOUR_MS }, '2026-01-20', at),
    { warmup_day: 1, warmup_cap: 20, paused_until: null, slow: false }, 'idle for 73 h: day 1')
  t.same(consumeStateOf(plain, { ...none, paused_until: at + 1, slow_until: at + 1 }, '2026-01-20', at),
    { warmup_day: 1, warmup_cap: null, paused_until: at + 1, slow: true }, 'paused and slowed until later')
  t.same(consumeStateOf(plain, { ...none, paused_until: at, slow_until: at }, '2026-01-20', at),
    { warmup_day: 1, warmup_cap: null, paused_until: null, slow: false }, 'a pause that ends now is over')
})

t.test('retryAfter: the end of the refusing limit\'s period', async (t) => {
  const at = new Date('2026-01-18T12:30:00Z')
  const p = { hourEnd: new Date('2026-01-18T13:00:00Z'), dayEnd: new Date('2026-01-19T00:00:00Z'), weekEnd: new Date('2026-01-19T00:00:00Z') }
  const later = { ...p, weekEnd: new Date('2026-01-26T00:00:00Z') }
  t.equal(retryAfter('messages_per_hour', later, at), 1800)
  t.equal(retryAfter('warmup', later, at), 41_400, 'the warm-up\'s cap is the day\'s')
  t.equal(retryAfter('messages_per_day', later, at), 41_400)
  t.equal(retryAfter('images_per_day', later, at), 41_400)
  t.equal(retryAfter('messages_per_week', later, at), 646_200)
  t.equal(retryAfter('videos_per_week', later, at), 646_200)
})

t.test('normalDraw: a standard normal from the injected random source', async (t) => {
  const random = seededRandom(42)
  const draws = Array.from({ length: 10_000 }, () => normalDraw(random))
  t.ok(Math.abs(mean(draws)) < 0.05, `mean ${mean(draws)} ≈ 0`)
  t.ok(Math.abs(sd(draws) - 1) < 0.03, `sd ${sd(draws)} ≈ 1`)
  const within = (k: number): number => draws.filter((x) => Math.abs(x) < k).length / draws.length
  t.ok(Math.abs(within(1) - 0.6827) < 0.02, `${within(1)} within 1 sd`)
  t.ok(Math.abs(within(2) - 0.9545) < 0.01, `${within(2)} within 2 sd`)
  t.ok(draws.every(Number.isFinite), 'always finite')
  t.equal(normalDraw(() => 0), 0, 'u = 0: the centre (the logarithm stays finite)')
  t.ok(Number.isFinite(normalDraw(() => 1)), 'a random() of 1 (a broken source) stays finite')
  t.ok(Number.isFinite(normalDraw(() => -3)) && Number.isFinite(normalDraw(() => 7)), 'so does one outside [0, 1)')
})

t.test('pacing: normal around the centre of [min, max], σ = (max − min) / 4, clamped', async (t) => {
  const delays = { min_seconds: 2, max_seconds: 8, media_seconds: 5 }
  const random = seededRandom(2026)
  // The draw before rounding and clamping, from the same source as pacingDelay uses.
  const unclamped = Array.from({ length: 10_000 }, () => 5 + normalDraw(random) * (8 - 2) / 4)
  t.ok(Math.abs(sd(unclamped) - 1.5) < 0.05, `sd of the unclamped draw ${sd(unclamped)} ≈ 1.5`)
  t.ok(Math.abs(mean(unclamped) - 5) < 0.05, `its mean ${mean(unclamped)} ≈ 5`)

  const seeded = seededRandom(7)
  const delaysDrawn = Array.from({ length: 10_000 }, () => pacingDelay(delays, 'text', 0, 100, seeded))
  t.ok(delaysDrawn.every((d) => Number.isInteger(d) && d >= 2 && d <= 8), 'whole seconds, all within [2, 8]')
  t.ok(Math.abs(mean(delaysDrawn) - 5) <= 0.1, `mean ${mean(delaysDrawn)} ≈ 5`)
  const counts = [2, 3, 4, 5, 6, 7, 8].map((s) => delaysDrawn.filter((d) => d === s).length)
  t.ok(counts.every((c) => c > 0), `every whole second in range is reachable: ${counts.join(' ')}`)
  const mode = counts.indexOf(Math.max(...counts)) + 2
  t.equal(mode, 5, 'the mode is the centre')
  t.ok(counts[0] < counts[1] && counts[1] < counts[2] && counts[2] < counts[3], 'counts fall away below the centre')
  t.ok(counts[3] > counts[4] && counts[4] > counts[5] && counts[5] > counts[6], 'and above it')
  // Not uniform: a uniform draw would give each second about 1/7 of them.
  t.ok(counts[3] > 0.22 * delaysDrawn.length && counts[0] < 0.08 * delaysDrawn.length, 'bell-shaped, not flat')

  t.equal(pacingDelay(delays, 'text', 0, 100, () => 0), 5, 'a draw of 0: the centre')
  t.equal(pacingDelay(delays, 'text', 0, 100, () => 1), 8, 'a broken RNG still stays in range (high)')
  t.equal(pacingDelay(delays, 'text', 0, 100, sequence(1, 0.5)), 2, 'and low')
  t.equal(pacingDelay({ min_seconds: 4, max_seconds: 4, media_seconds: 0 }, 'text', 0, 100, seededRandom(1)), 4, 'min = max: that delay')
  t.equal(pacingDelay({ min_seconds: 0, max_seconds: 0, media_seconds: 0 }, 'text', 0, 100, seededRandom(1)), 0, 'no delay at all')
})

t.test('pacing: x2 from 50 %, x3 from 80 %, x2 more while slow, plus the media pause', async (t) => {
  const delays = { min_seconds: 2, max_seconds: 8, media_seconds: 5 }
  const centre = () => 0 // a draw of exactly the centre: 5 s
  t.equal(pacingDelay(delays, 'text', 49, 100, centre), 5)
  t.equal(pacingDelay(delays, 'text', 50, 100, centre), 10)
  t.equal(pacingDelay(delays, 'text', 79, 100, centre), 10)
  t.equal(pacingDelay(delays, 'text', 80, 100, centre), 15)
  t.equal(pacingDelay(delays, 'text', 150, 100, centre), 15, 'past the limit (records): still x3')
  t.equal(pacingDelay(delays, 'text', 0, 0, centre), 15, 'a daily limit of 0 counts as used up')
  t.equal(pacingDelay(delays, 'text', 0, 100, centre, true), 10, 'slow: x2')
  t.equal(pacingDelay(delays, 'text', 50, 100, centre, true), 20, 'slow at 50 %: x4')
  t.equal(pacingDelay(delays, 'text', 80, 100, centre, true), 30, 'slow at 80 %: x6')
  t.equal(pacingDelay(delays, 'text', 80, 100, centre, false), 15)
  t.equal(pacingDelay(delays, 'image', 80, 100, centre), 20, 'an image: + media_seconds, after the factor')
  t.equal(pacingDelay(delays, 'video', 0, 100, centre), 10, 'a video too')
  t.equal(pacingDelay(delays, 'video', 80, 100, centre, true), 35, 'slow, 80 %, video: 5 x 6 + 5')
  t.equal(pacingDelay(delays, 'text', 0, 100, () => 1), 8)
  t.equal(pacingDelay(delays, 'image', 50, 100, () => 1, true), 37, 'the clamped draw is what the factors multiply')
})
