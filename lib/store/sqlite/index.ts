/**
 * The embedded store: one better-sqlite3 connection per store, WAL, every commit fsynced.
 *
 * Writes are group-committed: each `commit(plan)` is queued, and the queue is flushed on `setImmediate` in
 * ONE `BEGIN IMMEDIATE` transaction that applies the plans in arrival order (a consume reads both rows,
 * decides, writes). A plan of several operations runs in a savepoint, so it is kept whole or not at all
 * while the rest of the batch goes on. Every promise of the batch settles only after COMMIT returned, so one
 * fsync acknowledges many requests and each answer is still on disk when it is given (README, "Durability").
 * Reads go straight to the connection: better-sqlite3 is synchronous, so a read can never observe a batch
 * half-applied.
 *
 * Each engine's statements live in its own file beside this one (accounts.ts, quota.ts, resets.ts, keys.ts).
 */
import Database from 'better-sqlite3'
import { statSync } from 'node:fs'
import type { Lifecycle, OpName, OpOf, Store, StoreOp } from '../contract.js'
import type { Results, ResultOf } from '../../shared/unit-of-work.js'
import { AccountCache } from '../sql/account-cache.js'
import { WriteHealth } from '../sql/write-health.js'
import { pendingMigrations } from '../sql/migrate.js'
import { prepare } from '../sql/plan.js'
import { closedError, num, type Row } from '../sql/rows.js'
import { sqliteAccounts } from './accounts.js'
import { sqliteAlerts } from './alerts.js'
import { sqliteHealth } from './health.js'
import { sqliteAudit } from './audit.js'
import { sqliteConversations } from './conversations.js'
import { sqliteDataKeys } from './data-keys.js'
import { sqliteKeys } from './keys.js'
import { sqliteKnowledge } from './knowledge.js'
import { SQLITE_MIGRATIONS } from './migrations.js'
import { sqliteQuota } from './quota.js'
import { sqliteResets } from './resets.js'

export interface SqliteStoreOptions {
  /** Database file; `:memory:` for a private in-memory database. */
  path: string
  /** How long one statement may wait for another connection's lock. It blocks the event loop: keep it small. */
  busyTimeoutMs?: number
}

export interface SqliteStore extends Store {
  readonly kind: 'sqlite'
  /** The durability settings in force on this store's connection (so tests can prove them). */
  connectionSettings (): { journal_mode: string, synchronous: number, busy_timeout: number }
}

/** What an engine's SQLite file is handed: prepared-statement helpers on the one connection, and the account cache. */
export interface SqliteConn {
  get: (sql: string, ...params: unknown[]) => Row | undefined
  all: (sql: string, ...params: unknown[]) => Row[]
  run: (sql: string, ...params: unknown[]) => Database.RunResult
  pluck: (sql: string) => Database.Statement
  accounts: AccountCache
}

/** How one operation is applied, inside the batch's transaction (its input was checked by ../sql/plan.ts). */
export interface SqliteApplier<O extends StoreOp> {
  run: (op: O) => ResultOf<O>
  /** Alone in a plan, it needs no savepoint: it writes nothing before anything that could throw. */
  atomic?: boolean
}

export type SqliteAppliers = { [K in OpName]: SqliteApplier<OpOf<K>> }

/** The write that `ping` commits (migration 2's table). */
const SQL_PROBE = 'INSERT INTO store_probe (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at'

/** The file's device and inode, or null for a database without a file (`:memory:`, `''`) or a missing file. */
function fileIdentity (path: string): { dev: number, ino: number } | null {
  if (path === ':memory:' || path === '' || path.startsWith('file:')) return null
  try {
    const { dev, ino } = statSync(path)
    return { dev, ino }
  } catch {
    return null
  }
}

/** Bounds the time one flush holds the event loop and the write lock. */
const MAX_BATCH = 512
/** A batch that met another connection's lock is retried this many times (nothing of it was kept) before it rejects. */
const BUSY_RETRIES = 3
/** Migrations may wait for another process's migration: it happens once, at start-up. */
const MIGRATION_BUSY_TIMEOUT_MS = 5000
/** Bounds the accounts kept in memory; cleared when full. */
const ACCOUNT_CACHE_MAX = 100_000

interface Job {
  run: () => unknown
  /** Run in a savepoint so that its own failure (a constraint) rejects it alone, not the batch. */
  isolated: boolean
  resolve: (value: unknown) => void
  reject: (err: unknown) => void
}

type Outcome = { ok: true, value: unknown } | { ok: false, error: unknown }

const codeOf = (err: unknown): string => typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : ''
const isBusy = (err: unknown): boolean => codeOf(err).startsWith('SQLITE_BUSY')
/** The database cannot take a write: full, read-only, or its file gone or failing. Not a refused operation. */
const UNWRITABLE = /^SQLITE_(FULL|IOERR|READONLY|CANTOPEN|CORRUPT|NOTADB)/

type Async<T> = { [K in keyof T]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<R> : never }

export function createSqliteStore (options: SqliteStoreOptions): SqliteStore {
  const busyTimeoutMs = options.busyTimeoutMs ?? 100
  if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0) throw new TypeError('busyTimeoutMs must be an integer >= 0')

  const db = new Database(options.path)
  try {
    // Set before the WAL switch, which itself may have to wait for another connection.
    db.pragma(`busy_timeout = ${busyTimeoutMs}`)
    db.pragma('journal_mode = WAL')
    // Explicitly, on every connection: in WAL mode NORMAL does not fsync at commit, so a power loss can
    // drop the last acknowledged writes, and every acknowledged write must be on disk. better-sqlite3
    // makes this easy to miss: the connection that switches a new file to WAL reports FULL, every later
    // connection NORMAL.
    db.pragma('synchronous = FULL')
  } catch (err) {
    db.close()
    throw err
  }

  const statements = new Map<string, Database.Statement>()
  const st = (sql: string): Database.Statement => {
    let s = statements.get(sql)
    if (s === undefined) {
      s = db.prepare(sql)
      statements.set(sql, s)
    }
    return s
  }
  const conn: SqliteConn = {
    get: (sql, ...params) => st(sql).get(...params) as Row | undefined,
    all: (sql, ...params) => st(sql).all(...params) as Row[],
    run: (sql, ...params) => st(sql).run(...params),
    pluck: (sql) => db.prepare(sql).pluck(),
    // Trusted without a time bound: accounts.ts looks at PRAGMA data_version before it reads.
    accounts: new AccountCache({ max: ACCOUNT_CACHE_MAX, trustMs: Number.POSITIVE_INFINITY })
  }

  const accounts = sqliteAccounts(conn)
  const quota = sqliteQuota(conn, accounts.reads.getAccount)
  const dataVersion = conn.pluck('PRAGMA data_version')
  const resets = sqliteResets(conn)
  const keys = sqliteKeys(conn)
  const knowledge = sqliteKnowledge(conn)
  const dataKeys = sqliteDataKeys(conn)
  const audit = sqliteAudit(conn)
  const conversations = sqliteConversations(conn)
  const alerts = sqliteAlerts(conn)
  const accountHealth = sqliteHealth(conn)
  const appliers: SqliteAppliers = {
    ...accounts.appliers,
    ...quota.appliers,
    ...resets.appliers,
    ...keys.appliers,
    ...knowledge.appliers,
    ...dataKeys.appliers,
    ...audit.appliers,
    ...conversations.appliers,
    ...alerts.appliers,
    ...accountHealth.appliers,
    // Applied by applyAll itself, which has the results before it.
    'plan.then': { run: () => { throw new Error('store: plan.then is applied by the plan runner') } }
  }

  /** What a `plan.then` built: nothing to apply is a result of no results. */
  const applyBuilt = (built: readonly StoreOp[]): unknown[] => built.length === 0 ? [] : applyAll(built)

  /** Every operation of a plan in order, inside the transaction; a `plan.then` sees the results before it. */
  function applyAll (plan: readonly StoreOp[], steps = prepare(plan, appliers as { [K in OpName]: SqliteApplier<StoreOp> })): unknown[] {
    const results: unknown[] = []
    for (let i = 0; i < plan.length; i++) {
      const op: StoreOp = plan[i]
      if (op.when !== undefined && !op.when(results[i - 1])) results.push(null)
      else results.push(op.op === 'plan.then' ? applyBuilt(op.build(results)) : steps[i].run(op))
    }
    return results
  }

  /** A batch that cannot commit for the database's own reason (or its file is no longer the one at the path). */
  const health = new WriteHealth((err) => UNWRITABLE.test(codeOf(err)))
  const identity = fileIdentity(options.path)
  /** Throws when the file at the path is not the one this connection has open (deleted, or replaced). */
  function assertSameFile (): void {
    if (identity === null) return
    const now = fileIdentity(options.path)
    if (now === null || now.dev !== identity.dev || now.ino !== identity.ino) {
      throw Object.assign(new Error(`sqlite: ${options.path} is no longer the database file this store opened (deleted or replaced); restart to open it again`), { code: 'SQLITE_CANTOPEN_REPLACED' })
    }
  }

  let closed = false
  let queue: Job[] = []
  let flushScheduled = false
  let retryTimer: NodeJS.Timeout | undefined
  let busyAttempts = 0

  const savepoint = db.transaction((fn: () => unknown) => fn())
  const runBatch = db.transaction((batch: Job[]): Outcome[] => {
    // The write lock is held from here on: what data_version says now stays true until COMMIT, so every
    // account this batch reads (consumes decide by the committed limits) is exactly what is committed.
    conn.accounts.observe(String(dataVersion.get()))
    const outcomes: Outcome[] = new Array(batch.length)
    for (let i = 0; i < batch.length; i++) {
      const job = batch[i]
      if (!job.isolated) {
        outcomes[i] = { ok: true, value: job.run() }
        continue
      }
      try {
        outcomes[i] = { ok: true, value: savepoint(job.run) }
      } catch (error) {
        // Whatever its savepoint undid may have been read into memory meanwhile.
        conn.accounts.clear()
        // An I/O error or a full disk makes SQLite roll the whole transaction back; going on
        // would run the rest in autocommit, outside the batch. Fail the batch instead.
        if (!db.inTransaction) throw error
        outcomes[i] = { ok: false, error }
      }
    }
    return outcomes
  })

  function scheduleFlush (): void {
    if (flushScheduled || retryTimer !== undefined) return
    flushScheduled = true
    setImmediate(flush)
  }

  function flush (): void {
    flushScheduled = false
    if (queue.length === 0) return
    const batch = queue.length <= MAX_BATCH ? queue : queue.slice(0, MAX_BATCH)
    let outcomes: Outcome[]
    try {
      // Acknowledged into a file nobody can open again would be lost at the next start.
      assertSameFile()
      outcomes = runBatch.immediate(batch)
      health.committed()
    } catch (err) {
      conn.accounts.clear()
      health.failed(err)
      if (isBusy(err) && !closed && busyAttempts < BUSY_RETRIES) {
        busyAttempts++
        retryTimer = setTimeout(() => {
          retryTimer = undefined
          flush()
        }, 5 * busyAttempts)
        return
      }
      busyAttempts = 0
      queue = queue.slice(batch.length)
      for (const job of batch) job.reject(err)
      if (queue.length > 0) scheduleFlush()
      return
    }
    busyAttempts = 0
    queue = queue === batch ? [] : queue.slice(batch.length)
    for (let i = 0; i < batch.length; i++) {
      const o = outcomes[i]
      if (o.ok) batch[i].resolve(o.value)
      else batch[i].reject(o.error)
    }
    if (queue.length > 0) scheduleFlush()
  }

  function commit<const P extends readonly StoreOp[]> (plan: P): Promise<Results<P>> {
    if (closed) return Promise.reject(closedError('sqlite'))
    let steps: Array<SqliteApplier<StoreOp>>
    try {
      steps = prepare(plan, appliers as { [K in OpName]: SqliteApplier<StoreOp> })
    } catch (err) {
      return Promise.reject(err)
    }
    const isolated = !(plan.length === 1 && steps[0].atomic === true)
    return new Promise((resolve, reject) => {
      queue.push({
        run: () => applyAll(plan, steps),
        isolated,
        resolve: resolve as (v: unknown) => void,
        reject
      })
      scheduleFlush()
    })
  }

  /** Reads run at once, on the connection; a throw (a bad argument, a closed store) becomes a rejection. */
  function direct<T extends object> (reads: T): Async<T> {
    const wrapped: Record<string, unknown> = {}
    for (const [name, fn] of Object.entries(reads) as Array<[string, (...args: unknown[]) => unknown]>) {
      wrapped[name] = (...args: unknown[]) => {
        if (closed) return Promise.reject(closedError('sqlite'))
        if (health.failure !== null) return Promise.reject(health.failure)
        try {
          return Promise.resolve(fn(...args))
        } catch (err) {
          return Promise.reject(err)
        }
      }
    }
    return wrapped as Async<T>
  }

  function migrate (): void {
    conn.accounts.clear()
    db.pragma(`busy_timeout = ${Math.max(busyTimeoutMs, MIGRATION_BUSY_TIMEOUT_MS)}`)
    try {
      db.transaction(() => {
        db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
          version INTEGER PRIMARY KEY,
          name TEXT NOT NULL,
          applied_at TEXT NOT NULL
        ) STRICT`)
        const applied = db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[]
        const record = db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))")
        for (const m of pendingMigrations(SQLITE_MIGRATIONS, applied)) {
          db.exec(m.sql)
          record.run(m.version, m.name)
        }
      }).immediate()
    } finally {
      db.pragma(`busy_timeout = ${busyTimeoutMs}`)
    }
  }

  /**
   * Answers only when a write commits: one row rewritten through the batch queue (so it is fsynced like any
   * acknowledged write), and only while the file at the path is still this store's.
   */
  function ping (): Promise<void> {
    if (closed) return Promise.reject(closedError('sqlite'))
    return new Promise((resolve, reject) => {
      queue.push({ run: () => conn.run(SQL_PROBE, new Date().toISOString()), isolated: false, resolve: () => { resolve() }, reject })
      scheduleFlush()
    })
  }

  const lifecycle = { migrate: direct({ migrate }).migrate, ping }

  const store: SqliteStore = {
    kind: 'sqlite' as const,
    ...lifecycle,
    ...direct(accounts.reads),
    ...direct(quota.reads),
    ...direct(resets.reads),
    ...direct(keys.reads),
    ...direct(knowledge.reads),
    ...direct(dataKeys.reads),
    ...direct(audit.reads),
    ...direct(conversations.reads),
    ...direct(alerts.reads),
    ...direct(accountHealth.reads),
    commit,

    async close () {
      if (closed) return
      closed = true
      if (retryTimer !== undefined) {
        clearTimeout(retryTimer)
        retryTimer = undefined
      }
      // Settle every queued write (closed: a busy batch rejects instead of waiting) before the handle goes.
      while (queue.length > 0) flush()
      db.close()
    },

    connectionSettings () {
      return {
        journal_mode: String(db.pragma('journal_mode', { simple: true })),
        synchronous: num(db.pragma('synchronous', { simple: true }) as number),
        busy_timeout: num(db.pragma('busy_timeout', { simple: true }) as number)
      }
    }
  } satisfies Lifecycle & SqliteStore
  return store
}
