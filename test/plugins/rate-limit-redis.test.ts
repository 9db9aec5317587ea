import t from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { randomBytes } from 'node:crypto'
import { createServer, type Server, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import sellify, { type SellifyOptions } from '../../app.js'
import { DEV_KEY, type LogLine, type TapTest } from '../helper.js'

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const small = { max: 3, timeWindow: '1 minute' }
/** Generous: a limiter that waits on Redis holds a request for seconds; a bounded one answers in tens of ms. */
const ANSWER_WITHIN_MS = 2000

interface Running { app: FastifyInstance, url: string, close: () => Promise<boolean> }

/** The app on a real socket, like the helper's build but closed by the test (or on teardown if it did not). */
async function start (t: TapTest, options: SellifyOptions, logs?: LogLine[]): Promise<Running> {
  const app = Fastify({ logger: logs === undefined ? false : { level: 'info', stream: { write: (line: string) => { logs.push(JSON.parse(line)) } } } })
  await app.register(sellify, { env: {}, scheduler: false, rateLimit: small, ...options, store: { sqlitePath: ':memory:' } })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  let closing: Promise<boolean> | undefined
  /** Whether close() finished within the bound. */
  const close = async (): Promise<boolean> => {
    closing ??= Promise.race([app.close().then(() => true), sleep(ANSWER_WITHIN_MS, false, { ref: false })])
    return await closing
  }
  t.teardown(close)
  return { app, url: `http://127.0.0.1:${address.port}`, close }
}

interface Answer { status: number, headers: Headers, body: string }

/** The answer, or null when none came before the bound (the request hung). */
async function request (url: string, key: string | null = DEV_KEY): Promise<Answer | null> {
  try {
    const res = await fetch(url, { headers: key === null ? {} : { 'x-api-key': key }, signal: AbortSignal.timeout(ANSWER_WITHIN_MS) })
    return { status: res.status, headers: res.headers, body: await res.text() }
  } catch (err) {
    if ((err as Error).name === 'TimeoutError') return null
    throw err
  }
}

function errorsCounted (metrics: Answer | null): number | undefined {
  const m = /^sellify_rate_limit_errors_total (\d+)$/m.exec(metrics?.body ?? '')
  return m === null ? undefined : Number(m[1])
}

/** A TCP server that accepts every connection and never answers: a Redis that has stopped responding. */
async function stallingServer (t: TapTest): Promise<{ server: Server, accepted: () => number, open: () => number }> {
  const sockets = new Set<Socket>()
  let accepted = 0
  const server = createServer((socket) => {
    accepted++
    sockets.add(socket)
    socket.on('error', () => {})
    socket.resume() // reads and drops the commands, so the client's end of the connection is seen
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => server.close(resolve))
  })
  return { server, accepted: () => accepted, open: () => sockets.size }
}

function portOf (server: Server): number {
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  return address.port
}

/** A port on which nobody listens (one the system just handed out and that was closed again). */
async function deadPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = portOf(server)
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** Requests of every kind are answered, the skipped checks are counted, /health is 200 and names the limiter degraded. */
async function assertRequestsGoThrough (t: TapTest, url: string): Promise<void> {
  const admin = await request(`${url}/api/v1/quota/status`)
  t.equal(admin?.status, 200, 'an authenticated request is answered')
  const anonymous = await request(`${url}/api/v1/quota/status`, null)
  t.equal(anonymous?.status, 401, 'an unauthenticated one too')
  const wrong = await request(`${url}/api/v1/keys`, 'sk_wrong-guess')
  t.equal(wrong?.status, 401, 'and one with a wrong key')

  const metrics = await request(`${url}/metrics`, null)
  t.equal(metrics?.status, 200, '/metrics is answered')
  t.ok((errorsCounted(metrics) ?? 0) >= 3, `every skipped check is counted (sellify_rate_limit_errors_total ${String(errorsCounted(metrics))})`)
  t.notMatch(metrics?.body ?? '', /sellify_rate_limit_errors_total\{/, 'the counter carries no labels (no key ids)')

  const health = await request(`${url}/health`, null)
  t.equal(health?.status, 200, '/health stays 200: requests still go through')
  t.match(JSON.parse(health?.body ?? '{}'), { status: 'healthy', store: 'sqlite', rate_limiter: 'degraded' }, 'and shows the limiter degraded')
}

t.test('Redis that accepts connections and never answers: requests are answered, skips counted, /health shows it, close is clean', async (t) => {
  const stall = await stallingServer(t)
  const { url, close } = await start(t, { redisUrl: `redis://127.0.0.1:${portOf(stall.server)}` })
  t.ok(stall.accepted() > 0, 'the app did connect to the stalling server')

  await assertRequestsGoThrough(t, url)

  t.ok(await close(), 'the app closes')
  for (let i = 0; i < 40 && stall.open() > 0; i++) await sleep(50)
  t.equal(stall.open(), 0, 'and leaves no connection open')
  const before = stall.accepted()
  await sleep(1500)
  t.equal(stall.accepted(), before, 'nor a client that reconnects after the close')
})

t.test('Redis down (nobody listens): requests are answered, skips counted, /health shows it, close is clean', async (t) => {
  const port = await deadPort()
  const logs: LogLine[] = []
  const { url, close } = await start(t, { redisUrl: `redis://127.0.0.1:${port}` }, logs)

  await assertRequestsGoThrough(t, url)
  await sleep(1200) // at least one reconnection attempt more
  const warnings = logs.filter((line) => line.level === 40 && /rate limiter/.test(line.msg))
  t.equal(warnings.length, 1, 'the outage is logged once, not once per request or reconnection')

  t.ok(await close(), 'the app closes')
  // Listen on the port now: a client left reconnecting would show up here.
  let reconnects = 0
  const late = createServer((socket) => { reconnects++; socket.destroy() })
  await new Promise<void>((resolve) => late.listen(port, '127.0.0.1', resolve))
  t.teardown(async () => { await new Promise((resolve) => late.close(resolve)) })
  await sleep(1500)
  t.equal(reconnects, 0, 'no client reconnects after the close')
})

t.test('without REDIS_URL, /health names the in-memory limiter', async (t) => {
  const { url } = await start(t, {})
  const health = await request(`${url}/health`, null)
  t.equal(health?.status, 200)
  t.match(JSON.parse(health?.body ?? '{}'), { status: 'healthy', rate_limiter: 'memory' })
  t.equal(errorsCounted(await request(`${url}/metrics`, null)), 0, 'the error counter is there, at 0')
})

/** Whether the real-Redis tests run: outside CI they are skipped with a notice when no server answers; under CI=true that is a failure. */
async function redisSkip (): Promise<string | false> {
  const probe = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null })
  probe.on('error', () => {})
  try {
    await probe.connect()
    await probe.ping()
    return false
  } catch (err) {
    if (process.env.CI === 'true') throw new Error(`Redis is required under CI=true but ${REDIS_URL} did not answer: ${String(err)}`)
    t.comment(`SKIPPING the Redis rate-limit tests: nothing answers at ${REDIS_URL}; set REDIS_URL or start a server to run them`)
    return `Redis not reachable at ${REDIS_URL}`
  } finally {
    probe.disconnect()
  }
}
const skip = await redisSkip()

/** A bootstrap key no earlier run used, so its bucket starts empty (Redis outlives a test run). */
const freshKey = (): string => `test-bootstrap-${randomBytes(12).toString('hex')}`

t.test('real Redis paused (CLIENT PAUSE): requests are answered and counted as skipped; afterwards the limiter counts again', { skip }, async (t) => {
  const apiKey = freshKey()
  const { url } = await start(t, { redisUrl: REDIS_URL, apiKey })
  const admin = new Redis(REDIS_URL)
  const before = new Set(await admin.keys('sellify-rate-limit:*'))
  t.teardown(async () => {
    const made = (await admin.keys('sellify-rate-limit:*')).filter((name) => !before.has(name))
    if (made.length > 0) await admin.del(...made)
    await admin.quit()
  })

  const first = await request(`${url}/api/v1/quota/status`, apiKey)
  t.equal(first?.status, 200)
  t.equal(first?.headers.get('x-ratelimit-remaining'), '2', 'counted in Redis')
  t.match(JSON.parse((await request(`${url}/health`, null))?.body ?? '{}'), { rate_limiter: 'redis' })

  // The pause must outlast the bound, so that a request waiting on Redis is seen as hanging.
  const pauseMs = ANSWER_WITHIN_MS + 1000
  await admin.call('CLIENT', 'PAUSE', String(pauseMs), 'ALL')
  const paused = Date.now()
  const during = await request(`${url}/api/v1/quota/status`, apiKey)
  t.equal(during?.status, 200, 'a request during the pause is answered')
  const metrics = await request(`${url}/metrics`, null)
  t.ok((errorsCounted(metrics) ?? 0) >= 1, `the skipped check is counted (${String(errorsCounted(metrics))})`)
  const health = await request(`${url}/health`, null)
  t.equal(health?.status, 200)
  t.match(JSON.parse(health?.body ?? '{}'), { status: 'healthy', rate_limiter: 'degraded' }, '/health shows the limiter degraded')

  await sleep(Math.max(0, pauseMs - (Date.now() - paused)) + 200)
  const after = await request(`${url}/api/v1/quota/status`, apiKey)
  t.equal(after?.status, 200)
  t.ok(Number(after?.headers.get('x-ratelimit-remaining')) < 2, 'after the pause, requests are counted again')
  t.match(JSON.parse((await request(`${url}/health`, null))?.body ?? '{}'), { rate_limiter: 'redis' }, 'and /health says so')
})

t.test('two deployments on one Redis count apart; two instances of one deployment count together', { skip }, async (t) => {
  const keyA = freshKey()
  const keyB = freshKey()
  const a = await start(t, { redisUrl: REDIS_URL, apiKey: keyA })
  const a2 = await start(t, { redisUrl: REDIS_URL, apiKey: keyA })
  const b = await start(t, { redisUrl: REDIS_URL, apiKey: keyB })
  const redis = new Redis(REDIS_URL)
  const before = new Set(await redis.keys('sellify-rate-limit:*'))
  t.teardown(async () => {
    const made = (await redis.keys('sellify-rate-limit:*')).filter((name) => !before.has(name))
    if (made.length > 0) await redis.del(...made)
    await redis.quit()
  })

  const statuses = []
  for (let i = 0; i < 3; i++) statuses.push((await request(`${a.url}/api/v1/quota/status`, keyA))?.status)
  t.strictSame(statuses, [200, 200, 200])
  t.equal((await request(`${a2.url}/api/v1/quota/status`, keyA))?.status, 429, 'another instance of deployment A shares its bootstrap key\'s bucket')

  const other = await request(`${b.url}/api/v1/quota/status`, keyB)
  t.equal(other?.status, 200, 'deployment B\'s bootstrap key has a bucket of its own')
  t.equal(other?.headers.get('x-ratelimit-remaining'), '2', 'untouched by A\'s requests')

  const made = (await redis.keys('sellify-rate-limit:*')).filter((name) => !before.has(name))
  const buckets = made.filter((name) => name.endsWith('key:bootstrap'))
  t.equal(buckets.length, 2, `one bootstrap bucket per deployment: ${buckets.join(', ')}`)
  t.notOk(made.some((name) => name.includes(keyA) || name.includes(keyB)), 'no Redis key name contains a secret')
})
