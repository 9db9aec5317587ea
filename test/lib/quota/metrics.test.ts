import t from 'tap'
import { Registry } from 'prom-client'
import { registerQuotaMetrics } from '../../../lib/quota/metrics.js'
import { createEvents } from '../../../lib/shared/events.js'
import type { AccountEvent, AccountService } from '../../../lib/accounts/service.js'
import type { Account } from '../../../lib/accounts/types.js'
import type { QuotaService, UsageSnapshot } from '../../../lib/quota/service.js'
import type { ResetEvent, ResetService } from '../../../lib/resets/service.js'
import type { PeriodUsage } from '../../../lib/quota/types.js'
import { makeAccount } from '../store/contract/fixtures.js'

const account = (id: string): Account => makeAccount(id)

const messages = (n: number): PeriodUsage => ({ messages: n, images: 0, videos: 0 })
const snapshot = (id: string, n: number): UsageSnapshot => ({
  account: id, usage: { hour: messages(n), day: messages(n), week: messages(n) }, dayEnd: new Date('2026-01-15T00:00:00Z'), weekEnd: new Date('2026-01-19T00:00:00Z')
})

/** Fake engines whose store reads the test answers by hand. */
function setup () {
  const usageEvents = createEvents<UsageSnapshot>()
  const accountEvents = createEvents<AccountEvent>()
  const resetEvents = createEvents<ResetEvent>()
  const pending: Array<{ id: string, answer: (n: number) => void }> = []
  let answerList: (list: Account[]) => void = () => {}
  const quota = {
    observe: () => {},
    observeUsage: usageEvents.observe,
    usageOf: async (a: Account) => await new Promise<UsageSnapshot>((resolve) => pending.push({ id: a.id, answer: (n) => resolve(snapshot(a.id, n)) }))
  } as unknown as QuotaService
  const accounts = {
    observe: accountEvents.observe,
    list: async () => await new Promise<Account[]>((resolve) => { answerList = resolve }),
    require: async (id: string) => account(id)
  } as unknown as AccountService
  const resets = { observe: resetEvents.observe } as unknown as ResetService
  const register = new Registry()
  const metrics = registerQuotaMetrics(register, { quota, accounts, resets, now: () => new Date('2026-01-14T10:00:00Z'), log: { warn: () => {} }, usage: true })
  const today = async (): Promise<Record<string, number>> => {
    const gauge = (await register.getMetricsAsJSON()).find((m) => m.name === 'sellify_quota_usage')
    const values = (gauge?.values ?? []) as Array<{ labels: Record<string, string>, value: number }>
    return Object.fromEntries(values.filter((v) => v.labels.counter === 'messages_today').map((v) => [v.labels.account, v.value]))
  }
  const tick = async () => await new Promise((resolve) => setImmediate(resolve))
  return { metrics, usageEvents, accountEvents, resetEvents, pending, answerList: (list: Account[]) => answerList(list), today, tick }
}

t.test('a read of counters that began before an event never overwrites what the event said', async (t) => {
  const s = setup()
  const started = s.metrics.start()
  await s.tick()
  s.answerList([account('a'), account('b'), account('c')])
  await s.tick()
  t.same(s.pending.map((p) => p.id), ['a', 'b', 'c'], 'the listed accounts are read once, on start')
  s.usageEvents.emit(snapshot('a', 5)) // a consume answered while a's read was in flight
  s.pending[0].answer(3)
  s.pending[1].answer(2)
  s.pending[2].answer(4)
  await started
  t.same(await s.today(), { a: 5, b: 2, c: 4 })

  s.accountEvents.emit({ type: 'changed', account: 'b', current: { ...account('b'), timezone: 'Asia/Tokyo' } })
  s.resetEvents.emit({ reset_type: 'daily', source: 'manual', account: 'b' })
  t.same(await s.today(), { a: 5, b: 0, c: 4 }, 'the manual reset, at once')
  t.equal(s.pending.length, 5, 'the change asked for a read, and the reset for another')
  s.pending[3].answer(7) // the change's read, answered with what it saw before the reset
  await s.tick()
  t.same(await s.today(), { a: 5, b: 0, c: 4 }, 'older than the reset: dropped')
  s.pending[4].answer(1)
  await s.metrics.idle()
  t.same(await s.today(), { a: 5, b: 1, c: 4 }, 'the read after the reset counts')
  s.resetEvents.emit({ reset_type: 'daily', source: 'schedule', account: 'c' })
  t.same(await s.today(), { a: 5, b: 1, c: 4 }, 'a scheduled reset clears nothing')
  t.equal(s.pending.length, 5, 'and reads nothing')
})

t.test('an account deleted while the start reads the list is not listed', async (t) => {
  const s = setup()
  const started = s.metrics.start()
  await s.tick()
  s.accountEvents.emit({ type: 'deleted', account: 'gone' })
  s.accountEvents.emit({ type: 'created', account: 'new', current: account('new') })
  s.answerList([account('gone'), account('kept')])
  await s.tick()
  t.same(s.pending.map((p) => p.id), ['kept'], 'only the account neither deleted nor created meanwhile is read')
  s.pending[0].answer(1)
  await started
  t.same(await s.today(), { kept: 1, new: 0 })
})

t.test('without the usage option, no gauge, and nothing is read or held', async (t) => {
  const register = new Registry()
  let reads = 0
  const quota = { observe: () => {}, observeUsage: () => { reads++ }, usageOf: async () => { reads++ } } as unknown as QuotaService
  const accounts = { observe: () => { reads++ }, list: async () => { reads++; return [] } } as unknown as AccountService
  const resets = { observe: () => { reads++ } } as unknown as ResetService
  const metrics = registerQuotaMetrics(register, { quota, accounts, resets, now: () => new Date(), log: { warn: () => {} }, usage: false })
  await metrics.start()
  t.equal(reads, 0, 'no observer, no read')
  t.notOk((await register.metrics()).includes('sellify_quota_usage'))
})
