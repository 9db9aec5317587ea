/** Every backend: migrations, ping, and failing closed once closed. */
import type { Test } from 'tap'
import { consumeInput, DAY, keys, makeAccount, uid, WEEK, writable, type ContractContext } from './fixtures.js'

export function lifecycleContract (t: Test, { harness, open }: ContractContext): void {
  t.test('migrate is idempotent and ping answers', async (t) => {
    const store = await open(t)
    await store.migrate()
    await store.migrate()
    await t.resolves(store.ping())
    const again = await open(t)
    await again.migrate()
    t.equal(await again.getAccount(uid('nobody')), null)
  })

  t.test('a closed store rejects every call (fail closed)', async (t) => {
    const store = writable(await harness.open())
    const id = uid('closed')
    await store.close()
    await store.close()
    await t.rejects(store.consume(consumeInput(id, 'text', 1)))
    await t.rejects(store.consume(consumeInput(id, 'text', 1, {}, { mode: 'record' })))
    await t.rejects(store.getUsage(id, keys(DAY, WEEK)))
    await t.rejects(store.ping())
    await t.rejects(store.recordReset({ account: id, reset_type: 'daily', source: 'manual', period: DAY, timestamp: '2026-01-18T00:00:00.000Z' }))
    await t.rejects(store.putAccount(makeAccount(id)))
  })
}
