/** The keys engine's store contract, run against every backend. */
import type { Test } from 'tap'
import { createHash } from 'node:crypto'
import { uid, type ContractContext } from './fixtures.js'

export function keysContract (t: Test, { open }: ContractContext): void {
  t.test('api keys: create, find by digest, list without secrets, touch, revoke', async (t) => {
    const store = await open(t)
    const account = uid('keys-acct')
    const admin = { id: uid('key-admin'), name: 'ops', role: 'admin' as const, account: null, digest: createHash('sha256').update(uid('secret-1')).digest(), created_at: '2026-01-01T00:00:00Z' }
    const agent = { id: uid('key-agent'), name: 'bot', role: 'agent' as const, account, digest: createHash('sha256').update(uid('secret-2')).digest(), created_at: '2026-01-02T00:00:00.000Z' }
    await store.createKey(admin)
    await store.createKey(agent)
    await t.rejects(store.createKey({ ...agent, id: uid('key-dup') }), 'a digest is unique')
    await t.rejects(store.createKey({ ...agent, digest: createHash('sha256').update(uid('other')).digest() }), 'an id is unique')

    const found = await store.findKeyByDigest(agent.digest)
    t.strictSame(found, { id: agent.id, name: 'bot', role: 'agent', account, created_at: agent.created_at, last_used_at: null, digest: agent.digest, revoked_at: null })
    t.ok(Buffer.isBuffer(found?.digest))
    t.equal(await store.findKeyByDigest(createHash('sha256').update('nope').digest()), null)

    const listed = (await store.listKeys()).filter(k => k.id === admin.id || k.id === agent.id)
    t.strictSame(listed, [
      { id: admin.id, name: 'ops', role: 'admin', account: null, created_at: '2026-01-01T00:00:00.000Z', last_used_at: null },
      { id: agent.id, name: 'bot', role: 'agent', account, created_at: agent.created_at, last_used_at: null }
    ])
    t.ok(listed.every(k => !('digest' in k) && !('revoked_at' in k)), 'no digest in the list')

    await store.touchKey(agent.id, '2026-01-18T12:00:00.000Z')
    t.equal((await store.findKeyByDigest(agent.digest))?.last_used_at, '2026-01-18T12:00:00.000Z')

    t.equal(await store.revokeKey(agent.id, '2026-01-18T13:00:00.000Z'), true)
    t.equal(await store.revokeKey(agent.id, '2026-01-18T14:00:00.000Z'), false, 'already revoked')
    t.equal(await store.revokeKey(uid('key-unknown'), '2026-01-18T14:00:00.000Z'), false, 'unknown')
    t.equal((await store.findKeyByDigest(agent.digest))?.revoked_at, '2026-01-18T13:00:00.000Z', 'found even when revoked')
    t.notOk((await store.listKeys()).some(k => k.id === agent.id), 'revoked keys leave the list')
  })
}
