import t from 'tap'
import Fastify from 'fastify'
import httpContract from '../../plugins/app/http-contract.js'
import { defineError, StoreUnavailable } from '../../lib/shared/errors.js'
import type { TapTest } from '../helper.js'

/** The error contract on a bare Fastify: the handler keys on codes, not on statuses. */
async function bare (t: TapTest) {
  const lines: Array<{ level: number, msg: string, code?: string }> = []
  const app = Fastify({ logger: { level: 'info', stream: { write: (line: string) => { lines.push(JSON.parse(line)) } } } })
  await app.register(httpContract)
  const AiUnavailable = defineError('SELLIFY_AI_UNAVAILABLE', 503, (why: string) => `AI gateway unavailable: ${why}`)
  app.get('/store', async () => { throw StoreUnavailable(new Error('disk on fire')) })
  app.get('/ai', async () => { throw AiUnavailable('circuit open') })
  app.get('/bug', async () => { throw new TypeError('internal detail') })
  await app.ready()
  t.teardown(() => app.close())
  return { app, lines }
}

t.test('a store failure is a 503 with Retry-After, logged as the store\'s outage', async (t) => {
  const { app, lines } = await bare(t)
  const res = await app.inject('/store')
  t.equal(res.statusCode, 503)
  t.equal(res.headers['retry-after'], '1')
  t.match(res.json(), { statusCode: 503, error: 'Service Unavailable', code: 'SELLIFY_STORE_UNAVAILABLE' })
  t.ok(lines.some((l) => l.level === 50 && l.msg === 'store unavailable: failing closed'))
})

t.test('another engine\'s 503 keeps its own code and is never logged as a store outage', async (t) => {
  const { app, lines } = await bare(t)
  const res = await app.inject('/ai')
  t.equal(res.statusCode, 503)
  t.match(res.json(), { statusCode: 503, code: 'SELLIFY_AI_UNAVAILABLE', message: 'AI gateway unavailable: circuit open' })
  t.notOk(lines.some((l) => /store/.test(l.msg)), 'no line speaks of the store')
  t.ok(lines.some((l) => l.level === 50 && l.code === 'SELLIFY_AI_UNAVAILABLE'))
})

t.test('an unexpected error is a generic 500', async (t) => {
  const { app } = await bare(t)
  const res = await app.inject('/bug')
  t.equal(res.statusCode, 500)
  t.notMatch(res.body, /internal detail/)
})
