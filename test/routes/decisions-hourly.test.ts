import t from 'tap'
import type { FastifyInstance } from 'fastify'
import type { SellifyOptions } from '../../app.js'
import { build, call, DEV_KEY, fixedClock, PG_URL, pgSchema, pgSkip, type TapTest } from '../helper.js'
import { configure, type Json, karite } from './decision-fixtures.js'

/*
 * GET /api/v1/decisions/hourly as the dashboard's chart reads it: decisions made through POST /api/v1/messages/incoming
 * on a clock the test moves, reported sent or failed, counted in the UTC hour they were made.
 */

const HOUR = 3_600_000
const ERROR_SHAPE = { statusCode: Number, error: String, message: String }
const KB = { business_name: 'Karité & Co', products: [karite()] }

type Clock = ReturnType<typeof fixedClock>
type Counts = Partial<Record<'total' | 'pending' | 'done' | 'sent' | 'failed', number>>

async function shop (t: TapTest, app: FastifyInstance, account = 'default'): Promise<void> {
  await configure(t, app, {}, account)
  const res = await call(app, 'PUT', `/api/v1/knowledge?account=${account}`, KB)
  t.equal(res.statusCode, 200, res.statusCode === 200 ? `knowledge of ${account}` : res.body)
}

/** A customer's message, decided at the clock's time: the decision's id and action. */
async function say (t: TapTest, app: FastifyInstance, contact: string, text: string, extra: Json = {}, key = DEV_KEY): Promise<Json> {
  const res = await call(app, 'POST', '/api/v1/messages/incoming', { contact, text, ...extra }, key)
  t.equal(res.statusCode, 200, res.statusCode === 200 ? `${contact}: ${text}` : res.body)
  return res.json()
}

async function report (t: TapTest, app: FastifyInstance, decision: Json, outcome: 'sent' | 'failed', body: Json = {}): Promise<void> {
  const res = await call(app, 'POST', `/api/v1/messages/${decision.decision_id as string}/${outcome}`, body)
  t.equal(res.statusCode, 200, `${outcome}: ${res.body}`)
}

async function hourly (app: FastifyInstance, query = '', key: string | null = DEV_KEY): Promise<Json> {
  const res = await call(app, 'GET', `/api/v1/decisions/hourly${query}`, undefined, key)
  if (res.statusCode !== 200) throw new Error(`GET /api/v1/decisions/hourly${query}: ${res.statusCode} ${res.body}`)
  return res.json()
}

/** An hour of the answer as expected: the counts given, 0 for the others, total their sum unless given. */
function hour (start: string, counts: Counts = {}): Json {
  const c = { pending: 0, done: 0, sent: 0, failed: 0, ...counts }
  return { hour: start, total: counts.total ?? c.pending + c.done + c.sent + c.failed, pending: c.pending, done: c.done, sent: c.sent, failed: c.failed }
}

/** `count` hours from `first`, at 0 except those of `filled` (keyed by the hour's ISO start). */
function window (first: string, count: number, filled: Record<string, Counts> = {}): Json[] {
  return Array.from({ length: count }, (_, i) => {
    const start = new Date(Date.parse(first) + i * HOUR).toISOString()
    return hour(start, filled[start])
  })
}

/**
 * One day of a shop, on whichever store `options` names: decisions at the edges of the window, reports that
 * come in later, a stop (nothing to send), a replay of one message id (one decision), another account's.
 */
async function dayOfAShop (t: TapTest, options: SellifyOptions = {}): Promise<{ app: FastifyInstance, clock: Clock, pending: Json }> {
  const clock = fixedClock('2026-01-17T11:59:59.999Z')
  const app = await build(t, { now: clock.now, scheduler: false, ...options })
  await shop(t, app)
  await shop(t, app, 'shop-b')

  // A millisecond before the window GET answers at 11:45 (it starts at 2026-01-17T12:00).
  await report(t, app, await say(t, app, '+221770000001', 'Bonjour'), 'sent')
  clock.set('2026-01-17T12:00:00.000Z')
  await report(t, app, await say(t, app, '+221770000002', 'Bonjour'), 'sent')

  clock.set('2026-01-18T10:00:00.000Z')
  const sent = await say(t, app, '+221770000003', 'Bonjour', { message_id: 'wamid-3' })
  t.match(sent, { action: 'respond_text' })
  clock.set('2026-01-18T10:20:00.000Z')
  const failed = await say(t, app, '+221770000004', 'Bonjour')
  clock.set('2026-01-18T10:40:00.000Z')
  const stop = await say(t, app, '+221770000005', 'Stop, ne m\'écrivez plus')
  t.match(stop, { action: 'ignore', reply: null }, 'a stop: nothing to send')
  clock.set('2026-01-18T10:59:59.999Z')
  const pending = await say(t, app, '+221770000006', 'Bonjour')
  await report(t, app, sent, 'sent', { message_id: 'wamid-out-3' })
  await report(t, app, failed, 'failed', { error: 'not on WhatsApp' })

  clock.set('2026-01-18T11:30:00.000Z')
  const replay = await say(t, app, '+221770000003', 'Bonjour', { message_id: 'wamid-3' })
  t.equal(replay.decision_id, sent.decision_id, 'the same message id again: the same decision, not another one')
  await say(t, app, '+221770000007', 'Bonjour')
  await say(t, app, '+221770000008', 'Bonjour', { account: 'shop-b' })
  clock.set('2026-01-18T11:45:00.000Z')
  t.equal(pending.action, 'respond_text', 'one is left waiting for its report')
  return { app, clock, pending }
}

async function chartOfTheDay (t: TapTest, app: FastifyInstance, clock: Clock): Promise<void> {
  const day = await hourly(app)
  t.strictSame(day, {
    account: 'default',
    from: '2026-01-17T12:00:00.000Z',
    to: '2026-01-18T12:00:00.000Z',
    hours: window('2026-01-17T12:00:00.000Z', 24, {
      '2026-01-17T12:00:00.000Z': { sent: 1 },
      '2026-01-18T10:00:00.000Z': { pending: 1, done: 1, sent: 1, failed: 1 },
      '2026-01-18T11:00:00.000Z': { pending: 1 }
    })
  }, '24 hours by default, oldest first, the current one last; the decision at 11:59:59.999 the day before is outside')
  t.strictSame(await hourly(app, '?account=default&hours=24'), day, 'the same when named')

  t.strictSame((await hourly(app, '?account=shop-b')).hours.filter((h: Json) => h.total > 0), [hour('2026-01-18T11:00:00.000Z', { pending: 1 })], 'each account has its own')

  t.strictSame(await hourly(app, '?hours=1'), {
    account: 'default', from: '2026-01-18T11:00:00.000Z', to: '2026-01-18T12:00:00.000Z', hours: [hour('2026-01-18T11:00:00.000Z', { pending: 1 })]
  }, 'hours=1: the current hour only')

  const week = await hourly(app, '?hours=168')
  t.equal(week.hours.length, 168)
  t.equal(week.from, '2026-01-11T12:00:00.000Z')
  t.equal(week.to, '2026-01-18T12:00:00.000Z')
  t.strictSame(week.hours, window('2026-01-11T12:00:00.000Z', 168, {
    '2026-01-17T11:00:00.000Z': { sent: 1 },
    '2026-01-17T12:00:00.000Z': { sent: 1 },
    '2026-01-18T10:00:00.000Z': { pending: 1, done: 1, sent: 1, failed: 1 },
    '2026-01-18T11:00:00.000Z': { pending: 1 }
  }), 'a week holds the decision of 11:59:59.999 too')

  // The next hour: the window moves on, and a late report counts where its decision was made.
  clock.set('2026-01-18T12:00:00.000Z')
  const moved = await hourly(app)
  t.equal(moved.from, '2026-01-17T13:00:00.000Z', 'at 12:00 exactly the window starts an hour later')
  t.strictSame(moved.hours[23], hour('2026-01-18T12:00:00.000Z'), 'the new current hour, empty')
  t.strictSame(moved.hours[0], hour('2026-01-17T13:00:00.000Z'), 'the decision of 2026-01-17T12:00 left the window')
  t.strictSame(moved.hours.slice(0, 23), day.hours.slice(1), 'the other hours are as they were')
}

t.test('SQLite: decisions per hour and status, as made and reported through the API', async (t) => {
  const { app, clock, pending } = await dayOfAShop(t)
  await chartOfTheDay(t, app, clock)

  // The pending one of 10:59:59.999 is reported sent at 12:05: it moves from pending to sent, in 10h.
  clock.set('2026-01-18T12:05:00.000Z')
  await report(t, app, pending, 'sent')
  const after = (await hourly(app)).hours as Json[]
  t.strictSame(after.find((h) => h.hour === '2026-01-18T10:00:00.000Z'), hour('2026-01-18T10:00:00.000Z', { done: 1, sent: 2, failed: 1 }), 'a report made an hour later counts in the decision\'s hour')
  t.strictSame(after[23], hour('2026-01-18T12:00:00.000Z'), 'not in the hour of the report')
})

t.test('PostgreSQL: the same day gives the same chart', { skip: await pgSkip() }, async (t) => {
  const { app, clock } = await dayOfAShop(t, { store: { databaseUrl: PG_URL, pgSchema: pgSchema(t) } })
  await chartOfTheDay(t, app, clock)
})

t.test('a decision refused by the quota is still a decision of its hour', async (t) => {
  const clock = fixedClock('2026-01-18T09:15:00.000Z')
  const app = await build(t, { now: clock.now, scheduler: false })
  await shop(t, app)
  t.equal((await call(app, 'PATCH', '/api/v1/accounts/default', { limits: { messages_per_day: 1 } })).statusCode, 200)
  t.match(await say(t, app, '+221770000001', 'Bonjour'), { action: 'respond_text' })
  const refused = await say(t, app, '+221770000002', 'Bonjour')
  t.not(refused.action, 'respond_text', `the second is refused (${refused.action as string})`)
  t.strictSame((await hourly(app, '?hours=1')).hours, [hour('2026-01-18T09:00:00.000Z', { pending: 1, done: 1 })], 'both counted: one waiting for its report, one with nothing to send')
  t.equal((await call(app, 'POST', `/api/v1/messages/${refused.decision_id as string}/sent`, {})).statusCode, 409, 'the refused one has nothing to report')
})

t.test('query checks: 400 naming querystring/hours or the unknown field; unknown account 404', async (t) => {
  const app = await build(t)
  for (const [query, message] of [
    ['?hours=0', /^querystring\/hours must be >= 1$/],
    ['?hours=169', /^querystring\/hours must be <= 168$/],
    ['?hours=x', /^querystring\/hours must be integer$/],
    ['?hours=1.5', /^querystring\/hours must be integer$/],
    ['?hours=-24', /^querystring\/hours must be >= 1$/],
    ['?hours=', /^querystring\/hours/],
    ['?hour=24', /^querystring\/hour is not an allowed field$/],
    ['?hours=24&colour=red', /^querystring\/colour is not an allowed field$/],
    ['?account=../etc', /^querystring\/account/]
  ] as Array<[string, RegExp]>) {
    const res = await call(app, 'GET', `/api/v1/decisions/hourly${query}`)
    t.equal(res.statusCode, 400, query)
    t.match(res.json(), { ...ERROR_SHAPE, statusCode: 400, error: 'Bad Request', message }, `${query}: ${res.json().message as string}`)
  }
  t.equal((await hourly(app, '?hours=1')).hours.length, 1, 'the smallest allowed')
  t.equal((await hourly(app, '?hours=168')).hours.length, 168, 'the largest allowed')
  t.equal((await hourly(app)).hours.length, 24, 'the default')

  const unknown = await call(app, 'GET', '/api/v1/decisions/hourly?account=nobody')
  t.equal(unknown.statusCode, 404)
  t.match(unknown.json(), { ...ERROR_SHAPE, statusCode: 404, error: 'Not Found', message: /nobody/ })
  t.strictSame((await hourly(app)).hours.filter((h: Json) => h.total > 0), [], 'the default account exists without a PUT, with nothing yet')
  t.equal((await call(app, 'POST', '/api/v1/decisions/hourly')).statusCode, 404, 'GET only')
})

t.test('keys: an agent reads its own account only; no key or a wrong one is a 401', async (t) => {
  const clock = fixedClock('2026-01-18T09:15:00.000Z')
  const app = await build(t, { now: clock.now, scheduler: false })
  await shop(t, app, 'acme')
  await shop(t, app, 'other')
  const agent = (await call(app, 'POST', '/api/v1/keys', { name: 'acme bot', role: 'agent', account: 'acme' })).json().key as string
  await say(t, app, '+221770000001', 'Bonjour', {}, agent)
  await say(t, app, '+221770000002', 'Bonjour', { account: 'other' })

  const own = await hourly(app, '', agent)
  t.equal(own.account, 'acme', 'without ?account=: the key\'s own account')
  t.strictSame(own.hours[23], hour('2026-01-18T09:00:00.000Z', { pending: 1 }))
  t.strictSame(await hourly(app, '?account=acme', agent), own, 'naming it is the same')
  t.strictSame((await hourly(app, '?account=acme')).hours, own.hours, 'and what the admin sees of acme')

  for (const query of ['?account=other', '?account=default', '?account=nobody']) {
    const res = await call(app, 'GET', `/api/v1/decisions/hourly${query}`, undefined, agent)
    t.equal(res.statusCode, 403, `agent ${query}`)
    t.match(res.json(), { ...ERROR_SHAPE, statusCode: 403, error: 'Forbidden', message: /acme/ }, 'names the account the key is bound to')
  }
  for (const [who, key] of [['no key', null], ['a wrong key', 'sk_wrong'], ['an empty key', '']] as Array<[string, string | null]>) {
    const res = await call(app, 'GET', '/api/v1/decisions/hourly', undefined, key)
    t.equal(res.statusCode, 401, who)
    t.match(res.json(), { ...ERROR_SHAPE, statusCode: 401 })
    t.match(res.headers['www-authenticate'], /^ApiKey /)
  }
  t.equal((await call(app, 'GET', '/api/v1/decisions/hourly?hours=0', undefined, null)).statusCode, 401, 'the key is checked before the query')
})

t.test('a store that does not answer: 503 with the error shape, never an empty chart', async (t) => {
  const app = await build(t)
  t.equal((await hourly(app)).hours.length, 24)
  await app.sellify.store.close()
  const res = await call(app, 'GET', '/api/v1/decisions/hourly')
  t.equal(res.statusCode, 503)
  t.match(res.json(), { ...ERROR_SHAPE, statusCode: 503 })
  t.notOk('hours' in res.json())
})
