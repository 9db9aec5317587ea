/** The unit of work: a plan of several operations, of several engines, is kept whole or not at all. */
import type { Test } from 'tap'
import { createHash } from 'node:crypto'
import { putAccountOp } from '../../../../lib/accounts/store.js'
import { createKeyOp } from '../../../../lib/keys/store.js'
import { consumeOp } from '../../../../lib/quota/store.js'
import { recordResetOp } from '../../../../lib/resets/store.js'
import type { StoreOp } from '../../../../lib/store/contract.js'
import { BIG, consumeInput, DAY, keys, makeAccount, PLAIN, uid, usage, WEEK, type ContractContext } from './fixtures.js'

const key = (id: string, secret: string) => ({ id, name: 'k', role: 'admin' as const, account: null, digest: createHash('sha256').update(secret).digest(), created_at: '2026-01-01T00:00:00.000Z' })

export function unitOfWorkContract (t: Test, { open }: ContractContext): void {
  t.test('a plan of several engines\' operations commits together, one result each, in order', async (t) => {
    const store = await open(t)
    const id = uid('plan')
    const [put, consumed, reset] = await store.commit([
      putAccountOp(makeAccount(id)),
      consumeOp(consumeInput(id, 'image', 3)),
      recordResetOp({ account: id, reset_type: 'weekly', source: 'manual', period: WEEK, timestamp: '2026-01-18T10:00:00.000Z' })
    ])
    t.equal(put.created, true)
    t.match(consumed, { ok: true, after: { day: usage(3, 3), week: usage(3, 3) } }, 'the consume sees the account the plan created')
    t.match(reset, { account: id, source: 'manual', before: usage(3, 3) }, 'a later operation sees an earlier one')
    t.strictSame(await store.getUsage(id, keys(DAY, WEEK)), { hour: usage(3, 3), day: usage(3, 3), week: usage(0) })
    t.equal((await store.getAccount(id))?.id, id)
  })

  t.test('a plan whose operation fails keeps nothing of it, and other plans go on', async (t) => {
    const store = await open(t)
    const id = uid('plan-fail')
    await store.createKey(key(uid('k-first'), uid('taken')))
    const failing = store.commit([
      putAccountOp(makeAccount(id)),
      consumeOp(consumeInput(id, 'video', 2)),
      createKeyOp(key(uid('k-second'), uid('taken')))
    ])
    const other = store.consume(consumeInput(uid('plan-other'), 'text', 1))
    await t.rejects(failing, 'the duplicate digest fails the plan')
    t.match(await other, { ok: true }, 'a plan of the same batch is kept')
    t.equal(await store.getAccount(id), null, 'the account was not created')
    t.strictSame(await store.getUsage(id, keys(DAY, WEEK)), { hour: usage(0), day: usage(0), week: usage(0) }, 'the consume was not counted')
  })

  t.test('a refused consume in a plan is a result, not a failure', async (t) => {
    const store = await open(t)
    const id = uid('plan-refused')
    const limits = { ...BIG, messages_per_day: 0 }
    const [put, refused, missing] = await store.commit([
      putAccountOp(makeAccount(id, { limits })),
      consumeOp(consumeInput(id, 'text', 1)),
      consumeOp(consumeInput(uid('plan-nobody'), 'text', 1))
    ])
    t.equal(put.created, true)
    t.strictSame(refused, { ok: false, limit: 'messages_per_day', usage: { hour: usage(0), day: usage(0), week: usage(0) }, limits, state: PLAIN }, 'decided by the limits the plan wrote')
    t.strictSame(missing, { ok: false, limit: null, account: 'missing' }, 'an account that does not exist counts nothing')
    t.equal(await store.getAccount(uid('plan-nobody')), null)
  })

  t.test('a plan with an invalid operation is refused before anything is applied', async (t) => {
    const store = await open(t)
    const id = uid('plan-invalid')
    await t.rejects(store.commit([putAccountOp(makeAccount(id)), { op: 'nope' } as unknown as StoreOp]), /unknown operation/)
    await t.rejects(store.commit([putAccountOp(makeAccount(id)), consumeOp(consumeInput(id, 'text', 0))]))
    await t.rejects(store.commit([]), /non-empty/)
    t.equal(await store.getAccount(id), null)
  })
}
