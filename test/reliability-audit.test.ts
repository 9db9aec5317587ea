/**
 * README, "Tests": "an audit record edited, deleted or swapped in the database is reported by `/api/v1/audit/verify`"
 * (README, "Data protection"), on a SQLite file and on PostgreSQL with two instances writing one chain.
 * The chain is made by the decision pipeline (incoming messages, an alert, sent and failed reports, a pause);
 * then its stored rows are changed with SQL behind the app's back, the way someone with database access would:
 * a column edited, the encrypted body edited, the timestamp edited, two records swapped, a record deleted from
 * the middle and the newest one deleted. Each is reported, naming the first record that no longer links; each
 * put back, the chain verifies again.
 */
import t from 'tap'
import Database from 'better-sqlite3'
import pg from 'pg'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { build, call, fixedClock, PG_URL, pgSchema, pgSkip, type TapTest } from './helper.js'
import { karite } from './routes/decision-fixtures.js'

type Json = Record<string, any>
type Row = Record<string, unknown>

const KEY = '5d'.repeat(32)
const KB = { business_name: 'Karité & Co', products: [karite()], faq: [{ id: 'livraison', triggers: ['livraison'], answer: 'Livraison en 48 h.' }] }
const CONTACTS = ['+22507000101', '+22507000102', '+22507000103']
const TEXTS = ['Bonjour', 'Combien coûte la crème au karité ?', 'Et la livraison ?', 'Je prends la crème au karité']

/** SQL on the store's own database, from outside the app. */
interface Sql {
  all: (sql: string, params?: unknown[]) => Promise<Row[]>
  run: (sql: string, params?: unknown[]) => Promise<void>
}

function sqliteSql (t: TapTest, path: string): Sql {
  const db = new Database(path)
  t.teardown(() => db.close())
  return {
    all: async (sql, params = []) => db.prepare(sql).all(...params) as Row[],
    run: async (sql, params = []) => { db.prepare(sql).run(...params) }
  }
}

async function postgresSql (t: TapTest, schema: string): Promise<Sql> {
  const client = new pg.Client({ connectionString: PG_URL })
  await client.connect()
  t.teardown(() => client.end())
  await client.query(`SET search_path TO ${schema}`)
  // `?` placeholders, as on SQLite, numbered for node-postgres.
  const numbered = (sql: string): string => { let n = 0; return sql.replace(/\?/g, () => `$${++n}`) }
  return {
    all: async (sql, params = []) => (await client.query(numbered(sql), params)).rows,
    run: async (sql, params = []) => { await client.query(numbered(sql), params) }
  }
}

async function ok (app: FastifyInstance, method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown): Promise<Json> {
  const res = await call(app, method, url, body)
  if (res.statusCode < 200 || res.statusCode > 299) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`)
  return res.json()
}

/** A chain the pipeline writes: each contact through the shopper's messages, a legal threat, reports, a pause. */
async function decide (apps: FastifyInstance[], clock: ReturnType<typeof fixedClock>): Promise<void> {
  let n = 0
  const next = (): FastifyInstance => apps[n++ % apps.length]
  for (const text of TEXTS) {
    clock.advance(1000)
    // The contacts' messages at once: on PostgreSQL two instances append to the one chain concurrently.
    const answers = await Promise.all(CONTACTS.map(async (contact, i) => await ok(next(), 'POST', '/api/v1/messages/incoming', { contact, text, message_id: `${contact}-${text}-${i}` })))
    await ok(next(), 'POST', `/api/v1/messages/${answers[0].decision_id as string}/sent`, {})
    await ok(next(), 'POST', `/api/v1/messages/${answers[1].decision_id as string}/failed`, {})
  }
  clock.advance(1000)
  await ok(next(), 'POST', '/api/v1/messages/incoming', { contact: '+22507000104', text: 'Je vais voir un avocat', message_id: 'threat' })
  await ok(next(), 'POST', `/api/v1/conversations/${encodeURIComponent(CONTACTS[2])}/pause`, { minutes: 30 })
}

async function tamper (t: TapTest, apps: FastifyInstance[], sql: Sql): Promise<void> {
  const verify = async (): Promise<Json[]> => await Promise.all(apps.map(async (app) => await ok(app, 'GET', '/api/v1/audit/verify?account=default')))
  /** The answer of every instance, which must agree. */
  const verdict = async (): Promise<Json> => {
    const all = await verify()
    for (const v of all.slice(1)) t.strictSame(v, all[0], 'every instance reports the same')
    return all[0]
  }
  const intact = await verdict()
  const rows = await sql.all('SELECT * FROM audit_records WHERE account = ? ORDER BY seq', ['default'])
  t.strictSame(intact, { valid: true, records: rows.length, first_invalid_id: null }, `the chain verifies: ${rows.length} records`)
  const types = new Set(rows.map((r) => r.type))
  t.ok(['decision', 'sent', 'failed', 'conversation_paused'].every((type) => types.has(type)), `the pipeline's records are on it: ${[...types].join(', ')}`)
  t.strictSame(rows.map((r) => Number(r.seq)), rows.map((_, i) => i + 1), 'in contiguous positions')

  const decisions = rows.filter((r) => r.type === 'decision')
  const mid = decisions[Math.floor(decisions.length / 2)]
  const id = String(mid.id)
  const at = rows.indexOf(mid)
  const after = rows[at + 1]
  const restored = async (what: string): Promise<void> => {
    t.strictSame(await verdict(), intact, `${what} put back: valid again`)
  }

  // Edits: a column, the body (what the record says), the time.
  await sql.run('UPDATE audit_records SET action = ? WHERE id = ?', [mid.action === 'ignore' ? 'respond_text' : 'ignore', id])
  t.match(await verdict(), { valid: false, first_invalid_id: id, reason: 'hash' }, 'a decision\'s action edited')
  await sql.run('UPDATE audit_records SET action = ? WHERE id = ?', [mid.action, id])
  await restored('the action')

  const body = JSON.parse(String(mid.body)) as Json
  t.type(body.state_after, 'string', 'the body holds the decision\'s state')
  await sql.run('UPDATE audit_records SET body = ? WHERE id = ?', [JSON.stringify({ ...body, state_after: body.state_after === 'intent' ? 'discovery' : 'intent' }), id])
  t.match(await verdict(), { valid: false, first_invalid_id: id, reason: 'hash' }, 'a decision\'s state edited in its body')
  await sql.run('UPDATE audit_records SET body = ? WHERE id = ?', [mid.body, id])
  await restored('the body')

  await sql.run('UPDATE audit_records SET timestamp = ? WHERE id = ?', ['2020-01-01T00:00:00.000Z', id])
  t.match(await verdict(), { valid: false, first_invalid_id: id, reason: 'hash' }, 'a decision\'s timestamp edited')
  await sql.run('UPDATE audit_records SET timestamp = ? WHERE id = ?', [mid.timestamp, id])
  await restored('the timestamp')

  // A swap: two neighbours exchange positions; the one moved first no longer links to what precedes it.
  const swap = async (first: Row, second: Row): Promise<void> => {
    await sql.run('UPDATE audit_records SET seq = -1 WHERE id = ?', [first.id])
    await sql.run('UPDATE audit_records SET seq = ? WHERE id = ?', [first.seq, second.id])
    await sql.run('UPDATE audit_records SET seq = ? WHERE id = ?', [second.seq, first.id])
  }
  await swap(mid, after)
  t.match(await verdict(), { valid: false, first_invalid_id: after.id, reason: 'prev_hash' }, 'two records swapped')
  await swap({ ...mid, seq: after.seq }, { ...after, seq: mid.seq })
  await restored('the swap')

  // A swap of two decisions far apart, each keeping the other's place.
  const [early, late] = [decisions[1], decisions[decisions.length - 2]]
  await swap(early, late)
  t.match(await verdict(), { valid: false, first_invalid_id: late.id, reason: 'prev_hash' }, 'two distant decisions swapped')
  await swap({ ...early, seq: late.seq }, { ...late, seq: early.seq })
  await restored('the distant swap')

  // Deletions: from the middle, the following record no longer links; the newest, the head no longer matches.
  const columns = Object.keys(mid)
  const insert = async (row: Row): Promise<void> => {
    await sql.run(`INSERT INTO audit_records (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`, columns.map((c) => row[c]))
  }
  await sql.run('DELETE FROM audit_records WHERE id = ?', [id])
  t.match(await verdict(), { valid: false, first_invalid_id: after.id, reason: 'prev_hash' }, 'a decision deleted from the middle')
  await insert(mid)
  await restored('the deleted decision')

  const newest = rows[rows.length - 1]
  await sql.run('DELETE FROM audit_records WHERE id = ?', [newest.id])
  t.match(await verdict(), { valid: false, first_invalid_id: null, reason: 'head' }, 'the newest record deleted')
  await insert(newest)
  await restored('the newest record')

  // The record's own links, recomputed for an edit, still break at the next one.
  await sql.run('UPDATE audit_records SET action = ?, hash = ? WHERE id = ?', ['ignore', 'f'.repeat(64), id])
  t.match(await verdict(), { valid: false, first_invalid_id: id }, 'an edit with a forged hash')
  await sql.run('UPDATE audit_records SET action = ?, hash = ? WHERE id = ?', [mid.action, mid.hash, id])
  await restored('the forged hash')
}

t.test('SQLite file: an audit record edited, deleted or swapped in SQL is reported by /audit/verify', async (t) => {
  const path = join(t.testdir(), 'audit.db')
  const clock = fixedClock('2026-01-18T12:00:00.000Z')
  const app = await build(t, { now: clock.now, scheduler: false, env: { SELLIFY_ENCRYPTION_KEY: KEY }, store: { sqlitePath: path } })
  await ok(app, 'PUT', '/api/v1/accounts/default', { active_hours: 'always' })
  await ok(app, 'PUT', '/api/v1/knowledge', KB)
  await decide([app], clock)
  await tamper(t, [app], sqliteSql(t, path))
})

t.test('PostgreSQL, two instances on one chain: an audit record edited, deleted or swapped in SQL is reported by both', { skip: await pgSkip() }, async (t) => {
  const schema = pgSchema(t)
  const clock = fixedClock('2026-01-18T12:00:00.000Z')
  const instance = async (): Promise<FastifyInstance> => await build(t, { now: clock.now, scheduler: false, env: { SELLIFY_ENCRYPTION_KEY: KEY }, store: { databaseUrl: PG_URL, pgSchema: schema } })
  const a = await instance()
  await ok(a, 'PUT', '/api/v1/accounts/default', { active_hours: 'always' })
  await ok(a, 'PUT', '/api/v1/knowledge', KB)
  const b = await instance()
  await decide([a, b], clock)
  await tamper(t, [a, b], await postgresSql(t, schema))
})
