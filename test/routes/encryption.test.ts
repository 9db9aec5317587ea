import t from 'tap'
import pg from 'pg'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build, call, PG_URL, pgSchema, pgSkip, type TapTest } from '../helper.js'

const K1 = '1f'.repeat(32)
const K2 = Buffer.alloc(32, 9).toString('base64')
const TEXT = 'Je prends la crème de nuit, livrée au 12 rue des Lilas'
const log = (contact: string, text = TEXT) => ({ conversation_id: contact, incoming_message: text, chosen_action: 'RespondText' })

async function tempDb (t: TapTest): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sellify-keys-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return join(dir, 'sellify.db')
}

t.test('rotation across restarts: old data readable while its key is configured, re-wrapped by rotate, then the old key can go', async (t) => {
  const path = await tempDb(t)
  const open = async (env: Record<string, string>) => {
    const app = await build(t, { store: { sqlitePath: path }, env })
    return app
  }
  const first = await open({ SELLIFY_ENCRYPTION_KEY: K1 })
  for (const contact of ['+331', '+332', '+333']) t.equal((await call(first, 'POST', '/api/v1/audit/log', log(contact))).statusCode, 201)
  t.equal((await call(first, 'PUT', '/api/v1/accounts/shop', { alert_webhooks: [{ url: 'https://hooks.example/a', secret: 'a-webhook-secret-123' }] })).statusCode, 201)
  const before = (await call(first, 'GET', '/api/v1/encryption')).json()
  t.equal(Object.values(before.by_key as Record<string, number>).reduce((a, b) => a + b, 0), 4, 'one per contact, and shop\'s own (its webhook secret)')
  const oldKid = before.current as string
  await first.close()

  await t.rejects(open({ SELLIFY_ENCRYPTION_KEY: K2 }), new RegExp(`SELLIFY_ENCRYPTION_KEY: the database holds 4 data keys wrapped by key id "${oldKid}"`), 'a wrong key is refused at start')

  const rotating = await open({ SELLIFY_ENCRYPTION_KEYS: `new:${K2},old:${K1}` })
  t.same((await call(rotating, 'GET', '/api/v1/encryption')).json(), { current: 'new', kids: ['new', 'old'], by_key: { [oldKid]: 4 } })
  t.equal((await call(rotating, 'GET', '/api/v1/audit?contact=%2B332')).json().records[0].incoming_message, TEXT, 'readable under the old key, found by its old blind index')
  t.equal((await call(rotating, 'POST', '/api/v1/audit/log', log('+334'))).statusCode, 201, 'a new contact while rotating')
  const rotated = await call(rotating, 'POST', '/api/v1/encryption/rotate')
  t.same(rotated.json(), { rotated: 4, by_key: { new: 5 } })
  t.same((await call(rotating, 'POST', '/api/v1/encryption/rotate')).json(), { rotated: 0, by_key: { new: 5 } }, 'a second run has nothing to do')
  await rotating.close()

  const after = await open({ SELLIFY_ENCRYPTION_KEYS: `new:${K2}` })
  const records = (await call(after, 'GET', '/api/v1/audit?type=client.log')).json().records
  t.same(records.map((r: { contact: string }) => r.contact), ['+334', '+333', '+332', '+331'], 'every text readable with the new key alone')
  t.ok(records.every((r: { incoming_message: string }) => r.incoming_message === TEXT))
  t.equal((await call(after, 'GET', '/api/v1/audit?contact=%2B331')).json().records.length, 1, 'contacts found by their new blind index')
  t.same((await call(after, 'GET', '/api/v1/audit/verify')).json(), { valid: true, records: 5, first_invalid_id: null }, 'rotation changed no record: the chain still verifies')
  t.equal((await after.sellify.accounts.webhookSecrets('shop'))[0].secret, 'a-webhook-secret-123', 'webhook secrets too')
  t.equal((await call(after, 'GET', '/api/v1/encryption/rotate')).statusCode, 404, 'rotation is a POST')
  const agent = (await call(after, 'POST', '/api/v1/keys', { name: 'bot', role: 'agent', account: 'default' })).json().key as string
  t.equal((await call(after, 'POST', '/api/v1/encryption/rotate', undefined, agent)).statusCode, 403)
  t.equal((await call(after, 'GET', '/api/v1/encryption?x=1')).statusCode, 400)
})

t.test('PostgreSQL: two instances appending to one chain never fork it; SQL tampering and erasure as on SQLite', { skip: await pgSkip() }, async (t) => {
  const schema = pgSchema(t)
  const env = { SELLIFY_ENCRYPTION_KEY: K1 }
  const store = { databaseUrl: PG_URL, pgSchema: schema, sqlitePath: ':memory:' }
  const a = await build(t, { store, env })
  const b = await build(t, { store, env })
  const writes: Array<Promise<{ statusCode: number }>> = []
  for (let i = 0; i < 60; i++) writes.push(call(i % 2 === 0 ? a : b, 'POST', '/api/v1/audit/log', log(`+33${i % 5}`, `${TEXT} #${i}`)))
  t.ok((await Promise.all(writes)).every((r) => r.statusCode === 201), '60 concurrent appends from two instances')
  t.same((await call(b, 'GET', '/api/v1/audit/verify')).json(), { valid: true, records: 61, first_invalid_id: null }, 'one chain, the account\'s creation first')
  const keys = (await call(a, 'GET', '/api/v1/encryption')).json().by_key as Record<string, number>
  t.equal(Object.values(keys)[0], 5, 'one data key per contact, even when both instances met it at once')

  const client = new pg.Client({ connectionString: PG_URL })
  await client.connect()
  t.teardown(() => client.end())
  const { rows } = await client.query(`SELECT seq, id FROM ${schema}.audit_records WHERE account = 'default' ORDER BY seq`)
  t.same(rows.map((r) => Number(r.seq)), Array.from({ length: 61 }, (_, i) => i + 1), 'contiguous positions')
  await client.query(`UPDATE ${schema}.audit_records SET timestamp = '2020-01-01T00:00:00.000Z' WHERE id = $1`, [rows[30].id])
  t.match((await call(a, 'GET', '/api/v1/audit/verify')).json(), { valid: false, first_invalid_id: rows[30].id, reason: 'hash' }, 'an edit in SQL')
  await client.query(`DELETE FROM ${schema}.audit_records WHERE id = $1`, [rows[30].id])
  t.match((await call(a, 'GET', '/api/v1/audit/verify')).json(), { valid: false, first_invalid_id: rows[31].id, reason: 'prev_hash' }, 'a deletion in SQL')

  const { rows: texts } = await client.query(`SELECT body FROM ${schema}.audit_records UNION ALL SELECT coalesce(contact, '') || wrapped FROM ${schema}.data_keys`)
  t.notOk(texts.some((r) => String(r.body).includes('crème') || String(r.body).includes('+330')), 'no text or contact id in clear in PostgreSQL')

  const [erased] = await a.sellify.store.commit([a.sellify.encryption.eraseOp('default', '+330')])
  a.sellify.encryption.forget(erased)
  const mine = (await call(a, 'GET', '/api/v1/audit?limit=500&type=client.log')).json().records.filter((r: { erased: boolean }) => r.erased)
  const { rows: [{ n }] } = await client.query(`SELECT count(*)::int AS n FROM ${schema}.audit_records WHERE data_key = $1`, [erased[0]])
  t.ok(n >= 11, 'the contact had its records')
  t.equal(mine.length, n, 'every record of the erased contact, and no other, is erased')
  t.ok(mine.every((r: { contact: null, incoming_message: null }) => r.contact === null && r.incoming_message === null))
})
