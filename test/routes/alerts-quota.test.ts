import t from 'tap'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { verifySignature } from '../../lib/alerts/webhook.js'
import { build, call, fixedClock, type TapTest } from '../helper.js'
import { configure, type Json } from './decision-fixtures.js'

/*
 * `quota_near_limit` (README, "Alerts"): a granted consume that takes a day or week counter across 80 % of its limit
 * raises one warning alert, once per period and limit, whether the consume came from /api/v1/quota/consume or
 * from a decision's reply (README, "Deciding every message", rule 8). 2026-01-20 is a Tuesday; weeks start on Monday, days at 00:00 UTC.
 */

const TUESDAY = '2026-01-20T10:00:00.000Z'
const SECRET = 'whsec-0123456789abcdef'

async function consume (t: TapTest, app: FastifyInstance, times = 1, body: Json = { message_type: 'text' }): Promise<Json[]> {
  const answers: Json[] = []
  for (let i = 0; i < times; i++) {
    const res = await call(app, 'POST', '/api/v1/quota/consume', body)
    t.equal(res.statusCode, 200, res.body)
    answers.push(res.json())
  }
  return answers
}

/**
 * The account's alerts, newest first, once every alert the consumes so far raised is stored. They are committed
 * after the consume's answer, one limit after the other; the store commits in order, so any later commit (here
 * an outbox pass's claim) returns only after the first of them. Where a consume crossed several limits, `least`
 * says how many to wait for.
 */
async function alerts (app: FastifyInstance, account = 'default', least = 0): Promise<Json[]> {
  for (let i = 0; ; i++) {
    await app.sellify.alerts.deliverDue()
    const res = await call(app, 'GET', `/api/v1/alerts?account=${account}`)
    if (res.statusCode !== 200) throw new Error(`GET /api/v1/alerts: ${res.statusCode} ${res.body}`)
    const list: Json[] = res.json().alerts
    if (list.length >= least || i >= 200) return list
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** A quota_near_limit alert as GET shows it: about the account, so no contact, state, message or decision. */
const nearLimit = (createdAt: string, account = 'default', more: { decision_id?: unknown, limit?: unknown, period?: unknown } = {}): Json => ({
  id: /^alr_[0-9a-f-]{36}$/,
  account,
  contact: null,
  trigger: 'quota_near_limit',
  severity: 'warning',
  status: 'open',
  state: null,
  message: null,
  decision_id: more.decision_id ?? null,
  limit: more.limit ?? /^(messages_per_day|messages_per_week|images_per_day|videos_per_week)$/,
  period: more.period ?? /^\d{4}-(\d{2}-\d{2}|W\d{2})$/,
  created_at: createdAt,
  acknowledged_at: null,
  acknowledged_by: null
})

function metric (body: string, line: RegExp): number | null {
  const found = body.split('\n').find((l) => line.test(l))
  return found === undefined ? null : Number(found.split(' ').pop())
}

t.test('/api/v1/quota/consume: the 8th of 10 messages a day raises one quota_near_limit warning, none more that day, once again the next day', async (t) => {
  const clock = fixedClock(TUESDAY)
  const app = await build(t, { now: clock.now, allowPrivateWebhooks: true, scheduler: false })
  const bodies: Array<{ body: string, signature: string }> = []
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      bodies.push({ body: Buffer.concat(chunks).toString('utf8'), signature: String(req.headers['x-sellify-signature']) })
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', () => { resolve() }) })
  t.teardown(() => { server.closeAllConnections(); server.close() })
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/quota`
  await configure(t, app, { limits: { messages_per_day: 10 }, alert_webhooks: [{ url, secret: SECRET }] })

  await consume(t, app, 7)
  t.strictSame(await alerts(app), [], '7 of 10 (70 %): nothing')
  const [eighth] = await consume(t, app)
  t.match(eighth, { allowed: true, usage: { messages_today: 8 } })
  const raised = await alerts(app)
  t.equal(raised.length, 1, '8 of 10 (80 %): one alert')
  t.match(raised[0], nearLimit(TUESDAY))
  t.strictSame(Object.keys(raised[0]), Object.keys(nearLimit(TUESDAY)))

  const rest = await consume(t, app, 3)
  t.same(rest.map((r) => r.allowed), [true, true, false], 'the 9th and 10th are granted, the 11th refused')
  t.equal((await alerts(app)).length, 1, 'no second alert above the threshold, nor for the refusal')

  // The day's counter starts over after a manual reset and crosses 80 % again: still the same day and limit.
  t.equal((await call(app, 'POST', '/api/v1/quota/reset/daily', { account: 'default' })).statusCode, 200)
  t.match((await consume(t, app, 1, { message_type: 'text', count: 8 }))[0], { allowed: true, usage: { messages_today: 8 } })
  t.equal((await alerts(app)).length, 1, 'crossing again in the same day raises none')

  const detail = (await call(app, 'GET', `/api/v1/alerts/${raised[0].id as string}`)).json()
  t.match(detail.deliveries, [{ url, status: 'delivered', attempts: 1 }], 'delivered to the account\'s webhook like any alert')
  t.equal(bodies.length, 1)
  t.strictSame(JSON.parse(bodies[0].body), { type: 'alert.created', alert: { ...raised[0] } })
  t.ok(verifySignature(SECRET, bodies[0].body, bodies[0].signature, Date.parse(TUESDAY) / 1000))

  clock.set('2026-01-21T00:00:01.000Z')
  t.match((await call(app, 'GET', '/api/v1/quota/status')).json(), { messages_today: 0 }, 'a new day')
  await consume(t, app, 7)
  t.equal((await alerts(app)).length, 1)
  await consume(t, app)
  const next = await alerts(app)
  t.equal(next.length, 2, 'the next day, at its 8th message: one more')
  t.match(next[0], nearLimit('2026-01-21T00:00:01.000Z'))
  t.equal(next[1].id, raised[0].id)
  await consume(t, app, 2)
  t.equal((await alerts(app)).length, 2)

  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body
  t.equal(metric(metrics, /^sellify_alerts_total\{trigger="quota_near_limit",severity="warning"\} /), 2)
})

t.test('through decisions: the replies that consume cross the daily 80 % once, and the decisions answer no alert of their own', async (t) => {
  const clock = fixedClock(TUESDAY)
  const app = await build(t, { now: clock.now, allowPrivateWebhooks: true, scheduler: false })
  await configure(t, app, { limits: { messages_per_day: 10 }, alert_numbers: ['+221770000001'] })

  const say = async (contact: string, text = 'Bonjour'): Promise<Json> => {
    const res = await call(app, 'POST', '/api/v1/messages/incoming', { contact, text, message_id: `wamid-${contact}-${text}` })
    t.equal(res.statusCode, 200, res.body)
    return res.json()
  }
  for (let i = 1; i <= 7; i++) t.match(await say(`+2217700001${String(i).padStart(2, '0')}`), { action: 'respond_text', quota: { usage: { messages_today: i } } })
  t.strictSame(await alerts(app), [])
  t.match(await say('+221770000199', 'Je vais porter plainte'), { action: 'alert_human', reply: null, quota: null }, 'an alert with no reply consumes nothing')
  t.equal((await alerts(app)).filter((a) => a.trigger === 'quota_near_limit').length, 0)

  const eighth = await say('+221770000108')
  t.match(eighth, { action: 'respond_text', quota: { usage: { messages_today: 8 } }, alert: null, notifications: [] })
  const raised = (await alerts(app)).filter((a) => a.trigger === 'quota_near_limit')
  t.equal(raised.length, 1, 'the 8th reply raises it')
  t.match(raised[0], nearLimit(TUESDAY, 'default', { decision_id: eighth.decision_id, limit: 'messages_per_day', period: '2026-01-20' }), 'in the decision\'s own transaction: stored when the answer is')

  t.match(await say('+221770000109'), { quota: { usage: { messages_today: 9 } } })
  t.match(await say('+221770000110'), { quota: { usage: { messages_today: 10 } } })
  t.match(await say('+221770000111'), { action: 'delay', reason: 'quota:messages_per_day' })
  t.match(await say('+221770000108'), { quota: { usage: { messages_today: 8 } } }, 'a gateway retry of the 8th is its first answer')
  t.equal((await alerts(app)).filter((a) => a.trigger === 'quota_near_limit').length, 1, 'still one')
})

t.test('the week limit: 80 % of messages_per_week raises it once that week, again the next week', async (t) => {
  const clock = fixedClock(TUESDAY)
  const app = await build(t, { now: clock.now, allowPrivateWebhooks: true, scheduler: false })
  await configure(t, app, { limits: { messages_per_day: 1000, messages_per_week: 10 } })

  await consume(t, app, 5)
  clock.set('2026-01-21T09:00:00.000Z')
  await consume(t, app, 2)
  t.strictSame(await alerts(app), [], '7 of 10 this week')
  const [eighth] = await consume(t, app)
  t.match(eighth, { usage: { messages_today: 3, messages_this_week: 8 } }, 'the day is far from its limit')
  const raised = await alerts(app)
  t.equal(raised.length, 1, 'the week\'s 8th message raises it')
  t.match(raised[0], nearLimit('2026-01-21T09:00:00.000Z', 'default', { limit: 'messages_per_week', period: '2026-W04' }))

  clock.set('2026-01-22T09:00:00.000Z')
  await consume(t, app, 2)
  clock.set('2026-01-25T23:59:59.000Z')
  t.match((await consume(t, app))[0], { allowed: false, reason: 'messages_per_week' })
  t.equal((await alerts(app)).length, 1, 'the rest of the week raises none')

  clock.set('2026-01-26T00:00:01.000Z')
  await consume(t, app, 7)
  t.equal((await alerts(app)).length, 1)
  await consume(t, app)
  const next = await alerts(app)
  t.equal(next.length, 2, 'the next week (Monday), at its 8th message: one more')
  t.match(next[0], nearLimit('2026-01-26T00:00:01.000Z'))
})

t.test('one consume that crosses the day and the week limits at once raises one alert per limit; images_per_day counts too', async (t) => {
  const clock = fixedClock(TUESDAY)
  const app = await build(t, { now: clock.now, allowPrivateWebhooks: true, scheduler: false })
  await configure(t, app, { limits: { messages_per_day: 10, messages_per_week: 10 } })
  await configure(t, app, { limits: { images_per_day: 5 } }, 'photos')

  t.match((await consume(t, app, 1, { message_type: 'text', count: 9 }))[0], { allowed: true, usage: { messages_today: 9, messages_this_week: 9 } })
  const both = await alerts(app, 'default', 2)
  t.equal(both.length, 2, 'from 0 to 9 of 10: the day\'s and the week\'s')
  t.ok(both.every((a) => a.trigger === 'quota_near_limit' && a.severity === 'warning' && a.contact === null))
  t.not(both[0].id, both[1].id)

  await consume(t, app, 1, { message_type: 'image', count: 3, account: 'photos' })
  t.strictSame(await alerts(app, 'photos'), [], '3 of 5 images')
  t.match((await consume(t, app, 1, { message_type: 'image', account: 'photos' }))[0], { allowed: true, usage: { images_today: 4, messages_today: 4 } })
  const images = await alerts(app, 'photos')
  t.equal(images.length, 1, '4 of 5 images (80 %), 4 of 200 messages: one alert')
  t.match(images[0], nearLimit(TUESDAY, 'photos'))
  t.equal((await alerts(app)).length, 2, 'nothing raised on the other account')
  t.match((await consume(t, app))[0], { allowed: true, usage: { messages_today: 10 } })
  t.equal((await alerts(app)).length, 2, 'the 10th of 10 crosses nothing')
})
