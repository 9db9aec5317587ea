import t from 'tap'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import dns from 'node:dns'
import os, { tmpdir } from 'node:os'
import { mkdtemp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { refusedAddress, verifySignature } from '../../lib/alerts/webhook.js'
import { build, call, fixedClock, type LogLine, type TapTest } from '../helper.js'
import { alert, configure, type Json, openAlert, START } from './decision-fixtures.js'

/*
 * Alert webhooks delivered to a real HTTP receiver on a socket (README, "Alerts", SSRF included). `scheduler: false`: the
 * only pass that runs by itself is the one a decision kicks when it raises an alert; the tests make every later
 * pass with `deliverDue()` and move a fixed clock past the retry delays (10 s, 1 min, 5 min, 30 min, 2 h, 6 h).
 * Only the 5 s attempt timeout is real time, in the one test about it.
 */

const START_S = Date.parse(START) / 1000
const CONTACT = '+33612345678'
const ANGRY = 'Bande d\'escrocs, rendez-moi mon argent'
const SECRET_A = 'whsec-aaaaaaaaaaaaaaaaaaaa'
const SECRET_B = 'whsec-bbbbbbbbbbbbbbbbbbbb'
const DELAYS_S = [10, 60, 300, 1800, 7200, 21600]

interface Hit { path: string, method: string, headers: http.IncomingHttpHeaders, body: string }
type Answer = (hit: Hit, res: http.ServerResponse) => void

const status = (code: number): Answer => (_hit, res) => { res.writeHead(code).end() }

/** An HTTP server on `host`:`port` (0: any free port) that records every request and answers with `answer`. */
async function receiver (t: TapTest, answer: Answer, port = 0, host = '127.0.0.1') {
  const hits: Hit[] = []
  const state = { answer }
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const hit = { path: req.url ?? '', method: req.method ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') }
      hits.push(hit)
      state.answer(hit, res)
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => { resolve() })
  })
  const bound = (server.address() as AddressInfo).port
  const close = async (): Promise<void> => {
    if (!server.listening) return
    server.closeAllConnections()
    await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
  }
  t.teardown(close)
  const origin = host.includes(':') ? `[${host}]` : host
  return {
    hits,
    port: bound,
    url: (path: string) => `http://${origin}:${bound}${path}`,
    answer: (next: Answer) => { state.answer = next },
    close
  }
}

async function raise (t: TapTest, app: FastifyInstance, contact = CONTACT, text = ANGRY): Promise<Json> {
  const res = await call(app, 'POST', '/api/v1/messages/incoming', { contact, text })
  t.equal(res.statusCode, 200, res.body)
  const decision = res.json()
  t.match(decision, { action: 'alert_human', alert: { id: /^alr_/ } }, 'the message raised an alert')
  return decision
}

/**
 * The alert once every delivery has had `attempts` attempts: the pass a decision kicks runs after its answer, so
 * the test reads until it is done (one attempt may take up to the 5 s timeout).
 */
async function attempted (app: FastifyInstance, id: string, attempts = 1): Promise<Json> {
  for (let i = 0; i < 2000; i++) {
    const a = await alert(app, id)
    if (a.deliveries.every((d: Json) => d.attempts >= attempts)) return a
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error(`the deliveries of ${id} were never attempted ${attempts} time(s)`)
}

/** The JSON text a receiver gets for an open alert a decision raised, in the order Sellify writes it. */
const alertBody = (...args: Parameters<typeof openAlert>): string => JSON.stringify({ type: 'alert.created', alert: openAlert(...args) })

const deliveryTo = (a: Json, url: string): Json => {
  const found = a.deliveries.find((d: Json) => d.url === url)
  if (found === undefined) throw new Error(`no delivery to ${url}`)
  return found
}

t.test('a delivery: exactly the alert.created body, the X-Sellify headers, a signature that verifies with the webhook\'s own secret', async (t) => {
  const clock = fixedClock(START)
  const app = await build(t, { now: clock.now, allowPrivateWebhooks: true, scheduler: false })
  const hook = await receiver(t, status(204))
  const a = hook.url('/hooks/a?source=sellify')
  const b = hook.url('/hooks/b')
  await configure(t, app, { alert_webhooks: [{ url: a, secret: SECRET_A }, { url: b, secret: SECRET_B }] })

  const decision = await raise(t, app)
  const detail = await attempted(app, decision.alert.id)
  t.equal(hook.hits.length, 2, 'one request per webhook of the account')
  for (const [url, secret, other] of [[a, SECRET_A, SECRET_B], [b, SECRET_B, SECRET_A]]) {
    const delivery = deliveryTo(detail, url)
    t.strictSame({ ...delivery, id: undefined }, {
      id: undefined, url, status: 'delivered', attempts: 1, next_attempt_at: null, last_status: 204, last_error: null, created_at: START, delivered_at: START
    }, `${url}: delivered at the first attempt`)
    const hit = hook.hits.find((h) => url.endsWith(h.path))
    if (hit === undefined) throw new Error(`nothing reached ${url}`)
    t.equal(hit.method, 'POST')
    t.equal(hit.headers['content-type'], 'application/json')
    t.equal(hit.body, alertBody(decision, CONTACT, ANGRY, 'discovery'), 'the body, byte for byte')
    t.equal(hit.headers['x-sellify-event'], 'alert.created')
    t.equal(hit.headers['x-sellify-delivery'], delivery.id, 'X-Sellify-Delivery is the delivery\'s id')
    const signature = String(hit.headers['x-sellify-signature'])
    t.match(signature, new RegExp(`^t=${START_S},v1=[0-9a-f]{64}$`), 'signed at the clock\'s time')
    t.ok(verifySignature(secret, hit.body, signature, START_S), 'the signature verifies with this webhook\'s secret')
    t.notOk(verifySignature(other, hit.body, signature, START_S), 'and not with the other webhook\'s')
    t.notOk(verifySignature(secret, hit.body.replace('escrocs', 'escrocz'), signature, START_S), 'nor for an altered body')
    t.notMatch(JSON.stringify(hit.headers), /whsec-/, 'no secret in any header')
  }
  const [first, second] = hook.hits.map((h) => h.headers['x-sellify-delivery'])
  t.not(first, second, 'each delivery has its own id')
  const { deliveries: _deliveries, ...shown } = detail
  t.strictSame(JSON.parse(hook.hits[0].body).alert, shown, 'the alert in the body is what GET /api/v1/alerts/:id shows')

  const again = await raise(t, app, '+221770001111', 'Je vais porter plainte')
  const next = await attempted(app, again.alert.id)
  const ids = new Set([first, second, ...next.deliveries.map((d: Json) => d.id)])
  t.equal(ids.size, 4, 'a second alert: two new delivery ids')
  t.equal(hook.hits.length, 4)
  t.equal(await app.sellify.alerts.deliverDue(), 0, 'nothing is left to deliver')
})

t.test('a receiver that fails first: retried after 10 s and not before, with the same delivery id, then delivered', async (t) => {
  const clock = fixedClock(START)
  const app = await build(t, { now: clock.now, allowPrivateWebhooks: true, scheduler: false })
  const hook = await receiver(t, status(500))
  await configure(t, app, { alert_webhooks: [{ url: hook.url('/hook'), secret: SECRET_A }] })

  const decision = await raise(t, app)
  const failed = await attempted(app, decision.alert.id)
  t.match(failed.deliveries[0], { status: 'pending', attempts: 1, last_status: 500, last_error: 'http_error', next_attempt_at: '2026-01-18T12:00:10.000Z', delivered_at: null })

  hook.answer(status(200))
  clock.advance(9_000)
  t.equal(await app.sellify.alerts.deliverDue(), 0, 'at +9 s nothing is due')
  t.equal(hook.hits.length, 1, 'and nothing was sent')
  clock.advance(1_000)
  t.equal(await app.sellify.alerts.deliverDue(), 1, 'at +10 s the retry is made')
  const done = await alert(app, decision.alert.id)
  t.strictSame({ ...done.deliveries[0], id: undefined }, {
    id: undefined,
    url: hook.url('/hook'),
    status: 'delivered',
    attempts: 2,
    next_attempt_at: null,
    last_status: 200,
    last_error: null,
    created_at: START,
    delivered_at: '2026-01-18T12:00:10.000Z'
  })
  t.equal(hook.hits.length, 2)
  t.equal(hook.hits[1].headers['x-sellify-delivery'], hook.hits[0].headers['x-sellify-delivery'], 'the same X-Sellify-Delivery on both attempts (a receiver can drop a repeat)')
  t.equal(hook.hits[1].headers['x-sellify-delivery'], done.deliveries[0].id)
  t.equal(hook.hits[1].body, hook.hits[0].body, 'the same body')
  const signature = String(hook.hits[1].headers['x-sellify-signature'])
  t.match(signature, new RegExp(`^t=${START_S + 10},`), 'signed anew at the retry\'s time')
  t.ok(verifySignature(SECRET_A, hook.hits[1].body, signature, START_S + 10))
  clock.advance(86_400_000)
  t.equal(await app.sellify.alerts.deliverDue(), 0, 'a delivered alert is never sent again')
  t.equal(hook.hits.length, 2)
})

t.test('410 Gone stops at once: status gone, no retry', async (t) => {
  const clock = fixedClock(START)
  const app = await build(t, { now: clock.now, allowPrivateWebhooks: true, scheduler: false })
  const hook = await receiver(t, status(410))
  await configure(t, app, { alert_webhooks: [{ url: hook.url('/gone'), secret: SECRET_A }] })

  const decision = await raise(t, app)
  const gone = await attempted(app, decision.alert.id)
  t.match(gone.deliveries[0], { status: 'gone', attempts: 1, last_status: 410, next_attempt_at: null, delivered_at: null })
  for (const delay of DELAYS_S) {
    clock.advance(delay * 1000)
    t.equal(await app.sellify.alerts.deliverDue(), 0, `nothing at +${delay} s`)
  }
  t.equal(hook.hits.length, 1, 'one request in all')
  t.match((await alert(app, decision.alert.id)).deliveries[0], { status: 'gone', attempts: 1 })
})

t.test('a receiver that keeps failing: the whole schedule (10 s, 1 min, 5 min, 30 min, 2 h, 6 h), then failed after 7 attempts', async (t) => {
  const clock = fixedClock(START)
  const app = await build(t, { now: clock.now, allowPrivateWebhooks: true, scheduler: false })
  const hook = await receiver(t, status(503))
  await configure(t, app, { alert_webhooks: [{ url: hook.url('/down'), secret: SECRET_A }] })

  const decision = await raise(t, app)
  let d = (await attempted(app, decision.alert.id)).deliveries[0]
  let at = Date.parse(START)
  t.match(d, { status: 'pending', attempts: 1, last_status: 503, next_attempt_at: new Date(at + 10_000).toISOString() })
  for (const [i, delay] of DELAYS_S.entries()) {
    clock.advance(delay * 1000 - 1000)
    t.equal(await app.sellify.alerts.deliverDue(), 0, `retry ${i + 1}: not due 1 s early`)
    clock.advance(1000)
    at += delay * 1000
    t.equal(await app.sellify.alerts.deliverDue(), 1, `retry ${i + 1}: made ${delay} s after the previous attempt`)
    d = (await alert(app, decision.alert.id)).deliveries[0]
    const next = DELAYS_S[i + 1]
    t.match(d, next === undefined
      ? { status: 'failed', attempts: 7, next_attempt_at: null, last_status: 503, last_error: 'http_error', delivered_at: null }
      : { status: 'pending', attempts: i + 2, next_attempt_at: new Date(at + next * 1000).toISOString() })
  }
  t.equal(hook.hits.length, 7, 'seven requests')
  t.equal(new Set(hook.hits.map((h) => h.headers['x-sellify-delivery'])).size, 1, 'all with the one delivery id')
  hook.answer(status(200))
  clock.advance(86_400_000)
  t.equal(await app.sellify.alerts.deliverDue(), 0, 'a failed delivery is not tried again, even once the receiver is back')
  t.equal(hook.hits.length, 7)
})

t.test('a receiver that never answers: the attempt times out (5 s) and is retried', async (t) => {
  const clock = fixedClock(START)
  const app = await build(t, { now: clock.now, allowPrivateWebhooks: true, scheduler: false })
  const hook = await receiver(t, () => {})
  await configure(t, app, { alert_webhooks: [{ url: hook.url('/slow'), secret: SECRET_A }] })

  const decision = await raise(t, app)
  const slow = await attempted(app, decision.alert.id)
  t.match(slow.deliveries[0], { status: 'pending', attempts: 1, last_status: null, last_error: 'timeout', next_attempt_at: '2026-01-18T12:00:10.000Z' })
  t.equal(hook.hits.length, 1, 'the request did arrive; no answer came')

  hook.answer(status(202))
  clock.advance(10_000)
  t.equal(await app.sellify.alerts.deliverDue(), 1)
  t.match((await alert(app, decision.alert.id)).deliveries[0], { status: 'delivered', attempts: 2, last_status: 202, last_error: null })
})

t.test('a receiver that goes away and comes back on the same port: the alert raised meanwhile is delivered later', async (t) => {
  const clock = fixedClock(START)
  const app = await build(t, { now: clock.now, allowPrivateWebhooks: true, scheduler: false })
  const hook = await receiver(t, status(200))
  await configure(t, app, { alert_webhooks: [{ url: hook.url('/hook'), secret: SECRET_A }] })

  const before = await raise(t, app, '+221770000101')
  t.match((await attempted(app, before.alert.id)).deliveries[0], { status: 'delivered' }, 'delivered while the receiver is up')
  await hook.close()

  const during = await raise(t, app, '+221770000102', 'Je vais porter plainte')
  t.match((await attempted(app, during.alert.id)).deliveries[0], { status: 'pending', attempts: 1, last_error: 'network_error: ECONNREFUSED', next_attempt_at: '2026-01-18T12:00:10.000Z' })
  clock.advance(10_000)
  t.equal(await app.sellify.alerts.deliverDue(), 1)
  t.match((await alert(app, during.alert.id)).deliveries[0], { status: 'pending', attempts: 2, last_error: 'network_error: ECONNREFUSED', next_attempt_at: '2026-01-18T12:01:10.000Z' })

  const back = await receiver(t, status(200), hook.port)
  t.equal(back.port, hook.port, 'the same port')
  clock.advance(60_000)
  t.equal(await app.sellify.alerts.deliverDue(), 1)
  t.match((await alert(app, during.alert.id)).deliveries[0], { status: 'delivered', attempts: 3, last_status: 200, delivered_at: '2026-01-18T12:01:10.000Z' })
  t.equal(back.hits.length, 1)
  t.equal(back.hits[0].body, alertBody(during, '+221770000102', 'Je vais porter plainte', 'discovery'))
  t.equal(hook.hits.length, 1, 'the first receiver got only the first alert')
})

t.test('POST /api/v1/alerts/test: one signed alert.test delivery per webhook, answered with each result, nothing stored', async (t) => {
  const clock = fixedClock(START)
  const app = await build(t, { now: clock.now, allowPrivateWebhooks: true, scheduler: false })
  const hook = await receiver(t, (hit, res) => { res.writeHead(hit.path === '/ok' ? 204 : 500).end() })
  const closed = await receiver(t, status(200))
  await closed.close()
  const hooks = [{ url: hook.url('/ok'), secret: SECRET_A }, { url: hook.url('/broken'), secret: SECRET_B }, { url: closed.url('/nobody'), secret: SECRET_A }]

  t.strictSame((await call(app, 'POST', '/api/v1/alerts/test', {})).json(), { deliveries: [] }, 'no webhooks: nothing to test')
  await configure(t, app, { alert_webhooks: hooks })
  const res = await call(app, 'POST', '/api/v1/alerts/test', {})
  t.equal(res.statusCode, 200, res.body)
  const answer = res.json()
  t.equal(hook.hits.length, 2, 'both requests were made before the answer')
  t.strictSame(answer.deliveries.map((d: Json) => ({ ...d, duration_ms: typeof d.duration_ms })), [
    { url: hooks[0].url, ok: true, status: 204, error: null, duration_ms: 'number' },
    { url: hooks[1].url, ok: false, status: 500, error: 'http_error', duration_ms: 'number' },
    { url: hooks[2].url, ok: false, status: null, error: 'network_error: ECONNREFUSED', duration_ms: 'number' }
  ], 'in the order of alert_webhooks')
  for (const [path, secret] of [['/ok', SECRET_A], ['/broken', SECRET_B]]) {
    const hit = hook.hits.find((h) => h.path === path)
    if (hit === undefined) throw new Error(`nothing reached ${path}`)
    t.equal(hit.headers['x-sellify-event'], 'alert.test')
    t.match(hit.headers['x-sellify-delivery'], /^dlv_/)
    t.ok(verifySignature(secret, hit.body, String(hit.headers['x-sellify-signature']), START_S), `${path}: signed with its own secret`)
    t.match(JSON.parse(hit.body), { type: 'alert.test', alert: { account: 'default', contact: null, message: null, created_at: START } })
  }
  t.not(hook.hits[0].headers['x-sellify-delivery'], hook.hits[1].headers['x-sellify-delivery'])
  t.strictSame((await call(app, 'GET', '/api/v1/alerts')).json(), { alerts: [], next_before: null }, 'a test is not an alert')
  t.equal(await app.sellify.alerts.deliverDue(), 0, 'and leaves nothing in the outbox')
  t.equal(hook.hits.length, 2, 'nor is it retried')
})

t.test('private webhooks refused: a host name that resolves to a refused address passes the URL check but is refused when sending', async (t) => {
  // No custom resolver: the machine's own host name, which the system resolves (/etc/hosts) to a loopback or
  // private address on most machines and containers. Where it resolves to a public address, or not at all,
  // there is no such name to use and the case is skipped.
  const name = os.hostname().toLowerCase()
  const addresses = await dns.promises.lookup(name, { all: true }).catch(() => [])
  const reasons = addresses.map((a) => refusedAddress(a.address))
  const usable = /^[a-z0-9.-]+$/.test(name) && name !== 'localhost' && !name.endsWith('.localhost') && addresses.length > 0 && reasons.every((r) => r !== null)
  t.test(`via the host name ${JSON.stringify(name)} (${addresses.map((a) => a.address).join(', ') || 'unresolved'})`, { skip: usable ? false : 'this machine\'s host name does not resolve to loopback or private addresses only' }, async (t) => {
    const clock = fixedClock(START)
    const hook = await receiver(t, status(200), 0, addresses[0].address)
    const url = `http://${name}:${hook.port}/hook`

    // The same URL with private webhooks allowed is delivered: the name does reach the receiver.
    const open = await build(t, { now: clock.now, allowPrivateWebhooks: true, scheduler: false })
    await configure(t, open, { alert_webhooks: [{ url, secret: SECRET_A }] })
    t.match((await attempted(open, (await raise(t, open)).alert.id)).deliveries[0], { status: 'delivered', last_status: 200 }, 'allowed: delivered through the name')
    t.equal(hook.hits.length, 1)

    const app = await build(t, { now: clock.now, allowPrivateWebhooks: false, scheduler: false })
    await configure(t, app, { alert_webhooks: [{ url, secret: SECRET_A }] })
    const refused = `refused_address: ${String(reasons[0])}`
    const d = (await attempted(app, (await raise(t, app)).alert.id)).deliveries[0]
    t.match(d, { attempts: 1, last_status: null, last_error: refused, delivered_at: null }, 'refused: not sent')
    t.not(d.status, 'delivered')
    const test = (await call(app, 'POST', '/api/v1/alerts/test', {})).json()
    t.match(test.deliveries, [{ url, ok: false, status: null, error: refused }], 'the test delivery is refused the same way')
    t.equal(hook.hits.length, 1, 'no request reached the receiver')
  })
})

t.test('metrics: alerts by trigger and severity, attempts by result, the outbox gauge; no contact id or text in them', async (t) => {
  const clock = fixedClock(START)
  const app = await build(t, { now: clock.now, allowPrivateWebhooks: true, scheduler: false })
  // /flaky fails the first attempt of each delivery and accepts the next one.
  const seen = new Set<string>()
  const hook = await receiver(t, (hit, res) => {
    const id = String(hit.headers['x-sellify-delivery'])
    if (hit.path === '/ok') res.writeHead(200).end()
    else if (hit.path === '/gone') res.writeHead(410).end()
    else res.writeHead(seen.has(id) ? 200 : 500).end()
    seen.add(id)
  })
  await configure(t, app, { alert_webhooks: ['/ok', '/flaky', '/gone'].map((path) => ({ url: hook.url(path), secret: SECRET_A })) })

  const anger = await raise(t, app, CONTACT, ANGRY)
  await attempted(app, anger.alert.id)
  const legal = await raise(t, app, '+221770009999', 'Je vais porter plainte au tribunal')
  await attempted(app, legal.alert.id)

  // The outbox gauge is counted in the store in the background (every 15 s); a test counts now.
  await app.sellify.storeGauges.refresh()
  const first = (await app.inject({ method: 'GET', url: '/metrics' })).body
  t.match(first, /^sellify_alerts_total\{trigger="anger",severity="high"\} 1$/m)
  t.match(first, /^sellify_alerts_total\{trigger="legal_situation",severity="critical"\} 1$/m)
  t.match(first, /^sellify_alert_deliveries_total\{result="delivered"\} 2$/m)
  t.match(first, /^sellify_alert_deliveries_total\{result="retry"\} 2$/m)
  t.match(first, /^sellify_alert_deliveries_total\{result="gone"\} 2$/m)
  t.match(first, /^sellify_alert_deliveries_total\{result="failed"\} 0$/m)
  t.match(first, /^sellify_alert_outbox_pending 2$/m, 'the two /flaky deliveries wait for their retry')

  clock.advance(10_000)
  t.equal(await app.sellify.alerts.deliverDue(), 2)
  const second = (await app.inject({ method: 'GET', url: '/metrics' })).body
  t.match(second, /^sellify_alert_deliveries_total\{result="delivered"\} 4$/m)
  t.match(second, /^sellify_alert_deliveries_total\{result="retry"\} 2$/m)
  t.match(second, /^sellify_alerts_total\{trigger="anger",severity="high"\} 1$/m, 'a retry raises no alert')

  for (const body of [first, second]) {
    for (const secret of ['33612345678', '221770009999', 'escrocs', 'plainte', 'tribunal', 'whsec-', 'alr_', 'dlv_', 'dcs_', '127.0.0.1', '/flaky']) {
      t.notOk(body.includes(secret), `no ${secret} in /metrics`)
    }
  }
})

t.test('a failed attempt logs one warn line, with neither the secret nor the customer\'s contact or text', async (t) => {
  const logs: LogLine[] = []
  const clock = fixedClock(START)
  const app = await build(t, { now: clock.now, allowPrivateWebhooks: true, scheduler: false }, { logs })
  const hook = await receiver(t, status(500))
  await configure(t, app, { alert_numbers: ['+221770000001'], alert_webhooks: [{ url: hook.url('/hook'), secret: SECRET_A }] })

  const decision = await raise(t, app)
  const d = (await attempted(app, decision.alert.id)).deliveries[0]
  await hook.close()
  clock.advance(10_000)
  t.equal(await app.sellify.alerts.deliverDue(), 1)

  const failures = logs.filter((l) => l.msg === 'alert webhook delivery failed')
  t.equal(failures.length, 2, 'one line per failed attempt')
  t.ok(failures.every((l) => l.level === 40), 'at warn')
  t.match(failures[0], { delivery: d.id, alert: decision.alert.id, attempts: 1, status: 500, error: 'http_error', next_attempt_at: '2026-01-18T12:00:10.000Z' })
  t.match(failures[1], { delivery: d.id, alert: decision.alert.id, attempts: 2, status: null, error: /^network_error: /, next_attempt_at: '2026-01-18T12:01:10.000Z' })
  const text = JSON.stringify(logs)
  for (const secret of [SECRET_A, 'whsec-', '33612345678', 'escrocs', 'argent', 'Intervention']) {
    t.notOk(text.includes(secret), `no ${secret} in the logs`)
  }
})

t.test('the outbox survives a restart, and two instances on one database make each attempt once', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sellify-alerts-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  const file = join(dir, 'sellify.db')
  const env = { SELLIFY_ENCRYPTION_KEY: '3c'.repeat(32) }
  const clock = fixedClock(START)
  const hook = await receiver(t, status(500))
  const first = await build(t, { now: clock.now, allowPrivateWebhooks: true, scheduler: false, env, store: { sqlitePath: file } })
  await configure(t, first, { alert_webhooks: [{ url: hook.url('/hook'), secret: SECRET_A }] })
  const decision = await raise(t, first)
  const pending = (await attempted(first, decision.alert.id)).deliveries[0]
  t.match(pending, { status: 'pending', attempts: 1 })
  await first.close()

  hook.answer(status(200))
  const a = await build(t, { now: clock.now, allowPrivateWebhooks: true, scheduler: false, env, store: { sqlitePath: file } })
  const b = await build(t, { now: clock.now, allowPrivateWebhooks: true, scheduler: false, env, store: { sqlitePath: file } })
  clock.advance(10_000)
  const made = await Promise.all([a.sellify.alerts.deliverDue(), b.sellify.alerts.deliverDue(), a.sellify.alerts.deliverDue(), b.sellify.alerts.deliverDue()])
  t.equal(made.reduce((x, y) => x + y, 0), 1, 'one attempt over both instances and four passes')
  t.equal(hook.hits.length, 2)
  t.equal(hook.hits[1].headers['x-sellify-delivery'], pending.id, 'the same delivery, after the restart')
  t.equal(hook.hits[1].body, alertBody(decision, CONTACT, ANGRY, 'discovery'), 'its contact and text read back with the key')
  t.match((await alert(b, decision.alert.id)).deliveries[0], { id: pending.id, status: 'delivered', attempts: 2 })
})

t.test('between two attempts: a rotated secret signs the retry; a removed webhook fails the delivery without a request', async (t) => {
  const clock = fixedClock(START)
  const app = await build(t, { now: clock.now, allowPrivateWebhooks: true, scheduler: false })
  const hook = await receiver(t, status(500))
  const kept = hook.url('/kept')
  const dropped = hook.url('/dropped')
  await configure(t, app, { alert_webhooks: [{ url: kept, secret: SECRET_A }, { url: dropped, secret: SECRET_A }] })
  const decision = await raise(t, app)
  await attempted(app, decision.alert.id)
  t.equal(hook.hits.length, 2)

  const patched = await call(app, 'PATCH', '/api/v1/accounts/default', { alert_webhooks: [{ url: kept, secret: SECRET_B }] })
  t.equal(patched.statusCode, 200, patched.body)
  hook.answer(status(200))
  clock.advance(10_000)
  t.equal(await app.sellify.alerts.deliverDue(), 2)
  t.equal(hook.hits.length, 3, 'only the webhook still configured got the retry')
  const retry = hook.hits[2]
  t.equal(retry.path, '/kept')
  const signature = String(retry.headers['x-sellify-signature'])
  t.ok(verifySignature(SECRET_B, retry.body, signature, START_S + 10), 'signed with the new secret')
  t.notOk(verifySignature(SECRET_A, retry.body, signature, START_S + 10), 'not with the old one')
  const detail = await alert(app, decision.alert.id)
  t.match(deliveryTo(detail, kept), { status: 'delivered', attempts: 2 })
  t.match(deliveryTo(detail, dropped), { status: 'failed', attempts: 2, next_attempt_at: null, last_status: null, last_error: 'webhook_removed' })
})
