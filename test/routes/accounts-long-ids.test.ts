import t from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import sellify from '../../app.js'
import { build, call, DEV_KEY, type TapTest } from '../helper.js'

// Account ids may be 128 characters long; Fastify's router refuses path parameters longer than its
// maxParamLength (100 unless the host says otherwise) with a 414 before any route sees them.
const chars = 'abc123._:@+-'
const longest = '5' + Array.from({ length: 127 }, (_, i) => chars[i % chars.length]).join('')
const justOver = 'a'.repeat(101)

/** PUT, GET, consume, DELETE of one account id, each answered by its route. */
async function lifecycle (t: TapTest, app: FastifyInstance, id: string): Promise<void> {
  const url = `/api/v1/accounts/${encodeURIComponent(id)}`
  const put = await call(app, 'PUT', url, { limits: { messages_per_day: 3 } })
  t.equal(put.statusCode, 201, `PUT ${id.length} chars: ${put.body.slice(0, 120)}`)
  t.equal(put.json().id, id)
  t.equal((await call(app, 'PUT', url, { limits: { messages_per_day: 4 } })).statusCode, 200, 'PUT again replaces it')
  const got = await call(app, 'GET', url)
  t.equal(got.statusCode, 200, 'GET')
  t.match(got.json(), { id, limits: { messages_per_day: 4 } })
  const consumed = await call(app, 'POST', '/api/v1/quota/consume', { message_type: 'text', account: id })
  t.equal(consumed.statusCode, 200)
  // The number's health: each route answered as its own, with its own body checks.
  const signalled = await call(app, 'POST', `${url}/signals`, { type: 'send_failed', detail: 'timeout' })
  t.equal(signalled.statusCode, 200, `signals: ${signalled.body.slice(0, 120)}`)
  t.match(signalled.json(), { account: id, score: 95, signals: [{ type: 'send_failed', detail: 'timeout' }] })
  t.match((await call(app, 'POST', `${url}/signals`, { type: 'nope' })).json(), { statusCode: 400, message: /body\/type must be one of/ })
  t.match((await call(app, 'GET', `${url}/health`)).json(), { account: id, score: 95, paused_until: null })
  t.match((await call(app, 'POST', `${url}/pause`, { minutes: 5 })).json(), { account: id, pause_reason: 'manual', paused_until: /Z$/ })
  t.match((await call(app, 'POST', `${url}/pause`, { minutes: 0 })).json(), { statusCode: 400, message: /body\/minutes must be >= 1/ })
  t.match((await call(app, 'POST', '/api/v1/quota/consume', { message_type: 'text', account: id })).json(), { allowed: false, reason: 'account_paused' })
  t.match((await call(app, 'POST', `${url}/resume`, { x: 1 })).json(), { statusCode: 400, message: /body\/x is not an allowed field/ })
  t.match((await call(app, 'POST', `${url}/resume`)).json(), { account: id, paused_until: null })
  t.equal((await call(app, 'POST', `${url}/unpause`, {})).statusCode, 404, 'no other action')
  // An account named in the query (no router limit there): the decisions chart reads it too.
  const hourly = await call(app, 'GET', `/api/v1/decisions/hourly?account=${encodeURIComponent(id)}&hours=2`)
  t.equal(hourly.statusCode, 200, `decisions/hourly: ${hourly.body.slice(0, 120)}`)
  t.match(hourly.json(), { account: id, hours: [{ total: 0 }, { total: 0 }] })
  t.equal((await call(app, 'DELETE', url)).statusCode, 204, 'DELETE')
  t.equal((await call(app, 'GET', url)).statusCode, 404, 'gone')
  t.equal((await call(app, 'DELETE', url)).statusCode, 404, 'deleting it again is a 404, not a 414')
}

/** What the router answers around the accounts routes is unchanged by the long-id support. */
async function edges (t: TapTest, app: FastifyInstance): Promise<void> {
  const tooLong = await call(app, 'GET', `/api/v1/accounts/${'a'.repeat(129)}`)
  t.ok(tooLong.statusCode === 400 || tooLong.statusCode === 414, `129 characters are refused (${tooLong.statusCode})`)
  t.equal((await call(app, 'GET', '/api/v1/accounts/acme/extra')).statusCode, 404, 'two segments are no route')
  t.equal((await call(app, 'GET', `/api/v1/accounts/${'a'.repeat(110)}/extra`)).statusCode, 404, 'nor with a long first one')
  t.equal((await call(app, 'PUT', '/api/v1/accounts/acme/extra', {})).statusCode, 404)
  t.match((await call(app, 'GET', '/api/v1/accounts/')).json(), { statusCode: 400, message: /params\/account must match pattern/ }, 'an empty id is invalid')
  t.match((await call(app, 'GET', '/api/v1/accounts/bad%20id')).json().message, /params\/account must match pattern/)
  t.equal((await call(app, 'GET', `/api/v1/accounts/${longest}`, undefined, null)).statusCode, 401, 'auth applies')
  t.equal((await call(app, 'DELETE', `/api/v1/accounts/${'b'.repeat(120)}`)).statusCode, 404)
  const doc = (await call(app, 'GET', '/docs/json', undefined, null)).json() as { paths: Record<string, unknown> }
  t.strictSame(Object.keys(doc.paths).filter((p) => p.startsWith('/api/v1/accounts')), [
    '/api/v1/accounts', '/api/v1/accounts/{account}', '/api/v1/accounts/{account}/signals', '/api/v1/accounts/{account}/health',
    '/api/v1/accounts/{account}/pause', '/api/v1/accounts/{account}/resume'
  ], 'documented once')
}

t.test('embedded in a bare Fastify() (router maxParamLength 100): 101- and 128-character ids work on every route', async (t) => {
  const app = await build(t)
  t.equal(app.initialConfig.maxParamLength, 100, 'the host keeps Fastify\'s default')
  await lifecycle(t, app, justOver)
  await lifecycle(t, app, longest)
  await edges(t, app)
})

t.test('an agent key of a 128-character account reads its own account and not another', async (t) => {
  const app = await build(t)
  t.equal((await call(app, 'PUT', `/api/v1/accounts/${longest}`, {})).statusCode, 201)
  const agent = await call(app, 'POST', '/api/v1/keys', { name: 'bot', role: 'agent', account: longest })
  const key = agent.json().key as string
  t.equal((await call(app, 'GET', `/api/v1/accounts/${longest}`, undefined, key)).statusCode, 200)
  t.equal((await call(app, 'GET', `/api/v1/accounts/${'c'.repeat(128)}`, undefined, key)).statusCode, 403)
  t.equal((await call(app, 'PUT', `/api/v1/accounts/${longest}`, {}, key)).statusCode, 403, 'admin-only stays admin-only')
  t.strictSame((await call(app, 'GET', '/api/v1/keys/me', undefined, key)).json(), { id: agent.json().id, name: 'bot', role: 'agent', account: longest }, 'keys/me names the whole id')
  t.equal((await call(app, 'GET', '/api/v1/decisions/hourly', undefined, key)).json().account, longest, 'its decisions chart is its own account')
  t.equal((await call(app, 'GET', `/api/v1/decisions/hourly?account=${'c'.repeat(128)}`, undefined, key)).statusCode, 403)
})

t.test('a host on the compiled router works the same', async (t) => {
  const app = Fastify({ routerOptions: { compile: true } })
  await app.register(sellify, { env: {}, scheduler: false, store: { sqlitePath: ':memory:' } })
  await app.ready()
  t.teardown(() => app.close())
  await lifecycle(t, app, longest)
  await edges(t, app)
})

t.test('a host whose router allows 128 characters (as the standalone server\'s does)', async (t) => {
  const app = Fastify({ routerOptions: { maxParamLength: 128 } })
  await app.register(sellify, { env: {}, scheduler: false, store: { sqlitePath: ':memory:' } })
  await app.ready()
  t.teardown(() => app.close())
  await lifecycle(t, app, longest)
  await edges(t, app)
  t.equal((await app.inject({ method: 'GET', url: `/api/v1/accounts/${justOver}`, headers: { 'x-api-key': DEV_KEY } })).statusCode, 404)
})
