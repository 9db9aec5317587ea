import t from 'tap'
import Fastify from 'fastify'
import { existsSync, readFileSync } from 'node:fs'
import sellify from '../app.js'
import { build, call, DEV_KEY, PG_URL, pgSchema, pgSkip } from './helper.js'
import { openapiDocument, serialize } from '../scripts/openapi.js'

t.test('GET /health and /api/v1/health are public and describe the service', async (t) => {
  const app = await build(t)
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
  for (const url of ['/health', '/api/v1/health']) {
    const res = await call(app, 'GET', url, undefined, null)
    t.equal(res.statusCode, 200, url)
    const body = res.json()
    t.match(body, { status: 'healthy', service: 'sellify-core', version: pkg.version, store: 'sqlite' })
    t.ok(Number.isInteger(body.uptime_seconds))
    t.notOk('x-ratelimit-limit' in res.headers, 'health is not rate limited')
  }
})

t.test('health is 503 unhealthy when the store does not answer', async (t) => {
  const app = await build(t)
  await app.sellify.store.close()
  const res = await call(app, 'GET', '/health', undefined, null)
  t.equal(res.statusCode, 503)
  t.match(res.json(), { status: 'unhealthy', service: 'sellify-core', store: 'sqlite' })
})

t.test('PostgreSQL store: health names it', { skip: await pgSkip() }, async (t) => {
  const app = await build(t, { store: { databaseUrl: PG_URL, pgSchema: pgSchema(t) } })
  const res = await call(app, 'GET', '/health', undefined, null)
  t.equal(res.statusCode, 200)
  t.equal(res.json().store, 'postgres')
})

t.test('one error format (API.md, "Errors")', async (t) => {
  const app = await build(t)
  const shape = { statusCode: Number, error: String, message: String }

  const unknownField = await call(app, 'POST', '/api/v1/quota/consume', { message_type: 'text', colour: 'red' })
  t.equal(unknownField.statusCode, 400)
  t.match(unknownField.json(), { ...shape, message: 'body/colour is not an allowed field' })

  const wrongType = await call(app, 'POST', '/api/v1/quota/consume', { message_type: 'text', count: '3' })
  t.equal(wrongType.statusCode, 400, 'no coercion of body types')
  t.match(wrongType.json().message, /body\/count/)

  const missing = await call(app, 'POST', '/api/v1/quota/consume', {})
  t.equal(missing.statusCode, 400)
  t.equal(missing.json().message, 'body/message_type is required')

  const badJson = await call(app, 'POST', '/api/v1/quota/consume', '{"message_type": ')
  t.equal(badJson.statusCode, 400)
  t.match(badJson.json(), shape)

  const big = await call(app, 'POST', '/api/v1/quota/consume', { message_type: 'text', pad: 'x'.repeat(70 * 1024) })
  t.equal(big.statusCode, 413)
  t.match(big.json(), shape)

  const text = await app.inject({ method: 'POST', url: '/api/v1/quota/consume', headers: { 'x-api-key': DEV_KEY, 'content-type': 'text/plain' }, payload: 'text' })
  t.equal(text.statusCode, 415)
  t.match(text.json().message, /application\/json/)

  const unknownRoute = await call(app, 'GET', '/api/v1/nothing-here')
  t.equal(unknownRoute.statusCode, 404)
  t.match(unknownRoute.json(), shape)

  const status = await call(app, 'GET', '/api/v1/quota/status')
  t.equal(status.json().messages_today, 0, 'none of the refused requests counted anything')
})

t.test('unexpected errors: logged with the request id, answered with a generic 500', async (t) => {
  const lines: string[] = []
  const host = Fastify({ logger: { level: 'error', stream: { write: (line: string) => { lines.push(line) } } } })
  await host.register(sellify, { env: {}, scheduler: false, store: { sqlitePath: ':memory:' } })
  await host.ready()
  t.teardown(() => host.close())
  host.quota.status = async () => { throw new TypeError('secret internals: /etc/passwd at line 3') }
  const res = await host.inject({ method: 'GET', url: '/api/v1/quota/status', headers: { 'x-api-key': DEV_KEY } })
  t.equal(res.statusCode, 500)
  const body = res.json()
  t.same(Object.keys(body).sort(), ['error', 'message', 'statusCode'])
  t.notMatch(res.body, /secret internals|passwd|TypeError|at /, 'no internals or stack in the answer')
  const logged = lines.map((l) => JSON.parse(l) as { reqId?: string, err?: { message: string } }).find((l) => l.err !== undefined)
  t.ok(logged, 'the error is logged')
  t.match(logged?.err?.message, /secret internals/)
  t.ok(typeof logged?.reqId === 'string' && body.message.includes(logged.reqId), 'the answer quotes the logged request id')
})

t.test('a store failure fails closed: check and consume answer 503, never allowed', async (t) => {
  const app = await build(t)
  t.equal((await call(app, 'POST', '/api/v1/quota/consume', { message_type: 'text' })).json().allowed, true)
  await app.sellify.store.close()
  for (const url of ['/api/v1/quota/check', '/api/v1/quota/consume', '/api/v1/quota/record']) {
    const res = await call(app, 'POST', url, { message_type: 'text' })
    t.equal(res.statusCode, 503, url)
    t.match(res.json(), { statusCode: 503, error: 'Service Unavailable' })
    t.notOk('allowed' in res.json() || 'can_send' in res.json())
  }
})

t.test('embedded in a host under a prefix: the host keeps its routes, handlers and parsers', async (t) => {
  const host = Fastify({ logger: false })
  host.get('/open', async () => ({ host: true }))
  host.post('/echo', async (request) => ({ got: request.body }))
  host.setErrorHandler(async (_err, _request, reply) => await reply.code(418).send({ teapot: true }))
  host.get('/boom', async () => { throw new Error('host error') })
  await host.register(sellify, { prefix: '/sellify', env: {}, scheduler: false, store: { sqlitePath: ':memory:' }, apiKey: 'embedded-key' })
  await host.ready()
  t.teardown(() => host.close())

  const open = await host.inject({ method: 'GET', url: '/open' })
  t.equal(open.statusCode, 200, 'host routes need no key')
  t.notOk('x-ratelimit-limit' in open.headers, 'and are not rate limited by Sellify')
  const echo = await host.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'text/plain' }, payload: 'plain' })
  t.same(echo.json(), { got: 'plain' }, 'host keeps its text/plain parser')
  t.same((await host.inject({ method: 'GET', url: '/boom' })).json(), { teapot: true }, 'host error handler untouched')

  t.equal((await host.inject({ method: 'GET', url: '/sellify/health' })).statusCode, 200)
  t.equal((await host.inject({ method: 'GET', url: '/sellify/api/v1/quota/status' })).statusCode, 401)
  const ok = await host.inject({ method: 'POST', url: '/sellify/api/v1/quota/consume', headers: { 'x-api-key': 'embedded-key', 'content-type': 'application/json' }, payload: '{"message_type":"text"}' })
  t.equal(ok.statusCode, 200)
  t.equal((await host.quota.status('default')).messages_today, 1, 'app.quota is the service the routes use')
  const docs = await host.inject({ method: 'GET', url: '/sellify/docs/json' })
  t.equal(docs.statusCode, 200)
  t.notOk(Object.keys(docs.json().paths).some((p: string) => p === '/open' || p === '/echo'), 'host routes stay out of Sellify\'s OpenAPI')
})

t.test('OpenAPI: every route documented with the X-API-Key scheme; openapi.json is current', async (t) => {
  const doc = await openapiDocument() as {
    components: { securitySchemes: Record<string, unknown> }
    paths: Record<string, Record<string, { responses: Record<string, unknown>, security?: unknown[] }>>
  }
  t.same(doc.components.securitySchemes.apiKey, { type: 'apiKey', in: 'header', name: 'X-API-Key' })
  const expected = [
    'GET /health', 'GET /api/v1/health', 'GET /api/v1/quota/status', 'POST /api/v1/quota/check', 'POST /api/v1/quota/consume',
    'POST /api/v1/quota/record', 'POST /api/v1/quota/reset/daily', 'POST /api/v1/quota/reset/weekly', 'GET /api/v1/quota/resets',
    'GET /api/v1/quota/history', 'GET /api/v1/accounts', 'GET /api/v1/accounts/{account}', 'PUT /api/v1/accounts/{account}',
    'PATCH /api/v1/accounts/{account}', 'DELETE /api/v1/accounts/{account}', 'POST /api/v1/accounts/{account}/signals',
    'GET /api/v1/accounts/{account}/health', 'POST /api/v1/accounts/{account}/pause', 'POST /api/v1/accounts/{account}/resume',
    'POST /api/v1/keys', 'GET /api/v1/keys', 'GET /api/v1/keys/me',
    'DELETE /api/v1/keys/{id}', 'GET /api/v1/products', 'GET /api/v1/products/{id}', 'PUT /api/v1/products/{id}',
    'DELETE /api/v1/products/{id}', 'GET /api/v1/knowledge', 'PUT /api/v1/knowledge', 'POST /api/v1/knowledge/match', 'GET /api/v1/audit',
    'GET /api/v1/audit/{id}', 'GET /api/v1/audit/export', 'GET /api/v1/audit/verify', 'POST /api/v1/audit/log', 'GET /api/v1/encryption',
    'POST /api/v1/encryption/rotate', 'POST /api/v1/validate', 'POST /api/v1/conversation/transition', 'POST /api/v1/decision',
    'POST /api/v1/messages/incoming', 'POST /api/v1/messages/outgoing', 'POST /api/v1/messages/{decision_id}/sent',
    'POST /api/v1/messages/{decision_id}/failed', 'GET /api/v1/conversations', 'GET /api/v1/conversations/{contact}',
    'POST /api/v1/conversations/{contact}/pause', 'POST /api/v1/conversations/{contact}/resume', 'POST /api/v1/conversations/{contact}/freeze',
    'DELETE /api/v1/conversations/{contact}', 'GET /api/v1/alerts', 'GET /api/v1/alerts/{id}', 'POST /api/v1/alerts/{id}/ack',
    'POST /api/v1/alerts/test', 'GET /api/v1/decisions/hourly', 'GET /metrics',
    'GET /dashboard/', 'GET /dashboard/{file}'
  ]
  const dashboard = ['/dashboard/', '/dashboard/{file}']
  for (const route of expected) {
    const [method, path] = route.split(' ')
    const op = doc.paths[path]?.[method.toLowerCase()]
    t.ok(op, `${route} is documented`)
    if (op !== undefined && dashboard.includes(path)) {
      t.strictSame(op.security, [], `${route} is documented as public (no key)`)
      t.notOk(Object.keys(op.responses).includes('401'), `${route} documents no 401`)
    } else if (op !== undefined && !['/health', '/api/v1/health', '/metrics'].includes(path)) {
      t.ok(Object.keys(op.responses).includes('401'), `${route} documents 401`)
    }
  }
  // `/dashboard` (the redirect to `/dashboard/`) may be documented as a path of its own or not.
  const all = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
  if (doc.paths['/dashboard']?.get !== undefined) t.strictSame(doc.paths['/dashboard'].get.security, [], 'GET /dashboard is documented as public')
  t.strictSame(all.filter((r) => r !== 'GET /dashboard').sort(), [...expected].sort(), 'and no route beyond these')
  const committed = readFileSync(new URL('../openapi.json', import.meta.url), 'utf8')
  t.equal(committed, serialize(doc), 'openapi.json is stale: run `npm run openapi` and commit it')
})

t.test('the built package resolves as `sellify-core` with type declarations (README, "Embedding")', async (t) => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { exports: Record<string, { types: string, import: string }> }
  t.ok(existsSync(new URL(`../${pkg.exports['.'].types}`, import.meta.url)), 'declarations built (npm test builds first)')
  const mod = await import('sellify-core') as { default: unknown }
  t.type(mod.default, 'function')
  const host = Fastify({ logger: false })
  await host.register(mod.default as typeof sellify, { env: {}, scheduler: false, store: { sqlitePath: ':memory:' } })
  await host.ready()
  t.teardown(() => host.close())
  t.equal((await host.quota.status()).account, 'default')
})
