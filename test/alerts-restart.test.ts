/**
 * The alert outbox survives a crash (README, "Alerts": "Outbox rows survive restarts"). A real server process on a
 * SQLite file raises five alerts whose webhook answers 503, so each delivery stays pending after its first
 * attempt; the process is killed with SIGKILL (no graceful close), the receiver starts answering 200, and a
 * second process on the same file and key makes the retries: every delivery arrives, under the same
 * X-Sellify-Delivery id on each of its attempts, and is accepted exactly once.
 */
import t from 'tap'
import http from 'node:http'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { verifySignature } from '../lib/alerts/webhook.js'
import type { TapTest } from './helper.js'
import { startServer, type RunningServer } from './server-process.js'
import { alertClient, type Json } from './alert-polling.js'

const KEY = 'alerts-restart-test-admin-key-0123456789'
const { api, until } = alertClient(KEY)
const ENCRYPTION_KEY = '7c'.repeat(32)
const SECRET = 'restart-webhook-secret-0123456789'
const ALERTS = 5

interface Reception {
  delivery: string
  event: string
  alert: string
  /** Whether the signature is valid for the body with the webhook's secret. */
  signed: boolean
  /** What the receiver answered. */
  answered: number
}

/** A webhook receiver on 127.0.0.1 that records every request and answers `status` (set by the test). */
async function receiver (t: TapTest): Promise<{ url: string, receptions: Reception[], answer: (status: number) => void }> {
  const receptions: Reception[] = []
  let status = 503
  const server = http.createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => { body += chunk })
    req.on('end', () => {
      const payload = JSON.parse(body) as Json
      receptions.push({
        delivery: String(req.headers['x-sellify-delivery']),
        event: String(req.headers['x-sellify-event']),
        alert: String(payload.alert?.id),
        signed: verifySignature(SECRET, body, String(req.headers['x-sellify-signature']), Math.floor(Date.now() / 1000)),
        answered: status
      })
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'try later')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { await new Promise((resolve) => server.close(resolve)) })
  const { port } = server.address() as { port: number }
  return { url: `http://127.0.0.1:${port}/hooks/sellify`, receptions, answer: (s) => { status = s } }
}

async function stop (server: RunningServer): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return
  server.child.kill('SIGTERM')
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 10_000)
  await server.exited
  clearTimeout(timer)
}

t.test('pending deliveries survive a SIGKILL and are delivered once by the next process', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sellify-alerts-restart-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  const hook = await receiver(t)
  const env = {
    SELLIFY_DB_PATH: join(dir, 'sellify.db'),
    SELLIFY_API_KEY: KEY,
    SELLIFY_ALLOW_PRIVATE_WEBHOOKS: 'true',
    SELLIFY_ENCRYPTION_KEY: ENCRYPTION_KEY
  }
  const servers: RunningServer[] = []
  // Registered after the receiver's and the directory's: the servers stop first.
  t.teardown(async () => { await Promise.all(servers.map(stop)) })

  const first = await startServer(env)
  servers.push(first)
  const patched = await api(first.url, 'PATCH', '/api/v1/accounts/default', { active_hours: 'always', alert_webhooks: [{ url: hook.url, secret: SECRET }] })
  t.equal(patched.status, 200, JSON.stringify(patched.json))

  const ids: string[] = []
  for (let i = 0; i < ALERTS; i++) {
    const res = await api(first.url, 'POST', '/api/v1/messages/incoming', { contact: `+3361234560${i}`, message_id: `restart-msg-${i}`, text: 'Je vais voir un avocat' })
    t.equal(res.status, 200, JSON.stringify(res.json))
    t.match(res.json, { action: 'alert_human', alert: { id: /^alr_/, trigger: 'legal_situation', severity: 'critical' } })
    ids.push(res.json.alert.id)
  }
  t.equal(new Set(ids).size, ALERTS, 'five distinct alerts')

  // Killed only once every first attempt is on record: a delivery claimed at the kill would wait out its
  // 60 s lease before the next process could take it.
  const failedOnce = await until(first.url, ids, 'every first attempt recorded', (list) =>
    list.every((a) => a.deliveries.length === 1 && a.deliveries[0].attempts >= 1))
  for (const a of failedOnce) {
    t.match(a.deliveries, [{ id: /^dlv_/, url: hook.url, status: 'pending', last_status: 503, last_error: 'http_error', delivered_at: null }], `${a.id as string} is pending after a 503`)
  }
  const deliveryOf = new Map<string, string>(failedOnce.map((a) => [a.id as string, a.deliveries[0].id as string]))
  t.equal(new Set(deliveryOf.values()).size, ALERTS, 'one delivery id per alert')
  t.strictSame(new Set(hook.receptions.map((r) => r.delivery)), new Set(deliveryOf.values()), 'the receiver saw a first attempt of each')

  first.child.kill('SIGKILL')
  t.match(await first.exited, { code: null, signal: 'SIGKILL' }, 'the first process died without closing')
  const beforeRestart = hook.receptions.length
  hook.answer(200)

  const second = await startServer(env)
  servers.push(second)
  const done = await until(second.url, ids, 'every delivery delivered', (list) => list.every((a) => a.deliveries.every((d: Json) => d.status === 'delivered')))
  // Stopped gracefully (its pass in flight awaited): nothing can be attempted after this.
  await stop(second)
  t.match(await second.exited, { code: 0 }, 'the second process closed cleanly')
  t.ok(hook.receptions.length > beforeRestart, 'the second process made the retries')

  for (const a of done) {
    const [d] = a.deliveries
    t.equal(a.deliveries.length, 1, `${a.id as string} has one delivery`)
    t.equal(d.id, deliveryOf.get(a.id), `${a.id as string}: the same delivery row after the restart`)
    t.match(d, { status: 'delivered', last_status: 200, last_error: null, next_attempt_at: null, delivered_at: String })
    const got = hook.receptions.filter((r) => r.delivery === d.id)
    t.equal(got.length, d.attempts, `${d.id as string}: every recorded attempt reached the receiver, under this id`)
    t.ok(got.length >= 2, `${d.id as string}: failed before the kill, delivered after it`)
    t.equal(got.filter((r) => r.answered === 200).length, 1, `${d.id as string}: accepted exactly once`)
    t.equal(got[got.length - 1].answered, 200, `${d.id as string}: the accepted attempt is the last one`)
    t.ok(got.every((r) => r.event === 'alert.created' && r.alert === a.id && r.signed), `${d.id as string}: each attempt is this alert, signed with the webhook's secret`)
  }
  t.equal(hook.receptions.filter((r) => !deliveryOf.has(r.alert) || deliveryOf.get(r.alert) !== r.delivery).length, 0, 'no reception of any other delivery id')
  t.equal(hook.receptions.filter((r) => r.answered === 200).length, ALERTS, 'five acceptances in all')
})
