/**
 * The anti-ban second stage (README, "How quotas work") with two app instances on one PostgreSQL schema: a pause caused
 * on one is enforced by the other at once, a resume on either lifts it for both, and the hourly cap and the warm-up
 * cap stay global under concurrent consumes spread over both.
 */
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { build, call, fixedClock, PG_URL, pgSchema, pgSkip, type TapTest } from './helper.js'

type Json = Record<string, any>
type Clock = ReturnType<typeof fixedClock>

// Both instances share one master key: a signal's detail sealed by one is read by the other.
const KEY = '7a'.repeat(32)

const skip = await pgSkip()

async function instance (t: TapTest, schema: string, clock: Clock): Promise<FastifyInstance> {
  return await build(t, { now: clock.now, env: { SELLIFY_ENCRYPTION_KEY: KEY }, scheduler: false, store: { databaseUrl: PG_URL, pgSchema: schema } })
}

/** Two instances on a fresh schema; the account is written through the first before the second starts (fresh caches). */
async function pair (t: TapTest, clock: Clock, account: string, config: Json): Promise<[FastifyInstance, FastifyInstance]> {
  const schema = pgSchema(t)
  const a = await instance(t, schema, clock)
  const put = await call(a, 'PUT', `/api/v1/accounts/${account}`, config)
  t.equal(put.statusCode, 201, put.body)
  const b = await instance(t, schema, clock)
  return [a, b]
}

async function json (app: FastifyInstance, method: 'GET' | 'POST', url: string, body?: unknown): Promise<Json> {
  const res = await call(app, method, url, body)
  if (res.statusCode !== 200) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`)
  return res.json()
}

const consume = async (app: FastifyInstance, account: string): Promise<Json> => await json(app, 'POST', '/api/v1/quota/consume', { message_type: 'text', account })
const status = async (app: FastifyInstance, account: string): Promise<Json> => await json(app, 'GET', `/api/v1/quota/status?account=${account}`)

/** `n` consumes sent at once, alternately to each instance. */
async function burst (apps: FastifyInstance[], account: string, n: number): Promise<Json[]> {
  return await Promise.all(Array.from({ length: n }, async (_, i) => await consume(apps[i % apps.length], account)))
}

t.test('a pause caused on one instance is enforced by the other at once; a resume on the other lifts it for both', { skip }, async (t) => {
  const clock = fixedClock('2026-01-18T12:00:00.000Z')
  const [a, b] = await pair(t, clock, 'shop', { active_hours: 'always' })
  const say = async (app: FastifyInstance, id: string): Promise<Json> =>
    await json(app, 'POST', '/api/v1/messages/incoming', { account: 'shop', contact: '+2250701020304', message_id: id, text: 'Bonjour' })

  t.match(await consume(b, 'shop'), { allowed: true, delay_seconds: 5 })
  t.not((await say(b, 'wamid-1')).rule, 'account_paused')

  t.match(await json(a, 'POST', '/api/v1/accounts/shop/signals', { type: 'forbidden', detail: 'Baileys 403' }), { score: 50, paused_until: null })
  t.equal((await consume(b, 'shop')).delay_seconds, 10, 'B paces the number doubled after A\'s signal')
  const paused = await json(a, 'POST', '/api/v1/accounts/shop/signals', { type: 'reported' })
  t.match(paused, { score: 20, paused_until: '2026-01-18T13:00:00.000Z', pause_reason: 'health' })

  t.match(await consume(b, 'shop'), { allowed: false, reason: 'account_paused', retry_after_seconds: 3600 }, 'B refuses at once')
  t.match(await json(b, 'POST', '/api/v1/quota/check', { message_type: 'image', account: 'shop' }), { can_send: false, reason: 'account_paused' })
  t.match(await say(b, 'wamid-2'), { action: 'stop_automation', rule: 'account_paused', reply: null }, 'B\'s decisions stop the automation')
  t.match(await json(b, 'GET', '/api/v1/accounts/shop/health'), {
    score: 20, paused_until: '2026-01-18T13:00:00.000Z', pause_reason: 'health', signals: [{ type: 'reported' }, { type: 'forbidden', detail: 'Baileys 403' }]
  }, 'B reads the health A wrote, the detail included')
  t.equal((await status(b, 'shop')).paused_until, '2026-01-18T13:00:00.000Z')
  const alerts = (await json(b, 'GET', '/api/v1/alerts?account=shop')).alerts as Json[]
  t.equal(alerts.filter((x) => x.trigger === 'account_paused' && x.severity === 'critical').length, 1, 'one account_paused alert')

  t.match(await json(b, 'POST', '/api/v1/accounts/shop/resume'), { paused_until: null, score: 20 })
  t.match(await consume(a, 'shop'), { allowed: true, delay_seconds: 10 }, 'A sends again after B\'s resume, slowed')
  t.not((await say(a, 'wamid-3')).rule, 'account_paused')
  t.match(await json(a, 'GET', '/api/v1/accounts/shop/health'), { paused_until: null, pause_reason: null })

  t.match(await json(a, 'POST', '/api/v1/accounts/shop/pause', { minutes: 10 }), { paused_until: '2026-01-18T12:10:00.000Z', pause_reason: 'manual' })
  t.match(await consume(b, 'shop'), { allowed: false, reason: 'account_paused', retry_after_seconds: 600 }, 'a pause by hand on A holds on B')
  clock.set('2026-01-18T12:10:00.000Z')
  t.match(await consume(b, 'shop'), { allowed: true }, 'and ends for B on the clock')
  t.match(await json(b, 'GET', '/api/v1/audit/verify?account=shop'), { valid: true, first_invalid_id: null }, 'one audit chain from both instances')
})

t.test('200 concurrent consumes over both instances against messages_per_hour 37 grant exactly 37', { skip }, async (t) => {
  const clock = fixedClock('2026-01-18T12:15:00.000Z')
  const [a, b] = await pair(t, clock, 'race', { limits: { messages_per_hour: 37 }, warmup: { enabled: false } })

  const answers = await burst([a, b], 'race', 200)
  t.equal(answers.filter((r) => r.allowed === true).length, 37, 'exactly 37 granted')
  t.equal(answers.filter((r) => r.allowed === false && r.reason === 'messages_per_hour' && r.retry_after_seconds === 45 * 60).length, 163,
    'the rest refused by the hourly cap, retry at 13:00')
  t.comment(`granted by each instance: ${[0, 1].map((n) => answers.filter((r, i) => i % 2 === n && r.allowed === true).length).join(' + ')}`)
  for (const [name, app] of [['A', a], ['B', b]] as const) {
    t.match(await status(app, 'race'), { messages_this_hour: 37, messages_today: 37, remaining: { messages_this_hour: 0 } }, `${name} reports the same counters`)
  }

  clock.set('2026-01-18T13:00:00.000Z')
  const next = await burst([b, a], 'race', 60)
  t.equal(next.filter((r) => r.allowed === true).length, 37, 'the next hour: 37 again')
  t.match(await status(a, 'race'), { messages_this_hour: 37, messages_today: 74 })
})

t.test('the same warm-up cap on both instances, day by day, under concurrent consumes', { skip }, async (t) => {
  // 5 a day growing to 100 on day 10: round(5 × 20^((n - 1) / 9)) is 5 on day 1 and 7 on day 2; midnight in São Paulo is 03:00Z.
  const clock = fixedClock('2026-01-19T20:00:00.000Z')
  const [a, b] = await pair(t, clock, 'novo', { timezone: 'America/Sao_Paulo', limits: { messages_per_day: 100 }, warmup: { enabled: true, start_per_day: 5, days: 10 } })

  for (const [day, cap, at] of [[1, 5, '2026-01-19T20:00:00.000Z'], [2, 7, '2026-01-20T03:00:00.000Z']] as const) {
    clock.set(at)
    for (const [name, app] of [['A', a], ['B', b]] as const) {
      t.match(await status(app, 'novo'), { warmup_day: day, effective_limits: { messages_per_day: cap }, remaining: { messages_today: cap } }, `day ${day} on ${name}: ${cap}`)
    }
    const answers = await burst([a, b], 'novo', 40)
    t.equal(answers.filter((r) => r.allowed === true).length, cap, `day ${day}: exactly ${cap} of 40 granted`)
    t.equal(answers.filter((r) => r.allowed === false && r.reason === 'warmup').length, 40 - cap, 'the rest refused by the warm-up')
    t.match(await status(b, 'novo'), { messages_today: cap, remaining: { messages_today: 0 } })
  }

  clock.set('2026-01-23T03:00:01.000Z')
  for (const [name, app] of [['A', a], ['B', b]] as const) {
    t.match(await status(app, 'novo'), { warmup_day: 1, effective_limits: { messages_per_day: 5 } }, `over 72 h without a send: day 1 again on ${name}`)
  }
  t.equal((await burst([b, a], 'novo', 20)).filter((r) => r.allowed === true).length, 5)
})
