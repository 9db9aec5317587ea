/**
 * README, "Tests": "webhook deliveries survive a restart and a receiver that fails first, and each is made once across
 * two instances" (README, "Alerts": "Outbox rows survive restarts; with several instances each attempt is claimed
 * by exactly one"), on PostgreSQL with two real server processes (`node dist/server.js`) on one schema, their
 * outbox workers running (every second). Alerts are raised on both; a receiver on a socket fails the first
 * attempt of every delivery (a 503, or the connection cut); one process is killed with SIGKILL while every
 * delivery is pending, and started again; the retries, about 10 s later, are shared by the two live processes.
 * The receiver counts by X-Sellify-Delivery: each delivery arrives under one id, at exactly the attempts its
 * row records, and is accepted exactly once.
 */
import t from 'tap'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { verifySignature } from '../lib/alerts/webhook.js'
import { PG_URL, pgSchema, pgSkip, type TapTest } from './helper.js'
import { startServer, type RunningServer } from './server-process.js'
import { alertClient, type Json } from './alert-polling.js'

const KEY = 'reliability-webhooks-admin-key-0123456789'
const { api, until } = alertClient(KEY)
const ENCRYPTION_KEY = '7d'.repeat(32)
const SECRET = 'reliability-webhook-secret-0123456789'
const ALERTS = 12

interface Reception {
  delivery: string
  alert: string
  signed: boolean
  /** 200, 503, or 0 for a connection cut before any answer. */
  answered: number
}

/**
 * A receiver that fails the first attempt of each delivery, by a 503 for every other one and by cutting the
 * connection for the rest, and accepts every later attempt.
 */
async function receiver (t: TapTest): Promise<{ url: string, receptions: Reception[] }> {
  const receptions: Reception[] = []
  const seen = new Set<string>()
  const server = http.createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => { body += chunk })
    req.on('end', () => {
      const delivery = String(req.headers['x-sellify-delivery'])
      const first = !seen.has(delivery)
      seen.add(delivery)
      const cut = first && seen.size % 2 === 0
      receptions.push({
        delivery,
        alert: String((JSON.parse(body) as Json).alert?.id),
        signed: verifySignature(SECRET, body, String(req.headers['x-sellify-signature']), Math.floor(Date.now() / 1000)),
        answered: cut ? 0 : first ? 503 : 200
      })
      if (cut) req.socket.destroy()
      else res.writeHead(first ? 503 : 200).end(first ? 'try later' : 'ok')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/sellify`, receptions }
}

async function stop (server: RunningServer): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return
  server.child.kill('SIGTERM')
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 10_000)
  await server.exited
  clearTimeout(timer)
}

t.test('two processes on one PostgreSQL, one killed with pending deliveries and restarted: each delivery made, accepted once', { skip: await pgSkip() }, async (t) => {
  const hook = await receiver(t)
  const env = {
    DATABASE_URL: PG_URL,
    SELLIFY_PG_SCHEMA: pgSchema(t),
    SELLIFY_API_KEY: KEY,
    SELLIFY_ENCRYPTION_KEY: ENCRYPTION_KEY,
    SELLIFY_ALLOW_PRIVATE_WEBHOOKS: 'true'
  }
  const servers: RunningServer[] = []
  // Registered after the receiver and the schema: the processes stop first.
  t.teardown(async () => { await Promise.all(servers.map(stop)) })
  const started = async (): Promise<RunningServer> => {
    const server = await startServer(env)
    servers.push(server)
    return server
  }

  const a = await started()
  const patched = await api(a.url, 'PATCH', '/api/v1/accounts/default', { active_hours: 'always', alert_webhooks: [{ url: hook.url, secret: SECRET }] })
  t.equal(patched.status, 200, JSON.stringify(patched.json))
  // Started once the account has its webhook: its account cache starts from it.
  const b = await started()

  // Alerts raised on both processes at once.
  const raised = await Promise.all(Array.from({ length: ALERTS }, async (_, i) =>
    await api((i % 2 === 0 ? a : b).url, 'POST', '/api/v1/messages/incoming', { contact: `+3361234570${String(i).padStart(2, '0')}`, message_id: `webhooks-${i}`, text: 'Je vais voir un avocat' })))
  t.strictSame(raised.filter((r) => r.status !== 200 || r.json.alert === null).map((r) => r.json), [], 'every message answered 200 with an alert')
  const ids = raised.map((r) => r.json.alert.id as string)
  t.equal(new Set(ids).size, ALERTS, `${ALERTS} distinct alerts`)

  // Killed only once every first attempt is on record: a delivery claimed at the kill would wait out its 60 s lease.
  const failedOnce = await until(b.url, ids, 'every first attempt recorded', (list) => list.every((x) => x.deliveries.length === 1 && x.deliveries[0].attempts >= 1))
  t.strictSame(failedOnce.filter((x) => x.deliveries[0].status !== 'pending' || x.deliveries[0].attempts !== 1).map((x) => x.deliveries), [], 'every delivery pending after one failed attempt')
  t.strictSame([...new Set(failedOnce.map((x) => String(x.deliveries[0].last_error).replace(/:.*/, '')))].sort(), ['http_error', 'network_error'], 'failed by a 503 and by a cut connection')
  const deliveryOf = new Map(failedOnce.map((x) => [x.id as string, x.deliveries[0].id as string]))
  t.equal(new Set(deliveryOf.values()).size, ALERTS, 'one delivery id per alert')
  t.equal(hook.receptions.length, ALERTS, 'the receiver saw one attempt of each')

  a.child.kill('SIGKILL')
  t.match(await a.exited, { code: null, signal: 'SIGKILL' }, 'the first process died without closing')
  const again = await started()

  const done = await until(again.url, ids, 'every delivery delivered', (list) => list.every((x) => x.deliveries.every((d: Json) => d.status === 'delivered')))
  // Both stopped gracefully (their passes in flight awaited): nothing is attempted after this.
  await Promise.all([stop(b), stop(again)])
  t.match(await b.exited, { code: 0 }, 'the second process closed cleanly')
  t.match(await again.exited, { code: 0 }, 'the restarted process closed cleanly')

  const byDelivery = new Map<string, Reception[]>()
  for (const r of hook.receptions) byDelivery.set(r.delivery, [...(byDelivery.get(r.delivery) ?? []), r])
  const wrong: string[] = []
  for (const x of done) {
    const [d] = x.deliveries
    const got = byDelivery.get(d.id) ?? []
    if (x.deliveries.length !== 1) wrong.push(`${x.id as string}: ${x.deliveries.length} deliveries`)
    if (d.id !== deliveryOf.get(x.id)) wrong.push(`${x.id as string}: delivery ${d.id as string} after the restart, ${String(deliveryOf.get(x.id))} before`)
    if (d.attempts !== 2 || d.last_status !== 200 || d.last_error !== null) wrong.push(`${d.id as string}: ${JSON.stringify(d)}`)
    if (got.length !== d.attempts) wrong.push(`${d.id as string}: received ${got.length} times, ${d.attempts as number} attempts recorded`)
    if (got.filter((r) => r.answered === 200).length !== 1 || got[got.length - 1]?.answered !== 200) wrong.push(`${d.id as string}: answered ${got.map((r) => r.answered).join(', ')}`)
    if (!got.every((r) => r.alert === x.id && r.signed)) wrong.push(`${d.id as string}: an attempt for another alert, or not signed with the secret`)
  }
  t.strictSame(wrong, [], 'each delivery: one row, the same id across the kill, two attempts received (failed, then accepted), each signed for its alert')
  t.equal(hook.receptions.filter((r) => r.answered === 200).length, ALERTS, `${ALERTS} acceptances in all`)
  t.equal(hook.receptions.length, 2 * ALERTS, 'and no attempt beyond those recorded')
  t.strictSame([...byDelivery.keys()].filter((id) => ![...deliveryOf.values()].includes(id)), [], 'no other delivery id')
})
