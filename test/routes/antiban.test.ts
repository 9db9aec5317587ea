import t from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sellify, { type SellifyOptions } from '../../app.js'
import { build, call, fixedClock, type TapTest } from '../helper.js'

/*
 * The anti-ban second stage as a bot and an owner see it over HTTP, on the SQLite store (README, "How quotas work"):
 * the hourly cap in the account's own calendar hours, the warm-up of a new number, human-shaped pacing, and the ban
 * signals that slow and pause a number. random() is 0, so the base delay is the middle of [min, max]: 5 for 2..8.
 */

type Json = Record<string, any>
type Clock = ReturnType<typeof fixedClock>

const KEY = '1f'.repeat(32)
const ERROR_SHAPE = { statusCode: 400, error: 'Bad Request', message: String }

/**
 * The app exactly as the service starts it: an empty environment (or `env`), no test defaults in the way
 * (build() would make every account an established number with no hourly cap in reach).
 */
async function plain (t: TapTest, clock: Clock, env: Record<string, string> = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  const options: SellifyOptions = { env, now: clock.now, random: () => 0, scheduler: false, store: { sqlitePath: ':memory:' } }
  await app.register(sellify, options)
  await app.ready()
  t.teardown(() => app.close())
  return app
}

async function put (t: TapTest, app: FastifyInstance, account: string, body: Json): Promise<Json> {
  const res = await call(app, 'PUT', `/api/v1/accounts/${account}`, body)
  t.ok(res.statusCode === 200 || res.statusCode === 201, `PUT ${account} ${JSON.stringify(body)}: ${res.statusCode} ${res.statusCode >= 400 ? res.body : ''}`)
  return res.json()
}

async function consume (t: TapTest, app: FastifyInstance, account: string, body: Json = {}): Promise<Json> {
  const res = await call(app, 'POST', '/api/v1/quota/consume', { message_type: 'text', account, ...body })
  t.equal(res.statusCode, 200, res.statusCode === 200 ? 'consume answered' : res.body)
  return res.json()
}

/** `n` consumes one after the other; their answers. */
async function consumeTimes (t: TapTest, app: FastifyInstance, account: string, n: number, body: Json = {}): Promise<Json[]> {
  const answers: Json[] = []
  for (let i = 0; i < n; i++) answers.push(await consume(t, app, account, body))
  return answers
}

async function get (app: FastifyInstance, url: string, key?: string): Promise<Json> {
  const res = await call(app, 'GET', url, undefined, key)
  if (res.statusCode !== 200) throw new Error(`GET ${url}: ${res.statusCode} ${res.body}`)
  return res.json()
}

const status = async (app: FastifyInstance, account: string): Promise<Json> => await get(app, `/api/v1/quota/status?account=${account}`)
const health = async (app: FastifyInstance, account: string): Promise<Json> => await get(app, `/api/v1/accounts/${account}/health`)

async function signal (t: TapTest, app: FastifyInstance, account: string, type: string, detail?: string, key?: string): Promise<Json> {
  const res = await call(app, 'POST', `/api/v1/accounts/${account}/signals`, { type, ...(detail === undefined ? {} : { detail }) }, key)
  t.equal(res.statusCode, 200, res.statusCode === 200 ? `signal ${type} stored` : res.body)
  return res.json()
}

/** The account's audit records of the anti-ban types, oldest first. */
async function antibanAudit (app: FastifyInstance, account: string): Promise<Json[]> {
  const records: Json[] = (await get(app, `/api/v1/audit?account=${account}&limit=500`)).records
  return records.filter((r) => ['account_signal', 'account_paused', 'account_resumed'].includes(r.type)).reverse()
}

async function pausedAlerts (app: FastifyInstance, account: string): Promise<Json[]> {
  const alerts: Json[] = (await get(app, `/api/v1/alerts?account=${account}`)).alerts
  return alerts.filter((a) => a.trigger === 'account_paused')
}

/** A message from a customer, decided by the pipeline. */
async function incoming (t: TapTest, app: FastifyInstance, account: string, id: string): Promise<Json> {
  const res = await call(app, 'POST', '/api/v1/messages/incoming', { account, contact: '+33612345678', message_id: id, text: 'Bonjour' })
  t.equal(res.statusCode, 200, res.statusCode === 200 ? 'decided' : res.body)
  return res.json()
}

t.test('the service\'s own defaults: 30 messages an hour, and new numbers warm up from 20 a day over 14 days', async (t) => {
  const clock = fixedClock('2026-01-18T12:00:00.000Z')
  const app = await plain(t, clock)

  const created = await call(app, 'PUT', '/api/v1/accounts/shop', {})
  t.equal(created.statusCode, 201)
  t.match(created.json(), {
    limits: { messages_per_day: 200, messages_per_week: 1000, images_per_day: 50, videos_per_week: 20, messages_per_hour: 30 },
    warmup: { enabled: true, start_per_day: 20, days: 14 }
  })
  t.strictSame((await get(app, '/api/v1/accounts/shop')).warmup, { enabled: true, start_per_day: 20, days: 14 }, 'GET shows the warm-up too')

  const fresh = await status(app, 'shop')
  t.match(fresh, {
    messages_this_hour: 0,
    limits: { messages_per_day: 200, messages_per_hour: 30 },
    effective_limits: { messages_per_day: 20, messages_per_week: 1000, images_per_day: 50, videos_per_week: 20, messages_per_hour: 30 },
    remaining: { messages_today: 20, messages_this_hour: 30 },
    warmup_day: 1,
    next_hourly_reset: '2026-01-18T13:00:00.000Z',
    paused_until: null
  }, 'day 1 of the warm-up: 20 messages today, not 200')

  for (const [how, id] of [['default', 'default'], ['created by an admin\'s first consume', 'walk-in']] as const) {
    if (id !== 'default') t.equal((await consume(t, app, id)).allowed, true)
    const account = await get(app, `/api/v1/accounts/${id}`)
    t.match(account, { limits: { messages_per_hour: 30 }, warmup: { enabled: true, start_per_day: 20, days: 14 } }, `${how}: the same defaults`)
  }

  const again = await put(t, app, 'shop', { timezone: 'Europe/Paris' })
  t.strictSame(again.warmup, { enabled: true, start_per_day: 20, days: 14 }, 'a PUT that omits warmup leaves a warming number warming')

  const day1 = await consumeTimes(t, app, 'shop', 21)
  t.ok(day1.slice(0, 20).every((a) => a.allowed === true), '20 sends on the first day')
  t.match(day1[20], { allowed: false, reason: 'warmup', usage: { messages_today: 20 }, remaining: { messages_today: 0 } }, 'the 21st waits for the warm-up\'s next day')

  // README's schedule for the defaults: one send a day, read in status each day.
  const schedule = [20, 24, 29, 34, 41, 48, 58, 69, 82, 98, 118, 140, 168, 200, 200]
  await put(t, app, 'schedule', {})
  const seen: Array<[number, number]> = []
  for (let day = 1; day <= schedule.length; day++) {
    clock.set(new Date(Date.parse('2026-01-18T12:00:00.000Z') + (day - 1) * 86_400_000))
    const s = await status(app, 'schedule')
    seen.push([s.warmup_day, s.effective_limits.messages_per_day])
    await consume(t, app, 'schedule')
  }
  t.same(seen, schedule.map((cap, i) => [i + 1, cap]), '20, 24, 29 … 168, then 200 a day from day 14')
  clock.set('2026-01-18T12:00:00.000Z')

  // An established number (warm-up off) meets the hourly default: 30 an hour.
  await put(t, app, 'established', { warmup: { enabled: false } })
  t.match(await status(app, 'established'), { warmup_day: null, effective_limits: { messages_per_day: 200, messages_per_hour: 30 } })
  const hour = await consumeTimes(t, app, 'established', 31)
  t.ok(hour.slice(0, 30).every((a) => a.allowed === true), '30 sends in the hour')
  t.match(hour[30], { allowed: false, reason: 'messages_per_hour', retry_after_seconds: 3600, usage: { messages_this_hour: 30, messages_today: 30 } })
})

t.test('a PUT that omits warmup keeps whether an existing account warms up', async (t) => {
  const clock = fixedClock('2026-01-18T12:00:00.000Z')
  const on = await plain(t, clock)
  await put(t, on, 'established', { warmup: { enabled: false } })
  const kept = await put(t, on, 'established', { timezone: 'Europe/Paris' })
  t.equal(kept.warmup?.enabled, false, 'an established number is not throttled back to 20 a day by an unrelated PUT')
  t.equal((await status(on, 'established')).warmup_day, null, 'status: no warm-up day')

  const off = await plain(t, clock, { SELLIFY_WARMUP: 'off' })
  await put(t, off, 'new-number', { warmup: { enabled: true } })
  const still = await put(t, off, 'new-number', { timezone: 'Europe/Paris' })
  t.equal(still.warmup?.enabled, true, 'a warming number keeps warming up when SELLIFY_WARMUP is off')
})

t.test('SELLIFY_WARMUP=off and SELLIFY_MESSAGES_PER_HOUR set what new accounts get', async (t) => {
  const clock = fixedClock('2026-01-18T12:00:00.000Z')
  const app = await plain(t, clock, { SELLIFY_WARMUP: 'off', SELLIFY_MESSAGES_PER_HOUR: '12' })
  const created = await put(t, app, 'shop', {})
  t.match(created, { limits: { messages_per_hour: 12 }, warmup: { enabled: false, start_per_day: 20, days: 14 } })
  t.match(await status(app, 'shop'), { warmup_day: null, effective_limits: { messages_per_day: 200, messages_per_hour: 12 }, remaining: { messages_today: 200, messages_this_hour: 12 } })
  const answers = await consumeTimes(t, app, 'shop', 13)
  t.ok(answers.slice(0, 12).every((a) => a.allowed === true))
  t.match(answers[12], { allowed: false, reason: 'messages_per_hour' })
})

t.test('hourly cap: the N+1st of the hour is refused until the next hour, which starts from 0', async (t) => {
  const clock = fixedClock('2026-01-18T12:20:30.000Z')
  const app = await build(t, { now: clock.now, scheduler: false, defaults: { limits: { messages_per_hour: 3 } } })
  await put(t, app, 'shop', {})

  const granted = await consumeTimes(t, app, 'shop', 2)
  t.same(granted.map((a) => [a.usage.messages_this_hour, a.remaining.messages_this_hour]), [[1, 2], [2, 1]])
  t.match(await consume(t, app, 'shop', { message_type: 'image' }), { allowed: true, usage: { messages_this_hour: 3, images_today: 1 }, remaining: { messages_this_hour: 0 } },
    'an image is a message of the hour too')
  const refused = await consume(t, app, 'shop')
  t.match(refused, { allowed: false, reason: 'messages_per_hour', retry_after_seconds: 39 * 60 + 30, usage: { messages_this_hour: 3, messages_today: 3 } })
  t.match((await call(app, 'POST', '/api/v1/quota/check', { message_type: 'video', account: 'shop' })).json(),
    { can_send: false, delay_seconds: null, reason: 'messages_per_hour', retry_after_seconds: 2370 }, 'check says the same')
  t.match(await status(app, 'shop'), { messages_this_hour: 3, messages_today: 3, remaining: { messages_this_hour: 0, messages_today: 197 }, next_hourly_reset: '2026-01-18T13:00:00.000Z' },
    'the refusal counted nothing')

  clock.set('2026-01-18T12:59:59.000Z')
  t.match(await consume(t, app, 'shop'), { allowed: false, reason: 'messages_per_hour', retry_after_seconds: 1 })
  clock.set('2026-01-18T13:00:00.000Z')
  t.match(await status(app, 'shop'), { messages_this_hour: 0, messages_today: 3, next_hourly_reset: '2026-01-18T14:00:00.000Z' }, 'a new hour; the day goes on')
  t.match(await consume(t, app, 'shop'), { allowed: true, usage: { messages_this_hour: 1, messages_today: 4 } })
})

t.test('hourly cap in Europe/Paris on 2026-10-25: the repeated 02:00 hour is one period of two hours', async (t) => {
  // 02:00-03:00 happens twice: 00:00-01:00Z (CEST) then 01:00-02:00Z (CET). The next hour, 03:00 CET, begins at 02:00Z.
  const clock = fixedClock('2026-10-25T00:10:00.000Z')
  const app = await build(t, { now: clock.now, scheduler: false, defaults: { limits: { messages_per_hour: 2 } } })
  await put(t, app, 'paris', { timezone: 'Europe/Paris' })

  t.same((await consumeTimes(t, app, 'paris', 2)).map((a) => a.allowed), [true, true])
  t.match(await consume(t, app, 'paris'), { allowed: false, reason: 'messages_per_hour', retry_after_seconds: 110 * 60 }, 'retry at 03:00 CET, 1 h 50 min away')
  t.equal((await status(app, 'paris')).next_hourly_reset, '2026-10-25T02:00:00.000Z')

  clock.set('2026-10-25T01:10:00.000Z')
  t.match(await status(app, 'paris'), { messages_this_hour: 2, next_hourly_reset: '2026-10-25T02:00:00.000Z' }, 'the second 02:10 is in the same hour')
  t.match(await consume(t, app, 'paris'), { allowed: false, reason: 'messages_per_hour', retry_after_seconds: 50 * 60 }, 'the cap holds across both')
  clock.set('2026-10-25T01:59:59.000Z')
  t.match(await consume(t, app, 'paris'), { allowed: false, reason: 'messages_per_hour', retry_after_seconds: 1 })

  clock.set('2026-10-25T02:00:00.000Z')
  t.match(await consume(t, app, 'paris'), { allowed: true, usage: { messages_this_hour: 1, messages_today: 3 } }, '03:00 CET: a new hour, the same day')
  t.equal((await status(app, 'paris')).next_hourly_reset, '2026-10-25T03:00:00.000Z')
})

t.test('hourly cap in Europe/Paris on 2026-03-29: 02:00 does not exist, 01:00 is followed by 03:00', async (t) => {
  const clock = fixedClock('2026-03-29T00:40:00.000Z')
  const app = await build(t, { now: clock.now, scheduler: false, defaults: { limits: { messages_per_hour: 2 } } })
  await put(t, app, 'paris', { timezone: 'Europe/Paris' })

  t.same((await consumeTimes(t, app, 'paris', 2)).map((a) => a.allowed), [true, true])
  t.match(await consume(t, app, 'paris'), { allowed: false, reason: 'messages_per_hour', retry_after_seconds: 20 * 60 }, '01:40 CET: retry at 03:00 CEST, 20 minutes away')
  t.equal((await status(app, 'paris')).next_hourly_reset, '2026-03-29T01:00:00.000Z')

  clock.set('2026-03-29T01:00:00.000Z')
  t.match(await status(app, 'paris'), { messages_this_hour: 0, messages_today: 2, next_hourly_reset: '2026-03-29T02:00:00.000Z' }, '03:00 CEST is a whole new hour')
  t.match(await consume(t, app, 'paris'), { allowed: true, usage: { messages_this_hour: 1, messages_today: 3 } })
})

t.test('warm-up: the daily cap grows day by day at the account\'s midnight (America/Sao_Paulo, UTC-3)', async (t) => {
  // 4 a day growing to 100 on day 10: round(4 × 25^((n - 1) / 9)) is 4, 6, 8, 12 on days 1 to 4. Midnight there is 03:00Z.
  const clock = fixedClock('2026-01-19T20:00:00.000Z')
  const app = await build(t, { now: clock.now, scheduler: false })
  await put(t, app, 'novo', { timezone: 'America/Sao_Paulo', limits: { messages_per_day: 100 }, warmup: { enabled: true, start_per_day: 4, days: 10 } })
  t.match(await status(app, 'novo'), { warmup_day: 1, effective_limits: { messages_per_day: 4 }, limits: { messages_per_day: 100 }, remaining: { messages_today: 4 } })

  const day1 = await consumeTimes(t, app, 'novo', 5)
  t.same(day1.map((a) => a.allowed), [true, true, true, true, false])
  t.match(day1[4], { reason: 'warmup', retry_after_seconds: 7 * 3600, remaining: { messages_today: 0 } }, 'retry at the account\'s midnight, 7 h away')
  clock.set('2026-01-20T02:59:59.000Z')
  t.match(await consume(t, app, 'novo'), { allowed: false, reason: 'warmup', retry_after_seconds: 1 }, '23:59:59 there: still day 1')

  const expected = [[2, 6, '2026-01-20T03:00:00.000Z'], [3, 8, '2026-01-21T15:00:00.000Z'], [4, 12, '2026-01-22T09:00:00.000Z']] as const
  for (const [day, cap, at] of expected) {
    clock.set(at)
    t.match(await status(app, 'novo'), { warmup_day: day, effective_limits: { messages_per_day: cap }, remaining: { messages_today: cap }, messages_today: 0 }, `day ${day}: ${cap}`)
    const answers = await consumeTimes(t, app, 'novo', cap + 1)
    t.equal(answers.filter((a) => a.allowed === true).length, cap, `day ${day}: ${cap} granted`)
    t.match(answers[cap], { allowed: false, reason: 'warmup' })
  }

  // One send a day from then on: days 5 to 9 still ramp (17, 24, 34, 49, 70), day 10 is the daily limit itself.
  const later = [[5, 17], [6, 24], [7, 34], [8, 49], [9, 70], [10, 100], [11, 100]] as const
  for (const [day, cap] of later) {
    clock.set(new Date(Date.parse('2026-01-19T12:00:00.000Z') + (day - 1) * 86_400_000))
    t.match(await status(app, 'novo'), { warmup_day: day, effective_limits: { messages_per_day: cap } }, `day ${day}: ${cap}`)
    t.equal((await consume(t, app, 'novo')).allowed, true)
  }
})

t.test('warm-up: after 72 h without a send it starts over from day 1', async (t) => {
  const clock = fixedClock('2026-01-19T12:00:00.000Z')
  const app = await build(t, { now: clock.now, scheduler: false })
  await put(t, app, 'novo', { timezone: 'America/Sao_Paulo', limits: { messages_per_day: 100 }, warmup: { enabled: true, start_per_day: 4, days: 10 } })
  for (const at of ['2026-01-19T12:00:00.000Z', '2026-01-20T12:00:00.000Z', '2026-01-21T12:00:00.000Z']) {
    clock.set(at)
    t.equal((await consume(t, app, 'novo')).allowed, true)
  }
  t.equal((await status(app, 'novo')).warmup_day, 3)

  clock.set('2026-01-24T11:59:00.000Z')
  t.match(await status(app, 'novo'), { warmup_day: 6, effective_limits: { messages_per_day: 24 } }, '71 h 59 min without a send: day 6 (round(4 × 25^(5/9)) = 24)')
  clock.set('2026-01-24T12:00:01.000Z')
  t.match(await status(app, 'novo'), { warmup_day: 1, effective_limits: { messages_per_day: 4 } }, 'over 72 h: day 1 again')
  const answers = await consumeTimes(t, app, 'novo', 5)
  t.same(answers.map((a) => a.allowed), [true, true, true, true, false])
  t.equal(answers[4].reason, 'warmup')

  clock.set('2026-01-25T12:00:00.000Z')
  t.match(await status(app, 'novo'), { warmup_day: 2, effective_limits: { messages_per_day: 6 } }, 'the new warm-up counts from its own first day')
})

t.test('messages_per_day: 0 stops a number at once, warm-up and hourly cap untouched', async (t) => {
  const clock = fixedClock('2026-01-18T12:00:00.000Z')
  const app = await build(t, { now: clock.now, scheduler: false })
  await put(t, app, 'shop', { limits: { messages_per_hour: 10 }, warmup: { enabled: true, start_per_day: 5, days: 7 } })
  t.equal((await consume(t, app, 'shop')).allowed, true)

  const patched = await call(app, 'PATCH', '/api/v1/accounts/shop', { limits: { messages_per_day: 0 } })
  t.equal(patched.statusCode, 200, patched.body)
  t.match(patched.json(), { limits: { messages_per_day: 0, messages_per_hour: 10 }, warmup: { enabled: true, start_per_day: 5, days: 7 } })
  t.match(await consume(t, app, 'shop'), { allowed: false, reason: 'messages_per_day', retry_after_seconds: 12 * 3600 })
  t.match((await call(app, 'POST', '/api/v1/quota/check', { message_type: 'text', account: 'shop' })).json(), { can_send: false, reason: 'messages_per_day' })
  t.match(await status(app, 'shop'), { messages_today: 1, effective_limits: { messages_per_day: 0 }, remaining: { messages_today: 0 } })
})

t.test('caps may sit above one another: accepted, and the lowest binds in the documented order', async (t) => {
  const clock = fixedClock('2026-01-18T12:00:00.000Z')
  const app = await build(t, { now: clock.now, scheduler: false })

  const above = await call(app, 'PUT', '/api/v1/accounts/hourly-above', { limits: { messages_per_day: 3, messages_per_hour: 500 } })
  t.equal(above.statusCode, 201, 'an hourly cap above the daily limit is accepted')
  t.match(above.json().limits, { messages_per_day: 3, messages_per_hour: 500 })
  t.same((await consumeTimes(t, app, 'hourly-above', 4)).map((a) => a.reason ?? 'granted'), ['granted', 'granted', 'granted', 'messages_per_day'])

  const start = await call(app, 'PUT', '/api/v1/accounts/start-above', { limits: { messages_per_day: 3 }, warmup: { enabled: true, start_per_day: 50, days: 5 } })
  t.equal(start.statusCode, 201, 'a warm-up start above the daily limit is accepted')
  t.match(await status(app, 'start-above'), { warmup_day: 1, effective_limits: { messages_per_day: 3 } }, 'the warm-up never raises the daily limit')
  t.same((await consumeTimes(t, app, 'start-above', 4)).map((a) => a.reason ?? 'granted'), ['granted', 'granted', 'granted', 'messages_per_day'])

  await put(t, app, 'hourly-below', { limits: { messages_per_day: 3, messages_per_hour: 2 } })
  t.same((await consumeTimes(t, app, 'hourly-below', 3)).map((a) => a.reason ?? 'granted'), ['granted', 'granted', 'messages_per_hour'])

  // Two caps passed at once: the first in the order account_paused, messages_per_day, warmup, …, messages_per_hour is named.
  await put(t, app, 'day-and-hour', { limits: { messages_per_day: 2, messages_per_hour: 2 } })
  t.same((await consumeTimes(t, app, 'day-and-hour', 3)).map((a) => a.reason ?? 'granted'), ['granted', 'granted', 'messages_per_day'])
  await put(t, app, 'warmup-and-hour', { limits: { messages_per_hour: 2 }, warmup: { enabled: true, start_per_day: 2, days: 5 } })
  t.same((await consumeTimes(t, app, 'warmup-and-hour', 3)).map((a) => a.reason ?? 'granted'), ['granted', 'granted', 'warmup'])
  await put(t, app, 'week-and-hour', { limits: { messages_per_week: 2, messages_per_hour: 2 }, warmup: { enabled: true, start_per_day: 2, days: 5 } })
  t.same((await consumeTimes(t, app, 'week-and-hour', 3)).map((a) => a.reason ?? 'granted'), ['granted', 'granted', 'warmup'], 'warm-up before the week')
  t.equal((await call(app, 'POST', '/api/v1/accounts/week-and-hour/pause', {})).statusCode, 200)
  t.match(await consume(t, app, 'week-and-hour'), { allowed: false, reason: 'account_paused', retry_after_seconds: 3600 }, 'the pause before every cap')
})

t.test('bad input: 400 naming the field, and nothing changes', async (t) => {
  const clock = fixedClock('2026-01-18T12:00:00.000Z')
  const app = await build(t, { now: clock.now, scheduler: false })
  await put(t, app, 'shop', { limits: { messages_per_hour: 30 }, warmup: { enabled: true, start_per_day: 10, days: 7 } })
  t.equal((await consume(t, app, 'shop')).allowed, true)
  await signal(t, app, 'shop', 'disconnected')
  const snapshot = async (): Promise<Json> => ({
    account: await get(app, '/api/v1/accounts/shop'),
    status: await status(app, 'shop'),
    health: await health(app, 'shop'),
    audit: (await get(app, '/api/v1/audit?account=shop&limit=500')).records.length
  })
  const before = await snapshot()

  const cases: Array<['PUT' | 'PATCH' | 'POST', string, unknown, RegExp]> = [
    ['PUT', 'shop', { limits: { messages_per_hour: -1 } }, /^body\/limits\/messages_per_hour must be >= 0/],
    ['PUT', 'shop', { limits: { messages_per_hour: 1.5 } }, /^body\/limits\/messages_per_hour must be integer/],
    ['PUT', 'shop', { limits: { messages_per_hour: '30' } }, /^body\/limits\/messages_per_hour must be integer/],
    ['PUT', 'shop', { warmup: { start_per_day: -1 } }, /^body\/warmup\/start_per_day must be >= /],
    ['PUT', 'shop', { warmup: { start_per_day: 2.5 } }, /^body\/warmup\/start_per_day must be integer/],
    ['PUT', 'shop', { warmup: { days: 0 } }, /^body\/warmup\/days must be >= 1/],
    ['PUT', 'shop', { warmup: { days: 91 } }, /^body\/warmup\/days must be <= 90/],
    ['PUT', 'shop', { warmup: { days: 7.5 } }, /^body\/warmup\/days must be integer/],
    ['PUT', 'shop', { warmup: { enabled: 'off' } }, /^body\/warmup\/enabled must be boolean/],
    ['PUT', 'shop', { warmup: { enabled: true, ramp: 'fast' } }, /^body\/warmup\/ramp is not an allowed field/],
    ['PUT', 'shop', { warmup: null }, /^body\/warmup must be object/],
    ['PATCH', 'shop', { warmup: { days: 91 } }, /^body\/warmup\/days must be <= 90/],
    ['PATCH', 'shop', { limits: { messages_per_hour: -1 } }, /^body\/limits\/messages_per_hour must be >= 0/],
    ['POST', 'shop/signals', { type: 'banned' }, /^body\/type must be one of disconnected, logged_out, rate_limited, send_failed, blocked_by_contact, reported, forbidden/],
    ['POST', 'shop/signals', { type: 'FORBIDDEN' }, /^body\/type must be one of/],
    ['POST', 'shop/signals', {}, /^body\/type is required/],
    ['POST', 'shop/signals', { type: 'forbidden', source: 'baileys' }, /^body\/source is not an allowed field/],
    ['POST', 'shop/signals', { type: 'forbidden', detail: 403 }, /^body\/detail must be string/],
    ['POST', 'shop/signals', { type: 'forbidden', detail: 'x'.repeat(501) }, /^body\/detail must NOT have more than 500 characters/],
    ['POST', 'shop/signals', 'null', /^body must be object/],
    ['POST', 'shop/pause', { minutes: 0 }, /^body\/minutes must be >= 1/],
    ['POST', 'shop/pause', { minutes: -5 }, /^body\/minutes must be >= 1/],
    ['POST', 'shop/pause', { minutes: 1.5 }, /^body\/minutes must be integer/],
    ['POST', 'shop/pause', { minutes: '10' }, /^body\/minutes must be integer/],
    ['POST', 'shop/pause', { minutes: 43_201 }, /^body\/minutes must be <= 43200/],
    ['POST', 'shop/pause', { minutes: 5, reason: 'lunch' }, /^body\/reason is not an allowed field/]
  ]
  for (const [method, path, body, message] of cases) {
    const res = await call(app, method, `/api/v1/accounts/${path}`, body)
    t.equal(res.statusCode, 400, `${method} ${path} ${JSON.stringify(body)}`)
    t.match(res.json(), { ...ERROR_SHAPE, message }, `${method} ${path} ${JSON.stringify(body)}: ${res.json().message as string}`)
  }
  const query = await call(app, 'GET', '/api/v1/accounts/shop/health?acount=shop')
  t.equal(query.statusCode, 400)
  t.match(query.json().message, /querystring\/acount/)
  for (const path of ['nobody/signals', 'nobody/pause', 'nobody/resume']) {
    const res = await call(app, 'POST', `/api/v1/accounts/${path}`, path.endsWith('signals') ? { type: 'forbidden' } : undefined)
    t.equal(res.statusCode, 404, `${path}: an unknown account`)
  }
  t.equal((await call(app, 'GET', '/api/v1/accounts/nobody/health')).statusCode, 404)
  t.equal((await call(app, 'GET', '/api/v1/accounts/nobody')).statusCode, 404, 'and none was created')

  t.strictSame(await snapshot(), before, 'the account, its status, its health and its audit trail are as they were')
})

t.test('pacing: centred in [min, max], ×2 from 50 % of the day, ×3 from 80 %, ×2 more while the health is low', async (t) => {
  const clock = fixedClock('2026-01-18T12:00:00.000Z')
  const app = await build(t, { now: clock.now, scheduler: false })
  await put(t, app, 'healthy', { limits: { messages_per_day: 10 } })
  t.same((await consumeTimes(t, app, 'healthy', 10)).map((a) => a.delay_seconds), [5, 5, 5, 5, 5, 10, 10, 10, 15, 15])

  await put(t, app, 'at-risk', { limits: { messages_per_day: 10 } })
  const hit = await signal(t, app, 'at-risk', 'forbidden')
  t.match(hit, { score: 50, paused_until: null, slowed_until: String }, 'a 403 costs 50 points: below 60, pacing doubles')
  t.ok(Date.parse(hit.slowed_until) > clock.now().getTime())
  t.same((await consumeTimes(t, app, 'at-risk', 10)).map((a) => a.delay_seconds), [10, 10, 10, 10, 10, 20, 20, 20, 30, 30])
  clock.set('2026-01-18T13:00:00.000Z')
  t.equal((await consume(t, app, 'healthy', { message_type: 'image' })).allowed, false, 'healthy is at its limit')
  t.equal((await call(app, 'POST', '/api/v1/quota/reset/daily', {})).statusCode, 200)
  t.equal((await consume(t, app, 'healthy', { message_type: 'image' })).delay_seconds, 5 + 5, 'media pause on top, not doubled')
  t.equal((await consume(t, app, 'at-risk', { message_type: 'image' })).delay_seconds, 10 + 5, 'slowed: the base doubles, the media pause does not')

  const slowedUntil = Date.parse(hit.slowed_until)
  clock.set(new Date(slowedUntil + 1000))
  t.match(await health(app, 'at-risk'), { slowed_until: null }, 'once the score is back to 60')
  t.ok((await health(app, 'at-risk')).score >= 60)
  t.equal((await consume(t, app, 'at-risk')).delay_seconds, 5, 'the normal pace again')
})

t.test('signals: a 403 and a report pause the number for an hour, with one critical alert and its webhook', async (t) => {
  const clock = fixedClock('2026-01-18T12:00:00.000Z')
  const app = await build(t, { now: clock.now, scheduler: false, allowPrivateWebhooks: true, env: { SELLIFY_ENCRYPTION_KEY: KEY } })
  const bodies: string[] = []
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => { bodies.push(Buffer.concat(chunks).toString('utf8')); res.writeHead(204).end() })
  })
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', () => { resolve() }) })
  t.teardown(() => { server.closeAllConnections(); server.close() })
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`
  await put(t, app, 'shop', { active_hours: 'always', alert_webhooks: [{ url, secret: 'whsec-0123456789abcdef' }] })

  t.match(await health(app, 'shop'), { account: 'shop', score: 100, paused_until: null, pause_reason: null, slowed_until: null, signals: [], advice: 'Healthy.' })
  t.match(await consume(t, app, 'shop'), { allowed: true, delay_seconds: 5 })

  const first = await signal(t, app, 'shop', 'forbidden', 'Baileys 403')
  t.match(first, { signal_id: /^sig_/, account: 'shop', score: 50, paused_until: null, pause_reason: null, slowed_until: String, advice: /pacing is doubled/ })
  t.match(first.signals, [{ id: first.signal_id, type: 'forbidden', at: '2026-01-18T12:00:00.000Z', detail: 'Baileys 403' }])
  t.equal((await consume(t, app, 'shop')).delay_seconds, 10, 'slowed')
  t.same(await pausedAlerts(app, 'shop'), [], 'no alert yet')

  const second = await signal(t, app, 'shop', 'reported')
  t.match(second, { score: 20, paused_until: '2026-01-18T13:00:00.000Z', pause_reason: 'health', advice: /^Paused/ })
  t.same(second.signals.map((s: Json) => s.type), ['reported', 'forbidden'], 'newest first')
  t.same(await health(app, 'shop'), (({ signal_id: _, ...view }) => view)(second), 'GET health shows the same')

  t.match(await consume(t, app, 'shop'), { allowed: false, reason: 'account_paused', retry_after_seconds: 3600, usage: { messages_today: 2 } })
  t.match((await call(app, 'POST', '/api/v1/quota/check', { message_type: 'text', account: 'shop' })).json(), { can_send: false, reason: 'account_paused', retry_after_seconds: 3600 })
  t.match(await incoming(t, app, 'shop', 'wamid-1'), { action: 'stop_automation', rule: 'account_paused', reply: null, delay_seconds: 0 }, 'every decision stops the automation')
  t.match((await call(app, 'POST', '/api/v1/quota/record', { message_type: 'text', account: 'shop' })).json(), { recorded: true, usage: { messages_today: 3 } },
    'a send made elsewhere is still counted')
  t.match(await status(app, 'shop'), { messages_today: 3, paused_until: '2026-01-18T13:00:00.000Z' })

  const alerts = await pausedAlerts(app, 'shop')
  t.equal(alerts.length, 1, 'one account_paused alert')
  t.match(alerts[0], { account: 'shop', trigger: 'account_paused', severity: 'critical', status: 'open', contact: null, created_at: '2026-01-18T12:00:00.000Z' })
  await app.sellify.alerts.deliverDue()
  t.equal(bodies.length, 1, 'its webhook was delivered')
  t.match(JSON.parse(bodies[0] ?? '{}'), { type: 'alert.created', alert: { id: alerts[0].id, trigger: 'account_paused', severity: 'critical', account: 'shop' } })

  const audit = await antibanAudit(app, 'shop')
  t.equal(audit.length, 3, 'two signals and one pause on record')
  t.match(audit.filter((r) => r.type === 'account_signal'), [
    { actor: { id: 'bootstrap' }, details: { signal_id: first.signal_id, signal: 'forbidden' } },
    { actor: { id: 'bootstrap' }, details: { signal_id: second.signal_id, signal: 'reported' } }
  ])
  t.match(audit.filter((r) => r.type === 'account_paused'), [{ actor: 'system', details: { reason: 'health', signal_id: second.signal_id, minutes: 60 } }])
  t.notOk(JSON.stringify(audit).includes('Baileys 403'), 'the detail is not in the audit trail')
  t.match(await get(app, '/api/v1/audit/verify?account=shop'), { valid: true, first_invalid_id: null })

  clock.set('2026-01-18T12:30:00.000Z')
  t.match(await consume(t, app, 'shop'), { allowed: false, reason: 'account_paused', retry_after_seconds: 1800 })
  clock.set('2026-01-18T13:00:00.000Z')
  t.match(await health(app, 'shop'), { paused_until: null, pause_reason: null, advice: /^Critical/ }, 'the pause ends after an hour')
  t.ok((await health(app, 'shop')).score < 30, 'the score is still low')
  t.match(await consume(t, app, 'shop'), { allowed: true, delay_seconds: 10 }, 'sending again, slowed')
  t.not((await incoming(t, app, 'shop', 'wamid-2')).rule, 'account_paused')
  t.equal((await pausedAlerts(app, 'shop')).length, 1, 'still one alert')

  const third = await signal(t, app, 'shop', 'disconnected')
  t.match(third, { paused_until: '2026-01-18T14:00:00.000Z', pause_reason: 'health' }, 'one more signal below 30 pauses again')
  t.equal((await pausedAlerts(app, 'shop')).length, 2, 'with its own alert')
})

t.test('pause and resume by hand; a resume lifts a health pause too', async (t) => {
  const clock = fixedClock('2026-01-18T12:00:00.000Z')
  const app = await build(t, { now: clock.now, scheduler: false })
  await put(t, app, 'shop', { active_hours: 'always' })

  const paused = await call(app, 'POST', '/api/v1/accounts/shop/pause', { minutes: 5 })
  t.equal(paused.statusCode, 200)
  t.match(paused.json(), { account: 'shop', score: 100, paused_until: '2026-01-18T12:05:00.000Z', pause_reason: 'manual', advice: /^Paused/ })
  t.match(await consume(t, app, 'shop'), { allowed: false, reason: 'account_paused', retry_after_seconds: 300 })
  t.match(await incoming(t, app, 'shop', 'wamid-1'), { action: 'stop_automation', rule: 'account_paused' })
  t.same(await pausedAlerts(app, 'shop'), [], 'a pause by hand raises no alert')

  const resumed = await call(app, 'POST', '/api/v1/accounts/shop/resume')
  t.equal(resumed.statusCode, 200)
  t.match(resumed.json(), { paused_until: null, pause_reason: null, score: 100, advice: 'Healthy.' })
  t.match(await consume(t, app, 'shop'), { allowed: true, delay_seconds: 5 })

  t.match((await call(app, 'POST', '/api/v1/accounts/shop/pause')).json(), { paused_until: '2026-01-18T13:00:00.000Z', pause_reason: 'manual' }, 'an hour unless told')
  clock.set('2026-01-18T12:59:59.000Z')
  t.match(await consume(t, app, 'shop'), { allowed: false, reason: 'account_paused', retry_after_seconds: 1 })
  clock.set('2026-01-18T13:00:00.000Z')
  t.match(await consume(t, app, 'shop'), { allowed: true }, 'it ends by itself')

  await signal(t, app, 'shop', 'logged_out')
  t.match(await signal(t, app, 'shop', 'reported'), { score: 30 }, '40 + 30 points: 30 is not below 30')
  t.match(await health(app, 'shop'), { paused_until: null })
  const pausing = await signal(t, app, 'shop', 'disconnected')
  t.match(pausing, { score: 25, paused_until: '2026-01-18T14:00:00.000Z', pause_reason: 'health' })
  const lifted = (await call(app, 'POST', '/api/v1/accounts/shop/resume')).json()
  t.match(lifted, { paused_until: null, pause_reason: null, score: 25, advice: /^Critical/ }, 'resumed; the score is what the signals left')
  t.match(await consume(t, app, 'shop'), { allowed: true, delay_seconds: 10 }, 'sending again, slowed')

  const trail = (await antibanAudit(app, 'shop')).map((r) => `${r.type as string}:${String(r.details.reason ?? r.details.signal ?? '')}`)
  t.same(trail.slice(0, 3), ['account_paused:manual', 'account_resumed:', 'account_paused:manual'], 'by hand, in order')
  t.same(trail.slice(3, 7).sort(), ['account_paused:health', 'account_signal:disconnected', 'account_signal:logged_out', 'account_signal:reported'], 'the signals and the pause they caused')
  t.same(trail.slice(7), ['account_resumed:'], 'then the resume')
  t.match((await antibanAudit(app, 'shop'))[0], { actor: { id: 'bootstrap' }, details: { until: '2026-01-18T12:05:00.000Z' } }, 'who paused, until when')
  t.match(await get(app, '/api/v1/audit/verify?account=shop'), { valid: true })
})

t.test('a signal that leaves the score below 30 pauses for an hour, even while a shorter pause by hand is in force', async (t) => {
  // README, "How quotas work": "a signal that leaves it below 30 pauses the number for an hour", a pause by hand or not.
  const clock = fixedClock('2026-01-18T12:00:00.000Z')
  const app = await build(t, { now: clock.now, scheduler: false })
  await put(t, app, 'shop', {})
  t.equal((await call(app, 'POST', '/api/v1/accounts/shop/pause', { minutes: 1 })).statusCode, 200)
  await signal(t, app, 'shop', 'forbidden')
  const after = await signal(t, app, 'shop', 'reported')
  t.equal(after.score, 20)
  t.equal(after.paused_until, '2026-01-18T13:00:00.000Z', 'paused for the hour the score calls for')
  t.equal((await pausedAlerts(app, 'shop')).length, 1, 'with its critical alert')
  clock.set('2026-01-18T12:01:00.000Z')
  t.equal((await consume(t, app, 'shop')).reason, 'account_paused', 'not sending again a minute later at a score of 20')
})

t.test('an agent key reports and reads the health of its own number only, and never pauses it', async (t) => {
  const clock = fixedClock('2026-01-18T12:00:00.000Z')
  const app = await build(t, { now: clock.now, scheduler: false })
  await put(t, app, 'shop', {})
  await put(t, app, 'other', {})
  const created = await call(app, 'POST', '/api/v1/keys', { name: 'shop gateway', role: 'agent', account: 'shop' })
  t.equal(created.statusCode, 201)
  const { id, key } = created.json() as { id: string, key: string }

  const own = await signal(t, app, 'shop', 'rate_limited', 'too many sends', key)
  t.match(own, { account: 'shop', score: 80 })
  t.match(await get(app, '/api/v1/accounts/shop/health', key), { score: 80, signals: [{ type: 'rate_limited', detail: 'too many sends' }] })
  t.match((await antibanAudit(app, 'shop'))[0], { type: 'account_signal', actor: { id, name: 'shop gateway' } }, 'the signal is the key\'s')

  const refused: Array<['GET' | 'POST', string, unknown]> = [
    ['POST', '/api/v1/accounts/other/signals', { type: 'forbidden' }],
    ['GET', '/api/v1/accounts/other/health', undefined],
    ['POST', '/api/v1/accounts/shop/pause', { minutes: 5 }],
    ['POST', '/api/v1/accounts/shop/resume', undefined],
    ['POST', '/api/v1/accounts/other/pause', {}]
  ]
  for (const [method, url, body] of refused) {
    const res = await call(app, method, url, body, key)
    t.equal(res.statusCode, 403, `${method} ${url}`)
    t.match(res.json(), { statusCode: 403, error: 'Forbidden', message: String })
  }
  t.match(await health(app, 'other'), { score: 100, signals: [], paused_until: null }, 'the other number is untouched')
  t.match(await health(app, 'shop'), { paused_until: null }, 'and its own is not paused')
})

t.test('a signal\'s detail is not in the SQLite file nor its WAL in clear', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sellify-antiban-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const path = join(dir, 'sellify.db')
  const app = await build(t, { store: { sqlitePath: path }, env: { SELLIFY_ENCRYPTION_KEY: KEY }, scheduler: false })
  await put(t, app, 'shop', {})
  const DETAIL = 'Baileys 463 sending to 33699887766 (Mme Kouassi)'
  const stored = await signal(t, app, 'shop', 'blocked_by_contact', DETAIL)
  t.equal((await health(app, 'shop')).signals[0].detail, DETAIL, 'read back in clear through the API')

  const files = (): string[] => [path, `${path}-wal`].filter((f) => existsSync(f))
  const bytes = (): Buffer => Buffer.concat(files().map((f) => readFileSync(f)))
  t.ok(files().includes(`${path}-wal`), 'the WAL holds the writes')
  t.not(bytes().indexOf(stored.signal_id as string), -1, 'the signal\'s row is in the files (its id is)')
  for (const secret of [DETAIL, '33699887766', 'Kouassi']) t.equal(bytes().indexOf(secret), -1, `no ${JSON.stringify(secret)} while serving`)
  await app.close()
  for (const secret of [DETAIL, '33699887766', 'Kouassi']) t.equal(bytes().indexOf(secret), -1, `no ${JSON.stringify(secret)} after close`)

  const reopened = await build(t, { store: { sqlitePath: path }, env: { SELLIFY_ENCRYPTION_KEY: KEY }, scheduler: false })
  t.equal((await health(reopened, 'shop')).signals[0].detail, DETAIL, 'and readable after a restart')
})
