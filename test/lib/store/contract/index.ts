/**
 * The store contract, one suite per engine, run against every backend (sqlite.test.ts, postgres.test.ts) so
 * that both are proven by the same assertions. Not a test file by itself: it has no `.test.` name.
 */
import type { Test } from 'tap'
import { accountsContract } from './accounts.js'
import { alertsContract } from './alerts.js'
import { antibanContract } from './antiban.js'
import { auditContract } from './audit.js'
import { conversationsContract } from './conversations.js'
import { writable, type ContractContext, type StoreHarness, type TestStore } from './fixtures.js'
import { keysContract } from './keys.js'
import { knowledgeContract } from './knowledge.js'
import { lifecycleContract } from './lifecycle.js'
import { quotaContract } from './quota.js'
import { resetsContract } from './resets.js'
import { unitOfWorkContract } from './unit-of-work.js'

export { input, keys, makeAccount, writable, type StoreHarness, type TestStore } from './fixtures.js'

export function storeContract (t: Test, harness: StoreHarness): void {
  const ctx: ContractContext = {
    harness,
    async open (t: Test): Promise<TestStore> {
      const store = await harness.open()
      t.teardown(() => store.close())
      return writable(store)
    }
  }
  t.test('lifecycle', async (t) => { lifecycleContract(t, ctx) })
  t.test('accounts', async (t) => { accountsContract(t, ctx) })
  t.test('quota', async (t) => { quotaContract(t, ctx) })
  t.test('anti-ban: hourly cap, warm-up, refusal order', async (t) => { antibanContract(t, ctx) })
  t.test('resets', async (t) => { resetsContract(t, ctx) })
  t.test('keys', async (t) => { keysContract(t, ctx) })
  t.test('knowledge', async (t) => { knowledgeContract(t, ctx) })
  t.test('audit and data keys', async (t) => { auditContract(t, ctx) })
  t.test('unit of work', async (t) => { unitOfWorkContract(t, ctx) })
  t.test('conversations and decisions', async (t) => { conversationsContract(t, ctx) })
  t.test('alerts and their outbox', async (t) => { alertsContract(t, ctx) })
}
