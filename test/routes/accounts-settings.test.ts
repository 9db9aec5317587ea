import t from 'tap'
import Database from 'better-sqlite3'
import pg from 'pg'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { SQLITE_MIGRATIONS } from '../../lib/store/sqlite/migrations.js'
import { POSTGRES_MIGRATIONS } from '../../lib/store/postgres/migrations.js'
import { build, call, DEV_KEY, PG_URL, pgSchema, pgSkip } from '../helper.js'

const DAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday']
/** The settings of an account that never set them, as answered. */
const DEFAULTS = {
  language: 'fr',
  active_hours: { start: '09:00', end: '18:00', days: DAYS },
  outside_hours: 'delay',
  ai: { enabled: true, tone: 'professional and friendly', max_length: 500, temperature: 0.3, reask: 1 },
  alert_numbers: [],
  alert_webhooks: [],
  escalation: { max_misunderstandings: 3, sensitive_keywords: ['avocat', 'tribunal', 'police'], reply: 'none' },
  forbidden_words: [],
  allowed_domains: [],
  human_takeover_minutes: 60,
  session_expiry_minutes: 1440,
  typing: { enabled: true, chars_per_second: 12, max_seconds: 15 },
  fallback_message: null,
  automation: 'on'
}
const settingsOf = (a: Record<string, unknown>) => Object.fromEntries(Object.keys(DEFAULTS).map((k) => [k, a[k]]))
const SECRET = 'whsec-0123456789abcdef'

async function patch (app: FastifyInstance, url: string, body: unknown, contentType = 'application/merge-patch+json') {
  return await app.inject({
    method: 'PATCH',
    url,
    headers: { 'x-api-key': DEV_KEY, 'content-type': contentType },
    payload: typeof body === 'string' ? body : JSON.stringify(body)
  })
}

t.test('PUT: every setting has its default; a PUT gives them all and GET and the list answer them', async (t) => {
  const app = await build(t)
  const empty = await call(app, 'PUT', '/api/v1/accounts/shop', {})
  t.equal(empty.statusCode, 201)
  t.strictSame(settingsOf(empty.json()), DEFAULTS)
  t.strictSame(settingsOf((await call(app, 'GET', '/api/v1/accounts/default')).json()), DEFAULTS, 'default too')

  const full = {
    language: 'es',
    active_hours: { start: '22:00', end: '06:00', days: ['friday', 'saturday'] },
    outside_hours: 'ignore',
    ai: { enabled: false, tone: 'cercano', max_length: 4096, temperature: 2, reask: 3 },
    alert_numbers: ['+34600000000', '22177000000'],
    alert_webhooks: [{ url: 'https://hooks.example/sellify', secret: SECRET }],
    escalation: { max_misunderstandings: 20, sensitive_keywords: ['abogado'], reply: 'holding' },
    forbidden_words: ['gratis'],
    allowed_domains: ['shop.example', 'wa.me'],
    human_takeover_minutes: 10080,
    session_expiry_minutes: 525600,
    typing: { enabled: false, chars_per_second: 100, max_seconds: 120 },
    fallback_message: 'Perdón, ¿puede repetir?',
    automation: 'off'
  }
  const put = await call(app, 'PUT', '/api/v1/accounts/shop', full)
  t.equal(put.statusCode, 200, put.body)
  const shown = { ...full, alert_webhooks: [{ url: 'https://hooks.example/sellify', secret: '••••' }] }
  t.strictSame(settingsOf(put.json()), shown, 'the secret is write-only')
  t.strictSame(settingsOf((await call(app, 'GET', '/api/v1/accounts/shop')).json()), shown)
  const listed = (await call(app, 'GET', '/api/v1/accounts')).json().accounts.find((a: { id: string }) => a.id === 'shop')
  t.strictSame(settingsOf(listed), shown)
  t.notOk((await call(app, 'GET', '/api/v1/accounts')).body.includes(SECRET), 'no answer quotes the secret')
  t.match((await app.sellify.accounts.get('shop')).alert_webhooks[0].secret, /^v1d\./, 'stored encrypted')
  t.equal((await app.sellify.accounts.webhookSecrets('shop'))[0].secret, SECRET, 'and decrypts to what was given')

  t.equal((await call(app, 'PUT', '/api/v1/accounts/shop', { active_hours: null })).json().active_hours, 'always', 'null in a PUT: always open')
  t.equal((await call(app, 'PUT', '/api/v1/accounts/shop', { active_hours: 'always' })).json().active_hours, 'always')
  t.strictSame((await call(app, 'PUT', '/api/v1/accounts/shop', { active_hours: { end: '20:00' } })).json().active_hours,
    { start: '09:00', end: '20:00', days: DAYS }, 'what a PUT omits takes the default')
})

t.test('PATCH: a JSON merge patch over the stored configuration', async (t) => {
  const app = await build(t)
  await call(app, 'PUT', '/api/v1/accounts/shop', {
    timezone: 'Europe/Paris',
    limits: { messages_per_day: 10 },
    forbidden_words: ['a', 'b'],
    ai: { tone: 'sobre', reask: 2 },
    alert_webhooks: [{ url: 'https://hooks.example/a', secret: SECRET }]
  })
  const res = await patch(app, '/api/v1/accounts/shop', { active_hours: { start: '08:00', days: ['monday'] }, ai: { reask: 0 }, forbidden_words: ['c'] })
  t.equal(res.statusCode, 200, res.body)
  const a = res.json()
  t.strictSame(a.active_hours, { start: '08:00', end: '18:00', days: ['monday'] }, 'objects merge, arrays replace')
  t.strictSame(a.ai, { ...DEFAULTS.ai, tone: 'sobre', reask: 0 })
  t.strictSame(a.forbidden_words, ['c'])
  t.equal(a.timezone, 'Europe/Paris', 'what the patch does not name is kept, unlike a PUT')
  t.equal(a.limits.messages_per_day, 10)
  t.strictSame(a.alert_webhooks, [{ url: 'https://hooks.example/a', secret: '••••' }])
  t.equal((await app.sellify.accounts.webhookSecrets('shop'))[0].secret, SECRET, 'the secret is kept')
  t.strictSame((await call(app, 'GET', '/api/v1/accounts/shop')).json(), a, 'stored')

  const reset = (await patch(app, '/api/v1/accounts/shop', { ai: { tone: null }, forbidden_words: null, active_hours: null, timezone: null }, 'application/json')).json()
  t.equal(reset.ai.tone, DEFAULTS.ai.tone, 'null restores the default')
  t.equal(reset.ai.reask, 0, 'its siblings stay')
  t.strictSame(reset.forbidden_words, [])
  t.strictSame(reset.active_hours, DEFAULTS.active_hours, 'in a PATCH, null is the default hours, not always')
  t.equal(reset.timezone, 'UTC')
  t.equal((await patch(app, '/api/v1/accounts/shop', { active_hours: 'always' })).json().active_hours, 'always')
  t.strictSame((await patch(app, '/api/v1/accounts/shop', { active_hours: { end: '12:00' } })).json().active_hours,
    { start: '09:00', end: '12:00', days: DAYS }, 'an object over "always" starts from the default hours')

  t.equal((await patch(app, '/api/v1/accounts/default', { language: 'en' })).json().language, 'en', 'default always exists')
  const ghost = await patch(app, '/api/v1/accounts/ghost', { language: 'en' })
  t.equal(ghost.statusCode, 404)
  t.equal((await call(app, 'GET', '/api/v1/accounts/ghost')).statusCode, 404, 'a PATCH creates nothing')
})

t.test('webhook secrets: "••••" keeps the stored secret of the same URL, and only that', async (t) => {
  const app = await build(t)
  const url = '/api/v1/accounts/hooks'
  await call(app, 'PUT', url, { alert_webhooks: [{ url: 'https://a.example/h', secret: SECRET }] })
  const shown = (await call(app, 'GET', url)).json()
  const { id: _id, created_at: _c, ...body } = shown
  t.equal((await call(app, 'PUT', url, { ...body, language: 'pt' })).statusCode, 200, 'a GET answer sent back as a PUT')
  t.equal((await app.sellify.accounts.webhookSecrets('hooks'))[0].secret, SECRET)
  const added = await patch(app, url, { alert_webhooks: [{ url: 'https://a.example/h', secret: '••••' }, { url: 'https://b.example/h', secret: 'another-secret-0000' }] })
  t.equal(added.statusCode, 200, added.body)
  t.strictSame((await app.sellify.accounts.webhookSecrets('hooks')).map((w) => w.secret), [SECRET, 'another-secret-0000'])
  const unknown = await patch(app, url, { alert_webhooks: [{ url: 'https://c.example/h', secret: '••••' }] })
  t.equal(unknown.statusCode, 400)
  t.match(unknown.json().message, /body\/alert_webhooks\/0\/secret/)
  const put = await call(app, 'PUT', url, { alert_webhooks: [{ url: 'https://c.example/h', secret: '••••' }] })
  t.match(put.json(), { statusCode: 400, message: /body\/alert_webhooks\/0\/secret/ })
  t.match((await call(app, 'PUT', url, { alert_webhooks: [{ url: 'https://c.example/h', secret: 'short' }] })).json().message,
    /body\/alert_webhooks\/0\/secret must NOT have fewer than 16 characters/)
  t.equal((await app.sellify.accounts.get('hooks')).alert_webhooks.length, 2, 'nothing changed')
})

t.test('bad settings are a 400 naming the field, the same for PUT and PATCH, and change nothing', async (t) => {
  const app = await build(t)
  const url = '/api/v1/accounts/keep'
  await call(app, 'PUT', url, { language: 'es', alert_webhooks: [{ url: 'https://a.example/h', secret: SECRET }] })
  const before = JSON.stringify(await app.sellify.accounts.get('keep'))
  const cases: Array<[unknown, RegExp]> = [
    [{ active_hours: { start: '25:00' } }, /^body\/active_hours\/start must match pattern/],
    [{ active_hours: { end: '9:00' } }, /^body\/active_hours\/end must match pattern/],
    [{ active_hours: { start: '10:00', end: '10:00' } }, /^body\/active_hours\/end must differ from body\/active_hours\/start/],
    [{ active_hours: { days: [] } }, /^body\/active_hours\/days must NOT have fewer than 1 items/],
    [{ active_hours: { days: ['funday'] } }, /^body\/active_hours\/days\/0 must be one of monday/],
    [{ active_hours: { start: '09:00', when: 'now' } }, /^body\/active_hours\/when is not an allowed field/],
    [{ language: 'de' }, /^body\/language must be one of fr, en, es, pt/],
    [{ outside_hours: 'later' }, /^body\/outside_hours must be one of delay, ignore/],
    [{ ai: { max_length: 0 } }, /^body\/ai\/max_length must be >= 1/],
    [{ ai: { temperature: 2.5 } }, /^body\/ai\/temperature must be <= 2/],
    [{ ai: { reask: 4 } }, /^body\/ai\/reask must be <= 3/],
    [{ ai: { tone: 'x'.repeat(201) } }, /^body\/ai\/tone must NOT have more than 200 characters/],
    [{ ai: { enabled: 'yes' } }, /^body\/ai\/enabled must be boolean/],
    [{ alert_numbers: ['12ab'] }, /^body\/alert_numbers\/0 must match pattern/],
    [{ alert_numbers: Array.from({ length: 21 }, (_, i) => `+3360000${String(i).padStart(4, '0')}`) }, /^body\/alert_numbers must NOT have more than 20 items/],
    [{ alert_webhooks: [{ url: 'ftp://a.example/h', secret: SECRET }] }, /^body\/alert_webhooks\/0\/url must match pattern/],
    [{ alert_webhooks: [{ url: 'https://a.example/h' }] }, /^body\/alert_webhooks\/0\/secret is required/],
    [{ escalation: { max_misunderstandings: 21 } }, /^body\/escalation\/max_misunderstandings must be <= 20/],
    [{ escalation: { reply: 'transfer' } }, /^body\/escalation\/reply must be one of none, holding/],
    [{ forbidden_words: Array.from({ length: 201 }, (_, i) => `w${i}`) }, /^body\/forbidden_words must NOT have more than 200 items/],
    [{ forbidden_words: [''] }, /^body\/forbidden_words\/0 must NOT have fewer than 1 characters/],
    [{ allowed_domains: ['https://shop.example'] }, /^body\/allowed_domains\/0 must match pattern/],
    [{ human_takeover_minutes: 0 }, /^body\/human_takeover_minutes must be >= 1/],
    [{ session_expiry_minutes: 525601 }, /^body\/session_expiry_minutes must be <= 525600/],
    [{ typing: { chars_per_second: 0 } }, /^body\/typing\/chars_per_second must be > 0/],
    [{ typing: { max_seconds: 121 } }, /^body\/typing\/max_seconds must be <= 120/],
    [{ fallback_message: 'x'.repeat(1001) }, /^body\/fallback_message must NOT have more than 1000 characters/],
    [{ automation: 'paused' }, /^body\/automation must be one of on, off/],
    [{ colour: 'red' }, /^body\/colour is not an allowed field/]
  ]
  for (const [body, message] of cases) {
    const put = await call(app, 'PUT', url, body)
    t.equal(put.statusCode, 400, `PUT ${JSON.stringify(body).slice(0, 80)}`)
    t.match(put.json().message, message)
    const patched = await patch(app, url, body)
    t.equal(patched.statusCode, 400, `PATCH ${JSON.stringify(body).slice(0, 80)}`)
    t.match(patched.json().message, message)
  }
  t.match((await patch(app, url, [])).json(), { statusCode: 400, message: 'body must be object' })
  t.match((await patch(app, url, '{"language":')).json(), { statusCode: 400, message: /not valid JSON/ })
  t.equal(JSON.stringify(await app.sellify.accounts.get('keep')), before, 'nothing changed')
})

t.test('content types: merge-patch+json is for PATCH only; an agent may not PATCH', async (t) => {
  const app = await build(t)
  await call(app, 'PUT', '/api/v1/accounts/shop', {})
  const post = await app.inject({
    method: 'POST',
    url: '/api/v1/quota/check',
    headers: { 'x-api-key': DEV_KEY, 'content-type': 'application/merge-patch+json' },
    payload: '{"message_type":"text"}'
  })
  t.equal(post.statusCode, 415)
  t.equal((await patch(app, '/api/v1/accounts/shop', { language: 'en' }, 'text/plain')).statusCode, 415)
  const agent = (await call(app, 'POST', '/api/v1/keys', { name: 'bot', role: 'agent', account: 'shop' })).json().key as string
  const res = await app.inject({
    method: 'PATCH',
    url: '/api/v1/accounts/shop',
    headers: { 'x-api-key': agent, 'content-type': 'application/merge-patch+json' },
    payload: '{"language":"en"}'
  })
  t.equal(res.statusCode, 403)
  const doc = (await call(app, 'GET', '/docs/json', undefined, null)).json()
  t.ok(doc.paths['/api/v1/accounts/{account}'].patch, 'PATCH is documented')
  t.ok(doc.components?.schemas !== undefined || doc.paths['/api/v1/accounts/{account}'].put.requestBody, 'with its schemas')
})

/** A database as the previous release left it: schema before the settings column, one account. */
const OLD_ACCOUNT = ['old', 'Europe/Paris', '00:00', 'monday', 5, 50, 5, 5, 2, 8, 5]

t.test('SQLite: accounts stored before the settings read with the defaults; a change is seen by another instance', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sellify-settings-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const file = join(dir, 'old.db')
  const db = new Database(file)
  db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)')
  for (const m of SQLITE_MIGRATIONS.filter((m) => m.version < 3)) {
    db.exec(m.sql)
    db.prepare("INSERT INTO schema_migrations VALUES (?, ?, '2026-01-01T00:00:00.000Z')").run(m.version, m.name)
  }
  db.prepare('INSERT INTO accounts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run(...OLD_ACCOUNT, '2026-01-01T00:00:00.000Z')
  db.close()

  const a = await build(t, { store: { sqlitePath: file } })
  const old = (await call(a, 'GET', '/api/v1/accounts/old')).json()
  t.match(old, { id: 'old', timezone: 'Europe/Paris', limits: { messages_per_day: 5 } })
  t.strictSame(settingsOf(old), DEFAULTS, 'the defaults filled in')

  const b = await build(t, { store: { sqlitePath: file } })
  t.equal((await call(b, 'GET', '/api/v1/accounts/old')).json().language, 'fr', 'the other instance has read it')
  t.equal((await patch(a, '/api/v1/accounts/old', { language: 'en', automation: 'off' })).statusCode, 200)
  const until = Date.now() + 5000
  let seen = (await call(b, 'GET', '/api/v1/accounts/old')).json()
  while (seen.language !== 'en' && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    seen = (await call(b, 'GET', '/api/v1/accounts/old')).json()
  }
  t.match(seen, { language: 'en', automation: 'off', timezone: 'Europe/Paris' }, 'seen by the other instance within 5 s')
})

t.test('PostgreSQL: accounts stored before the settings read with the defaults', { skip: await pgSkip() }, async (t) => {
  const schema = pgSchema(t)
  const client = new pg.Client({ connectionString: PG_URL })
  await client.connect()
  try {
    await client.query(`CREATE SCHEMA ${schema}; SET search_path = ${schema}`)
    await client.query('CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())')
    for (const m of POSTGRES_MIGRATIONS.filter((m) => m.version < 7)) {
      await client.query(m.sql)
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name])
    }
    await client.query('INSERT INTO accounts VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)', [...OLD_ACCOUNT, '2026-01-01T00:00:00.000Z'])
  } finally {
    await client.end()
  }
  const app = await build(t, { store: { databaseUrl: PG_URL, pgSchema: schema } })
  const old = (await call(app, 'GET', '/api/v1/accounts/old')).json()
  t.match(old, { id: 'old', timezone: 'Europe/Paris', limits: { messages_per_day: 5 } })
  t.strictSame(settingsOf(old), DEFAULTS, 'the defaults filled in')
  const res = await patch(app, '/api/v1/accounts/old', { active_hours: { start: '22:00', end: '06:00' }, typing: { chars_per_second: 7.5 } })
  t.equal(res.statusCode, 200, res.body)
  t.match((await call(app, 'GET', '/api/v1/accounts/old')).json(), { active_hours: { start: '22:00', end: '06:00' }, typing: { chars_per_second: 7.5, max_seconds: 15 } })
})
