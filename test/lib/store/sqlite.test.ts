import t from 'tap'
import Database from 'better-sqlite3'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import { createSqliteStore, type SqliteStore } from '../../../lib/store/sqlite/index.js'
import { createStore } from '../../../lib/store/index.js'
import { SQLITE_MIGRATIONS } from '../../../lib/store/sqlite/migrations.js'
import { input, keys, makeAccount, storeContract, writable, type TestStore } from './contract/index.js'

const dir = t.testdir({})
const file = join(dir, 'contract.db')

async function openStore (path = file, busyTimeoutMs?: number): Promise<SqliteStore & TestStore> {
  const store = createSqliteStore({ path, ...(busyTimeoutMs === undefined ? {} : { busyTimeoutMs }) })
  await store.migrate()
  return writable(store) as SqliteStore & TestStore
}

t.test('contract', async (t) => {
  storeContract(t, { open: () => openStore() })
})

t.test('every connection is WAL with synchronous=FULL and a small busy timeout', async (t) => {
  const path = join(dir, 'pragmas.db')
  const first = await openStore(path)
  t.teardown(() => first.close())
  // The second connection is the one better-sqlite3 would leave at NORMAL.
  const second = await openStore(path)
  t.teardown(() => second.close())
  for (const s of [first, second]) {
    t.strictSame(s.connectionSettings(), { journal_mode: 'wal', synchronous: 2, busy_timeout: 100 })
  }
  const custom = createSqliteStore({ path, busyTimeoutMs: 25 })
  t.teardown(() => custom.close())
  t.equal(custom.connectionSettings().busy_timeout, 25)
  t.throws(() => createSqliteStore({ path, busyTimeoutMs: -1 }))
})

t.test('migrations are recorded once, whichever store runs them', async (t) => {
  const path = join(dir, 'migrations.db')
  const a = createSqliteStore({ path })
  const b = createSqliteStore({ path })
  t.teardown(() => Promise.all([a.close(), b.close()]))
  await Promise.all([a.migrate(), b.migrate()])
  await a.migrate()
  const raw = new Database(path, { readonly: true })
  t.teardown(() => raw.close())
  const versions = raw.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all()
  t.strictSame(versions, SQLITE_MIGRATIONS.map(m => m.version))
})

t.test('consumes of one event-loop turn are decided in arrival order', async (t) => {
  const store = await openStore()
  t.teardown(() => store.close())
  const limits = { messages_per_day: 3, messages_per_week: 1000, images_per_day: 50, videos_per_week: 20, messages_per_hour: 1000 }
  const results = await Promise.all(Array.from({ length: 6 }, () => store.consume(input('order', { limits }))))
  t.strictSame(results.map(r => r.ok), [true, true, true, false, false, false])
  t.strictSame(results.map(r => r.ok ? r.after.day.messages : r.usage.day.messages), [1, 2, 3, 3, 3, 3])
})

t.test('a resolved consume is already on disk for any other connection', async (t) => {
  const path = join(dir, 'durable.db')
  const store = await openStore(path)
  t.teardown(() => store.close())
  const raw = new Database(path, { readonly: true })
  t.teardown(() => raw.close())
  const read = raw.prepare('SELECT messages, images, videos FROM usage WHERE account = ? AND period = ?')
  const results = await Promise.all([
    store.consume(input('durable', { kind: 'image', count: 2 })),
    store.consume(input('durable', { kind: 'video' }))
  ])
  t.ok(results.every(r => r.ok))
  t.strictSame(read.get('durable', '2026-01-18'), { messages: 3, images: 2, videos: 1 })
  t.strictSame(read.get('durable', '2026-W03'), { messages: 3, images: 2, videos: 1 })
  t.strictSame(read.get('durable', '2026-01-18T12'), { messages: 3, images: 2, videos: 1 }, 'the hour row too')
})

t.test('close settles queued writes before closing; the file keeps them', async (t) => {
  const path = join(dir, 'close.db')
  const store = await openStore(path)
  await store.putAccount(makeAccount('closing', { limits: input('closing').limits }))
  const pending = Array.from({ length: 10 }, () => store.consume(input('closing')))
  const key = store.touchKey('nobody', '2026-01-18T00:00:00.000Z')
  await store.close()
  const results = await Promise.all(pending)
  await key
  t.equal(results.filter(r => r.ok).length, 10)
  const reopened = await openStore(path)
  t.teardown(() => reopened.close())
  t.equal((await reopened.getUsage('closing', keys('2026-01-18', '2026-W03'))).day.messages, 10)
})

t.test('a batch that cannot commit rejects every consume of it and keeps nothing', async (t) => {
  const path = join(dir, 'busy.db')
  const store = await openStore(path, 5)
  t.teardown(() => store.close())
  const blocker = new Database(path)
  t.teardown(() => blocker.close())
  blocker.pragma('busy_timeout = 5')
  await store.putAccount(makeAccount('busy', { limits: input('busy').limits }))

  // Another connection holds the write lock for longer than the store's retries last.
  blocker.exec('BEGIN IMMEDIATE')
  const results = await Promise.allSettled(Array.from({ length: 5 }, () => store.consume(input('busy'))))
  blocker.exec('ROLLBACK')
  t.ok(results.every(r => r.status === 'rejected'), 'every consume of the batch rejects')
  t.match((results[0] as PromiseRejectedResult).reason, { code: /^SQLITE_BUSY/ })
  t.equal((await store.getUsage('busy', keys('2026-01-18', '2026-W03'))).day.messages, 0, 'nothing of it was kept')

  // A lock released before the retries run out only delays the batch.
  blocker.exec('BEGIN IMMEDIATE')
  const late = store.consume(input('busy'))
  setImmediate(() => blocker.exec('ROLLBACK'))
  t.match(await late, { ok: true, after: { day: { messages: 1 } } })
})

t.test('a failing write in a batch rejects alone', async (t) => {
  const store = await openStore(join(dir, 'isolated.db'))
  t.teardown(() => store.close())
  const digest = Buffer.alloc(32, 7)
  const key = { id: 'k1', name: 'n', role: 'admin' as const, account: null, digest, created_at: '2026-01-01T00:00:00.000Z' }
  const [first, duplicate, consumed] = await Promise.allSettled([
    store.createKey(key),
    store.createKey({ ...key, id: 'k2' }),
    store.consume(input('isolated'))
  ])
  t.equal(first.status, 'fulfilled')
  t.equal(duplicate.status, 'rejected')
  t.match(consumed, { status: 'fulfilled', value: { ok: true } })
})

t.test('1000 consumes from two threads on one file grant exactly 100', async (t) => {
  const path = join(dir, 'threads.db')
  // A generous busy timeout: this proves exactness, and a loaded CI machine may deschedule the
  // thread that holds the write lock for longer than the production default.
  const busyTimeoutMs = 1000
  const store = await openStore(path, busyTimeoutMs)
  t.teardown(() => store.close())
  await store.putAccount(makeAccount('threads', { limits: input('threads').limits }))
  const storeUrl = pathToFileURL(join(import.meta.dirname, '../../../lib/store/sqlite/index.ts')).href
  // A worker file (not eval code): only those get this process's TypeScript loader, so the
  // other thread runs the real store, on its own connection, truly at the same time.
  const script = join(dir, 'consume-worker.mjs')
  writeFileSync(script, `
    import { parentPort, workerData } from 'node:worker_threads'
    const { createSqliteStore } = await import(workerData.storeUrl)
    const store = createSqliteStore({ path: workerData.path, busyTimeoutMs: workerData.busyTimeoutMs })
    await store.migrate()
    parentPort.postMessage('ready')
    await new Promise((resolve) => parentPort.once('message', resolve))
    const results = await Promise.allSettled(Array.from({ length: 500 }, () => store.commit([{ op: 'quota.consume', input: workerData.input }]).then(([r]) => r)))
    await store.close()
    parentPort.postMessage(results.map((r) => r.status === 'fulfilled' ? (r.value.ok ? 'granted' : 'denied') : 'error: ' + r.reason))
  `)
  const worker = new Worker(script, { workerData: { path, storeUrl, busyTimeoutMs, input: input('threads') } })
  t.teardown(() => worker.terminate())
  const messages: unknown[] = []
  const next = (): Promise<unknown> => new Promise((resolve, reject) => {
    worker.once('message', resolve)
    worker.once('error', reject)
  })
  messages.push(await next())
  t.equal(messages[0], 'ready')
  const fromWorker = next()
  worker.postMessage('go')
  const mine = await Promise.allSettled(Array.from({ length: 500 }, () => store.consume(input('threads'))))
  const theirs = await fromWorker as string[]
  const outcomes = [...mine.map(r => r.status === 'fulfilled' ? (r.value.ok ? 'granted' : 'denied') : `error: ${String(r.reason)}`), ...theirs]
  t.strictSame(outcomes.filter(o => o.startsWith('error')), [], 'no consume failed')
  t.equal(outcomes.filter(o => o === 'granted').length, 100)
  t.equal((await store.getUsage('threads', keys('2026-01-18', '2026-W03'))).day.messages, 100)
})

t.test('createStore picks SQLite, creates the folder, allows :memory:', async (t) => {
  const path = join(dir, 'nested', 'deeper', 'sellify.db')
  const store = createStore({ sqlitePath: path })
  t.teardown(() => store.close())
  t.equal(store.kind, 'sqlite')
  await store.migrate()
  t.ok(existsSync(path))

  const memory = writable(createStore({ sqlitePath: ':memory:' }))
  t.teardown(() => memory.close())
  await memory.migrate()
  t.match(await memory.consume(input('mem')), { ok: true })

  const pgStore = createStore({ databaseUrl: 'postgres://postgres@127.0.0.1:1/none', sqlitePath: path })
  t.equal(pgStore.kind, 'postgres', 'a database URL wins')
  await pgStore.close()
})
