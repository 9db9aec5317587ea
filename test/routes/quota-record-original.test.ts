/** `POST /api/v1/quota/record` as the original calls it: no body at all counts one text message (README, "Deciding every message"). */
// Every send here falls in the fixed clock's one hour: messages_this_hour follows messages_today.
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { build, call, DEV_KEY } from '../helper.js'

const URL = '/api/v1/quota/record'

const status = async (app: FastifyInstance, account = 'default') =>
  (await call(app, 'GET', `/api/v1/quota/status?account=${account}`)).json()

/** The counters status shows, as `usage` names them. */
const counters = (s: Record<string, number>) =>
  ({ messages_today: s.messages_today, messages_this_week: s.messages_this_week, images_today: s.images_today, videos_this_week: s.videos_this_week, messages_this_hour: s.messages_this_hour })

t.test('no body: one text message on the caller\'s account, with or without a JSON content type', async (t) => {
  const app = await build(t)
  t.same(counters(await status(app)), { messages_today: 0, messages_this_week: 0, images_today: 0, videos_this_week: 0, messages_this_hour: 0 })

  const bare = await app.inject({ method: 'POST', url: URL, headers: { 'x-api-key': DEV_KEY } })
  t.equal(bare.statusCode, 200, bare.body)
  t.strictSame(bare.json(), { recorded: true, usage: { messages_today: 1, messages_this_week: 1, images_today: 0, videos_this_week: 0, messages_this_hour: 1 } })
  t.equal((await status(app)).messages_today, 1, 'status shows messages_today + 1')

  const empty = await app.inject({ method: 'POST', url: URL, headers: { 'x-api-key': DEV_KEY, 'content-type': 'application/json' }, payload: '' })
  t.equal(empty.statusCode, 200, empty.body)
  t.strictSame(empty.json().usage, { messages_today: 2, messages_this_week: 2, images_today: 0, videos_this_week: 0, messages_this_hour: 2 })
  t.same(counters(await status(app)), { messages_today: 2, messages_this_week: 2, images_today: 0, videos_this_week: 0, messages_this_hour: 2 })
})

t.test('no body from an agent counts on its own account; it is counted even past the limit', async (t) => {
  const app = await build(t)
  t.equal((await call(app, 'PUT', '/api/v1/accounts/shop', { limits: { messages_per_day: 1 } })).statusCode, 201)
  const agent = (await call(app, 'POST', '/api/v1/keys', { name: 'bot', role: 'agent', account: 'shop' })).json().key as string
  for (let i = 0; i < 2; i++) {
    const res = await app.inject({ method: 'POST', url: URL, headers: { 'x-api-key': agent } })
    t.equal(res.statusCode, 200, res.body)
  }
  t.equal((await status(app, 'shop')).messages_today, 2, 'a send that happened is counted, past the limit of 1')
  t.equal((await status(app)).messages_today, 0, 'default is untouched')
  t.equal((await app.inject({ method: 'POST', url: URL })).statusCode, 401, 'no key is still a 401')
  t.equal((await status(app, 'shop')).messages_today, 2)
})

t.test('a body keeps working as before; every field may be left out', async (t) => {
  const app = await build(t)
  t.equal((await call(app, 'PUT', '/api/v1/accounts/shop', {})).statusCode, 201)
  const image = await call(app, 'POST', URL, { message_type: 'image', count: 2 })
  t.equal(image.statusCode, 200)
  t.strictSame(image.json(), { recorded: true, usage: { messages_today: 2, messages_this_week: 2, images_today: 2, videos_this_week: 0, messages_this_hour: 2 } })
  t.strictSame((await call(app, 'POST', URL, { message_type: 'video' })).json().usage,
    { messages_today: 3, messages_this_week: 3, images_today: 2, videos_this_week: 1, messages_this_hour: 3 })
  t.strictSame((await call(app, 'POST', URL, { message_type: 'text', count: 3, account: 'shop' })).json().usage,
    { messages_today: 3, messages_this_week: 3, images_today: 0, videos_this_week: 0, messages_this_hour: 3 }, 'on the account named')
  t.strictSame((await call(app, 'POST', URL, {})).json().usage,
    { messages_today: 4, messages_this_week: 4, images_today: 2, videos_this_week: 1, messages_this_hour: 4 }, 'an empty object: one text, as no body')
  t.strictSame((await call(app, 'POST', URL, { account: 'shop', count: 2 })).json().usage,
    { messages_today: 5, messages_this_week: 5, images_today: 0, videos_this_week: 0, messages_this_hour: 5 }, 'message_type left out: text')
})

t.test('a bad body is still refused and changes nothing; the other quota routes still need one', async (t) => {
  const app = await build(t)
  await call(app, 'POST', URL, { message_type: 'text' })
  const before = JSON.stringify(await status(app))
  const cases: Array<[unknown, RegExp]> = [
    ['null', /^body must be object/],
    ['[]', /^body must be object/],
    ['3', /^body must be object/],
    [{ message_type: 'sms' }, /^body\/message_type must be one of text, image, video/],
    [{ message_type: null }, /^body\/message_type/],
    [{ count: 0 }, /^body\/count must be >= 1/],
    [{ count: '1' }, /^body\/count must be integer/],
    [{ extra: true }, /^body\/extra is not an allowed field/],
    [{ account: 'bad id!' }, /^body\/account must match pattern/],
    ['{"message_type":', /JSON/]
  ]
  for (const [body, message] of cases) {
    const res = await call(app, 'POST', URL, body)
    t.equal(res.statusCode, 400, JSON.stringify(body))
    t.match(res.json(), { statusCode: 400, error: 'Bad Request', message }, JSON.stringify(body))
  }
  const text = await app.inject({ method: 'POST', url: URL, headers: { 'x-api-key': DEV_KEY, 'content-type': 'text/plain' }, payload: 'text' })
  t.equal(text.statusCode, 415, 'a body that is not JSON is a 415, not one text')
  t.equal(JSON.stringify(await status(app)), before, 'nothing was counted')

  for (const url of ['/api/v1/quota/check', '/api/v1/quota/consume']) {
    const res = await app.inject({ method: 'POST', url, headers: { 'x-api-key': DEV_KEY } })
    t.equal(res.statusCode, 400, `${url} without a body`)
    t.match(res.json().message, /^body must be object/)
    t.match((await call(app, 'POST', url, {})).json().message, /^body\/message_type is required/, `${url} with {}`)
  }
  t.equal(JSON.stringify(await status(app)), before)
})
