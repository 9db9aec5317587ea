/**
 * The HTTP contract around the quota routes, as a client meets it: what a request that is not quite right
 * gets, and that it changes nothing.
 */
import t from 'tap'
import { join } from 'node:path'
import { build, call, DEV_KEY, pgSchema, pgSkip, PG_URL } from '../helper.js'

const status = async (app: Awaited<ReturnType<typeof build>>, account = 'default') =>
  (await call(app, 'GET', `/api/v1/quota/status?account=${account}`)).json()

t.test('a reset with a JSON null body is refused; only an absent body means every account', async (t) => {
  const app = await build(t)
  await call(app, 'PUT', '/api/v1/accounts/shop-2', {})
  for (const id of ['default', 'shop-2']) await call(app, 'POST', '/api/v1/quota/consume', { message_type: 'text', account: id })
  for (const path of ['daily', 'weekly']) {
    for (const body of ['null', '[]', '3', '"shop-2"']) {
      const res = await call(app, 'POST', `/api/v1/quota/reset/${path}`, body)
      t.equal(res.statusCode, 400, `${path} with ${body}`)
      t.match(res.json().message, /^body must be object/)
    }
  }
  t.equal((await status(app)).messages_today, 1, 'nothing was reset')
  t.equal((await status(app, 'shop-2')).messages_this_week, 1)
  const all = await app.inject({ method: 'POST', url: '/api/v1/quota/reset/daily', headers: { 'x-api-key': DEV_KEY } })
  t.equal(all.statusCode, 200)
  t.strictSame(all.json().accounts, ['default', 'shop-2'], 'no body at all: every account')
})

t.test('unknown query parameters are refused with their name, on every route', async (t) => {
  const app = await build(t)
  await call(app, 'PUT', '/api/v1/accounts/shop-2', {})
  await call(app, 'POST', '/api/v1/quota/consume', { message_type: 'text', account: 'shop-2' })
  const cases: Array<['GET' | 'POST' | 'DELETE', string, unknown?]> = [
    ['GET', '/api/v1/quota/status?acount=shop-2'],
    ['POST', '/api/v1/quota/reset/daily?acount=shop-2'],
    ['POST', '/api/v1/quota/consume?acount=shop-2', { message_type: 'text' }],
    ['GET', '/api/v1/quota/history?acount=shop-2'],
    ['GET', '/api/v1/quota/resets?acount=shop-2'],
    ['GET', '/api/v1/accounts?acount=shop-2'],
    ['GET', '/api/v1/keys?acount=shop-2'],
    ['DELETE', '/api/v1/accounts/shop-2?acount=default']
  ]
  for (const [method, url, body] of cases) {
    const res = await call(app, method, url, body)
    t.equal(res.statusCode, 400, `${method} ${url}`)
    t.equal(res.json().message, 'querystring/acount is not an allowed field', `${method} ${url}`)
  }
  t.equal((await status(app, 'shop-2')).messages_today, 1, 'the typo acted on nothing')
  t.equal((await status(app)).messages_today, 0)
  t.equal((await call(app, 'GET', '/api/v1/accounts/shop-2')).statusCode, 200, 'shop-2 was not deleted')
})

t.test('a reset listing cursor that is not a safe integer is bad input, not an outage', async (t) => {
  const logs: Array<{ level: number, msg: string }> = []
  const app = await build(t, {}, { logs })
  for (const before of ['1e309', '9007199254740993', '1e300', '-1', '1.5', 'abc']) {
    const res = await call(app, 'GET', `/api/v1/quota/resets?before=${before}`)
    t.equal(res.statusCode, 400, before)
    t.match(res.json().message, /^querystring\/before /, before)
  }
  t.notOk(logs.some((l) => l.level >= 50), 'nothing was logged as an error')
  t.equal((await call(app, 'GET', '/api/v1/quota/resets?before=9007199254740991')).statusCode, 200, 'the largest safe id is fine')
})

t.test('only UTF-8 JSON is read: another charset is a 415 and changes nothing', async (t) => {
  const app = await build(t)
  const send = (contentType: string) => app.inject({
    method: 'POST', url: '/api/v1/quota/consume', payload: '{"message_type":"text"}', headers: { 'x-api-key': DEV_KEY, 'content-type': contentType }
  })
  for (const ct of ['application/json; charset=utf-16', 'application/json;charset="UTF-16LE"', 'application/json; charset=latin1']) {
    const res = await send(ct)
    t.equal(res.statusCode, 415, ct)
    t.match(res.json().message, /charset .* is not supported/, ct)
  }
  t.equal((await status(app)).messages_today, 0)
  for (const ct of ['application/json', 'application/json; charset=utf-8', 'application/json; charset="UTF-8"']) {
    t.equal((await send(ct)).statusCode, 200, ct)
  }
})

t.test('a body with a prototype key is refused by name; malformed JSON does not echo the body', async (t) => {
  const logs: Array<{ level: number, msg: string, reason?: string }> = []
  const app = await build(t, {}, { logs })
  const cases: Array<[string, string]> = [
    ['{"message_type":"text","__proto__":{"count":5}}', 'body/__proto__ is refused'],
    ['{"message_type":"text","\\u005f_proto__":{"count":5}}', 'body/__proto__ is refused'],
    ['{"message_type":"text","constructor":{"prototype":{"count":5}}}', 'body/constructor/prototype is refused']
  ]
  for (const [payload, message] of cases) {
    const res = await call(app, 'POST', '/api/v1/quota/consume', payload)
    t.equal(res.statusCode, 400, payload)
    t.match(res.json().message, message, payload)
  }
  const secret = 'Bonjour je veux commander 3 robes'
  const bad = await call(app, 'POST', '/api/v1/quota/consume', `{"message_type": "text", "note": ${secret}}`)
  t.equal(bad.statusCode, 400)
  t.match(bad.json().message, /^Body is not valid JSON: /)
  t.notOk(bad.json().message.includes('Bonjour'), 'the answer does not quote the body')
  t.notOk(JSON.stringify(logs).includes('robes'), 'the text is in no log line')
  t.equal((await status(app)).messages_today, 0)
})

t.test('history is what was sent: a manual reset clears the quota, not the history', async (t) => {
  const app = await build(t)
  for (let i = 0; i < 3; i++) await call(app, 'POST', '/api/v1/quota/consume', { message_type: 'image' })
  await call(app, 'POST', '/api/v1/quota/reset/daily')
  await call(app, 'POST', '/api/v1/quota/consume', { message_type: 'text' })
  t.equal((await status(app)).messages_today, 1, 'the quota was reset')
  const days = (await call(app, 'GET', '/api/v1/quota/history?days=1')).json().days
  t.strictSame(days, [{ day: '2026-01-18', messages: 4, images: 3, videos: 0 }])
})

/** Two instances on one store: a change on one holds on the other at once. */
async function committedLimits (t: Tap, options: Parameters<typeof build>[1]) {
  const a = await build(t, options)
  const b = await build(t, options)
  t.equal((await call(a, 'PUT', '/api/v1/accounts/shop', { limits: { messages_per_day: 50 } })).statusCode, 201)
  t.match((await call(a, 'POST', '/api/v1/quota/consume', { message_type: 'text', account: 'shop' })).json(), { allowed: true })

  t.equal((await call(b, 'PUT', '/api/v1/accounts/shop', { limits: { messages_per_day: 0 } })).statusCode, 200)
  const stopped = (await call(a, 'POST', '/api/v1/quota/consume', { message_type: 'text', account: 'shop' })).json()
  t.match(stopped, { allowed: false, reason: 'messages_per_day', remaining: { messages_today: 0 } }, 'a limit set to 0 on the other instance stops the next consume')

  t.equal((await call(b, 'DELETE', '/api/v1/accounts/shop')).statusCode, 204)
  const again = (await call(a, 'POST', '/api/v1/quota/consume', { message_type: 'text', account: 'shop' })).json()
  t.match(again, { allowed: true, usage: { messages_today: 1 }, remaining: { messages_today: 199 } },
    'an admin consume after the delete creates the account anew, with the defaults and no old counters')
  const seen = await call(b, 'GET', '/api/v1/accounts/shop')
  t.equal(seen.statusCode, 200, 'the account it counted under exists')
  t.equal(seen.json().limits.messages_per_day, 200)
  t.equal((await status(b, 'shop')).messages_today, 1)
}

type Tap = Parameters<typeof build>[0] & Parameters<Parameters<typeof t.test>[0]>[0]

t.test('limits and deletes hold at once across two instances: one SQLite file', async (t) => {
  await committedLimits(t, { store: { sqlitePath: join(t.testdir(), 'two.db') } })
})

t.test('limits and deletes hold at once across two instances: PostgreSQL', { skip: await pgSkip() }, async (t) => {
  await committedLimits(t, { store: { databaseUrl: PG_URL, pgSchema: pgSchema(t) } })
})
