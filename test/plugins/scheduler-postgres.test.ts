import t from 'tap'
import { fixedClock, PG_URL, pgSchema, pgSkip } from '../helper.js'
import { buildLogged, installClock, resets, runLines } from './scheduler-helper.js'
import type { FastifyInstance } from 'fastify'
import type { ResetRecord } from '../../lib/resets/types.js'

const ACCOUNTS = 40

/** Each (account, type, period) with how many resets it has: exactly once means every count is 1. */
function ledger (list: ResetRecord[]): Map<string, number> {
  const counts = new Map<string, number>()
  for (const r of list) {
    const key = `${r.account} ${r.reset_type} ${r.period}`
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return counts
}

async function createAccounts (app: FastifyInstance): Promise<void> {
  await Promise.all(Array.from({ length: ACCOUNTS }, (_, i) => app.sellify.accounts.put(`acc-${i}`, {})))
}

const skip = await pgSkip()

t.test('two instances on one PostgreSQL racing the same boundary record each reset exactly once', { skip }, async (t) => {
  const clock = fixedClock('2026-01-18T12:00:00Z') // Sunday
  const store = { databaseUrl: PG_URL, pgSchema: pgSchema(t) }
  const a = await buildLogged(t, { now: clock.now, store })
  const b = await buildLogged(t, { now: clock.now, store })
  await createAccounts(a.app)

  clock.set('2026-01-19T00:00:01Z') // Monday: a new day and a new week
  const attempts: Array<Promise<ResetRecord[]>> = []
  for (let i = 0; i < 5; i++) {
    for (const { app } of [a, b]) {
      attempts.push(app.sellify.resetJobs.run('daily'), app.sellify.resetJobs.run('weekly'))
      attempts.push(app.sellify.resets.periodic('daily', 'schedule'), app.sellify.resets.periodic('weekly', 'catch-up'))
    }
  }
  const recorded = (await Promise.all(attempts)).flat()

  const all = await resets(a.app)
  const counts = ledger(all)
  t.equal(counts.size, 2 * (ACCOUNTS + 1), 'a daily and a weekly reset for every account, default included')
  t.same([...counts.values()].filter((n) => n !== 1), [], 'none twice')
  t.equal(recorded.length, all.length, 'and each attempt reports only what it recorded')
  t.same(new Set(all.map((r) => r.period)), new Set(['2026-01-19', '2026-W04']))
  t.same(all.map((r) => r.id).sort((x, y) => x - y), recorded.map((r) => r.id).sort((x, y) => x - y))
})

t.test('two instances whose jobs fire at the same instant record each reset exactly once', { skip }, async (t) => {
  const clock = installClock(t, '2026-01-18T23:59:59Z')
  const store = { databaseUrl: PG_URL, pgSchema: pgSchema(t) }
  const a = await buildLogged(t, { store })
  const b = await buildLogged(t, { store })
  clock.setSystemTime(Date.parse('2026-01-18T23:59:58Z'))
  await createAccounts(a.app)
  await b.app.sellify.resetJobs.replan()
  t.same(a.app.sellify.resetJobs.jobs(), b.app.sellify.resetJobs.jobs(), 'the same jobs, waiting for the same instant')

  await clock.tickAsync(3000)
  await Promise.all([a.app.sellify.resetJobs.idle(), b.app.sellify.resetJobs.idle()])
  const all = await resets(b.app)
  const counts = ledger(all)
  t.equal(counts.size, 2 * (ACCOUNTS + 1))
  t.same([...counts.values()].filter((n) => n !== 1), [], 'none twice')
  t.same(new Set(all.map((r) => `${r.source} ${r.period}`)), new Set(['schedule 2026-01-19', 'schedule 2026-W04']))
  // The fake clock keeps ticking while the instances wait for PostgreSQL, so a run may stamp a second or two later.
  t.ok(all.every((r) => r.timestamp >= '2026-01-19T00:00:00.000Z' && r.timestamp <= '2026-01-19T00:00:03.000Z'), 'at the boundary')
  for (const type of ['daily', 'weekly'] as const) {
    const lines = [...runLines(a.logs, 'schedule', type), ...runLines(b.logs, 'schedule', type)]
    t.equal(lines.length, 2, `both instances ran the ${type} job`)
    t.equal(lines.reduce((sum, l) => sum + Number(l.recorded), 0), ACCOUNTS + 1, 'and between them recorded each account once')
  }
})
