import t from 'tap'
import Database from 'better-sqlite3'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build, call, DEV_KEY, fixedClock, type LogLine, type TapTest } from '../helper.js'

const K1 = '1f'.repeat(32)
const CONTACT = '+33612345678@s.whatsapp.net'
const OTHER = '+14155550123@s.whatsapp.net'
const TEXT = 'Bonjour, je voudrais commander trois pots de crème pour Noël'

async function tempDb (t: TapTest): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sellify-audit-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return join(dir, 'sellify.db')
}

const log = (over: Record<string, unknown> = {}) => ({
  id: 'log-1',
  timestamp: '2026-01-18T11:59:00Z',
  conversation_id: CONTACT,
  incoming_message: TEXT,
  state: 'Discovery',
  chosen_action: 'RespondText',
  ai_prompt: 'Réponds poliment à: ' + TEXT,
  ai_response: 'Avec plaisir !',
  sent_message: 'Avec plaisir, je note trois pots.',
  quotas_before: { messages_today: 3 },
  quotas_after: { messages_today: 4 },
  ...over
})

t.test('every change today\'s routes make is on record, with its actor, in a chain that verifies', async (t) => {
  const app = await build(t)
  const created = (await call(app, 'POST', '/api/v1/keys', { name: 'ops', role: 'admin' })).json()
  t.equal((await call(app, 'PUT', '/api/v1/accounts/shop', { timezone: 'Europe/Paris' }, created.key)).statusCode, 201)
  t.equal((await call(app, 'PATCH', '/api/v1/accounts/shop', { reset_time: '06:00' }, created.key)).statusCode, 200)
  t.equal((await call(app, 'POST', '/api/v1/quota/reset/daily', { account: 'shop' }, created.key)).statusCode, 200)
  t.equal((await call(app, 'PUT', '/api/v1/products/p1?account=shop', { name: 'Crème', price: '12.50', currency: 'EUR' }, created.key)).statusCode, 201)
  t.equal((await call(app, 'DELETE', '/api/v1/products/p1?account=shop', undefined, created.key)).statusCode, 204)
  t.equal((await call(app, 'DELETE', `/api/v1/keys/${created.id as string}`)).statusCode, 204)
  t.equal((await call(app, 'DELETE', '/api/v1/accounts/shop')).statusCode, 204)
  t.equal((await call(app, 'DELETE', '/api/v1/accounts/shop')).statusCode, 404, 'a delete of nothing…')

  const shop = (await call(app, 'GET', '/api/v1/audit?account=shop')).json()
  t.same(shop.records.map((r: { type: string, action?: string }) => `${r.type}:${r.action ?? ''}`).reverse(), [
    'account_changed:put', 'account_changed:patch', 'reset:daily:manual', 'knowledge_changed:put_product', 'knowledge_changed:delete_product', 'account_deleted:delete'
  ], '…is not on record; the rest is, oldest last')
  t.same(shop.records[5].actor, { id: created.id, name: 'ops' }, 'the key that made the change')
  t.same(shop.records[0].actor, { id: 'bootstrap', name: 'SELLIFY_API_KEY' })
  t.equal(shop.records[5].details.account.timezone, 'Europe/Paris')
  const trail = (await call(app, 'GET', '/api/v1/audit')).json().records.map((r: { type: string, action?: string }) => `${r.type}:${r.action ?? ''}`)
  t.same(trail, ['key_revoked:', 'key_created:', 'account_changed:created'], 'admin keys are on the default account\'s trail, after its creation on first use')
  t.same((await call(app, 'GET', '/api/v1/audit/verify?account=shop')).json(), { valid: true, records: 6, first_invalid_id: null })
  t.same((await call(app, 'GET', '/api/v1/audit/verify?account=nobody')).json(), { valid: true, records: 0, first_invalid_id: null })

  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body
  t.match(metrics, /sellify_audit_records_total\{type="account_changed"\} 3/)
  t.match(metrics, /sellify_audit_records_total\{type="key_created"\} 1/)
  t.match(metrics, /sellify_audit_records_total\{type="account_deleted"\} 1\n/, 'a delete of nothing is not counted')
})

t.test('POST /audit/log: the original\'s AuditLog stored as client.log; nothing of the customer in the SQLite file or its WAL', async (t) => {
  const path = await tempDb(t)
  const app = await build(t, { store: { sqlitePath: path }, env: { SELLIFY_ENCRYPTION_KEY: K1 } })
  const res = await call(app, 'POST', '/api/v1/audit/log', log())
  t.equal(res.statusCode, 201, res.body)
  const record = res.json()
  t.match(record, {
    type: 'client.log',
    account: 'default',
    contact: CONTACT,
    incoming_message: TEXT,
    state_before: 'Discovery',
    action: 'RespondText',
    sent_message: 'Avec plaisir, je note trois pots.',
    quotas_after: { messages_today: 4 },
    client_id: 'log-1',
    erased: false
  })
  t.same((await call(app, 'GET', `/api/v1/audit/${record.id as string}`)).json(), record)
  const wal = `${path}-wal`
  t.ok(existsSync(wal), 'the WAL holds the writes')
  for (const file of [path, wal]) {
    const bytes = await readFile(file)
    for (const secret of [TEXT, 'trois pots', 'Avec plaisir', CONTACT, '33612345678', 'Réponds poliment']) {
      t.equal(bytes.indexOf(Buffer.from(secret, 'utf8')), -1, `${file.endsWith('-wal') ? 'WAL' : 'database'}: no ${JSON.stringify(secret)}`)
    }
  }
  t.equal((await call(app, 'POST', '/api/v1/audit/log', { ...log(), extra: 1 })).statusCode, 400, 'an unknown field is refused')
  t.match((await call(app, 'POST', '/api/v1/audit/log', { ...log(), incoming_message: 5 })).json().message, /incoming_message/)
  t.equal((await call(app, 'POST', '/api/v1/audit/log', { account: 'nobody' })).statusCode, 404, 'an account that does not exist')
  t.equal((await call(app, 'GET', '/api/v1/audit?type=client.log')).json().records.length, 1, 'the refused ones changed nothing')
})

t.test('listing: filters, cursor paging, and bad query strings answered 400 naming the field', async (t) => {
  const clock = fixedClock('2026-01-18T10:00:00.000Z')
  const app = await build(t, { now: clock.now })
  for (let i = 0; i < 7; i++) {
    clock.advance(60_000)
    t.equal((await call(app, 'POST', '/api/v1/audit/log', log({ conversation_id: i % 2 === 0 ? CONTACT : OTHER, chosen_action: i < 3 ? 'RespondText' : 'Ignore' }))).statusCode, 201)
  }
  const all = (await call(app, 'GET', '/api/v1/audit?limit=500&type=client.log')).json().records
  t.equal(all.length, 7)
  t.ok(all.every((r: { timestamp: string }, i: number) => i === 0 || r.timestamp < all[i - 1].timestamp), 'newest first')
  const mine = (await call(app, 'GET', `/api/v1/audit?contact=${encodeURIComponent(CONTACT)}`)).json().records
  t.equal(mine.length, 4)
  t.ok(mine.every((r: { contact: string }) => r.contact === CONTACT))
  t.equal((await call(app, 'GET', '/api/v1/audit?contact=%2B10000000000')).json().records.length, 0, 'a contact never seen')
  t.equal((await call(app, 'GET', '/api/v1/audit?action=Ignore')).json().records.length, 4)
  t.equal((await call(app, 'GET', '/api/v1/audit?action=RespondText')).json().records.length, 3)
  t.equal((await call(app, 'GET', '/api/v1/audit?type=client.log&action=RespondText')).json().records.length, 3)
  t.equal((await call(app, 'GET', '/api/v1/audit?from=2026-01-18T10:03:00Z&to=2026-01-18T10:05:00Z')).json().records.length, 3, 'from and to inclusive')
  t.equal((await call(app, 'GET', '/api/v1/audit?type=reset')).json().records.length, 0)

  const first = (await call(app, 'GET', '/api/v1/audit?limit=3&type=client.log')).json()
  t.equal(first.next_before, first.records[2].id)
  const second = (await call(app, 'GET', `/api/v1/audit?limit=3&type=client.log&before=${first.next_before as string}`)).json()
  const third = (await call(app, 'GET', `/api/v1/audit?limit=3&type=client.log&before=${second.next_before as string}`)).json()
  t.same([...first.records, ...second.records, ...third.records].map((r: { id: string }) => r.id), all.map((r: { id: string }) => r.id), 'pages join up')
  t.equal(third.next_before, null, 'the last page says so')

  for (const [query, field] of [
    ['limit=501', 'limit'], ['limit=0', 'limit'], ['from=yesterday', 'from'], ['to=2026-13-45', 'to'], ['before=42', 'before'],
    ['type=nope', 'type'], ['account=bad%20id', 'account'], ['colour=red', 'colour']
  ] as const) {
    const res = await call(app, 'GET', `/api/v1/audit?${query}`)
    t.equal(res.statusCode, 400, query)
    t.match(res.json().message, field, `${query}: the message names ${field}`)
  }
  const unknown = '01900000-0000-7000-8000-000000000000'
  t.equal((await call(app, 'GET', `/api/v1/audit?before=${unknown}`)).statusCode, 400, 'a cursor that is no record of the account')
  t.equal((await call(app, 'GET', `/api/v1/audit/${unknown}`)).statusCode, 404)
  t.equal((await call(app, 'GET', '/api/v1/audit/not-an-id')).statusCode, 400)
  t.equal((await call(app, 'GET', '/api/v1/audit/verify?account=default&x=1')).statusCode, 400)

  const agent = (await call(app, 'POST', '/api/v1/keys', { name: 'bot', role: 'agent', account: 'default' })).json().key as string
  t.equal((await call(app, 'GET', '/api/v1/audit', undefined, agent)).statusCode, 403, 'reading the trail is for admins')
  t.equal((await call(app, 'POST', '/api/v1/audit/log', log(), agent)).statusCode, 201, 'a bot may log')
  t.equal((await call(app, 'POST', '/api/v1/audit/log', { ...log(), account: 'other' }, agent)).statusCode, 403, 'only to its own account')
})

t.test('tampering with SQL on the real file: an edit, a deletion, a reordering and a removed newest record are found', async (t) => {
  const path = await tempDb(t)
  const env = { SELLIFY_ENCRYPTION_KEY: K1 }
  const app = await build(t, { store: { sqlitePath: path }, env })
  const ids: string[] = []
  for (let i = 0; i < 6; i++) ids.push((await call(app, 'POST', '/api/v1/audit/log', log({ chosen_action: `A${i}` }))).json().id)
  const verify = async () => (await call(app, 'GET', '/api/v1/audit/verify')).json()
  t.same(await verify(), { valid: true, records: 7, first_invalid_id: null }, 'the account\'s creation and six logs')

  const db = new Database(path)
  const seqOf = (id: string): number => db.prepare('SELECT seq FROM audit_records WHERE id = ?').pluck().get(id) as number
  t.teardown(() => db.close())
  const body = db.prepare('SELECT body FROM audit_records WHERE id = ?').pluck().get(ids[2]) as string
  db.prepare('UPDATE audit_records SET body = ? WHERE id = ?').run(body.replace('"messages_today":4', '"messages_today":0'), ids[2])
  t.match(await verify(), { valid: false, first_invalid_id: ids[2], reason: 'hash' }, 'an edited field')
  db.prepare('UPDATE audit_records SET body = ? WHERE id = ?').run(body, ids[2])
  db.prepare("UPDATE audit_records SET action = 'Ignore' WHERE id = ?").run(ids[1])
  t.match(await verify(), { valid: false, first_invalid_id: ids[1] }, 'an edited column')
  db.prepare("UPDATE audit_records SET action = 'A1' WHERE id = ?").run(ids[1])
  t.same(await verify(), { valid: true, records: 7, first_invalid_id: null }, 'put back, valid again')

  const [s3, s4] = [seqOf(ids[3]), seqOf(ids[4])]
  const swap = (a: number, b: number): void => {
    db.prepare('UPDATE audit_records SET seq = -1 WHERE id = ?').run(ids[3])
    db.prepare('UPDATE audit_records SET seq = ? WHERE id = ?').run(a, ids[4])
    db.prepare('UPDATE audit_records SET seq = ? WHERE id = ?').run(b, ids[3])
  }
  swap(s3, s4)
  t.match(await verify(), { valid: false, first_invalid_id: ids[4], reason: 'prev_hash' }, 'two records swapped')
  swap(s4, s3)
  t.same(await verify(), { valid: true, records: 7, first_invalid_id: null }, 'swapped back')

  const row = db.prepare('SELECT * FROM audit_records WHERE id = ?').get(ids[5]) as Record<string, unknown>
  db.prepare('DELETE FROM audit_records WHERE id = ?').run(ids[5])
  t.match(await verify(), { valid: false, first_invalid_id: null, reason: 'head' }, 'the newest record removed')
  db.prepare(`INSERT INTO audit_records (${Object.keys(row).join(', ')}) VALUES (${Object.keys(row).map(() => '?').join(', ')})`).run(...Object.values(row))
  db.prepare('DELETE FROM audit_records WHERE id = ?').run(ids[0])
  t.match(await verify(), { valid: false, first_invalid_id: ids[1], reason: 'prev_hash' }, 'the oldest record removed')

  const value = db.prepare('SELECT body FROM audit_records WHERE id = ?').pluck().get(ids[2]) as string
  const parsed = JSON.parse(value) as { incoming_message: string }
  const other = JSON.parse(db.prepare('SELECT body FROM audit_records WHERE id = ?').pluck().get(ids[3]) as string) as { incoming_message: string }
  db.prepare('UPDATE audit_records SET body = ? WHERE id = ?').run(JSON.stringify({ ...parsed, incoming_message: other.incoming_message }), ids[2])
  const moved = await call(app, 'GET', `/api/v1/audit/${ids[2]}`)
  t.equal(moved.statusCode, 500, 'a text copied from another record does not decrypt…')
  t.equal(moved.json().code, 'SELLIFY_DECRYPT_FAILED', '…and is never answered as text')
})

t.test('erasing a contact: their texts are unreadable for good, the others\' are not, the chain still verifies', async (t) => {
  const app = await build(t)
  for (const contact of [CONTACT, OTHER, CONTACT]) t.equal((await call(app, 'POST', '/api/v1/audit/log', log({ conversation_id: contact }))).statusCode, 201)
  const encryption = app.sellify.encryption
  const [erased] = await app.sellify.store.commit([encryption.eraseOp('default', CONTACT)])
  encryption.forget(erased)
  t.equal(erased.length, 1, 'one data key per contact')
  const records = (await call(app, 'GET', '/api/v1/audit')).json().records
  t.match(records[0], { erased: true, contact: null, incoming_message: null, sent_message: null, action: 'RespondText', type: 'client.log' }, 'metadata stays')
  t.match(records[1], { erased: false, contact: OTHER, incoming_message: TEXT })
  t.equal((await call(app, 'GET', `/api/v1/audit?contact=${encodeURIComponent(CONTACT)}`)).json().records.length, 0, 'no longer found by contact')
  t.same((await call(app, 'GET', '/api/v1/audit/verify')).json(), { valid: true, records: 4, first_invalid_id: null })
  t.equal((await call(app, 'POST', '/api/v1/audit/log', log())).json().contact, CONTACT, 'a new message of theirs starts a new key')
  t.same((await call(app, 'GET', '/api/v1/audit/verify')).json(), { valid: true, records: 5, first_invalid_id: null })
})

t.test('retention removes the oldest records and leaves a checkpoint the rest verifies from', async (t) => {
  const clock = fixedClock('2026-01-01T00:00:00.000Z')
  const app = await build(t, { now: clock.now })
  for (let day = 0; day < 10; day++) {
    await call(app, 'POST', '/api/v1/audit/log', log({ chosen_action: `day${day}` }))
    clock.advance(86_400_000)
  }
  t.equal(await app.sellify.audit.prune(new Date('2026-01-06T00:00:00.000Z')), 6, 'the account\'s creation and five days')
  const left = (await call(app, 'GET', '/api/v1/audit')).json().records.map((r: { action: string }) => r.action)
  t.same(left, ['day9', 'day8', 'day7', 'day6', 'day5'])
  t.same((await call(app, 'GET', '/api/v1/audit/verify')).json(), { valid: true, records: 5, first_invalid_id: null })
  t.equal(await app.sellify.audit.prune(new Date('2026-01-06T00:00:00.000Z')), 0, 'a second run removes nothing')
  t.equal((await call(app, 'POST', '/api/v1/audit/log', log())).statusCode, 201)
  t.same((await call(app, 'GET', '/api/v1/audit/verify')).json(), { valid: true, records: 6, first_invalid_id: null }, 'appends go on after it')
})

t.test('export: NDJSON and CSV in chain order, decrypted, bounded by from/to', async (t) => {
  const clock = fixedClock('2026-01-18T10:00:00.000Z')
  const app = await build(t, { now: clock.now })
  for (let i = 0; i < 3; i++) {
    clock.advance(60_000)
    await call(app, 'POST', '/api/v1/audit/log', log({ chosen_action: `A${i}`, sent_message: i === 1 ? '=HYPERLINK("x")' : 'ok, "quoted"' }))
  }
  const nd = await app.inject({ method: 'GET', url: '/api/v1/audit/export', headers: { 'x-api-key': DEV_KEY } })
  t.equal(nd.statusCode, 200)
  t.match(nd.headers['content-type'], /application\/x-ndjson/)
  const lines = nd.body.trimEnd().split('\n').map((l) => JSON.parse(l)).filter((r) => r.type === 'client.log')
  t.same(lines.map((r) => r.action), ['A0', 'A1', 'A2'], 'oldest first')
  t.equal(lines[0].incoming_message, TEXT)
  const csv = await app.inject({ method: 'GET', url: '/api/v1/audit/export?format=csv&from=2026-01-18T10:02:00Z', headers: { 'x-api-key': DEV_KEY } })
  t.match(csv.headers['content-type'], /text\/csv/)
  const rows = csv.body.trimEnd().split('\r\n')
  t.equal(rows.length, 3, 'a header and the two records from 10:02 (not the account\'s creation before them)')
  t.match(rows[0], /^id,timestamp,account,actor,type,contact,/)
  t.match(rows[1], /'=HYPERLINK\(""x""\)/, 'a formula is defused and quotes doubled')
  t.equal((await call(app, 'GET', '/api/v1/audit/export?format=xml')).statusCode, 400)
  t.equal((await call(app, 'GET', '/api/v1/audit/export?from=nope')).statusCode, 400)
})

t.test('SELLIFY_AUDIT_RETENTION_DAYS: the daily job prunes at start and is unscheduled at close', async (t) => {
  const path = await tempDb(t)
  const env = { SELLIFY_ENCRYPTION_KEY: K1 }
  const clock = fixedClock('2026-01-01T00:00:00.000Z')
  const first = await build(t, { store: { sqlitePath: path }, env, now: clock.now })
  for (let day = 0; day < 5; day++) {
    await call(first, 'POST', '/api/v1/audit/log', log({ chosen_action: `day${day}` }))
    clock.advance(86_400_000)
  }
  await first.close()
  const logs: LogLine[] = []
  const app = await build(t, { store: { sqlitePath: path }, env: { ...env, SELLIFY_AUDIT_RETENTION_DAYS: '2' }, now: clock.now }, { logs })
  t.ok(app.scheduler.existsById('sellify-audit-retention'), 'scheduled')
  let left: string[] = []
  for (let i = 0; i < 50 && left.length !== 2; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    left = (await call(app, 'GET', '/api/v1/audit?type=client.log')).json().records.map((r: { action: string }) => r.action)
  }
  t.same(left, ['day4', 'day3'], 'records older than two days are gone')
  t.match((await call(app, 'GET', '/api/v1/audit/verify')).json(), { valid: true, first_invalid_id: null }, 'the rest (and the catch-up resets of this start) verify')
  t.ok(logs.some((l) => l.msg === 'audit retention removed old records' && l.removed === 4), 'and it says how many')
  t.notOk(JSON.stringify(logs).includes('crème'), 'no customer text reaches the log')
  await app.close()
  t.notOk(app.scheduler.existsById('sellify-audit-retention'), 'unscheduled at close')
})
