/** The audit and data-key store contract, run against every backend. */
import type { Test } from 'tap'
import { randomBytes } from 'node:crypto'
import { verify } from '../../../../lib/audit/chain.js'
import { appendAuditOp, pruneAuditOp, type StoredAudit } from '../../../../lib/audit/store.js'
import type { AuditEntry, AuditRecord } from '../../../../lib/audit/types.js'
import { ACCOUNT_KEY_INDEX, ensureDataKeyOp, eraseDataKeysOp, rewrapDataKeyOp, type StoredDataKey } from '../../../../lib/encryption/store.js'
import { uid, type ContractContext } from './fixtures.js'

let n = 0
const entry = (account: string, extra: Partial<AuditEntry> = {}): AuditEntry => ({
  id: `0190${String(++n).padStart(4, '0')}-0000-7000-8000-${randomBytes(6).toString('hex')}`,
  timestamp: new Date(Date.UTC(2026, 0, 1) + n * 1000).toISOString(),
  account,
  actor: 'system',
  type: 'decision',
  ...extra
})

const dataKey = (account: string, index: string, extra: Partial<StoredDataKey> = {}): StoredDataKey => ({
  id: `d${randomBytes(16).toString('base64url')}`,
  account,
  contact_index: index,
  contact: index === ACCOUNT_KEY_INDEX ? null : 'v1.k.sealed-contact',
  wrapped: 'v1.k1.wrapped',
  kid: 'k1',
  created_at: '2026-01-01T00:00:00.000Z',
  ...extra
})

const chain = (records: StoredAudit[]): AuditRecord[] => records.map(({ seq: _seq, ...r }) => r)

export function auditContract (t: Test, { open }: ContractContext): void {
  t.test('audit: appends link into one chain per account, in commit order, read back exactly', async (t) => {
    const store = await open(t)
    const [a, b] = [uid('audit-a'), uid('audit-b')]
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => store.commit([appendAuditOp(entry(i % 2 === 0 ? a : b, {
      action: `act${i}`, validation: { ok: true, score: 0.5, list: [1, 'two', null] }, details: { text: 'émoji 💧 "quoted"' }
    }), null)])))
    t.ok(results.every(([r]) => r !== null && /^[0-9a-f]{64}$/.test(r.hash)))
    for (const account of [a, b]) {
      const records = await store.auditRange({ account, after_seq: 0, limit: 500 })
      t.same(records.map((r) => r.seq), Array.from({ length: 20 }, (_, i) => i + 1), `${account}: contiguous`)
      t.same(verify(chain(records), { account, head: (await store.auditHead(account))?.hash }), { valid: true, records: 20, first_invalid_id: null })
      t.same(records[0].details, { text: 'émoji 💧 "quoted"' })
      t.same(records[0].validation, { ok: true, score: 0.5, list: [1, 'two', null] })
    }
    const newest = await store.listAudit({ account: a, limit: 3 })
    t.same(newest.map((r) => r.seq), [20, 19, 18], 'listed newest first')
    t.same(await store.getAudit(newest[0].id), newest[0])
    t.equal(await store.getAudit('01900000-0000-7000-8000-000000000000'), null)
    t.same((await store.listAudit({ account: a, before_seq: 18, limit: 2 })).map((r) => r.seq), [17, 16])
    t.equal((await store.listAudit({ account: a, action: 'act0', limit: 50 })).length, 1)
    t.equal((await store.listAudit({ account: a, type: 'reset', limit: 50 })).length, 0)
    t.ok((await store.auditAccounts()).includes(a))
  })

  t.test('audit: `when` skips an append after an operation that did nothing; a failed plan appends nothing', async (t) => {
    const store = await open(t)
    const account = uid('audit-when')
    const [, skipped] = await store.commit([
      eraseDataKeysOp(account, ['nobody']),
      appendAuditOp(entry(account), null, (erased) => (erased as string[]).length > 0)
    ])
    t.equal(skipped, null)
    await t.rejects(store.commit([appendAuditOp(entry(account), null), appendAuditOp(entry(account), 'd-missing')]), { code: 'SELLIFY_DATA_KEY_ERASED' })
    t.equal(await store.auditHead(account), null, 'nothing of either plan was kept')
  })

  t.test('audit: prune removes the oldest records in slices and leaves a checkpoint', async (t) => {
    const store = await open(t)
    const account = uid('audit-prune')
    for (let i = 0; i < 10; i++) await store.commit([appendAuditOp(entry(account, { timestamp: `2026-01-${String(i + 1).padStart(2, '0')}T00:00:00.000Z` }), null)])
    t.same(await store.commit([pruneAuditOp(account, '2026-01-08T00:00:00.000Z', 4)]), [4], 'at most max at a time')
    t.same(await store.commit([pruneAuditOp(account, '2026-01-08T00:00:00.000Z', 4)]), [3])
    t.same(await store.commit([pruneAuditOp(account, '2026-01-08T00:00:00.000Z', 4)]), [0])
    const head = await store.auditHead(account)
    t.match(head, { seq: 10, checkpoint_seq: 7 })
    const kept = await store.auditRange({ account, after_seq: head?.checkpoint_seq ?? 0, limit: 50 })
    t.same(kept.map((r) => r.seq), [8, 9, 10])
    t.same(verify(chain(kept), { account, checkpoint: { after_id: '', hash: head?.checkpoint_hash ?? '' }, head: head?.hash }), { valid: true, records: 3, first_invalid_id: null })
    t.same(await store.commit([pruneAuditOp(uid('none'), '2026-01-08T00:00:00.000Z', 4)]), [0], 'an account without a trail')
  })

  t.test('data keys: ensure finds by any index, races end with one key, rewrap compares, erase deletes', async (t) => {
    const store = await open(t)
    const account = uid('dk')
    const keys = Array.from({ length: 8 }, () => dataKey(account, 'idx-new'))
    const stored = await Promise.all(keys.map(async (k) => (await store.commit([ensureDataKeyOp(k, ['idx-new', 'idx-old'])]))[0]))
    t.equal(new Set(stored.map((k) => k.id)).size, 1, 'eight writers at once, one key')
    const [found] = await store.commit([ensureDataKeyOp(dataKey(account, 'idx-old'), ['idx-old'])])
    t.not(found.id, stored[0].id, 'another index is another contact')
    t.same(await store.findDataKey(account, ['zzz', 'idx-new']), stored[0])
    t.same(await store.getDataKey(stored[0].id), stored[0])
    t.equal(await store.findDataKey(uid('other'), ['idx-new']), null, 'per account')
    const before = await store.dataKeyCounts()
    t.ok((before.k1 ?? 0) >= 2)

    t.same(await store.commit([rewrapDataKeyOp(stored[0].id, 'not-the-current', { wrapped: 'v1.k2.x', contact: null, contact_index: 'idx-2', kid: 'k2' })]), [false], 'only while unchanged')
    t.same(await store.commit([rewrapDataKeyOp(stored[0].id, stored[0].wrapped, { wrapped: 'v1.k2.x', contact: 'v1.k2.c', contact_index: 'idx-2', kid: 'k2' })]), [true])
    t.match(await store.getDataKey(stored[0].id), { wrapped: 'v1.k2.x', contact: 'v1.k2.c', contact_index: 'idx-2', kid: 'k2' })
    t.ok((await store.dataKeysNotUnder('k2', 1000)).some((k) => k.id === found.id))
    t.notOk((await store.dataKeysNotUnder('k2', 1000)).some((k) => k.id === stored[0].id))
    t.equal((await store.dataKeyUnder('k2'))?.kid, 'k2', 'a data key under k2')
    t.equal(await store.dataKeyUnder('never-configured'), null, 'none under an id nothing was wrapped with')

    await store.commit([appendAuditOp(entry(account), stored[0].id)])
    t.same(await store.commit([eraseDataKeysOp(account, ['idx-2', 'idx-old'])]), [[stored[0].id, found.id].sort()])
    t.equal(await store.getDataKey(stored[0].id), null)
    await t.rejects(store.commit([appendAuditOp(entry(account), stored[0].id)]), { code: 'SELLIFY_DATA_KEY_ERASED' }, 'no append under an erased key')
    t.equal((await store.auditHead(account))?.seq, 1)
  })
}
