import t from 'tap'
import { firstExceeded, increments, limitsTouched, pacingDelay, remainingView } from '../../../lib/quota/rules.js'

const limits = { messages_per_day: 10, messages_per_week: 20, images_per_day: 3, videos_per_week: 2 }
const zero = { messages: 0, images: 0, videos: 0 }
const usage = (day: Partial<typeof zero>, week: Partial<typeof zero> = {}) => ({ day: { ...zero, ...day }, week: { ...zero, ...week } })

t.test('what each kind counts toward (README, "How quotas work")', async (t) => {
  t.same(increments('text', 2), { messages: 2, images: 0, videos: 0 })
  t.same(increments('image', 1), { messages: 1, images: 1, videos: 0 })
  t.same(increments('video', 3), { messages: 3, images: 0, videos: 3 })
  t.same(limitsTouched('text'), ['messages_per_day', 'messages_per_week'])
  t.same(limitsTouched('image'), ['messages_per_day', 'messages_per_week', 'images_per_day'])
  t.same(limitsTouched('video'), ['messages_per_day', 'messages_per_week', 'videos_per_week'])
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

t.test('remaining never goes below zero', async (t) => {
  t.same(remainingView(usage({ messages: 12, images: 1 }, { messages: 12, videos: 5 }), limits),
    { messages_today: 0, messages_this_week: 8, images_today: 2, videos_this_week: 0 })
})

t.test('pacing: uniform in [min, max], x2 from 50 %, x3 from 80 %, plus the media pause', async (t) => {
  const delays = { min_seconds: 2, max_seconds: 8, media_seconds: 5 }
  t.equal(pacingDelay(delays, 'text', 0, 100, () => 0), 2)
  t.equal(pacingDelay(delays, 'text', 0, 100, () => 0.999999), 8)
  t.equal(pacingDelay(delays, 'text', 0, 100, () => 1), 8, 'a broken RNG still stays in range')
  t.equal(pacingDelay(delays, 'text', 49, 100, () => 0), 2)
  t.equal(pacingDelay(delays, 'text', 50, 100, () => 0), 4)
  t.equal(pacingDelay(delays, 'text', 79, 100, () => 0), 4)
  t.equal(pacingDelay(delays, 'text', 80, 100, () => 0), 6)
  t.equal(pacingDelay(delays, 'image', 80, 100, () => 0), 11)
  t.equal(pacingDelay(delays, 'video', 0, 100, () => 0.5), 10)
  const seen = new Set<number>()
  for (let i = 0; i < 7; i++) seen.add(pacingDelay(delays, 'text', 0, 100, () => i / 7))
  t.same([...seen].sort((a, b) => a - b), [2, 3, 4, 5, 6, 7, 8], 'every whole second in range is reachable')
})
