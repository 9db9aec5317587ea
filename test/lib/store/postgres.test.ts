import t from 'tap'
import pg from 'pg'
import { randomBytes } from 'node:crypto'
import { createPostgresStore, type PostgresStoreOptions } from '../../../lib/store/postgres/index.js'
import { createStore } from '../../../lib/store/index.js'
import { POSTGRES_MIGRATIONS } from '../../../lib/store/postgres/migrations.js'
import { input, keys, storeContract, writable, type TestStore } from './contract/index.js'
import { PG_URL as url, pgSkip } from '../../helper.js'

const schema = `sellify_test_${randomBytes(6).toString('hex')}`

// The one PostgreSQL gate (test/helper.ts): skipped with a notice outside CI, a failure under CI=true.
const skip = await pgSkip()
if (skip !== false) {
  t.comment(`SKIPPING the PostgreSQL store tests: ${skip}`)
  t.test('PostgreSQL store', { skip }, async () => {})
} else {
  const admin = new pg.Client({ connectionString: url })
  await admin.connect()
  const schemas = [schema]
  t.teardown(async () => {
    for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(s)} CASCADE`)
    await admin.end()
  })

  async function openStore (options: Partial<PostgresStoreOptions> = {}): Promise<TestStore> {
    const store = createPostgresStore({ connectionString: url, schema, poolSize: 10, ...options })
    await store.migrate()
    return writable(store)
  }

  t.test('contract', async (t) => {
    storeContract(t, { open: () => openStore() })
  })

  t.test('two instances migrating a new schema at once apply each migration once', async (t) => {
    const fresh = `${schema}_m`
    schemas.push(fresh)
    const a = writable(createPostgresStore({ connectionString: url, schema: fresh, poolSize: 2 }))
    const b = writable(createPostgresStore({ connectionString: url, schema: fresh, poolSize: 2 }))
    t.teardown(() => Promise.all([a.close(), b.close()]))
    await Promise.all([a.migrate(), b.migrate(), a.migrate()])
    await b.migrate()
    const { rows } = await admin.query(`SELECT version FROM ${pg.escapeIdentifier(fresh)}.schema_migrations ORDER BY version`)
    t.strictSame(rows.map(r => r.version), POSTGRES_MIGRATIONS.map(m => m.version))
    t.match(await a.consume(input('fresh')), { ok: true })
  })

  t.test('a pool at a dead port rejects quickly (fail closed)', async (t) => {
    const dead = writable(createPostgresStore({ connectionString: 'postgres://postgres@127.0.0.1:1/test', connectionTimeoutMs: 500 }))
    t.teardown(() => dead.close())
    const started = Date.now()
    await t.rejects(dead.consume(input('dead')))
    await t.rejects(dead.consume(input('dead', { mode: 'record' })))
    await t.rejects(dead.ping())
    await t.rejects(dead.migrate())
    await t.rejects(dead.recordReset({ account: 'dead', reset_type: 'daily', source: 'manual', period: '2026-01-18', timestamp: '2026-01-18T00:00:00.000Z' }))
    t.ok(Date.now() - started < 5000, 'no hang')
  })

  t.test('a broken idle connection is reported, not fatal, and replaced', async (t) => {
    const errors: Error[] = []
    const store = await openStore({ poolSize: 2, onError: (err) => errors.push(err) })
    t.teardown(() => store.close())
    await store.ping()
    const killed = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [`sellify-core:${schema}`])
    t.ok(killed.rowCount !== null && killed.rowCount > 0)
    for (let i = 0; i < 50 && errors.length === 0; i++) await new Promise(resolve => setTimeout(resolve, 20))
    t.ok(errors.length > 0, 'the pool reported the error')
    await t.resolves(store.ping(), 'the next query opens a new connection')
    t.match(await store.consume(input('after-kill')), { ok: true })
  })

  t.test('a statement past the query timeout rejects', async (t) => {
    const store = await openStore({ queryTimeoutMs: 200, poolSize: 1 })
    t.teardown(() => store.close())
    const id = 'slow'
    await store.consume(input(id))
    // Another session holds the row lock: the consume waits, then the timeout ends it.
    const holder = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` })
    await holder.connect()
    t.teardown(() => holder.end())
    await holder.query('BEGIN')
    await holder.query('SELECT * FROM usage WHERE account = $1 AND period = $2 FOR UPDATE', [id, '2026-01-18'])
    await t.rejects(store.consume(input(id)))
    await holder.query('ROLLBACK')
    t.match(await store.consume(input(id)), { ok: true, after: { day: { messages: 2 } } }, 'the pool recovers')
  })

  t.test('rows another transaction holds keep their own accounts waiting, not everyone', async (t) => {
    const store = await openStore()
    t.teardown(() => store.close())
    const held = ['held-a', 'held-b']
    const free = Array.from({ length: 40 }, (_, i) => `free-${i}`)
    for (const id of [...held, ...free]) await store.consume(input(id))
    const holder = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` })
    await holder.connect()
    t.teardown(() => holder.end())
    await holder.query('BEGIN')
    await holder.query('SELECT * FROM usage WHERE account = ANY($1) FOR UPDATE', [held])
    let released = false
    // A bound for the test, not a timing claim: the held rows are let go after 3 s whatever happens.
    const release = setTimeout(() => { released = true; holder.query('ROLLBACK').catch(() => {}) }, 3000)
    t.teardown(() => clearTimeout(release))

    const heldConsumes = held.flatMap((id) => [store.consume(input(id)), store.consume(input(id))])
    const freeConsumes = await Promise.all(free.flatMap((id) => [store.consume(input(id)), store.consume(input(id))])
      .map((p) => p.then((r) => ({ ok: r.ok, whileHeld: !released }))))
    t.ok(freeConsumes.every((r) => r.ok && r.whileHeld), 'every other account was answered while the rows were held')
    clearTimeout(release)
    released = true
    await holder.query('ROLLBACK')
    const after = await Promise.all(heldConsumes)
    t.ok(after.every((r) => r.ok), 'the held accounts were answered once their rows were free')
    for (const id of held) t.equal((await store.getUsage(id, keys('2026-01-18', '2026-W03'))).day.messages, 3, `${id} counted each consume once`)
  })

  t.test('a database that cannot take writes: ping, reads and writes reject until a write commits again', async (t) => {
    const role = `sellify_ro_${randomBytes(4).toString('hex')}`
    await admin.query(`CREATE ROLE ${role} LOGIN`)
    t.teardown(async () => {
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [role])
      await admin.query(`DROP OWNED BY ${role}`)
      await admin.query(`DROP ROLE ${role}`)
    })
    const own = `${schema}_ro`
    schemas.push(own)
    await admin.query(`CREATE SCHEMA ${own} AUTHORIZATION ${role}`)
    const roleUrl = new URL(url)
    roleUrl.username = role
    const store = writable(createPostgresStore({ connectionString: roleUrl.href, schema: own, poolSize: 2 }))
    t.teardown(() => store.close())
    await store.migrate()
    t.match(await store.consume(input('ro')), { ok: true })
    await t.resolves(store.ping())

    // New connections of the role are read-only; its open ones are ended, so the pool opens new ones.
    const reconnect = async () => {
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [role])
      // The pool learns of its ended connections when their errors arrive.
      for (let i = 0; i < 50; i++) {
        const { rows } = await admin.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1', [role])
        if (rows[0].n === 0) break
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    await admin.query(`ALTER ROLE ${role} SET default_transaction_read_only = on`)
    await reconnect()
    await t.rejects(store.ping(), { code: '25006' }, 'the health probe fails: nothing can be written')
    await t.rejects(store.getUsage('ro', keys('2026-01-18', '2026-W03')), { code: '25006' }, 'a read (what check does) rejects as well')
    await t.rejects(store.consume(input('ro')), { code: '25006' })

    await admin.query(`ALTER ROLE ${role} RESET default_transaction_read_only`)
    await reconnect()
    await t.resolves(store.ping(), 'healthy again once a write commits')
    t.strictSame((await store.getUsage('ro', keys('2026-01-18', '2026-W03'))).day.messages, 1)
  })

  t.test('createStore picks PostgreSQL when a database URL is set', async (t) => {
    const store = createStore({ databaseUrl: url, pgSchema: schema, pgPoolSize: 2, queryTimeoutMs: 1000, sqlitePath: '/nonexistent/never.db' })
    t.teardown(() => store.close())
    t.equal(store.kind, 'postgres')
    await store.migrate()
    await t.resolves(store.ping())
    t.throws(() => createPostgresStore({ connectionString: url, schema: 'Bad"Schema' }))
  })
}
