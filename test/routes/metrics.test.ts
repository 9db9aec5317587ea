import t from 'tap'
import { build, call, DEV_KEY, fixedClock } from '../helper.js'
import { putAccount, status } from '../plugins/scheduler-helper.js'
import type { FastifyInstance } from 'fastify'
import { putAccountOp } from '../../lib/accounts/store.js'

interface Sample { name: string, labels: Record<string, string>, value: number }

/** The Prometheus text format, enough of it for these tests: `name{label="value",…} number` per line. */
function parse (text: string): Sample[] {
  const samples: Sample[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (m === null) throw new Error(`not a sample line: ${line}`)
    const labels: Record<string, string> = {}
    for (const [, key, value] of (m[2] ?? '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[key] = value
    samples.push({ name: m[1], labels, value: m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]) })
  }
  return samples
}

/** The value of the one sample with exactly these labels; undefined when there is none. */
function value (samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels).sort()
  const found = samples.filter((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === JSON.stringify(want))
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}`)
  return found[0]?.value
}

async function scrape (app: FastifyInstance): Promise<Sample[]> {
  const res = await app.inject({ method: 'GET', url: '/metrics' })
  if (res.statusCode !== 200) throw new Error(`GET /metrics answered ${res.statusCode}`)
  return parse(res.body)
}

const limits = { messages_per_day: 5, messages_per_week: 100, images_per_day: 1, videos_per_week: 1 }

t.test('quota counters, resets, usage and HTTP metrics after known traffic', async (t) => {
  const clock = fixedClock('2026-01-14T10:00:00Z') // Wednesday
  const app = await build(t, { now: clock.now, defaults: { limits } })
  const res = await app.inject({ method: 'GET', url: '/metrics' })
  t.equal(res.statusCode, 200, 'public by default: no key needed')
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  const fresh = parse(res.body)
  t.ok(value(fresh, 'process_cpu_user_seconds_total') !== undefined, 'process defaults')
  t.ok(fresh.some((s) => s.name === 'nodejs_eventloop_lag_seconds'))
  t.equal(value(fresh, 'sellify_quota_consume_total', { kind: 'text', result: 'allowed' }), undefined, 'nothing counted yet')

  await putAccount(app, 'a')
  await putAccount(app, 'b')
  const sends: Array<[string, string, boolean]> = [
    ['a', 'text', true], ['a', 'text', true], ['a', 'text', true],
    ['a', 'image', true], ['a', 'image', false], // images_per_day
    ['a', 'video', true],
    ['a', 'text', false], ['a', 'video', false], // messages_per_day, which comes first
    ['b', 'text', true], ['b', 'video', true], ['b', 'video', false] // videos_per_week
  ]
  for (const [account, type, allowed] of sends) {
    const body = (await call(app, 'POST', '/api/v1/quota/consume', { account, message_type: type })).json()
    t.equal(body.allowed, allowed, `${account} ${type}`)
  }
  await call(app, 'POST', '/api/v1/quota/record', { account: 'b', message_type: 'image', count: 2 })
  await call(app, 'POST', '/api/v1/quota/check', { account: 'b', message_type: 'text' })
  t.equal((await call(app, 'POST', '/api/v1/quota/consume', { account: 'a', message_type: 'sticker' })).statusCode, 400)
  t.equal((await call(app, 'GET', '/api/v1/quota/status', undefined, null)).statusCode, 401)

  let m = await scrape(app)
  const consumed = (kind: string, result: string) => value(m, 'sellify_quota_consume_total', { kind, result })
  t.equal(consumed('text', 'allowed'), 4)
  t.equal(consumed('text', 'denied'), 1)
  t.equal(consumed('image', 'allowed'), 1)
  t.equal(consumed('image', 'denied'), 1)
  t.equal(consumed('video', 'allowed'), 2)
  t.equal(consumed('video', 'denied'), 2)
  t.same(m.filter((s) => s.name === 'sellify_quota_consume_total').reduce((n, s) => n + s.value, 0), sends.length, 'records, checks and invalid requests are not consumes')
  t.equal(value(m, 'sellify_quota_limit_reached_total', { limit: 'messages_per_day' }), 2)
  t.equal(value(m, 'sellify_quota_limit_reached_total', { limit: 'images_per_day' }), 1)
  t.equal(value(m, 'sellify_quota_limit_reached_total', { limit: 'videos_per_week' }), 1)
  t.equal(value(m, 'sellify_quota_limit_reached_total', { limit: 'messages_per_week' }), undefined)

  // The usage gauge says what status says.
  for (const account of ['a', 'b', 'default']) {
    const s = await status(app, account)
    for (const counter of ['messages_today', 'messages_this_week', 'images_today', 'videos_this_week']) {
      t.equal(value(m, 'sellify_quota_usage', { account, counter }), s[counter], `${account} ${counter}`)
    }
  }
  t.equal(value(m, 'sellify_quota_usage', { account: 'b', counter: 'images_today' }), 2, 'records count')

  // HTTP: by route pattern, method and status code; the histogram counts the same requests.
  const http = (name: string, route: string, method: string, code: number) => value(m, name, { route, method, status_code: String(code) })
  t.equal(http('sellify_http_requests_total', '/api/v1/quota/consume', 'POST', 200), sends.length)
  t.equal(http('sellify_http_requests_total', '/api/v1/quota/consume', 'POST', 400), 1)
  t.equal(http('sellify_http_requests_total', '/api/v1/quota/status', 'GET', 401), 1)
  t.equal(http('sellify_http_requests_total', '/api/v1/accounts/:account', 'PUT', 201), 2, 'the route\'s pattern, not the URL')
  t.equal(http('sellify_http_requests_total', '/metrics', 'GET', 200), 1, 'the previous scrape')
  t.equal(http('sellify_http_request_duration_seconds_count', '/api/v1/quota/consume', 'POST', 200), sends.length)
  t.equal(value(m, 'sellify_http_request_duration_seconds_bucket', { route: '/api/v1/quota/consume', method: 'POST', status_code: '200', le: '+Inf' }), sends.length)
  t.ok((http('sellify_http_request_duration_seconds_sum', '/api/v1/quota/consume', 'POST', 200) ?? -1) > 0)

  // Resets, by type and source: manual ones, then a scheduled run on the next day.
  await call(app, 'POST', '/api/v1/quota/reset/daily', { account: 'a' })
  await call(app, 'POST', '/api/v1/quota/reset/weekly')
  clock.set('2026-01-15T00:00:00Z')
  t.equal((await app.sellify.resetJobs.run('daily')).length, 3)
  t.equal((await app.sellify.resetJobs.run('daily')).length, 0, 'a second run records nothing and counts nothing')
  m = await scrape(app)
  t.equal(value(m, 'sellify_quota_resets_total', { reset_type: 'daily', source: 'manual' }), 1)
  t.equal(value(m, 'sellify_quota_resets_total', { reset_type: 'weekly', source: 'manual' }), 3, 'every account')
  t.equal(value(m, 'sellify_quota_resets_total', { reset_type: 'daily', source: 'schedule' }), 3)
  t.equal(value(m, 'sellify_quota_resets_total', { reset_type: 'weekly', source: 'schedule' }), undefined)
  t.equal(value(m, 'sellify_quota_usage', { account: 'a', counter: 'messages_today' }), 0, 'a new day')
  t.equal(value(m, 'sellify_quota_usage', { account: 'b', counter: 'messages_this_week' }), 0, 'cleared by the manual weekly reset')
})

t.test('the usage gauge lists the first 1000 accounts only', async (t) => {
  const app = await build(t)
  const defaults = (await app.sellify.accounts.get('default'))
  const n = 1005
  await Promise.all(Array.from({ length: n }, (_, i) =>
    app.sellify.store.commit([putAccountOp({ ...defaults, id: `acc-${String(i).padStart(4, '0')}` })])))
  t.equal((await app.sellify.accounts.list()).length, n + 1)
  const m = await scrape(app)
  const usage = m.filter((s) => s.name === 'sellify_quota_usage')
  const accounts = new Set(usage.map((s) => s.labels.account))
  t.equal(accounts.size, 1000)
  t.equal(usage.length, 4000, 'four counters each')
  t.ok(accounts.has('acc-0000') && accounts.has('acc-0999') && !accounts.has('acc-1000') && !accounts.has('default'), 'the first by id')
})

t.test('metricsPublic: false puts /metrics behind an admin key', async (t) => {
  const app = await build(t, { metricsPublic: false })
  const res = await app.inject({ method: 'GET', url: '/metrics' })
  t.equal(res.statusCode, 401)
  t.equal(res.headers['www-authenticate'], 'ApiKey header="X-API-Key"')
  const admin = await app.inject({ method: 'GET', url: '/metrics', headers: { 'x-api-key': DEV_KEY } })
  t.equal(admin.statusCode, 200)
  t.ok(value(parse(admin.body), 'process_cpu_user_seconds_total') !== undefined)
  const agent = (await call(app, 'POST', '/api/v1/keys', { name: 'bot', role: 'agent', account: 'default' })).json()
  t.equal((await app.inject({ method: 'GET', url: '/metrics', headers: { 'x-api-key': agent.key } })).statusCode, 403, 'an agent key is not enough')
  t.equal((await app.inject({ method: 'GET', url: '/metrics', headers: { 'x-api-key': 'wrong' } })).statusCode, 401)
})

t.test('a scrape still answers while the store is down', async (t) => {
  const app = await build(t)
  await app.sellify.store.close()
  const res = await app.inject({ method: 'GET', url: '/metrics' })
  t.equal(res.statusCode, 200)
  const m = parse(res.body)
  t.ok(value(m, 'process_cpu_user_seconds_total') !== undefined)
  t.notOk(m.some((s) => s.name === 'sellify_quota_usage'), 'no usage, rather than no metrics')
})
