/**
 * The embedded store: one better-sqlite3 connection per store, WAL, every commit fsynced.
 *
 * Writes are group-committed: each write call is queued, and the queue is flushed on
 * `setImmediate` in ONE `BEGIN IMMEDIATE` transaction that applies the calls in arrival order
 * (consumes read both rows, decide, write). Every promise of the batch settles only after
 * COMMIT returned, so one fsync acknowledges many requests (SPEC §10) and each answer is still
 * on disk when it is given (SPEC §4). Reads go straight to the connection: better-sqlite3 is
 * synchronous, so a read can never observe a batch half-applied.
 */
import Database from 'better-sqlite3'
import type { Account, ApiKeyRecord, PeriodUsage, ResetRecord, ResetType } from '../types.js'
import type { ConsumeInput, ConsumeResult, NewApiKey, ResetInput, ResetQuery, Store, StoredApiKey, UsagePair } from './types.js'
import {
  ACCOUNT_COLUMNS, accountValues, addUsage, checkConsumeInput, checkDayRange, checkResetInput, checkResetQuery,
  checkResetType, checkUsageKeys, closedError, firstFailingLimit, increments, num, type Row, rowToAccount,
  rowToKeyRecord, rowToReset, rowToStoredKey, rowToUsage, toIso, zeroUsage, checkNewKey
} from './common.js'
import { SQLITE_MIGRATIONS } from './sqlite-migrations.js'

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

/** Bounds the time one flush holds the event loop and the write lock. */
const MAX_BATCH = 512
/** A batch that met another connection's lock is retried this many times (nothing of it was kept) before it rejects. */
const BUSY_RETRIES = 3
/** Migrations may wait for another process's migration: it happens once, at start-up. */
const MIGRATION_BUSY_TIMEOUT_MS = 5000
/** How often the accounts kept in memory are checked against other connections' commits. */
const ACCOUNT_CHECK_MS = 100
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

/** Callers get their own copy: what they do with it cannot change the one kept in memory. */
const copyAccount = (a: Account): Account => ({ ...a, limits: { ...a.limits }, delays: { ...a.delays } })

const isBusy = (err: unknown): boolean => typeof (err as { code?: unknown })?.code === 'string' &&
  (err as { code: string }).code.startsWith('SQLITE_BUSY')

const ACCOUNT_UPDATES = ACCOUNT_COLUMNS.filter(c => c !== 'id' && c !== 'created_at').map(c => `${c} = excluded.${c}`).join(', ')
const SQL = {
  getAccount: 'SELECT * FROM accounts WHERE id = ?',
  listAccounts: 'SELECT * FROM accounts ORDER BY id',
  upsertAccount: `INSERT INTO accounts (${ACCOUNT_COLUMNS.join(', ')}) VALUES (${ACCOUNT_COLUMNS.map(() => '?').join(', ')})
    ON CONFLICT (id) DO UPDATE SET ${ACCOUNT_UPDATES}`,
  insertAccount: `INSERT INTO accounts (${ACCOUNT_COLUMNS.join(', ')}) VALUES (${ACCOUNT_COLUMNS.map(() => '?').join(', ')})
    ON CONFLICT (id) DO NOTHING`,
  deleteAccount: 'DELETE FROM accounts WHERE id = ?',
  deleteUsage: 'DELETE FROM usage WHERE account = ?',
  deleteLedger: 'DELETE FROM reset_periods WHERE account = ?',
  deleteResets: 'DELETE FROM resets WHERE account = ?',
  revokeAccountKeys: 'UPDATE api_keys SET revoked_at = ? WHERE account = ? AND revoked_at IS NULL',
  getUsage: 'SELECT messages, images, videos FROM usage WHERE account = ? AND period = ?',
  addUsage: `INSERT INTO usage (account, period, messages, images, videos) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (account, period) DO UPDATE SET
      messages = messages + excluded.messages, images = images + excluded.images, videos = videos + excluded.videos`,
  clearUsage: 'UPDATE usage SET messages = 0, images = 0, videos = 0 WHERE account = ? AND period = ?',
  insertLedger: 'INSERT INTO reset_periods (account, reset_type, period) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
  hasLedger: 'SELECT 1 FROM reset_periods WHERE account = ? AND reset_type = ? AND period = ?',
  insertReset: `INSERT INTO resets (account, reset_type, source, period, timestamp, before_messages, before_images, before_videos)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
  lastReset: 'SELECT * FROM resets WHERE account = ? AND reset_type = ? ORDER BY id DESC LIMIT 1',
  // Week keys are 8 characters long and can sort between two day keys; the length keeps them out.
  dayHistory: `SELECT period AS day, messages, images, videos FROM usage
    WHERE account = ? AND period >= ? AND period <= ? AND length(period) = 10 ORDER BY period`,
  createKey: 'INSERT INTO api_keys (id, name, role, account, digest, created_at) VALUES (?, ?, ?, ?, ?, ?)',
  listKeys: 'SELECT id, name, role, account, created_at, last_used_at FROM api_keys WHERE revoked_at IS NULL ORDER BY created_at, id',
  findKey: 'SELECT * FROM api_keys WHERE digest = ?',
  revokeKey: 'UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL',
  touchKey: 'UPDATE api_keys SET last_used_at = ? WHERE id = ?'
} as const

export function createSqliteStore (options: SqliteStoreOptions): SqliteStore {
  const busyTimeoutMs = options.busyTimeoutMs ?? 100
  if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0) throw new TypeError('busyTimeoutMs must be an integer >= 0')

  const db = new Database(options.path)
  try {
    // Set before the WAL switch, which itself may have to wait for another connection.
    db.pragma(`busy_timeout = ${busyTimeoutMs}`)
    db.pragma('journal_mode = WAL')
    // Explicitly, on every connection: in WAL mode NORMAL does not fsync at commit, so a power
    // loss can drop the last acknowledged writes, and SPEC §4 wants every acknowledged write on
    // disk. better-sqlite3 makes this easy to miss (SPEC §12): the connection that switches a new
    // file to WAL reports FULL, every later connection NORMAL.
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
  const getRow = (sql: string, ...params: unknown[]): Row | undefined => st(sql).get(...params) as Row | undefined
  const allRows = (sql: string, ...params: unknown[]): Row[] => st(sql).all(...params) as Row[]

  let closed = false
  let queue: Job[] = []
  let flushScheduled = false
  let retryTimer: NodeJS.Timeout | undefined
  let busyAttempts = 0

  /*
   * Accounts as last read: every consume looks its account up, and reading and mapping the row was
   * the largest part of the store's work per request. Trusted while PRAGMA data_version, looked at
   * (it is not free) at most every ACCOUNT_CHECK_MS, says no other connection committed; this
   * connection's own account writes drop their entry, a rolled-back batch drops them all.
   */
  const dataVersion = db.prepare('PRAGMA data_version').pluck()
  const accounts = new Map<string, Account>()
  let accountsVersion = -1
  let accountsCheckedAt = 0

  function account (id: string): Account | null {
    const now = Date.now()
    if (now - accountsCheckedAt >= ACCOUNT_CHECK_MS) {
      const version = dataVersion.get() as number
      if (version !== accountsVersion) {
        accounts.clear()
        accountsVersion = version
      }
      accountsCheckedAt = now
    }
    const hit = accounts.get(id)
    if (hit !== undefined) return copyAccount(hit)
    const row = getRow(SQL.getAccount, id)
    if (row === undefined) return null
    const found = rowToAccount(row)
    if (accounts.size >= ACCOUNT_CACHE_MAX) accounts.clear()
    accounts.set(id, copyAccount(found))
    return found
  }

  const savepoint = db.transaction((fn: () => unknown) => fn())
  const runBatch = db.transaction((batch: Job[]): Outcome[] => {
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
        accounts.clear()
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
      outcomes = runBatch.immediate(batch)
    } catch (err) {
      accounts.clear()
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

  function write<T> (run: () => T, isolated = true): Promise<T> {
    if (closed) return Promise.reject(closedError('sqlite'))
    return new Promise<T>((resolve, reject) => {
      queue.push({ run, isolated, resolve: resolve as (v: unknown) => void, reject })
      scheduleFlush()
    })
  }

  /** Input checks and reads run at once; a throw becomes a rejection, never an escape. */
  function direct<T> (fn: () => T): Promise<T> {
    if (closed) return Promise.reject(closedError('sqlite'))
    try {
      return Promise.resolve(fn())
    } catch (err) {
      return Promise.reject(err)
    }
  }

  function checked<T> (check: () => void, run: () => T, isolated = true): Promise<T> {
    try {
      check()
    } catch (err) {
      return Promise.reject(err)
    }
    return write(run, isolated)
  }

  /** An account write whose row values are checked before it is queued (a bad account rejects alone). */
  function accountWrite<T> (account: Account, run: (values: Array<string | number>) => T): Promise<T> {
    let values: Array<string | number>
    try {
      values = accountValues(account)
    } catch (err) {
      return Promise.reject(err)
    }
    return write(() => run(values))
  }

  const usage = (account: string, period: string): PeriodUsage => rowToUsage(getRow(SQL.getUsage, account, period))

  function applyConsume (input: ConsumeInput): ConsumeResult {
    const inc = increments(input.kind, input.count)
    const day = usage(input.account, input.day)
    const week = usage(input.account, input.week)
    if (input.mode === 'consume') {
      const limit = firstFailingLimit(inc, input.limits, day, week)
      if (limit !== null) return { ok: false, limit, usage: { day, week } }
    }
    st(SQL.addUsage).run(input.account, input.day, inc.messages, inc.images, inc.videos)
    st(SQL.addUsage).run(input.account, input.week, inc.messages, inc.images, inc.videos)
    return { ok: true, before: { day, week }, after: { day: addUsage(day, inc), week: addUsage(week, inc) } }
  }

  function applyReset (input: ResetInput, timestamp: string): ResetRecord | null {
    const recorded = st(SQL.insertLedger).run(input.account, input.reset_type, input.period).changes > 0
    let before: PeriodUsage
    if (input.source === 'manual') {
      before = usage(input.account, input.period)
      st(SQL.clearUsage).run(input.account, input.period)
    } else {
      if (!recorded) return null
      before = input.previous_period === undefined ? zeroUsage() : usage(input.account, input.previous_period)
    }
    const row = getRow(SQL.insertReset, input.account, input.reset_type, input.source, input.period, timestamp,
      before.messages, before.images, before.videos)
    if (row === undefined) throw new Error('store: the reset row was not returned')
    return rowToReset(row)
  }

  function lastReset (account: string, type: ResetType): ResetRecord | null {
    const row = getRow(SQL.lastReset, account, type)
    return row === undefined ? null : rowToReset(row)
  }

  function migrate (): void {
    accounts.clear()
    db.pragma(`busy_timeout = ${Math.max(busyTimeoutMs, MIGRATION_BUSY_TIMEOUT_MS)}`)
    try {
      db.transaction(() => {
        db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
          version INTEGER PRIMARY KEY,
          name TEXT NOT NULL,
          applied_at TEXT NOT NULL
        ) STRICT`)
        const applied = new Set(db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[])
        const newest = SQLITE_MIGRATIONS[SQLITE_MIGRATIONS.length - 1].version
        for (const v of applied) {
          if (v > newest) throw new Error(`store: the database schema (version ${v}) is newer than this build knows (${newest})`)
        }
        const record = db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))")
        for (const m of SQLITE_MIGRATIONS) {
          if (applied.has(m.version)) continue
          db.exec(m.sql)
          record.run(m.version, m.name)
        }
      }).immediate()
    } finally {
      db.pragma(`busy_timeout = ${busyTimeoutMs}`)
    }
  }

  const store: SqliteStore = {
    kind: 'sqlite',

    migrate: () => direct(migrate),

    ping: () => direct(() => { st('SELECT 1').get() }),

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
    },

    getAccount: (id) => direct(() => account(id)),

    listAccounts: () => direct(() => allRows(SQL.listAccounts).map(rowToAccount)),

    putAccount: (account) => accountWrite(account, (values) => {
      const created = getRow(SQL.getAccount, account.id) === undefined
      accounts.delete(account.id)
      st(SQL.upsertAccount).run(...values)
      return { account: rowToAccount(getRow(SQL.getAccount, account.id) as Row), created }
    }),

    ensureAccount: (account) => accountWrite(account, (values) => {
      accounts.delete(account.id)
      st(SQL.insertAccount).run(...values)
      return rowToAccount(getRow(SQL.getAccount, account.id) as Row)
    }),

    deleteAccount (id, at) {
      let revokedAt: string
      try {
        revokedAt = toIso(at ?? new Date())
      } catch (err) {
        return Promise.reject(err)
      }
      return write(() => {
        accounts.delete(id)
        const existed = st(SQL.deleteAccount).run(id).changes > 0
        st(SQL.deleteUsage).run(id)
        st(SQL.deleteLedger).run(id)
        st(SQL.deleteResets).run(id)
        st(SQL.revokeAccountKeys).run(revokedAt, id)
        return existed
      })
    },

    getUsage: (account, day, week): Promise<UsagePair> => direct(() => {
      checkUsageKeys(account, day, week)
      return { day: usage(account, day), week: usage(account, week) }
    }),

    // Not isolated: nothing but a broken database makes a consume throw, and then the batch must go.
    consume: (input) => checked(() => checkConsumeInput(input), () => applyConsume(input), false),

    recordReset (input) {
      let timestamp: string
      try {
        checkResetInput(input)
        timestamp = toIso(input.timestamp)
      } catch (err) {
        return Promise.reject(err)
      }
      return write(() => applyReset(input, timestamp))
    },

    lastResets: (account) => direct(() => ({ daily: lastReset(account, 'daily'), weekly: lastReset(account, 'weekly') })),

    hasReset: (account, type, period) => direct(() => {
      checkResetType(type)
      return getRow(SQL.hasLedger, account, type, period) !== undefined
    }),

    listResets: (query: ResetQuery) => direct(() => {
      checkResetQuery(query)
      const where: string[] = []
      const params: unknown[] = []
      if (query.account !== undefined) { where.push('account = ?'); params.push(query.account) }
      if (query.reset_type !== undefined) { where.push('reset_type = ?'); params.push(query.reset_type) }
      if (query.before !== undefined) { where.push('id < ?'); params.push(query.before) }
      const sql = `SELECT * FROM resets${where.length > 0 ? ' WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC LIMIT ?`
      return allRows(sql, ...params, query.limit).map(rowToReset)
    }),

    dayHistory: (account, from, to) => direct(() => {
      checkDayRange(account, from, to)
      return allRows(SQL.dayHistory, account, from, to).map(r => ({ day: String(r.day), ...rowToUsage(r) }))
    }),

    createKey (key: NewApiKey) {
      let createdAt: string
      try {
        checkNewKey(key)
        createdAt = toIso(key.created_at)
      } catch (err) {
        return Promise.reject(err)
      }
      return write(() => { st(SQL.createKey).run(key.id, key.name, key.role, key.account, key.digest, createdAt) })
    },

    listKeys: (): Promise<ApiKeyRecord[]> => direct(() => allRows(SQL.listKeys).map(rowToKeyRecord)),

    findKeyByDigest: (digest): Promise<StoredApiKey | null> => direct(() => {
      if (!Buffer.isBuffer(digest)) throw new TypeError('store: digest must be a Buffer')
      const row = getRow(SQL.findKey, digest)
      return row === undefined ? null : rowToStoredKey(row)
    }),

    revokeKey (id, at) {
      let revokedAt: string
      try {
        revokedAt = toIso(at)
      } catch (err) {
        return Promise.reject(err)
      }
      return write(() => st(SQL.revokeKey).run(revokedAt, id).changes > 0)
    },

    touchKey (id, at) {
      let usedAt: string
      try {
        usedAt = toIso(at)
      } catch (err) {
        return Promise.reject(err)
      }
      return write(() => { st(SQL.touchKey).run(usedAt, id) })
    }
  }
  return store
}
