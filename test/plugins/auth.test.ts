import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import sellify from '../../app.js'
import { build, call, DEV_KEY } from '../helper.js'

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
const ERROR_SHAPE = { statusCode: Number, error: String, message: String }

async function createAccount (t: Test, app: FastifyInstance, id: string): Promise<void> {
  const res = await call(app, 'PUT', `/api/v1/accounts/${id}`, {})
  t.equal(res.statusCode, 201, `account ${id} created`)
}

/** An agent key bound to `account`, made the way an operator makes one: POST /api/v1/keys with the admin key. */
async function agentKey (t: Test, app: FastifyInstance, account: string): Promise<{ id: string, key: string }> {
  const res = await call(app, 'POST', '/api/v1/keys', { name: `agent of ${account}`, role: 'agent', account })
  t.equal(res.statusCode, 201, `agent key for ${account} created`)
  return res.json()
}

t.test('401 for a missing, empty or unknown key, with WWW-Authenticate and the error shape', async (t) => {
  const app = await build(t)
  const cases: Array<[string, Record<string, string>, string]> = [
    ['missing', {}, 'Missing X-API-Key header'],
    ['empty', { 'x-api-key': '' }, 'Invalid API key'],
    ['unknown', { 'x-api-key': 'sk_not-a-key' }, 'Invalid API key'],
    ['the admin key with a trailing space', { 'x-api-key': `${DEV_KEY} ` }, 'Invalid API key'],
    ['in the wrong header', { authorization: `Bearer ${DEV_KEY}` }, 'Missing X-API-Key header']
  ]
  for (const [name, headers, message] of cases) {
    const res = await app.inject({ method: 'GET', url: '/api/v1/quota/status', headers })
    t.equal(res.statusCode, 401, name)
    t.match(res.headers['www-authenticate'], /^ApiKey /, `${name}: WWW-Authenticate`)
    t.strictSame(Object.keys(res.json()).sort(), ['code', 'error', 'message', 'statusCode'], `${name}: error shape`)
    t.match(res.json(), { statusCode: 401, error: 'Unauthorized', message })
  }
  // Header names are case-insensitive on the wire.
  const upper = await app.inject({ method: 'GET', url: '/api/v1/quota/status', headers: { 'X-API-KEY': DEV_KEY } })
  t.equal(upper.statusCode, 200, 'X-API-KEY spelled in capitals works')
})

t.test('403 for a known key without the right: error shape, no WWW-Authenticate', async (t) => {
  const app = await build(t)
  await createAccount(t, app, 'acme')
  const agent = await agentKey(t, app, 'acme')
  const res = await call(app, 'GET', '/api/v1/accounts', undefined, agent.key)
  t.equal(res.statusCode, 403)
  t.match(res.json(), { ...ERROR_SHAPE, statusCode: 403, error: 'Forbidden' })
  t.notOk('www-authenticate' in res.headers)
})

t.test('public routes need no key; a key sent to them is ignored', async (t) => {
  const app = await build(t)
  for (const url of ['/health', '/api/v1/health', '/docs/json', '/metrics']) {
    for (const key of [null, 'sk_wrong', DEV_KEY]) {
      const res = await call(app, 'GET', url, undefined, key)
      t.equal(res.statusCode, 200, `${url} with key ${String(key)}`)
    }
  }
  const ui = await call(app, 'GET', '/docs', undefined, null)
  t.ok(ui.statusCode === 200 || ui.statusCode === 302, `/docs answers without a key (${ui.statusCode})`)
  const statics = await call(app, 'GET', '/docs/static/swagger-ui.css', undefined, null)
  t.equal(statics.statusCode, 200, '/docs/static/* is public')
  const head = await app.inject({ method: 'HEAD', url: '/health' })
  t.equal(head.statusCode, 200, 'HEAD /health')
  const headPrivate = await app.inject({ method: 'HEAD', url: '/api/v1/quota/status' })
  t.equal(headPrivate.statusCode, 401, 'the HEAD twin of a private GET route needs a key too')
})

t.test('auth is decided before the body is read: a bad body without a key is a 401, not a 400/413/415', async (t) => {
  const app = await build(t)
  await createAccount(t, app, 'acme')
  const agent = await agentKey(t, app, 'acme')
  const malformed = await call(app, 'POST', '/api/v1/quota/consume', '{"message_type": ', null)
  t.equal(malformed.statusCode, 401, 'malformed JSON, no key')
  const huge = await call(app, 'POST', '/api/v1/quota/consume', { message_type: 'text', pad: 'x'.repeat(70 * 1024) }, null)
  t.equal(huge.statusCode, 401, 'oversized body, no key')
  const text = await app.inject({ method: 'POST', url: '/api/v1/quota/consume', headers: { 'content-type': 'text/plain' }, payload: 'hi' })
  t.equal(text.statusCode, 401, 'wrong content type, no key')
  const agentOnAdmin = await call(app, 'PUT', '/api/v1/accounts/acme', '{not json', agent.key)
  t.equal(agentOnAdmin.statusCode, 403, 'agent on an admin route with a malformed body')
  const status = await call(app, 'GET', '/api/v1/quota/status?account=acme')
  t.equal(status.json().messages_today, 0, 'nothing was counted')
})

/**
 * Every route of the app × {no key, wrong key, agent of another account, agent of the account, admin}.
 * The agent's account is `acme`; routes that name an account name `acme`.
 */
t.test('route × key matrix (metrics behind the admin key)', async (t) => {
  const app = await build(t, { metricsPublic: false })
  await createAccount(t, app, 'acme')
  await createAccount(t, app, 'other')
  await createAccount(t, app, 'doomed')
  const own = await agentKey(t, app, 'acme')
  const foreign = await agentKey(t, app, 'other')
  const victim = await agentKey(t, app, 'other')

  const send = { message_type: 'text', account: 'acme' }
  // [method, url, body, OpenAPI path, agent of another account, agent of the account, admin]
  const routes: Array<[Method, string, unknown, string, number, number, number]> = [
    ['GET', '/api/v1/quota/status?account=acme', undefined, '/api/v1/quota/status', 403, 200, 200],
    ['POST', '/api/v1/quota/check', send, '/api/v1/quota/check', 403, 200, 200],
    ['POST', '/api/v1/quota/consume', send, '/api/v1/quota/consume', 403, 200, 200],
    ['POST', '/api/v1/quota/record', send, '/api/v1/quota/record', 403, 200, 200],
    ['POST', '/api/v1/quota/reset/daily', { account: 'acme' }, '/api/v1/quota/reset/daily', 403, 403, 200],
    ['POST', '/api/v1/quota/reset/weekly', { account: 'acme' }, '/api/v1/quota/reset/weekly', 403, 403, 200],
    ['GET', '/api/v1/quota/resets', undefined, '/api/v1/quota/resets', 403, 403, 200],
    ['GET', '/api/v1/quota/history?account=acme', undefined, '/api/v1/quota/history', 403, 200, 200],
    ['GET', '/api/v1/accounts', undefined, '/api/v1/accounts/', 403, 403, 200],
    ['GET', '/api/v1/accounts/acme', undefined, '/api/v1/accounts/{account}', 403, 200, 200],
    ['PUT', '/api/v1/accounts/acme', { timezone: 'UTC' }, '/api/v1/accounts/{account}', 403, 403, 200],
    ['PATCH', '/api/v1/accounts/acme', { language: 'en' }, '/api/v1/accounts/{account}', 403, 403, 200],
    ['DELETE', '/api/v1/accounts/doomed', undefined, '/api/v1/accounts/{account}', 403, 403, 204],
    ['POST', '/api/v1/accounts/acme/signals', { type: 'disconnected' }, '/api/v1/accounts/{account}/signals', 403, 200, 200],
    ['GET', '/api/v1/accounts/acme/health', undefined, '/api/v1/accounts/{account}/health', 403, 200, 200],
    // Admin only; the resume right after lifts the admin's pause before the rows below send for acme.
    ['POST', '/api/v1/accounts/acme/pause', { minutes: 5 }, '/api/v1/accounts/{account}/pause', 403, 403, 200],
    ['POST', '/api/v1/accounts/acme/resume', undefined, '/api/v1/accounts/{account}/resume', 403, 403, 200],
    ['PUT', '/api/v1/products/p1?account=acme', { name: 'P', price: '1', currency: 'XOF' }, '/api/v1/products/{id}', 403, 403, 201],
    ['GET', '/api/v1/products?account=acme', undefined, '/api/v1/products/', 403, 200, 200],
    ['GET', '/api/v1/products/p1?account=acme', undefined, '/api/v1/products/{id}', 403, 200, 200],
    ['DELETE', '/api/v1/products/p1?account=acme', undefined, '/api/v1/products/{id}', 403, 403, 204],
    ['GET', '/api/v1/knowledge?account=acme', undefined, '/api/v1/knowledge/', 403, 200, 200],
    ['PUT', '/api/v1/knowledge?account=acme', { products: [] }, '/api/v1/knowledge/', 403, 403, 200],
    ['POST', '/api/v1/knowledge/match', { text: 'prix', account: 'acme' }, '/api/v1/knowledge/match', 403, 200, 200],
    ['POST', '/api/v1/keys', { name: 'new', role: 'agent', account: 'acme' }, '/api/v1/keys/', 403, 403, 201],
    ['GET', '/api/v1/keys', undefined, '/api/v1/keys/', 403, 403, 200],
    // Any valid key is told who it is, an agent of another account included (it asks about itself).
    ['GET', '/api/v1/keys/me', undefined, '/api/v1/keys/me', 200, 200, 200],
    ['DELETE', `/api/v1/keys/${victim.id}`, undefined, '/api/v1/keys/{id}', 403, 403, 204],
    ['GET', '/api/v1/audit?account=acme', undefined, '/api/v1/audit/', 403, 403, 200],
    ['GET', '/api/v1/audit/verify?account=acme', undefined, '/api/v1/audit/verify', 403, 403, 200],
    ['GET', '/api/v1/audit/export?account=acme', undefined, '/api/v1/audit/export', 403, 403, 200],
    ['GET', '/api/v1/audit/01900000-0000-7000-8000-000000000000', undefined, '/api/v1/audit/{id}', 403, 403, 404],
    ['POST', '/api/v1/audit/log', { account: 'acme', incoming_message: 'bonjour' }, '/api/v1/audit/log', 403, 201, 201],
    ['GET', '/api/v1/encryption', undefined, '/api/v1/encryption/', 403, 403, 200],
    ['POST', '/api/v1/encryption/rotate', undefined, '/api/v1/encryption/rotate', 403, 403, 200],
    ['POST', '/api/v1/conversation/transition', { current_state: 'Discovery', event: 'Freeze' }, '/api/v1/conversation/transition', 200, 200, 200],
    ['POST', '/api/v1/validate', { text: 'Bonjour', account: 'acme' }, '/api/v1/validate', 403, 200, 200],
    ['POST', '/api/v1/decision', { incoming_message: 'bonjour', conversation_state: 'Discovery', quotas_available: true, is_active_hours: true, account: 'acme' }, '/api/v1/decision', 403, 200, 200],
    ['POST', '/api/v1/messages/incoming', { account: 'acme', contact: '+33600000001', message_id: 'matrix-1', text: 'Bonjour' }, '/api/v1/messages/incoming', 403, 200, 200],
    ['POST', '/api/v1/messages/dcs_unknown/sent', { account: 'acme' }, '/api/v1/messages/{decision_id}/sent', 403, 404, 404],
    ['POST', '/api/v1/messages/dcs_unknown/failed', { account: 'acme' }, '/api/v1/messages/{decision_id}/failed', 403, 404, 404],
    ['POST', '/api/v1/messages/outgoing', { account: 'acme', contact: '+33600000001', text: 'Bonjour, ici Paul' }, '/api/v1/messages/outgoing', 403, 200, 200],
    ['GET', '/api/v1/conversations?account=acme', undefined, '/api/v1/conversations/', 403, 200, 200],
    ['GET', '/api/v1/conversations/+33600000001?account=acme', undefined, '/api/v1/conversations/{contact}', 403, 200, 200],
    ['POST', '/api/v1/conversations/+33600000001/pause', { account: 'acme' }, '/api/v1/conversations/{contact}/pause', 403, 200, 200],
    ['POST', '/api/v1/conversations/+33600000001/resume', { account: 'acme' }, '/api/v1/conversations/{contact}/resume', 403, 200, 200],
    ['POST', '/api/v1/conversations/+33600000001/freeze', { account: 'acme' }, '/api/v1/conversations/{contact}/freeze', 403, 200, 200],
    ['DELETE', '/api/v1/conversations/+33600000001?account=acme', undefined, '/api/v1/conversations/{contact}', 403, 403, 204],
    ['GET', '/api/v1/alerts?account=acme', undefined, '/api/v1/alerts/', 403, 200, 200],
    ['GET', '/api/v1/alerts/alr_01900000-0000-7000-8000-000000000000?account=acme', undefined, '/api/v1/alerts/{id}', 403, 404, 404],
    ['POST', '/api/v1/alerts/alr_01900000-0000-7000-8000-000000000000/ack', { account: 'acme' }, '/api/v1/alerts/{id}/ack', 403, 404, 404],
    ['POST', '/api/v1/alerts/test', { account: 'acme' }, '/api/v1/alerts/test', 403, 200, 200],
    ['GET', '/api/v1/decisions/hourly?account=acme', undefined, '/api/v1/decisions/hourly', 403, 200, 200],
    ['GET', '/metrics', undefined, '/metrics', 403, 403, 200]
  ]

  // Public routes answer the same whatever key is sent: [method, url, OpenAPI path, status].
  const publicRoutes: Array<[Method, string, string, number]> = [
    ['GET', '/dashboard', '/dashboard', 302],
    ['GET', '/dashboard/', '/dashboard/', 200],
    ['GET', '/dashboard/index.html', '/dashboard/{file}', 200]
  ]

  // The matrix must cover every route the app documents (a new route without a row fails here). `/dashboard`
  // and `/dashboard/` read the same once the trailing slash is dropped (whether documented as one path or two).
  const doc = (await call(app, 'GET', '/docs/json', undefined, null)).json() as { paths: Record<string, Record<string, unknown>> }
  const documented = [...new Set(Object.entries(doc.paths)
    .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
    .filter((r) => !r.endsWith(' /health') && !r.endsWith(' /api/v1/health'))
    .map((r) => r.replace(/\/$/, '')))]
    .sort()
  const covered = [...new Set([
    ...routes.map(([m, , , path]) => `${m} ${path}`),
    ...publicRoutes.map(([m, , path]) => `${m} ${path}`)
  ].map((r) => r.replace(/\/$/, '')))].sort()
  t.strictSame(covered, documented, 'every documented route is in the matrix')

  for (const [method, url, , status] of publicRoutes) {
    for (const [who, key] of [['no key', null], ['wrong key', 'sk_wrong'], ['agent of another account', foreign.key], ['agent of the account', own.key], ['admin', DEV_KEY]] as Array<[string, string | null]>) {
      const res = await call(app, method, url, undefined, key)
      t.equal(res.statusCode, status, `${method} ${url} as ${who} (public)`)
      t.notOk('www-authenticate' in res.headers, `${method} ${url} as ${who}: no WWW-Authenticate`)
    }
  }

  for (const [method, url, body, , other, mine, admin] of routes) {
    const expected: Array<[string, string | null, number]> = [
      ['no key', null, 401],
      ['wrong key', 'sk_wrong', 401],
      ['agent of another account', foreign.key, other],
      ['agent of the account', own.key, mine],
      ['admin', DEV_KEY, admin]
    ]
    for (const [who, key, status] of expected) {
      const res = await call(app, method, url, body, key)
      t.equal(res.statusCode, status, `${method} ${url} as ${who}`)
      if (status >= 400) {
        t.match(res.json(), { ...ERROR_SHAPE, statusCode: status }, `${method} ${url} as ${who}: error shape`)
        t.equal('www-authenticate' in res.headers, status === 401, `${method} ${url} as ${who}: WWW-Authenticate only on 401`)
      }
    }
  }
})

t.test('an agent acts on its own account: omitting it means its own, naming another is a 403', async (t) => {
  const app = await build(t)
  await createAccount(t, app, 'acme')
  await createAccount(t, app, 'other')
  const agent = await agentKey(t, app, 'acme')

  const status = await call(app, 'GET', '/api/v1/quota/status', undefined, agent.key)
  t.equal(status.statusCode, 200)
  t.equal(status.json().account, 'acme', 'status without ?account= is its own account, not default')

  const consume = await call(app, 'POST', '/api/v1/quota/consume', { message_type: 'image' }, agent.key)
  t.equal(consume.statusCode, 200)
  t.equal(consume.json().allowed, true)
  const record = await call(app, 'POST', '/api/v1/quota/record', { message_type: 'text', count: 2 }, agent.key)
  t.equal(record.statusCode, 200)
  const check = await call(app, 'POST', '/api/v1/quota/check', { message_type: 'video' }, agent.key)
  t.equal(check.statusCode, 200)
  t.equal(check.json().can_send, true)
  const named = await call(app, 'POST', '/api/v1/quota/consume', { message_type: 'text', account: 'acme' }, agent.key)
  t.equal(named.statusCode, 200, 'naming its own account is fine')

  const acme = (await call(app, 'GET', '/api/v1/quota/status?account=acme')).json()
  t.match(acme, { messages_today: 4, images_today: 1 }, 'the sends landed on the agent\'s account')
  const dflt = (await call(app, 'GET', '/api/v1/quota/status')).json()
  t.equal(dflt.messages_today, 0, 'and not on default')

  const history = await call(app, 'GET', '/api/v1/quota/history?days=1', undefined, agent.key)
  t.equal(history.statusCode, 200)
  t.equal(history.json().days[0].messages, 4, 'history without ?account= is its own account')

  const account = await call(app, 'GET', '/api/v1/accounts/acme', undefined, agent.key)
  t.equal(account.statusCode, 200)
  t.equal(account.json().id, 'acme')

  for (const [method, url, body] of [
    ['GET', '/api/v1/quota/status?account=other', undefined],
    ['GET', '/api/v1/quota/status?account=default', undefined],
    ['GET', '/api/v1/quota/history?account=other', undefined],
    ['POST', '/api/v1/quota/consume', { message_type: 'text', account: 'other' }],
    ['POST', '/api/v1/quota/consume', { message_type: 'text', account: 'not-created-yet' }],
    ['POST', '/api/v1/quota/record', { message_type: 'text', account: 'default' }],
    ['POST', '/api/v1/quota/check', { message_type: 'text', account: 'other' }],
    ['GET', '/api/v1/accounts/other', undefined],
    ['GET', '/api/v1/accounts/default', undefined],
    ['POST', '/api/v1/accounts/other/signals', { type: 'forbidden' }],
    ['GET', '/api/v1/accounts/other/health', undefined]
  ] as Array<[Method, string, unknown]>) {
    const res = await call(app, method, url, body, agent.key)
    t.equal(res.statusCode, 403, `${method} ${url} ${JSON.stringify(body ?? '')}`)
    t.match(res.json().message, /acme/, 'the message names the account the key is bound to')
  }
  const other = (await call(app, 'GET', '/api/v1/quota/status?account=other')).json()
  t.equal(other.messages_today, 0, 'the refused sends changed nothing')
  t.equal((await call(app, 'GET', '/api/v1/accounts/other/health')).json().score, 100, 'nor the refused signal')
  const implicit = await call(app, 'GET', '/api/v1/accounts/not-created-yet')
  t.equal(implicit.statusCode, 404, 'an agent never creates accounts implicitly')
})

t.test('deleting an account refuses its agent keys at once', async (t) => {
  const app = await build(t)
  await createAccount(t, app, 'acme')
  const agent = await agentKey(t, app, 'acme')
  t.equal((await call(app, 'GET', '/api/v1/quota/status', undefined, agent.key)).statusCode, 200, 'the key works (and is cached)')
  t.equal((await call(app, 'DELETE', '/api/v1/accounts/acme')).statusCode, 204)
  await createAccount(t, app, 'acme')
  const after = await call(app, 'GET', '/api/v1/quota/status', undefined, agent.key)
  t.equal(after.statusCode, 401, 'the key of the deleted account is refused, even once the id is reused')
  const keys = (await call(app, 'GET', '/api/v1/keys')).json().keys as Array<{ id: string }>
  t.notOk(keys.some((k) => k.id === agent.id), 'and no longer listed')
})

t.test('a key cannot be checked while the store is down: 503 (fail closed), never a pass', async (t) => {
  const app = await build(t)
  await createAccount(t, app, 'acme')
  const agent = await agentKey(t, app, 'acme')
  t.equal((await call(app, 'GET', '/api/v1/quota/status', undefined, agent.key)).statusCode, 200, 'used (and cached) before the outage')
  await app.sellify.store.close()
  const res = await call(app, 'POST', '/api/v1/quota/consume', { message_type: 'text' }, 'sk_never-seen-before')
  t.equal(res.statusCode, 503)
  t.match(res.json(), { ...ERROR_SHAPE, statusCode: 503 })
  const known = await call(app, 'POST', '/api/v1/quota/consume', { message_type: 'text' }, agent.key)
  t.not(known.statusCode, 200, `a cached agent key still cannot consume (${known.statusCode})`)
  t.equal((await call(app, 'GET', '/api/v1/quota/status', undefined, null)).statusCode, 401, 'no key is still a 401')
})

t.test('embedded under a prefix: the host\'s routes need no key, are never rate-limited, keep their error handler', async (t) => {
  const host = Fastify({ logger: false })
  host.setErrorHandler(async (err, _request, reply) => await reply.code(418).send({ host: true, message: (err as Error).message }))
  host.get('/before', async () => ({ ok: 'before' }))
  host.get('/boom', async () => { throw new Error('host failure') })
  await host.register(sellify, {
    prefix: '/sellify',
    env: {},
    scheduler: false,
    store: { sqlitePath: ':memory:' },
    apiKey: 'embedded-admin-key-0123456789abcdef',
    rateLimit: { max: 2, timeWindow: '1 minute' }
  })
  host.get('/after', async () => ({ ok: 'after' }))
  await host.ready()
  t.teardown(() => host.close())

  for (let i = 0; i < 5; i++) {
    for (const url of ['/before', '/after']) {
      const res = await host.inject({ method: 'GET', url })
      t.equal(res.statusCode, 200, `${url} #${i + 1} without a key`)
      t.notOk('x-ratelimit-limit' in res.headers, `${url} #${i + 1} not rate-limited`)
    }
  }
  const boom = await host.inject({ method: 'GET', url: '/boom' })
  t.equal(boom.statusCode, 418, 'the host\'s error handler answers for the host\'s routes')
  t.strictSame(boom.json(), { host: true, message: 'host failure' })

  const key = 'embedded-admin-key-0123456789abcdef'
  const unauth = await host.inject({ method: 'GET', url: '/sellify/api/v1/quota/status' })
  t.equal(unauth.statusCode, 401, 'Sellify\'s routes under the prefix still need a key')
  t.match(unauth.json(), { ...ERROR_SHAPE, statusCode: 401 })
  const ok = await host.inject({ method: 'GET', url: '/sellify/api/v1/quota/status', headers: { 'x-api-key': key } })
  t.equal(ok.statusCode, 200)
  t.equal(ok.headers['x-ratelimit-limit'], '2', 'and are rate-limited')
  t.equal((await host.inject({ method: 'GET', url: '/sellify/api/v1/quota/status', headers: { 'x-api-key': key } })).statusCode, 200)
  const limited = await host.inject({ method: 'GET', url: '/sellify/api/v1/quota/status', headers: { 'x-api-key': key } })
  t.equal(limited.statusCode, 429)
  t.match(limited.json(), { ...ERROR_SHAPE, statusCode: 429 }, 'Sellify\'s error shape, not the host\'s')
  t.equal((await host.inject({ method: 'GET', url: '/sellify/health' })).statusCode, 200, 'Sellify\'s health is public under the prefix')
  t.equal((await host.inject({ method: 'GET', url: '/before' })).statusCode, 200, 'the host is still not limited')
  t.equal((await host.inject({ method: 'GET', url: '/api/v1/quota/status', headers: { 'x-api-key': key } })).statusCode, 404, 'nothing mounted outside the prefix')
})
