/**
 * README, "Tests": "the database file contains no customer text, contact id or AI answer in clear (searched byte for
 * byte); a wrong key refuses to start or read, never yields garbage" (README, "Data protection").
 *
 * One run on a SQLite file goes through every writer of personal data: incoming messages answered by the AI
 * (the project's fake provider on a socket, one answer refused by validation and asked again), an alert with
 * its webhook delivered to a receiver on a socket, a human outgoing message, sent and failed reports, and an
 * `audit/log` record with a prompt and an AI response. Then the database, its WAL and its shared memory are
 * searched byte for byte while the app runs, and the database after it closed. Restarted with another key the
 * real server refuses to start; a stored value altered in SQL is an error when read, never text.
 */
import t from 'tap'
import Database from 'better-sqlite3'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { startFakeAi } from '../lib/ai/fake-server.js'
import { build, call, DEV_KEY, fixedClock, type TapTest } from './helper.js'
import { karite } from './routes/decision-fixtures.js'
import { runToExit, startServer } from './server-process.js'

type Json = Record<string, any>

const K1 = '6a'.repeat(32)
const K2 = '6b'.repeat(32)
const AI_KEY = 'sk-fake-at-rest-0123456789abcdef'
const WEBHOOK_SECRET = 'whsec-at-rest-9f8e7d6c5b4a3210'
const DB = 'at-rest.db'

const SHOPPER = '221775551234@s.whatsapp.net'
const ANGRY = '+33698765432'
const HELLO = 'Bonjour, ici Mariama Sow de Thiès'
const PRICE = 'Combien coûte la crème au karité pour ma fille Khadijatou ?'
const THREAT = 'Je vais voir mon avocat, signé Ousmane Diagne'
const HUMAN = 'Ici Awa : Mariama, je vous rappelle au 77 555 12 34'
const AI_GREETING = 'Bienvenue chez Karité & Co ! Que recherchez-vous aujourd\'hui, Mariama ?'
/** Refused by validation (a price the catalogue does not have): kept only in the re-ask, the record's `ai_prompt`. */
const AI_INVENTED = 'Pour Khadijatou, seulement 9 990 FCFA cette semaine.'
const AI_PRICE = 'Notre Crème au karité 200 ml coûte 12 500 FCFA, douce pour Khadijatou.'
const LOG_PROMPT = 'Réponds poliment à Ndeye Fatou Faye qui habite Ngor'
const LOG_RESPONSE = 'Avec plaisir Ndeye Fatou, votre colis part demain.'
const LOG_SENT = 'Votre colis pour Ngor part demain, Ndeye Fatou.'
// Gateway message ids: the Cloud API's embed the phone number.
const HELLO_ID = 'wamid.HBgLMjIxNzc1NTUxMjM0FQIAEhgUM0VCMA'
const THREAT_ID = 'wamid.HBgLMzM2OTg3NjU0MzIVAgASGBQzRUIwQg'
const SENT_ID = 'wamid.SENT-77AA'
const HUMAN_ID = 'wamid.HUMAN-55BB'

/** Everything personal the run writes, each of which must be nowhere on disk in clear. */
const SECRETS = [
  HELLO, 'Mariama Sow', 'Thiès', PRICE, 'Khadijatou', THREAT, 'Ousmane Diagne', HUMAN, '77 555 12 34',
  AI_GREETING, AI_INVENTED, AI_PRICE, LOG_PROMPT, LOG_RESPONSE, LOG_SENT, 'Ndeye Fatou', 'Ngor',
  SHOPPER, '221775551234', ANGRY, '33698765432',
  HELLO_ID, THREAT_ID, SENT_ID, HUMAN_ID,
  WEBHOOK_SECRET
]

const KB = {
  business_name: 'Karité & Co',
  products: [karite({
    short_description: 'Crème hydratante au beurre de karité pur.',
    media: [{ id: 'photo-1', type: 'image', url: 'https://shop.example/k.jpg' }],
    media_policy: { allow_images: true, allow_video: false }
  })]
}

/** A webhook receiver on a socket that answers 200 and keeps each body. */
async function receiver (t: TapTest): Promise<{ url: string, bodies: string[] }> {
  const bodies: string[] = []
  const server = http.createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => { body += chunk })
    req.on('end', () => {
      bodies.push(body)
      res.writeHead(200).end('ok')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, bodies }
}

async function ok (app: FastifyInstance, method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown): Promise<Json> {
  const res = await call(app, method, url, body)
  if (res.statusCode < 200 || res.statusCode > 299) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`)
  return res.statusCode === 204 ? {} : res.json()
}

const incoming = async (app: FastifyInstance, contact: string, text: string, messageId: string): Promise<Json> =>
  await ok(app, 'POST', '/api/v1/messages/incoming', { contact, text, message_id: messageId })

/** The store's files (the database, its -wal and -shm), read byte for byte. */
async function files (dir: string): Promise<Array<{ name: string, bytes: Buffer }>> {
  const names = (await readdir(dir)).filter((n) => n.startsWith(DB))
  return await Promise.all(names.map(async (name) => ({ name, bytes: await readFile(join(dir, name)) })))
}

/** Each secret found in clear in the files, as UTF-8 or UTF-16: `file: "secret"`. */
function inClear (found: Array<{ name: string, bytes: Buffer }>): string[] {
  const hits: string[] = []
  for (const { name, bytes } of found) {
    for (const secret of SECRETS) {
      if (bytes.includes(Buffer.from(secret, 'utf8')) || bytes.includes(Buffer.from(secret, 'utf16le'))) hits.push(`${name}: ${JSON.stringify(secret)}`)
    }
  }
  return hits
}

/**
 * The run, on `dir`/at-rest.db under `key` (K1 unless told): the shopper greeted and told the price by the AI (its first price
 * refused and asked again), a legal threat raising an alert delivered to the receiver, a human reply, sent and
 * failed reports, and a client log. Returns the app (still open) and what was answered.
 */
async function run (t: TapTest, dir: string, key: Record<string, string> = { SELLIFY_ENCRYPTION_KEY: K1 }): Promise<{ app: FastifyInstance, hello: Json, price: Json, threat: Json, webhook: string[] }> {
  const fake = await startFakeAi({ apiKey: AI_KEY, script: [{ kind: 'text', text: AI_GREETING }, { kind: 'text', text: AI_INVENTED }, { kind: 'text', text: AI_PRICE }] })
  t.teardown(() => fake.close())
  const hook = await receiver(t)
  const clock = fixedClock('2026-01-18T12:00:00.000Z')
  const app = await build(t, {
    now: clock.now,
    scheduler: false,
    allowPrivateWebhooks: true,
    store: { sqlitePath: join(dir, DB) },
    env: {
      ...key,
      SELLIFY_AI_PROVIDER: 'openai',
      SELLIFY_AI_BASE_URL: `${fake.url}/v1`,
      SELLIFY_AI_MODEL: 'llama3.2',
      SELLIFY_AI_API_KEY: AI_KEY
    }
  })
  await ok(app, 'PUT', '/api/v1/accounts/default', { active_hours: 'always', escalation: { reply: 'holding' }, alert_webhooks: [{ url: hook.url, secret: WEBHOOK_SECRET }] })
  await ok(app, 'PUT', '/api/v1/knowledge', KB)

  const hello = await incoming(app, SHOPPER, HELLO, HELLO_ID)
  await ok(app, 'POST', `/api/v1/messages/${hello.decision_id as string}/sent`, { message_id: SENT_ID })
  clock.advance(1000)
  const price = await incoming(app, SHOPPER, PRICE, 'wamid.2')
  await ok(app, 'POST', `/api/v1/messages/${price.decision_id as string}/failed`, { error: `could not reach ${SHOPPER}` })
  clock.advance(1000)
  await ok(app, 'POST', '/api/v1/messages/outgoing', { contact: SHOPPER, text: HUMAN, sender: 'human', message_id: HUMAN_ID })
  clock.advance(1000)
  const threat = await incoming(app, ANGRY, THREAT, THREAT_ID)
  for (let i = 0; i < 500 && hook.bodies.length === 0; i++) {
    await app.sellify.alerts.deliverDue()
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  await ok(app, 'POST', '/api/v1/audit/log', {
    conversation_id: SHOPPER, incoming_message: PRICE, chosen_action: 'RespondText', ai_prompt: LOG_PROMPT, ai_response: LOG_RESPONSE, sent_message: LOG_SENT
  })
  return { app, hello, price, threat, webhook: hook.bodies }
}

t.test('no customer text, contact id or AI answer in clear in the SQLite file, its WAL or its shared memory', async (t) => {
  const dir = t.testdir()
  const { app, hello, price, threat, webhook } = await run(t, dir)

  // Every secret was written, and reads back decrypted: the search below is for data that is there.
  t.match(hello, { reply: { text: AI_GREETING, source: 'ai' } }, 'the AI greeted')
  t.match(price, { reply: { text: AI_PRICE, source: 'ai' }, validation: { valid: false, attempts: 2 } }, 'the AI\'s invented price refused, its second answer sent')
  t.match(threat, { action: 'alert_human', alert: { id: /^alr_/ } }, 'the threat raised an alert')
  t.equal(webhook.length, 1, 'the alert was delivered to the receiver')
  t.ok(webhook[0].includes(THREAT) && webhook[0].includes(ANGRY), 'the webhook carries the message and the contact (in transit, not at rest)')
  const conversation = await ok(app, 'GET', `/api/v1/conversations/${encodeURIComponent(SHOPPER)}`)
  t.strictSame(conversation.messages.map((m: Json) => m.text), [HELLO, AI_GREETING, PRICE, AI_PRICE, HUMAN], 'the conversation decrypts')
  const records = (await ok(app, 'GET', '/api/v1/audit?limit=500')).records as Json[]
  const priced = records.find((r) => r.type === 'decision' && r.details?.decision_id === price.decision_id)
  t.match(priced, { contact: SHOPPER, incoming_message: PRICE, ai_response: AI_PRICE, sent_message: AI_PRICE }, 'the decision record decrypts')
  const asked = JSON.parse(priced?.ai_prompt as string).messages as Json[]
  t.ok(asked.some((m) => m.role === 'assistant' && m.content === AI_INVENTED), 'its prompt (the re-ask) holds the refused AI answer')
  t.ok(asked.some((m) => m.role === 'user' && String(m.content).includes(PRICE)), 'and quotes the customer')
  t.match(records.find((r) => r.type === 'client.log'), { ai_prompt: LOG_PROMPT, ai_response: LOG_RESPONSE, sent_message: LOG_SENT })
  t.match((await ok(app, 'GET', `/api/v1/alerts/${threat.alert.id as string}`)), { contact: ANGRY, message: THREAT, deliveries: [{ status: 'delivered' }] })
  t.equal((await app.sellify.accounts.webhookSecrets('default'))[0].secret, WEBHOOK_SECRET, 'the webhook secret decrypts')

  const open = await files(dir)
  t.ok(open.some((f) => f.name === `${DB}-wal` && f.bytes.length > 0), 'the WAL holds writes while the app runs')
  t.strictSame(inClear(open), [], 'no secret in the database, the WAL or the shared memory while the app runs')
  await app.close()
  const closed = await files(dir)
  t.ok(closed.some((f) => f.name === DB && f.bytes.length > 0), 'the database after close')
  t.strictSame(inClear(closed), [], 'no secret in what is left after close')
})

t.test('restarted with another key: the real server refuses to start, then starts with the right one and reads everything', async (t) => {
  const dir = t.testdir()
  const { app } = await run(t, dir)
  await app.close()

  const env = { SELLIFY_DB_PATH: join(dir, DB), SELLIFY_SCHEDULER: 'off', LOG_LEVEL: 'info' }
  const wrongs: Array<Record<string, string>> = [{ SELLIFY_ENCRYPTION_KEY: K2 }, { SELLIFY_ENCRYPTION_KEYS: `next:${K2}` }]
  for (const wrong of wrongs) {
    const variable = Object.keys(wrong)[0]
    const refused = await runToExit({ ...env, ...wrong }, 15_000)
    t.equal(refused.signal, null, `${variable}: exits by itself`)
    t.ok(refused.code !== null && refused.code !== 0, `${variable}: non-zero exit (${String(refused.code)})`)
    t.match(refused.stderr, new RegExp(`^sellify-core: .*${variable}: the database holds \\d+ data keys? wrapped by key id "k[0-9a-f]{8}", which is not configured: this is not the key`), `${variable}: one line naming the variable and why`)
    t.notOk(refused.output.includes(K1) || refused.output.includes(K2), `${variable}: no key printed`)
    t.strictSame(SECRETS.filter((s) => refused.output.includes(s)), [], `${variable}: no customer data printed`)
  }

  // The refusals changed nothing: with the right key every text reads back.
  const server = await startServer({ ...env, SELLIFY_ENCRYPTION_KEY: K1 })
  t.teardown(() => { server.child.kill('SIGKILL') })
  const res = await fetch(`${server.url}/api/v1/conversations/${encodeURIComponent(SHOPPER)}`, { headers: { 'x-api-key': DEV_KEY } })
  t.equal(res.status, 200)
  t.strictSame(((await res.json()) as Json).messages.map((m: Json) => m.text), [HELLO, AI_GREETING, PRICE, AI_PRICE, HUMAN], 'the conversation as it was')
  const verify = await fetch(`${server.url}/api/v1/audit/verify?account=default`, { headers: { 'x-api-key': DEV_KEY } })
  t.match(await verify.json(), { valid: true, first_invalid_id: null }, 'the chain verifies')
  server.child.kill('SIGTERM')
  t.equal((await server.exited).code, 0)
})

t.test('a stored value altered in SQL is an error when read, never other text', async (t) => {
  const dir = t.testdir()
  const { app, threat } = await run(t, dir)
  const db = new Database(join(dir, DB))
  t.teardown(() => db.close())
  /** One character of the ciphertext part of an encrypted value changed (the value stays well-formed). */
  const altered = (value: string): string => {
    const parts = value.split('.')
    const i = parts.length - 2
    parts[i] = (parts[i][0] === 'A' ? 'B' : 'A') + parts[i].slice(1)
    return parts.join('.')
  }
  const message = db.prepare('SELECT id, text FROM conversation_messages WHERE direction = \'in\' ORDER BY at LIMIT 1').get() as { id: string, text: string }
  db.prepare('UPDATE conversation_messages SET text = ? WHERE id = ?').run(altered(message.text), message.id)
  const conversation = await call(app, 'GET', `/api/v1/conversations/${encodeURIComponent(SHOPPER)}`)
  t.equal(conversation.statusCode, 500, 'a conversation with an altered message is not answered')
  t.match(conversation.json(), { code: 'SELLIFY_DECRYPT_FAILED' })
  t.notOk(conversation.body.includes('Mariama'), 'and nothing of it leaks into the error')

  const alert = db.prepare('SELECT message FROM alerts WHERE id = ?').pluck().get(threat.alert.id) as string
  const other = db.prepare('SELECT text FROM conversation_messages WHERE id <> ? AND text IS NOT NULL LIMIT 1').pluck().get(message.id) as string
  db.prepare('UPDATE alerts SET message = ? WHERE id = ?').run(other, threat.alert.id)
  const moved = await call(app, 'GET', `/api/v1/alerts/${threat.alert.id as string}`)
  t.equal(moved.statusCode, 500, 'a ciphertext moved from another table does not decrypt as this alert\'s message')
  t.match(moved.json(), { code: 'SELLIFY_DECRYPT_FAILED' })
  db.prepare('UPDATE alerts SET message = ? WHERE id = ?').run(alert, threat.alert.id)
  t.match((await ok(app, 'GET', `/api/v1/alerts/${threat.alert.id as string}`)), { message: THREAT }, 'put back, it reads again')
  t.ok(existsSync(join(dir, DB)))
})

// "A wrong key refuses to start or read, never yields garbage" (README, "Data protection"). A key listed under the
// id the data was written with, but not the key it was written with (a typo in SELLIFY_ENCRYPTION_KEYS), would
// compute blind indexes and message keys that find nothing: an existing customer decided as a new one, a gateway
// retry decided (and consumed) again. The start-up check unwraps a data key under each id, so it never starts.
t.test('the right key id with the wrong key: refused at start, naming the variable; the right key still opens everything', async (t) => {
  const dir = t.testdir()
  const { app, hello } = await run(t, dir, { SELLIFY_ENCRYPTION_KEYS: `main:${K1}` })
  await app.close()

  await t.rejects(build(t, { scheduler: false, store: { sqlitePath: join(dir, DB) }, env: { SELLIFY_ENCRYPTION_KEYS: `main:${K2}` } }),
    { name: 'ConfigError', variable: 'SELLIFY_ENCRYPTION_KEYS', message: /key configured as id "main" does not open the data keys stored under that id/ }, 'refused at start')
  await t.rejects(build(t, { scheduler: false, store: { sqlitePath: join(dir, DB) }, env: { SELLIFY_ENCRYPTION_KEYS: `old:${K1},main:${K2}` } }),
    { name: 'ConfigError', variable: 'SELLIFY_ENCRYPTION_KEYS' }, 'also with the right key listed under another id')

  const right = await build(t, { scheduler: false, store: { sqlitePath: join(dir, DB) }, env: { SELLIFY_ENCRYPTION_KEYS: `main:${K1}` } })
  const retry = await call(right, 'POST', '/api/v1/messages/incoming', { contact: SHOPPER, text: HELLO, message_id: HELLO_ID })
  t.equal(retry.statusCode, 200)
  t.equal(retry.json().decision_id, hello.decision_id, 'with the right key, the retry is the same decision')
  t.equal((await call(right, 'GET', `/api/v1/conversations/${encodeURIComponent(SHOPPER)}`)).statusCode, 200, 'and the conversation reads')
})
