import t from 'tap'
import { join } from 'node:path'
import { build, call, DEV_KEY, fixedClock } from '../helper.js'
import { consume, putAccount, status } from '../plugins/scheduler-helper.js'
import type { FastifyInstance } from 'fastify'
import { putAccountOp } from '../../lib/accounts/store.js'
import { consumeOp } from '../../lib/quota/store.js'

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

/** GET /metrics, with the admin key when the app keeps it behind one. */
async function scrape (app: FastifyInstance): Promise<Sample[]> {
  const headers = app.sellify.config.metricsPublic ? {} : { 'x-api-key': DEV_KEY }
  const res = await app.inject({ method: 'GET', url: '/metrics', headers })
  if (res.statusCode !== 200) throw new Error(`GET /metrics answered ${res.statusCode}`)
  return parse(res.body)
}

const limits = { messages_per_day: 5, messages_per_week: 100, images_per_day: 1, videos_per_week: 1 }

t.test('quota counters, resets, usage and HTTP metrics after known traffic', async (t) => {
  const clock = fixedClock('2026-01-14T10:00:00Z') // Wednesday
  const app = await build(t, { now: clock.now, defaults: { limits }, metricsPublic: false })
  const res = await app.inject({ method: 'GET', url: '/metrics', headers: { 'x-api-key': DEV_KEY } })
  t.equal(res.statusCode, 200)
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
  const consumes = { route: '/api/v1/quota/consume', method: 'POST', status_code: '200' }
  const buckets = m.filter((s) => s.name === 'sellify_http_request_duration_seconds_bucket' && JSON.stringify(Object.entries(s.labels).filter(([k]) => k !== 'le').sort()) === JSON.stringify(Object.entries(consumes).sort()))
  t.same(buckets.map((s) => s.labels.le), ['0.001', '0.0025', '0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '+Inf'], 'every bucket, in order')
  t.ok(buckets.every((s, i) => i === 0 || s.value >= buckets[i - 1].value), 'cumulative counts')

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

t.test('the usage gauge lists the first 1000 accounts only, those of the store at start included', async (t) => {
  const clock = fixedClock('2026-01-14T10:00:00Z')
  const sqlitePath = join(t.testdir(), 'many.db')
  const id = (i: number) => `acc-${String(i).padStart(4, '0')}`
  const n = 1005
  // Written straight to the store, as another instance (or a previous run) would have.
  const before = await build(t, { now: clock.now, scheduler: false, store: { sqlitePath } })
  const defaults = await before.sellify.accounts.get('default')
  await Promise.all(Array.from({ length: n }, (_, i) => before.sellify.store.commit([putAccountOp({ ...defaults, id: id(i) })])))
  const sent = (i: number) => consumeOp({ account: id(i), hour: '2026-01-14T10', day: '2026-01-14', week: '2026-W03', kind: 'text', count: i + 1, mode: 'record', zone: { timezone: defaults.timezone, reset_time: defaults.reset_time, week_start: defaults.week_start }, at: clock.now().getTime() })
  await before.sellify.store.commit([sent(0), sent(999), sent(1000), sent(1001)])
  await before.close()

  const app = await build(t, { now: clock.now, scheduler: false, store: { sqlitePath }, metricsPublic: false })
  t.equal((await app.sellify.accounts.list()).length, n + 1)
  let m = await scrape(app)
  const listed = () => {
    const usage = m.filter((s) => s.name === 'sellify_quota_usage')
    return { ids: new Set(usage.map((s) => s.labels.account)), samples: usage.length }
  }
  const today = (account: string) => value(m, 'sellify_quota_usage', { account, counter: 'messages_today' })
  t.equal(listed().ids.size, 1000)
  t.equal(listed().samples, 4000, 'four counters each')
  t.ok(listed().ids.has(id(0)) && listed().ids.has(id(999)) && !listed().ids.has(id(1000)) && !listed().ids.has('default'), 'the first by id')
  t.equal(today(id(0)), 1, 'counters written before this instance started')
  t.equal(today(id(999)), 1000)

  await putAccount(app, 'aaa')
  m = await scrape(app)
  t.equal(listed().ids.size, 1000)
  t.ok(listed().ids.has('aaa') && !listed().ids.has(id(999)), 'a new first account pushes the last one off')
  t.equal(today('aaa'), 0)

  await call(app, 'DELETE', '/api/v1/accounts/aaa')
  await call(app, 'DELETE', `/api/v1/accounts/${id(0)}`)
  await app.sellify.quotaMetrics.idle()
  m = await scrape(app)
  t.equal(listed().ids.size, 1000)
  t.ok(!listed().ids.has('aaa') && !listed().ids.has(id(0)), 'deleted ones leave')
  t.equal(today(id(999)), 1000, 'the next ones come in, with their counters')
  t.equal(today(id(1000)), 1001)
  t.notOk(listed().ids.has(id(1001)))
})

t.test('a public /metrics never lists account ids', async (t) => {
  const app = await build(t)
  const number = '5511999990000'
  await putAccount(app, number)
  await consume(app, number)
  await consume(app, 'default', 'image')
  const res = await app.inject({ method: 'GET', url: '/metrics' })
  t.equal(res.statusCode, 200)
  t.notOk(parse(res.body).some((s) => s.name === 'sellify_quota_usage'), 'no usage gauge')
  t.notOk(res.body.includes(number), 'the number appears nowhere')
  t.notOk(/account="/.test(res.body), 'no account label at all')
  t.equal(value(parse(res.body), 'sellify_quota_consume_total', { kind: 'text', result: 'allowed' }), 1, 'the engine totals are still there')
})

t.test('a keyed /metrics: the usage gauges follow consumes, records, resets, deletions, settings and periods', async (t) => {
  const clock = fixedClock('2026-01-14T10:00:00Z') // Wednesday
  const app = await build(t, { now: clock.now, defaults: { limits }, metricsPublic: false })
  const usage = async (account: string) => {
    const m = await scrape(app)
    const get = (counter: string) => value(m, 'sellify_quota_usage', { account, counter })
    return { messages_today: get('messages_today'), messages_this_week: get('messages_this_week'), images_today: get('images_today'), videos_this_week: get('videos_this_week') }
  }
  const zero = { messages_today: 0, messages_this_week: 0, images_today: 0, videos_this_week: 0 }
  await putAccount(app, 'a')
  t.same(await usage('a'), zero, 'a new account, listed with nothing used')

  await consume(app, 'a', 'text', 2)
  await consume(app, 'a', 'image')
  await consume(app, 'a', 'video')
  await call(app, 'POST', '/api/v1/quota/record', { account: 'a', message_type: 'text' })
  t.same(await usage('a'), { messages_today: 5, messages_this_week: 5, images_today: 1, videos_this_week: 1 })
  await consume(app, 'a', 'text') // refused: messages_per_day
  t.same(await usage('a'), { messages_today: 5, messages_this_week: 5, images_today: 1, videos_this_week: 1 }, 'a refusal changes nothing')
  await consume(app, 'implicit')
  t.same(await usage('implicit'), { ...zero, messages_today: 1, messages_this_week: 1 }, 'an account created by its first consume')

  await call(app, 'POST', '/api/v1/quota/reset/daily', { account: 'a' })
  t.same(await usage('a'), { messages_today: 0, messages_this_week: 5, images_today: 0, videos_this_week: 1 }, 'a manual daily reset clears the day only')
  await consume(app, 'a', 'text')
  await call(app, 'POST', '/api/v1/quota/reset/weekly')
  t.same(await usage('a'), { messages_today: 1, messages_this_week: 0, images_today: 0, videos_this_week: 0 }, 'a weekly reset of every account clears the week only')
  t.same(await usage('implicit'), { ...zero, messages_today: 1 })

  await consume(app, 'a', 'video')
  clock.set('2026-01-15T00:00:00Z') // Thursday
  t.same(await usage('a'), { ...zero, messages_this_week: 1, videos_this_week: 1 }, 'a new day: the day\'s counters read 0, with no reset and no consume')
  t.equal((await app.sellify.resetJobs.run('daily')).length, 3)
  t.same(await usage('a'), { ...zero, messages_this_week: 1, videos_this_week: 1 }, 'a scheduled reset clears nothing')
  clock.set('2026-01-19T00:00:00Z') // Monday
  t.same(await usage('a'), zero, 'a new week')
  await consume(app, 'a', 'text', 3)

  // Tokyo is already on Tuesday 2026-01-20: nothing was sent there that day.
  clock.set('2026-01-19T20:00:00Z')
  await putAccount(app, 'a', { timezone: 'Asia/Tokyo', limits })
  await app.sellify.quotaMetrics.idle()
  t.same(await usage('a'), { ...zero, messages_this_week: 3 }, 'a change of time zone: the counters of the period it is now in')

  await call(app, 'DELETE', '/api/v1/accounts/a')
  t.same(await usage('a'), { messages_today: undefined, messages_this_week: undefined, images_today: undefined, videos_this_week: undefined }, 'a deleted account is gone')
  await putAccount(app, 'a')
  t.same(await usage('a'), zero, 'created again: from nothing')
})

/** Counts every call of the app's store from now on, by method name. */
function countStoreCalls (app: FastifyInstance): string[] {
  const calls: string[] = []
  const store = app.sellify.store as unknown as Record<string, unknown>
  for (const [name, fn] of Object.entries(store)) {
    if (typeof fn !== 'function') continue
    store[name] = (...args: unknown[]) => {
      calls.push(name)
      return (fn as (...a: unknown[]) => unknown)(...args)
    }
  }
  return calls
}

t.test('a scrape reads nothing of the store, however many accounts there are', async (t) => {
  const app = await build(t, { metricsPublic: false })
  const calls = countStoreCalls(app)
  const scrapeCalls = async (): Promise<string[]> => {
    calls.length = 0
    const text = await app.sellify.metrics.metrics()
    t.match(text, 'sellify_quota_usage{')
    return [...calls]
  }
  t.same(await scrapeCalls(), [], 'one account')
  await Promise.all(Array.from({ length: 300 }, (_, i) => app.sellify.accounts.put(`acc-${i}`, {})))
  await Promise.all(Array.from({ length: 300 }, (_, i) => app.sellify.quota.consume({ account: `acc-${i}`, message_type: 'text' })))
  t.same(await scrapeCalls(), [], '301 accounts')
  t.equal(value(parse(await app.sellify.metrics.metrics()), 'sellify_quota_usage', { account: 'acc-299', counter: 'messages_today' }), 1)

  // Through HTTP (auth and all), a scrape makes as many store calls with 301 accounts as with 1.
  const httpCalls = async (target: FastifyInstance, counted: string[]): Promise<number> => {
    await scrape(target)
    counted.length = 0
    await scrape(target)
    return counted.length
  }
  const few = await build(t, { metricsPublic: false })
  t.equal(await httpCalls(app, calls), await httpCalls(few, countStoreCalls(few)))
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
  t.ok(value(parse(res.body), 'process_cpu_user_seconds_total') !== undefined)

  const keyed = await build(t, { metricsPublic: false })
  await consume(keyed, 'default', 'text', 2)
  await keyed.sellify.store.close()
  const m = parse(await keyed.sellify.metrics.metrics())
  t.ok(value(m, 'process_cpu_user_seconds_total') !== undefined)
  t.equal(value(m, 'sellify_quota_usage', { account: 'default', counter: 'messages_today' }), 2, 'the usage this instance last saw')
})
