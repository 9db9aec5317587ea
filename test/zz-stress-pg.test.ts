import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { build, call, fixedClock, PG_URL, pgSchema, type LogLine, type TapTest } from './helper.js'
const KEY = '5e'.repeat(32)
const X = '+33612345678'
async function inst (t: TapTest, schema: string, clock: any, logs: LogLine[]): Promise<FastifyInstance> {
  return await build(t, { now: clock.now, env: { SELLIFY_ENCRYPTION_KEY: KEY }, scheduler: false, store: { databaseUrl: PG_URL, pgSchema: schema } }, { logs })
}
for (let n = 0; n < 8; n++) {
  t.test('stress ' + n, async (t) => {
    const clock = fixedClock('2026-01-18T12:00:00.000Z')
    const schema = pgSchema(t)
    const logs: LogLine[] = []
    const a = await inst(t, schema, clock, logs)
    await call(a, 'PUT', '/api/v1/accounts/default', { active_hours: 'always' })
    const b = await inst(t, schema, clock, logs)
    const say = async (app: FastifyInstance, c: string, text: string, id?: string) => {
      const r = await call(app, 'POST', '/api/v1/messages/incoming', { contact: c, text, message_id: id })
      if (r.statusCode !== 200) { console.log('FAIL', r.statusCode, r.body, JSON.stringify(logs.filter(l => l.level >= 40), null, 1).slice(0, 4000)); t.fail('503') }
      return r
    }
    for (let round = 0; round < 5; round++) {
      clock.advance(1000)
      await say(a, X, 'Combien coûte la crème', `w1-${round}`)
      await say(b, X, 'je prends', `w2-${round}`)
      const many = Array.from({ length: 9 }, (_, i) => `+22507${round}0000${i}`)
      await Promise.all(many.map(async (c, i) => await say(i % 2 === 0 ? a : b, c, 'Bonjour')))
      const p = await call(b, 'POST', `/api/v1/conversations/${X}/pause`, { minutes: 10 })
      if (p.statusCode !== 200) console.log('PAUSE', p.body)
      await say(a, X, 'Allô ?', `w4-${round}`)
      await call(a, 'POST', `/api/v1/conversations/${X}/resume`, {})
    }
    t.pass()
  })
}
