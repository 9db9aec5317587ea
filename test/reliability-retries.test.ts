/**
 * README, "Tests": "the same `message_id` sent 50 times concurrently yields one decision, one consume, at most one alert"
 * (README, "Deciding every message", "Once, and all or nothing"). Fifty copies of one gateway message at once,
 * on a SQLite file and on two app instances sharing one PostgreSQL schema (the copies split across both): every
 * copy answers the one decision; the quota counts its reply once; the audit trail, the conversation and the alert
 * list hold it once; and a real webhook receiver on a socket is sent its alert once.
 */
import t from 'tap'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { build, call, fixedClock, PG_URL, pgSchema, pgSkip, type TapTest } from './helper.js'
import { karite } from './routes/decision-fixtures.js'

type Json = Record<string, any>
type Clock = ReturnType<typeof fixedClock>

const COPIES = 50
// Every instance shares one master key: each reads the data keys and blind indexes the other wrote.
const KEY = '4b'.repeat(32)
const SECRET = 'whsec-retries-0123456789abcdef'
const KB = {
  business_name: 'Karité & Co',
  products: [karite({
    media: [{ id: 'photo-1', type: 'image', url: 'https://shop.example/creme.jpg', caption: 'Notre crème' }],
    media_policy: { allow_images: true, allow_video: false }
  })]
}
/** A bound on waiting for the alert's delivery, not an assertion. */
const PATIENCE_MS = 20_000

/** A webhook receiver on a socket answering 200, counting requests by X-Sellify-Delivery. */
async function receiver (t: TapTest): Promise<{ url: string, byDelivery: Map<string, number> }> {
  const byDelivery = new Map<string, number>()
  const server = http.createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      const id = String(req.headers['x-sellify-delivery'])
      byDelivery.set(id, (byDelivery.get(id) ?? 0) + 1)
      res.writeHead(200).end('ok')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, byDelivery }
}

async function get (app: FastifyInstance, url: string): Promise<Json> {
  const res = await call(app, 'GET', url)
  if (res.statusCode !== 200) throw new Error(`GET ${url}: ${res.statusCode} ${res.body}`)
  return res.json()
}

async function setUp (t: TapTest, app: FastifyInstance, hook: string): Promise<void> {
  const put = await call(app, 'PUT', '/api/v1/accounts/default', {
    active_hours: 'always',
    escalation: { reply: 'holding' },
    alert_webhooks: [{ url: hook, secret: SECRET }]
  })
  t.ok(put.statusCode === 200 || put.statusCode === 201, `account configured: ${put.statusCode}`)
  t.equal((await call(app, 'PUT', '/api/v1/knowledge', KB)).statusCode, 200, 'knowledge base stored')
}

/** What a user can read of the account: counters, the contact's records and conversation, alerts, the chain. */
interface Seen { usage: Json, records: Json[], messages: Json[], alerts: Json[], chain: Json }

async function state (app: FastifyInstance, contact: string): Promise<Seen> {
  const conversation = await call(app, 'GET', `/api/v1/conversations/${encodeURIComponent(contact)}`)
  return {
    usage: await get(app, '/api/v1/quota/status'),
    records: (await get(app, `/api/v1/audit?limit=500&contact=${encodeURIComponent(contact)}`)).records as Json[],
    messages: conversation.statusCode === 404 ? [] : conversation.json().messages as Json[],
    alerts: (await get(app, '/api/v1/alerts?limit=500')).alerts as Json[],
    chain: await get(app, '/api/v1/audit/verify?account=default')
  }
}

/** The alert once every delivery left `pending`, each instance making outbox passes meanwhile. */
async function delivered (apps: FastifyInstance[], id: string): Promise<Json> {
  const deadline = Date.now() + PATIENCE_MS
  for (;;) {
    await Promise.all(apps.map(async (app) => await app.sellify.alerts.deliverDue()))
    const a = await get(apps[0], `/api/v1/alerts/${id}`)
    if (a.deliveries.every((d: Json) => d.status !== 'pending')) return a
    if (Date.now() > deadline) throw new Error(`alert ${id} not delivered: ${JSON.stringify(a.deliveries)}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/**
 * Fifty copies of one message at once, the i-th to apps[i % apps.length]; each copy's answer, and what changed.
 */
async function burst (t: TapTest, apps: FastifyInstance[], body: Json): Promise<{ answers: Json[], before: Seen, after: Seen }> {
  const before = await state(apps[0], body.contact)
  const results = await Promise.all(Array.from({ length: COPIES }, async (_, i) => await call(apps[i % apps.length], 'POST', '/api/v1/messages/incoming', body)))
  t.strictSame(results.filter((r) => r.statusCode !== 200).map((r) => `${r.statusCode} ${r.body}`), [], `all ${COPIES} copies answered 200`)
  const answers = results.map((r) => r.json() as Json)
  t.equal(new Set(answers.map((a) => a.decision_id)).size, 1, 'one decision_id for every copy')
  t.strictSame(answers.filter((a) => JSON.stringify(a) !== JSON.stringify(answers[0])), [], 'every copy answered the same decision, field for field')
  if (answers[0].alert !== null) await delivered(apps, answers[0].alert.id)
  const after = await state(apps[apps.length - 1], body.contact)
  return { answers, before, after }
}

async function onceEach (t: TapTest, apps: FastifyInstance[], clock: Clock, hook: Awaited<ReturnType<typeof receiver>>): Promise<void> {
  // A price question: a reply with the product's photo, so one message and one image are consumed.
  clock.advance(1000)
  const price = await burst(t, apps, { contact: '+22507000001', message_id: 'wamid.HBgLMjI1MDcwMDAwMDAxFQIAEhgUM0VCMEE', text: 'Combien coûte la crème au karité ?' })
  const decision = price.answers[0]
  t.match(decision, { action: 'respond_with_media', alert: null, quota: { kind: 'image' }, reply: { media: [{ id: 'photo-1' }] } }, 'the price with its photo')
  t.equal(price.after.usage.messages_today, price.before.usage.messages_today + 1, 'one message consumed for the fifty copies')
  t.equal(price.after.usage.images_today, price.before.usage.images_today + 1, 'one image consumed')
  t.equal(price.after.usage.messages_this_week, price.before.usage.messages_this_week + 1, 'and the week counted once')
  t.strictSame(price.after.records.map((r) => [r.type, r.details?.decision_id]), [['decision', decision.decision_id]], 'one audit record, for this decision')
  t.strictSame(price.after.messages.map((m) => [m.direction, m.decision_id, m.text]), [
    ['in', decision.decision_id, 'Combien coûte la crème au karité ?'],
    ['out', decision.decision_id, decision.reply.text]
  ], 'the message stored once, its reply once')
  t.strictSame(price.after.alerts, price.before.alerts, 'no alert')
  t.strictSame(price.after.chain, { valid: true, records: price.before.chain.records + 1, first_invalid_id: null }, 'the chain verifies, one record longer')

  // A legal threat: an alert with the holding reply (consumed once), one delivery to the receiver.
  clock.advance(1000)
  const threat = await burst(t, apps, { contact: '22507000002@s.whatsapp.net', message_id: 'wamid.HBgLMjI1MDcwMDAwMDAyFQIAEhgUM0VCMEI', text: 'Je vais porter plainte au tribunal' })
  const alerting = threat.answers[0]
  t.match(alerting, { action: 'alert_human', alert: { id: /^alr_/, trigger: 'legal_situation' }, reply: { text: String } }, 'an alert, and the holding reply')
  t.equal(threat.after.usage.messages_today, threat.before.usage.messages_today + 1, 'the holding reply consumed once')
  t.strictSame(threat.after.records.map((r) => [r.type, r.details?.decision_id]), [['decision', alerting.decision_id]], 'one audit record')
  t.equal(threat.after.messages.filter((m) => m.direction === 'in').length, 1, 'the message stored once')
  const fresh = threat.after.alerts.filter((a) => !threat.before.alerts.some((b) => b.id === a.id))
  t.strictSame(fresh.map((a) => [a.id, a.decision_id]), [[alerting.alert.id, alerting.decision_id]], 'one alert, for this decision')
  const { deliveries } = await get(apps[0], `/api/v1/alerts/${alerting.alert.id as string}`)
  t.equal(deliveries.length, 1, 'one delivery for the one webhook')
  t.match(deliveries[0], { status: 'delivered', attempts: 1, last_status: 200 }, 'delivered at its first attempt')
  t.strictSame([...hook.byDelivery], [[deliveries[0].id, 1]], 'the receiver got that delivery once, and nothing else')
  t.strictSame(threat.after.chain, { valid: true, records: threat.before.chain.records + 1, first_invalid_id: null }, 'the chain verifies, one record longer')

  // A copy sent later still answers the first decision, and changes nothing.
  clock.advance(60_000)
  const late = await call(apps[apps.length - 1], 'POST', '/api/v1/messages/incoming', { contact: '+22507000001', message_id: 'wamid.HBgLMjI1MDcwMDAwMDAxFQIAEhgUM0VCMEE', text: 'Combien coûte la crème au karité ?' })
  t.strictSame(late.json(), decision, 'a late copy: the first decision unchanged')
  t.strictSame((await get(apps[0], '/api/v1/quota/status')).messages_today, threat.after.usage.messages_today, 'and nothing consumed')
}

t.test('50 copies of one message_id at once on a SQLite file: one decision, one consume, one alert, one delivery', async (t) => {
  const clock = fixedClock('2026-01-18T12:00:00.000Z')
  const hook = await receiver(t)
  const app = await build(t, {
    now: clock.now,
    env: { SELLIFY_ENCRYPTION_KEY: KEY },
    scheduler: false,
    allowPrivateWebhooks: true,
    store: { sqlitePath: join(t.testdir(), 'retries.db') }
  })
  await setUp(t, app, hook.url)
  await onceEach(t, [app], clock, hook)
})

t.test('50 copies of one message_id at once across two instances on one PostgreSQL schema: the same, once', { skip: await pgSkip() }, async (t) => {
  const clock = fixedClock('2026-01-18T12:00:00.000Z')
  const hook = await receiver(t)
  // After the receiver: the instances close (their passes awaited) before it, and before the schema is dropped.
  const schema = pgSchema(t)
  const instance = async (): Promise<FastifyInstance> => await build(t, {
    now: clock.now,
    env: { SELLIFY_ENCRYPTION_KEY: KEY },
    scheduler: false,
    allowPrivateWebhooks: true,
    store: { databaseUrl: PG_URL, pgSchema: schema }
  })
  const a = await instance()
  await setUp(t, a, hook.url)
  const b = await instance()
  await onceEach(t, [a, b], clock, hook)
})
