/** The accounts engine's store contract, run against every backend. */
import type { Test } from 'tap'
import { createHash } from 'node:crypto'
import { consumeInput, DAY, keys, makeAccount, uid, usage, WEEK, type ContractContext } from './fixtures.js'

export function accountsContract (t: Test, { open }: ContractContext): void {
  t.test('accounts: put, ensure, get, list, delete', async (t) => {
    const store = await open(t)
    const id = uid('acct')
    const a = makeAccount(id, { timezone: 'Europe/Paris', week_start: 'sunday', delays: { min_seconds: 1, max_seconds: 3.5, media_seconds: 0 } })

    const first = await store.putAccount(a)
    t.equal(first.created, true)
    t.strictSame(first.account, a)
    t.strictSame(await store.getAccount(id), a)

    const changed = makeAccount(id, { limits: { ...a.limits, messages_per_day: 7 }, created_at: '2030-01-01T00:00:00.000Z' })
    const second = await store.putAccount(changed)
    t.equal(second.created, false)
    t.equal(second.account.limits.messages_per_day, 7)
    t.equal(second.account.timezone, 'UTC', 'the whole configuration is replaced')
    t.equal(second.account.created_at, a.created_at, 'created_at of an existing account is kept')

    const ensured = await store.ensureAccount(makeAccount(id, { limits: { ...a.limits, messages_per_day: 99 } }))
    t.equal(ensured.limits.messages_per_day, 7, 'ensure returns the stored account, unchanged')

    const other = uid('acct-other')
    const created = await store.ensureAccount(makeAccount(other, { created_at: '2026-01-02T03:04:05Z' }))
    t.equal(created.created_at, '2026-01-02T03:04:05.000Z', 'timestamps come back as ISO with milliseconds')
    t.strictSame(await store.getAccount(other), created)

    const listed = (await store.listAccounts()).filter(x => x.id === id || x.id === other)
    t.strictSame(listed.map(x => x.id), [id, other].sort())
    t.equal(await store.getAccount(uid('missing')), null)

    t.equal(await store.deleteAccount(other), true)
    t.equal(await store.deleteAccount(other), false)
    t.equal(await store.getAccount(other), null)
  })

  t.test('accounts: the settings round trip, and a copy handed out shares nothing with the cached one', async (t) => {
    const store = await open(t)
    const id = uid('settings')
    const a = makeAccount(id, {
      language: 'pt',
      active_hours: { start: '22:00', end: '06:00', days: ['friday', 'saturday'] },
      outside_hours: 'ignore',
      ai: { enabled: false, tone: 'curto', max_length: 300, temperature: 1.25, reask: 0 },
      alert_numbers: ['+5511999990000'],
      alert_webhooks: [{ url: 'https://hooks.example/a', secret: 'a-secret-of-16-chars' }],
      escalation: { max_misunderstandings: 5, sensitive_keywords: ['advogado', 'polícia'], reply: 'holding' },
      forbidden_words: ['grátis'],
      allowed_domains: ['shop.example'],
      human_takeover_minutes: 120,
      session_expiry_minutes: 60,
      typing: { enabled: false, chars_per_second: 7.5, max_seconds: 0 },
      fallback_message: 'Não entendi, pode repetir?',
      automation: 'off'
    })
    t.strictSame((await store.putAccount(a)).account, a)
    const read = await store.getAccount(id)
    t.strictSame(read, a, 'read back as written')
    t.strictSame((await store.listAccounts()).find((x) => x.id === id), a, 'listed as written')
    const always = makeAccount(uid('always'), { active_hours: 'always' })
    t.strictSame((await store.ensureAccount(always)).active_hours, 'always')

    if (read === null || typeof read.active_hours === 'string') throw new Error('unexpected')
    read.active_hours.days.push('monday')
    read.escalation.sensitive_keywords.push('x')
    read.alert_webhooks[0].secret = 'changed'
    read.ai.tone = 'changed'
    t.strictSame(await store.getAccount(id), a, 'changing a copy changes nothing kept')
  })

  t.test('deleteAccount removes counters, ledger and resets, and revokes bound keys', async (t) => {
    const store = await open(t)
    const id = uid('doomed')
    const keep = uid('kept')
    await store.putAccount(makeAccount(id))
    await store.putAccount(makeAccount(keep))
    for (const a of [id, keep]) {
      await store.consume(consumeInput(a, 'video', 2))
      await store.recordReset({ account: a, reset_type: 'daily', source: 'catch-up', period: DAY, timestamp: '2026-01-18T00:00:01.000Z' })
    }
    const digest = createHash('sha256').update(uid('doomed-key')).digest()
    await store.createKey({ id: uid('k-doomed'), name: 'agent', role: 'agent', account: id, digest, created_at: '2026-01-01T00:00:00.000Z' })

    t.equal(await store.deleteAccount(id, '2026-01-18T10:00:00.000Z'), true)
    t.strictSame(await store.getUsage(id, keys(DAY, WEEK)), { hour: usage(0), day: usage(0), week: usage(0) })
    t.equal(await store.hasReset(id, 'daily', DAY), false)
    t.strictSame(await store.listResets({ account: id, limit: 10 }), [])
    t.strictSame(await store.dayHistory(id, '2026-01-01', '2026-01-31'), [])
    const key = await store.findKeyByDigest(digest)
    t.equal(key?.revoked_at, '2026-01-18T10:00:00.000Z')

    t.strictSame(await store.getUsage(keep, keys(DAY, WEEK)), { hour: usage(2, 0, 2), day: usage(2, 0, 2), week: usage(2, 0, 2) }, 'other accounts untouched')
    t.equal(await store.hasReset(keep, 'daily', DAY), true)
  })
}
