/**
 * The alert outbox with several instances on one PostgreSQL (README, "Alerts": "with several instances each attempt is
 * made by exactly one"). Two app instances share a fresh schema; 100 deliveries wait in the outbox, then both
 * instances run outbox passes as fast as they can while the first also decides incoming messages that raise
 * more alerts (each kicking a pass of its own). The receiver sees every delivery exactly once.
 */
import t from 'tap'
import http from 'node:http'
import type { FastifyInstance } from 'fastify'
import { verifySignature } from '../lib/alerts/webhook.js'
import { build, call, fixedClock, PG_URL, pgSchema, pgSkip, type TapTest } from './helper.js'

type Json = Record<string, any>
type Clock = ReturnType<typeof fixedClock>

// Both instances share one master key: each opens the webhook secrets and data keys the other wrote.
const KEY = '3d'.repeat(32)
const SECRETS = ['first-webhook-secret-0123456789', 'second-webhook-secret-0123456789']
/** Alerts stored directly (no pass kicked): two deliveries each, the outbox the instances start on. */
const STORED = 50
/** Alerts raised by incoming messages on the first instance while both drain the outbox. */
const INCOMING = 5
/** How long the drain may take before the test gives up (a bound, not an assertion). */
const PATIENCE_MS = 30_000

interface Reception { delivery: string, hook: number, alert: string, signed: boolean }

/** A receiver with one path per webhook, answering 200 to all and recording each request. */
async function receiver (t: TapTest, clock: Clock): Promise<{ urls: string[], receptions: Reception[] }> {
  const receptions: Reception[] = []
  const server = http.createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => { body += chunk })
    req.on('end', () => {
      const hook = Number(/^\/hooks\/(\d)$/.exec(req.url ?? '')?.[1] ?? -1)
      const payload = JSON.parse(body) as Json
      receptions.push({
        delivery: String(req.headers['x-sellify-delivery']),
        hook,
        alert: String(payload.alert?.id),
        // Signed at the instances' clock: the receiver checks it at the same instant.
        signed: hook >= 0 && hook < SECRETS.length && verifySignature(SECRETS[hook], body, String(req.headers['x-sellify-signature']), Math.floor(clock.now().getTime() / 1000))
      })
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { await new Promise((resolve) => server.close(resolve)) })
  const { port } = server.address() as { port: number }
  return { urls: SECRETS.map((_, i) => `http://127.0.0.1:${port}/hooks/${i}`), receptions }
}

async function instance (t: TapTest, schema: string, clock: Clock): Promise<FastifyInstance> {
  return await build(t, {
    now: clock.now,
    env: { SELLIFY_ENCRYPTION_KEY: KEY },
    scheduler: false,
    allowPrivateWebhooks: true,
    store: { databaseUrl: PG_URL, pgSchema: schema }
  })
}

/** Outbox passes until `finished` says the work is done and a pass found nothing; the deliveries it attempted. */
async function drain (app: FastifyInstance, finished: () => Promise<boolean>): Promise<number> {
  const deadline = Date.now() + PATIENCE_MS
  let attempted = 0
  for (;;) {
    const n = await app.sellify.alerts.deliverDue()
    attempted += n
    if (n === 0) {
      if (await finished()) return attempted
      if (Date.now() > deadline) throw new Error(`the outbox was not drained in ${PATIENCE_MS / 1000} s: ${await app.sellify.alerts.pending()} pending`)
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  }
}

t.test('two instances draining one outbox attempt each delivery exactly once', { skip: await pgSkip() }, async (t) => {
  const clock = fixedClock('2026-01-18T12:00:00.000Z')
  const hook = await receiver(t, clock)
  // Registered after the receiver: the instances close (their passes in flight awaited) before it, and before the schema is dropped.
  const schema = pgSchema(t)
  const a = await instance(t, schema, clock)
  const patched = await call(a, 'PATCH', '/api/v1/accounts/default', {
    active_hours: 'always',
    alert_webhooks: hook.urls.map((url, i) => ({ url, secret: SECRETS[i] }))
  })
  t.equal(patched.statusCode, 200, patched.body)
  const b = await instance(t, schema, clock)

  // The outbox the two start on: stored as a decision stores them, with no pass kicked.
  const account = await a.sellify.accounts.get('default')
  const alertIds: string[] = []
  for (let i = 0; i < STORED; i++) {
    const contact = `+22507000${String(i).padStart(3, '0')}`
    const { op, view } = a.sellify.alerts.raise({
      account,
      key: await a.sellify.encryption.contactKey(account.id, contact),
      contact,
      trigger: 'sensitive_word',
      severity: 'high',
      state: 'discovery',
      message: 'Je veux un remboursement',
      decision_id: null,
      at: clock.now()
    })
    const [stored] = await a.sellify.store.commit([op])
    t.equal(stored, true)
    alertIds.push(view.id)
  }
  t.equal(await b.sellify.alerts.pending(), 2 * STORED, 'the second instance sees the 100 pending deliveries')
  t.equal(hook.receptions.length, 0, 'nothing was sent yet')

  // Both instances drain while the first decides messages that raise alerts (and kick its own passes).
  let decided = false
  const finished = async (): Promise<boolean> => decided && await a.sellify.alerts.pending() === 0
  const messages = (async () => {
    const answers = await Promise.all(Array.from({ length: INCOMING }, async (_, i) => {
      const res = await call(a, 'POST', '/api/v1/messages/incoming', { contact: `+33612300${i}`, message_id: `pg-outbox-${i}`, text: 'Mon avocat vous appellera' })
      return { status: res.statusCode, json: res.json() as Json }
    }))
    decided = true
    return answers
  })()
  const [fromA, fromB, answers] = await Promise.all([drain(a, finished), drain(b, finished), messages])
  for (const res of answers) {
    t.equal(res.status, 200, JSON.stringify(res.json))
    t.match(res.json, { action: 'alert_human', alert: { id: /^alr_/, trigger: 'legal_situation' } })
    alertIds.push(res.json.alert.id)
  }
  const total = 2 * (STORED + INCOMING)
  t.comment(`attempted by the first instance's loop: ${fromA}, the second's: ${fromB}, the first's kicked passes: ${total - fromA - fromB}`)
  t.ok(fromA + fromB <= total, 'the two loops attempted no more than there was')

  // Every delivery of every alert, as the store has it.
  const deliveries: Json[] = []
  for (const id of alertIds) {
    const res = await call(b, 'GET', `/api/v1/alerts/${id}`)
    t.equal(res.statusCode, 200, res.body)
    deliveries.push(...(res.json() as Json).deliveries.map((d: Json) => ({ ...d, alert: id })))
  }
  t.equal(deliveries.length, total, `${total} deliveries stored`)
  t.equal(new Set(deliveries.map((d) => d.id)).size, total, 'each with its own id')
  t.strictSame(deliveries.filter((d) => d.status !== 'delivered' || d.attempts !== 1 || d.last_status !== 200), [], 'every one delivered, at its first attempt')
  t.equal(await a.sellify.alerts.pending(), 0, 'none pending')

  const received = new Map<string, Reception[]>()
  for (const r of hook.receptions) received.set(r.delivery, [...(received.get(r.delivery) ?? []), r])
  t.equal(hook.receptions.length, total, `${total} receptions`)
  t.strictSame([...received.entries()].filter(([, list]) => list.length !== 1).map(([id, list]) => `${id} × ${list.length}`), [], 'no delivery received twice')
  for (const d of deliveries) {
    const [r] = received.get(d.id as string) ?? []
    if (r === undefined) {
      t.fail(`${d.id as string} was never received`)
      continue
    }
    const expected = hook.urls.indexOf(d.url as string)
    if (r.alert !== d.alert || r.hook !== expected || !r.signed) t.fail(`${d.id as string}: received for ${r.alert} at hook ${r.hook} (signed: ${String(r.signed)}), stored for ${d.alert as string} at hook ${expected}`)
  }
  t.ok(hook.receptions.every((r) => r.signed), 'every delivery signed with its webhook\'s secret, for its own alert')
})
