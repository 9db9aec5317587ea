import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import type { SellifyOptions } from '../../app.js'
import { build, call, DEV_KEY } from '../helper.js'
import { limiterNamespace } from '../../lib/ratelimit/redis.js'

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
/** The counters' prefix of a deployment whose bootstrap key is the dev key (see rate-limit-redis.test.ts). */
const NAMESPACE = limiterNamespace(DEV_KEY)
const small = { max: 3, timeWindow: '1 minute' }
const ERROR_SHAPE = { statusCode: Number, error: String, message: String }

/** A fresh address per test: the no-key bucket is per IP, and Redis outlives a test run. */
const freshIp = (): string => `10.${randomBytes(3).join('.')}`

async function get (app: FastifyInstance, url: string, key: string | null, ip = '127.0.0.1'): Promise<LightMyRequestResponse> {
  return await app.inject({ method: 'GET', url, remoteAddress: ip, headers: key === null ? {} : { 'x-api-key': key } })
}

/**
 * An account and an agent key made through the services the routes use, not over HTTP, so that no admin
 * request spends the bootstrap key's bucket (shared in Redis by every test that uses it).
 */
async function agentKey (app: FastifyInstance, account: string): Promise<{ id: string, key: string }> {
  await app.sellify.accounts.put(account, {})
  const { id, key } = await app.sellify.keys.create({ name: `bot of ${account}`, role: 'agent', account })
  return { id, key }
}

function assertLimited (t: Test, res: LightMyRequestResponse, max: number, what: string): void {
  t.equal(res.statusCode, 429, `${what}: 429`)
  t.match(res.headers['retry-after'], /^\d+$/, `${what}: Retry-After`)
  t.ok(Number(res.headers['retry-after']) > 0 && Number(res.headers['retry-after']) <= 60, `${what}: Retry-After within the window`)
  t.equal(res.headers['x-ratelimit-limit'], String(max), `${what}: x-ratelimit-limit`)
  t.equal(res.headers['x-ratelimit-remaining'], '0', `${what}: x-ratelimit-remaining`)
  t.match(res.json(), { ...ERROR_SHAPE, statusCode: 429, error: 'Too Many Requests' }, `${what}: error shape`)
}

t.test('per key: the 4th request of a key is a 429; other keys, and /health, go on', async (t) => {
  const app = await build(t, { scheduler: false, rateLimit: small })
  const one = await agentKey(app, 'acme')
  const two = await agentKey(app, 'beta')

  for (let i = 1; i <= 3; i++) {
    const res = await get(app, '/api/v1/quota/status', one.key)
    t.equal(res.statusCode, 200, `request ${i}`)
    t.equal(res.headers['x-ratelimit-limit'], '3')
    t.equal(res.headers['x-ratelimit-remaining'], String(3 - i))
  }
  const fourth = await get(app, '/api/v1/quota/status', one.key)
  assertLimited(t, fourth, 3, '4th request of key one')
  const otherRoute = await call(app, 'POST', '/api/v1/quota/consume', { message_type: 'text' }, one.key)
  assertLimited(t, otherRoute, 3, 'the limit is per key, across routes')
  t.equal((await call(app, 'GET', '/api/v1/quota/status?account=acme')).json().messages_today, 0, 'a limited consume counts nothing')

  t.equal((await get(app, '/api/v1/quota/status', two.key)).statusCode, 200, 'another key still passes')
  t.equal((await get(app, '/api/v1/quota/status', DEV_KEY)).statusCode, 200, 'the admin key too')
  t.equal((await get(app, '/api/v1/quota/status', one.key, freshIp())).statusCode, 429, 'a key is limited whatever address it comes from')

  for (let i = 0; i < 10; i++) {
    for (const url of ['/health', '/api/v1/health', '/dashboard/', '/dashboard/index.html']) {
      const res = await get(app, url, one.key)
      t.equal(res.statusCode, 200, `${url} #${i + 1}`)
      t.notOk('x-ratelimit-limit' in res.headers, `${url} is never limited`)
    }
  }
})

t.test('without a valid key the bucket is the IP: rotating wrong keys does not escape it', async (t) => {
  const app = await build(t, { scheduler: false, rateLimit: small })
  const ip = freshIp()
  const statuses: number[] = []
  for (const key of [null, 'sk_guess-1', 'sk_guess-2', 'sk_guess-3', null]) {
    statuses.push((await get(app, '/api/v1/quota/status', key, ip)).statusCode)
  }
  t.strictSame(statuses, [401, 401, 401, 429, 429], 'the rate limit runs before the refusal, on the address')
  assertLimited(t, await get(app, '/api/v1/keys', 'sk_guess-4', ip), 3, 'guessing from a limited address')
  t.equal((await get(app, '/api/v1/quota/status', null, freshIp())).statusCode, 401, 'another address is not limited')
  t.equal((await get(app, '/api/v1/quota/status', DEV_KEY, ip)).statusCode, 200, 'a valid key from that address has its own bucket')
})

t.test('without a key, IPv6 clients are counted per /64: rotating addresses inside one prefix does not escape', async (t) => {
  const app = await build(t, { scheduler: false, rateLimit: small })
  const statuses: number[] = []
  for (const ip of ['2001:db8:1:2::1', '2001:db8:1:2::2', '2001:db8:1:2:ffff::3', '2001:db8:1:2::4']) {
    statuses.push((await get(app, '/api/v1/quota/status', null, ip)).statusCode)
  }
  t.strictSame(statuses, [401, 401, 401, 429])
  t.equal((await get(app, '/api/v1/quota/status', null, '2001:db8:1:3::1')).statusCode, 401, 'another /64 has its own bucket')
  t.equal((await get(app, '/api/v1/quota/status', null, '::ffff:10.9.8.7')).statusCode, 401, 'IPv4-mapped addresses count as IPv4')
})

/** Whether the Redis tests run: outside CI they are skipped with a notice when no server answers; under CI=true that is a failure. */
async function redisReachable (): Promise<boolean> {
  const probe = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null })
  probe.on('error', () => {})
  try {
    await probe.connect()
    await probe.ping()
    return true
  } catch (err) {
    if (process.env.CI === 'true') throw new Error(`Redis is required under CI=true but ${REDIS_URL} did not answer: ${String(err)}`)
    return false
  } finally {
    probe.disconnect()
  }
}

async function redisSkip (): Promise<string | false> {
  if (await redisReachable()) return false
  t.comment(`SKIPPING the Redis rate-limit test: nothing answers at ${REDIS_URL}; set REDIS_URL or start a server to run it`)
  return `Redis not reachable at ${REDIS_URL}`
}

t.test('Redis: two instances share one limit; Redis key names hold ids, never secrets', { skip: await redisSkip() }, async (t) => {
  const redis = new Redis(REDIS_URL)
  const ip = freshIp()
  const patterns: string[] = []
  t.teardown(async () => {
    for (const pattern of patterns) {
      const keys = await redis.keys(pattern)
      if (keys.length > 0) await redis.del(...keys)
    }
    await redis.quit()
  })

  // Two instances on one SQLite file (so both know the key) and one Redis (so both count it).
  const dir = t.testdir({})
  const options: SellifyOptions = { scheduler: false, rateLimit: small, redisUrl: REDIS_URL, store: { sqlitePath: join(dir, 'shared.db') } }
  const a = await build(t, options)
  const b = await build(t, options)
  const agent = await agentKey(a, 'acme')
  const other = await agentKey(a, 'beta')
  patterns.push(`${NAMESPACE}*${agent.id}*`, `${NAMESPACE}*${other.id}*`, `${NAMESPACE}*${ip}*`)

  const seen = [
    (await get(a, '/api/v1/quota/status', agent.key)).statusCode,
    (await get(b, '/api/v1/quota/status', agent.key)).statusCode,
    (await get(a, '/api/v1/quota/status', agent.key)).statusCode
  ]
  t.strictSame(seen, [200, 200, 200], 'three requests spread over both instances')
  assertLimited(t, await get(b, '/api/v1/quota/status', agent.key), 3, 'the 4th, on B, counts A\'s too')
  assertLimited(t, await get(a, '/api/v1/quota/status', agent.key), 3, 'and A agrees')
  t.equal((await get(b, '/api/v1/quota/status', other.key)).statusCode, 200, 'another key still passes')
  for (let i = 0; i < 5; i++) t.equal((await get(b, '/health', agent.key)).statusCode, 200, '/health is never limited')

  t.equal((await get(a, '/api/v1/quota/status', null, ip)).statusCode, 401)
  t.equal((await get(b, '/api/v1/quota/status', 'sk_wrong-guess', ip)).statusCode, 401)

  const entry = `${NAMESPACE}key:${agent.id}`
  t.equal(await redis.get(entry), '5', `${entry} counts both instances' requests`)
  const ttl = await redis.pttl(entry)
  t.ok(ttl > 0 && ttl <= 60_000, 'and expires with the window')
  t.equal(await redis.get(`${NAMESPACE}ip:${ip}`), '2', 'keyless requests count on the address')

  const names = await redis.keys(`${NAMESPACE}*`)
  t.ok(names.includes(entry))
  for (const secret of [agent.key, other.key, DEV_KEY, 'sk_wrong-guess']) {
    t.notOk(names.some((n) => n.includes(secret)), 'no Redis key name contains a secret')
  }
})

t.test('the window is a positive duration: anything else stops the start, naming the variable', async (t) => {
  for (const window of ['soon', '0', '0 minutes', '-5 minutes', '1 fortnight', '']) {
    await t.rejects(build(t, { scheduler: false, env: { SELLIFY_RATE_LIMIT_WINDOW: window === '' ? ' ' : window } }), /SELLIFY_RATE_LIMIT_WINDOW/, JSON.stringify(window))
  }
  for (const [window, seconds] of [['30s', '30'], ['2 minutes', '120'], ['1 hour', '3600'], ['1500', '2']] as const) {
    const app = await build(t, { scheduler: false, env: { SELLIFY_RATE_LIMIT_WINDOW: window } })
    const res = await get(app, '/api/v1/quota/status', DEV_KEY)
    t.equal(res.statusCode, 200, window)
    t.equal(res.headers['x-ratelimit-reset'], seconds, `${window}: a window of ${seconds} s`)
  }
})
