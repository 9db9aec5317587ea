/**
 * A decision is all or nothing (README, "Deciding every message"): when its transaction fails at its very last write (the audit
 * record), the consume, the conversation, the messages, the claim and the alert before it are undone too, the
 * bot is answered 503, and the same webhook retried once the store is sound again is decided afresh — on the
 * real SQLite file and on the real PostgreSQL server. The failure is a trigger the test puts on the audit table.
 */
import t from 'tap'
import Database from 'better-sqlite3'
import pg from 'pg'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { build, call, fixedClock, PG_URL, pgSchema, pgSkip, type TapTest } from '../helper.js'

const CONTACT = '+33612345678'
const MESSAGE = { contact: CONTACT, message_id: 'wamid.ALL-OR-NOTHING', text: 'Je vais porter plainte, combien coûte la crème ?' }

interface Backend {
  app: FastifyInstance
  /** Every audit append fails from now on, until `heal`. */
  break: () => Promise<void>
  heal: () => Promise<void>
}

async function sqlite (t: TapTest): Promise<Backend> {
  const path = join(t.testdir(), 'decisions.db')
  const app = await build(t, { now: fixedClock('2026-01-19T10:00:00.000Z').now, store: { sqlitePath: path }, allowPrivateWebhooks: true, scheduler: false })
  const db = new Database(path)
  t.teardown(() => db.close())
  return {
    app,
    break: async () => { db.exec("CREATE TRIGGER audit_fails BEFORE INSERT ON audit_records BEGIN SELECT RAISE(ABORT, 'the disk says no'); END") },
    heal: async () => { db.exec('DROP TRIGGER audit_fails') }
  }
}

async function postgres (t: TapTest): Promise<Backend> {
  const schema = pgSchema(t)
  const app = await build(t, { now: fixedClock('2026-01-19T10:00:00.000Z').now, store: { databaseUrl: PG_URL, pgSchema: schema }, allowPrivateWebhooks: true, scheduler: false })
  const client = new pg.Client({ connectionString: PG_URL })
  await client.connect()
  t.teardown(() => client.end())
  return {
    app,
    break: async () => {
      await client.query(`CREATE FUNCTION ${schema}.audit_fails() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'the disk says no'; END $$`)
      await client.query(`CREATE TRIGGER audit_fails BEFORE INSERT ON ${schema}.audit_records FOR EACH ROW EXECUTE FUNCTION ${schema}.audit_fails()`)
    },
    heal: async () => { await client.query(`DROP TRIGGER audit_fails ON ${schema}.audit_records; DROP FUNCTION ${schema}.audit_fails()`) }
  }
}

/** What the owner can see of the account: counters, conversations, alerts and audit records. */
async function everything (app: FastifyInstance) {
  const usage = (await call(app, 'GET', '/api/v1/quota/status')).json().messages_today as number
  const conversations = (await call(app, 'GET', '/api/v1/conversations')).json().conversations as unknown[]
  const alerts = (await call(app, 'GET', '/api/v1/alerts')).json().alerts as unknown[]
  const records = ((await call(app, 'GET', '/api/v1/audit?type=decision')).json().records as unknown[]).length
  return { usage, conversations: conversations.length, alerts: alerts.length, records }
}

for (const [name, open] of [['SQLite', sqlite], ['PostgreSQL', postgres]] as const) {
  t.test(`${name}: a decision whose audit record cannot be written leaves nothing behind`, { skip: name === 'PostgreSQL' ? await pgSkip() : false }, async (t) => {
    const backend = await open(t)
    const { app } = backend
    const settings = {
      active_hours: 'always',
      escalation: { max_misunderstandings: 3, sensitive_keywords: [], reply: 'holding' },
      alert_webhooks: [{ url: 'http://127.0.0.1:9/hook', secret: 'a-secret-of-sixteen+' }]
    }
    t.ok([200, 201].includes((await call(app, 'PUT', '/api/v1/accounts/default', settings)).statusCode), 'configured')
    const before = await everything(app)
    t.strictSame(before, { usage: 0, conversations: 0, alerts: 0, records: 0 })

    await backend.break()
    const failed = await call(app, 'POST', '/api/v1/messages/incoming', MESSAGE)
    t.equal(failed.statusCode, 503, 'the store failed: the bot is told to wait, not what to send')
    t.equal(failed.json().code, 'SELLIFY_STORE_UNAVAILABLE')
    t.notMatch(failed.body, /plainte|33612345678/, 'the answer quotes neither the text nor the contact')
    await backend.heal()
    t.strictSame(await everything(app), before, 'no consume, no conversation, no alert, no record')

    const decided = await call(app, 'POST', '/api/v1/messages/incoming', MESSAGE)
    t.equal(decided.statusCode, 200, 'the retried webhook is decided afresh: the failed claim was undone too')
    t.match(decided.json(), { action: 'alert_human', rule: 'alert', reply: { source: 'template' }, alert: { trigger: 'legal_situation' }, quota: { usage: { messages_today: 1 } } })
    t.strictSame(await everything(app), { usage: 1, conversations: 1, alerts: 1, records: 1 }, 'now everything, once')
    t.match((await call(app, 'GET', '/api/v1/audit/verify')).json(), { valid: true })
  })
}
