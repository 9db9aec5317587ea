/**
 * Several instances on one PostgreSQL enforce one global quota. Two real server
 * processes (what `npm start` runs; `npm test` builds dist/ first) share one schema; 1000 concurrent
 * consumes, split between them, against a limit of 100 grant exactly 100.
 */
import t from 'tap'
import { PG_URL, pgSchema, pgSkip } from './helper.js'
import { startServer, type RunningServer } from './server-process.js'

const KEY = 'multi-instance-test-admin-key-0123456789'

async function stop (server: RunningServer): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return
  server.child.kill('SIGTERM')
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 5000)
  await server.exited
  clearTimeout(timer)
}

async function api (base: string, method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<{ status: number, json: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'x-api-key': KEY, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  return { status: res.status, json: await res.json() as Record<string, unknown> }
}

t.test('two instances on one PostgreSQL grant exactly 100 of 1000 concurrent consumes', { skip: await pgSkip() }, async (t) => {
  const schema = pgSchema(t)
  const env = {
    DATABASE_URL: PG_URL,
    SELLIFY_PG_SCHEMA: schema,
    SELLIFY_API_KEY: KEY,
    // Each instance counts its own rate limit: keep it out of the way of this load.
    SELLIFY_RATE_LIMIT_MAX: '100000'
  }
  // Started together: their migrations of the new schema race too.
  const servers = await Promise.allSettled([startServer(env), startServer(env)])
  const running = servers.flatMap((s) => s.status === 'fulfilled' ? [s.value] : [])
  // Registered after pgSchema's teardown, so (tap runs teardowns last-in, first-out) the servers stop before their schema is dropped.
  t.teardown(async () => { await Promise.all(running.map(stop)) })
  for (const s of servers) if (s.status === 'rejected') throw s.reason
  const [a, b] = running

  // The day's limit is the one raced: the hourly cap sits above it, and the number is an established one (no
  // warm-up, whose first day would cap it at 20; README, "How quotas work").
  const put = await api(a.url, 'PUT', '/api/v1/accounts/race', { limits: { messages_per_day: 100, messages_per_hour: 1000 }, warmup: { enabled: false } })
  t.equal(put.status, 201, 'the account is created on one instance')

  const results = await Promise.all(Array.from({ length: 1000 }, async (_, i) =>
    await api(i % 2 === 0 ? a.url : b.url, 'POST', '/api/v1/quota/consume', { message_type: 'text', account: 'race' })))
  t.strictSame([...new Set(results.map((r) => r.status))], [200], 'every consume was answered 200')
  const allowed = results.filter((r) => r.json.allowed === true)
  t.equal(allowed.length, 100, 'exactly 100 granted')
  t.equal(results.filter((r) => r.json.allowed === false && r.json.reason === 'messages_per_day').length, 900, 'the rest refused by the day limit')
  // Which instance granted how many is up to the race; the sum is what the quota promises.
  const fromEach = [0, 1].map((n) => results.filter((r, i) => i % 2 === n && r.json.allowed === true).length)
  t.comment(`granted by each instance: ${fromEach.join(' + ')}`)

  for (const [name, server] of [['first', a], ['second', b]] as const) {
    const status = await api(server.url, 'GET', '/api/v1/quota/status?account=race')
    t.equal(status.status, 200)
    t.match(status.json, {
      messages_today: 100,
      messages_this_week: 100,
      remaining: { messages_today: 0 }
    }, `the ${name} instance reports the same counters`)
  }
})
