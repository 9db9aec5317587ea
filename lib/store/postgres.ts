/**
 * The shared store: several instances on one PostgreSQL database enforce one global quota.
 *
 * Consumes are group-committed: those of one event-loop turn go to the database in ONE call of
 * `sellify_consume_batch` (see postgres-migrations.ts), one round trip and one commit for all of
 * them, each decided exactly as if alone, across connections, processes and instances; every
 * promise settles after the commit. Every other write is a single statement (atomic by itself) or
 * a transaction on one checked-out client: `pool.query` may use another client for each call (SPEC §12).
 *
 * Account rows are kept in memory while `account_changes.version`, polled every second, says that
 * no instance changed an account: a consume then needs no read of its account.
 */
import pg from 'pg'
import type { Account, PeriodUsage, ResetRecord } from '../types.js'
import type { ConsumeInput, ConsumeResult, NewApiKey, ResetInput, ResetQuery, Store, UsagePair } from './types.js'
import {
  ACCOUNT_COLUMNS, accountValues, checkConsumeInput, checkDayRange, checkNewKey, checkResetInput, checkResetQuery,
  checkResetType, checkUsageKeys, closedError, increments, type Row, rowToAccount, rowToKeyRecord, rowToReset,
  rowToStoredKey, rowToUsage, subUsage, toIso
} from './common.js'
import { POSTGRES_MIGRATIONS } from './postgres-migrations.js'

export interface PostgresStoreOptions {
  connectionString: string
  /** Schema holding the tables (created by `migrate` when missing); the server's search_path when omitted. */
  schema?: string
  /** Connections in the pool (default 10). */
  poolSize?: number
  /** Longest a statement may run (default 5000 ms). */
  queryTimeoutMs?: number
  /** Longest to wait for a connection (default 2000 ms). */
  connectionTimeoutMs?: number
  /** Errors of idle pooled connections (the server went away). The pool drops the connection either way. */
  onError?: (err: Error) => void
  /** How often another instance's account changes are looked for (default 1000 ms). */
  accountPollMs?: number
}

/** Bounds one consume batch: its arrays, its statement time and the row locks it holds. */
const CONSUME_BATCH_MAX = 256
/** Batches in flight at once: while they run, the next consumes gather into a larger batch. */
const CONSUME_BATCHES_IN_FLIGHT = 2
/** A batch that deadlocked (only possible against other writers of the same rows) is rolled back whole: retried this often. */
const CONSUME_RETRIES = 2
/** Bounds the accounts kept in memory; cleared when full. */
const ACCOUNT_CACHE_MAX = 100_000

/** Lower case only: the schema goes into a `search_path` option where quoting would not survive. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/

const ACCOUNT_UPDATES = ACCOUNT_COLUMNS.filter(c => c !== 'id' && c !== 'created_at').map(c => `${c} = excluded.${c}`).join(', ')
const ACCOUNT_INSERT = `INSERT INTO accounts (${ACCOUNT_COLUMNS.join(', ')}) VALUES (${ACCOUNT_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`
const RESET_COLUMNS = 'account, reset_type, source, period, timestamp, before_messages, before_images, before_videos'

const SQL = {
  consumeBatch: `SELECT * FROM sellify_consume_batch($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[],
    $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::boolean[])`,
  accountsVersion: 'SELECT version FROM account_changes',
  getAccount: 'SELECT * FROM accounts WHERE id = $1',
  listAccounts: 'SELECT * FROM accounts ORDER BY id',
  // xmax is 0 only on a row version this statement inserted: it tells a creation from a replacement.
  putAccount: `${ACCOUNT_INSERT} ON CONFLICT (id) DO UPDATE SET ${ACCOUNT_UPDATES} RETURNING *, (xmax = 0) AS created`,
  ensureAccount: `WITH ins AS (${ACCOUNT_INSERT} ON CONFLICT (id) DO NOTHING RETURNING *)
    SELECT * FROM ins UNION ALL SELECT * FROM accounts WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM ins)`,
  // One statement, so one transaction: every part happens or none.
  deleteAccount: `WITH gone AS (DELETE FROM accounts WHERE id = $1 RETURNING id),
    u AS (DELETE FROM usage WHERE account = $1),
    l AS (DELETE FROM reset_periods WHERE account = $1),
    r AS (DELETE FROM resets WHERE account = $1),
    k AS (UPDATE api_keys SET revoked_at = $2 WHERE account = $1 AND revoked_at IS NULL)
    SELECT count(*)::int AS n FROM gone`,
  getUsage: 'SELECT period, messages, images, videos FROM usage WHERE account = $1 AND period IN ($2, $3)',
  // The ledger row and the reset row in one statement: a racing instance waits on the ledger key,
  // then finds it taken and records nothing. Exactly once (SPEC §6, §12).
  periodicReset: `WITH ledger AS (
      INSERT INTO reset_periods (account, reset_type, period) VALUES ($1, $2, $4) ON CONFLICT DO NOTHING RETURNING account
    ), prev AS (
      SELECT messages, images, videos FROM usage WHERE account = $1 AND period = $6::text
    )
    INSERT INTO resets (${RESET_COLUMNS})
    SELECT $1::text, $2::text, $3::text, $4::text, $5::timestamptz,
      coalesce(prev.messages, 0), coalesce(prev.images, 0), coalesce(prev.videos, 0)
    FROM ledger LEFT JOIN prev ON true
    RETURNING *`,
  insertLedger: 'INSERT INTO reset_periods (account, reset_type, period) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
  lockUsage: 'SELECT messages, images, videos FROM usage WHERE account = $1 AND period = $2 FOR UPDATE',
  clearUsage: 'UPDATE usage SET messages = 0, images = 0, videos = 0 WHERE account = $1 AND period = $2',
  insertReset: `INSERT INTO resets (${RESET_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
  lastResets: `(SELECT * FROM resets WHERE account = $1 AND reset_type = 'daily' ORDER BY id DESC LIMIT 1)
    UNION ALL
    (SELECT * FROM resets WHERE account = $1 AND reset_type = 'weekly' ORDER BY id DESC LIMIT 1)`,
  hasReset: 'SELECT 1 FROM reset_periods WHERE account = $1 AND reset_type = $2 AND period = $3',
  // Week keys are 8 characters long and can sort between two day keys; the length keeps them out.
  dayHistory: `SELECT period AS day, messages, images, videos FROM usage
    WHERE account = $1 AND period >= $2 AND period <= $3 AND length(period) = 10 ORDER BY period`,
  createKey: 'INSERT INTO api_keys (id, name, role, account, digest, created_at) VALUES ($1, $2, $3, $4, $5, $6)',
  listKeys: 'SELECT id, name, role, account, created_at, last_used_at FROM api_keys WHERE revoked_at IS NULL ORDER BY created_at, id',
  findKey: 'SELECT * FROM api_keys WHERE digest = $1',
  revokeKey: 'UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL',
  touchKey: 'UPDATE api_keys SET last_used_at = $2 WHERE id = $1'
} as const

export function createPostgresStore (options: PostgresStoreOptions): Store {
  const { connectionString, schema } = options
  if (typeof connectionString !== 'string' || connectionString === '') throw new TypeError('connectionString must be a non-empty string')
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new TypeError(`schema must match ${String(SCHEMA_NAME)}, got ${JSON.stringify(schema)}`)
  }
  const poolSize = positiveInt('poolSize', options.poolSize ?? 10)
  const queryTimeoutMs = positiveInt('queryTimeoutMs', options.queryTimeoutMs ?? 5000)
  const connectionTimeoutMs = positiveInt('connectionTimeoutMs', options.connectionTimeoutMs ?? 2000)
  const accountPollMs = positiveInt('accountPollMs', options.accountPollMs ?? 1000)
  const onError = options.onError

  const pool = new pg.Pool({
    connectionString,
    max: poolSize,
    connectionTimeoutMillis: connectionTimeoutMs,
    // The server cancels a statement at statement_timeout and the connection stays usable; the
    // client-side timeout, a little later, is the backstop for a server or network that is gone.
    statement_timeout: queryTimeoutMs,
    query_timeout: queryTimeoutMs + 1000,
    // A client lost mid-transaction must not keep row locks (and block every consume) for long.
    idle_in_transaction_session_timeout: Math.max(2 * queryTimeoutMs, 10_000),
    // Names the schema too, so an operator (or a test) can tell the stores' connections apart.
    application_name: schema === undefined ? 'sellify-core' : `sellify-core:${schema}`,
    ...(schema === undefined ? {} : { options: `-c search_path=${schema}` })
  })
  // An idle connection that breaks (server restart) is reported here; without a listener the
  // process would crash. The pool drops it and the next query opens a new one.
  pool.on('error', (err) => { onError?.(err) })

  let closed = false
  let ended: Promise<void> | undefined

  async function run (text: string, values?: unknown[]): Promise<pg.QueryResult> {
    if (closed) throw closedError('postgres')
    return await pool.query(text, values)
  }

  const query = async (text: string, values?: unknown[]): Promise<Row[]> => (await run(text, values)).rows as Row[]

  /** Runs `fn` inside BEGIN … COMMIT on one client; any failure rolls back and rejects. */
  async function transaction<T> (fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    if (closed) throw closedError('postgres')
    const client = await pool.connect()
    // Checked-out clients have no error listener of the pool's: a connection dropped between two
    // statements would otherwise crash the process. The pending query rejects on its own.
    const onClientError = (err: Error): void => { onError?.(err) }
    client.on('error', onClientError)
    let broken: Error | undefined
    try {
      await client.query('BEGIN')
      const result = await fn(client)
      await client.query('COMMIT')
      return result
    } catch (err) {
      if (err instanceof pg.DatabaseError) {
        try {
          await client.query('ROLLBACK')
        } catch (rollbackError) {
          broken = rollbackError as Error
        }
      } else {
        // Timeouts and connection errors leave the client in an unknown state: destroy it.
        broken = err as Error
      }
      throw err
    } finally {
      client.removeListener('error', onClientError)
      client.release(broken)
    }
  }

  const rowsToPair = (rows: Row[], day: string, week: string): UsagePair => ({
    day: rowToUsage(rows.find(r => r.period === day)),
    week: rowToUsage(rows.find(r => r.period === week))
  })

  interface PendingConsume {
    input: ConsumeInput
    inc: PeriodUsage
    resolve: (result: ConsumeResult) => void
    reject: (err: unknown) => void
  }
  let pending: PendingConsume[] = []
  let flushScheduled = false
  const batchesInFlight = new Set<Promise<void>>()

  function consume (input: ConsumeInput): Promise<ConsumeResult> {
    try {
      checkConsumeInput(input)
    } catch (err) {
      return Promise.reject(err)
    }
    if (closed) return Promise.reject(closedError('postgres'))
    return new Promise<ConsumeResult>((resolve, reject) => {
      pending.push({ input, inc: increments(input.kind, input.count), resolve, reject })
      scheduleConsumes()
    })
  }

  function scheduleConsumes (): void {
    if (flushScheduled || pending.length === 0) return
    flushScheduled = true
    setImmediate(flushConsumes)
  }

  function flushConsumes (): void {
    flushScheduled = false
    // Once closing, everything queued goes at once; close() ends the pool after these batches.
    const inFlightMax = closed ? Number.POSITIVE_INFINITY : CONSUME_BATCHES_IN_FLIGHT
    while (pending.length > 0 && batchesInFlight.size < inFlightMax) {
      const batch = pending.length <= CONSUME_BATCH_MAX ? pending : pending.slice(0, CONSUME_BATCH_MAX)
      pending = batch === pending ? [] : pending.slice(batch.length)
      // runConsumes settles every consume of its batch itself; the catch is for the unforeseen.
      const running: Promise<void> = runConsumes(batch).catch((err: unknown) => {
        for (const p of batch) p.reject(err)
      }).finally(() => {
        batchesInFlight.delete(running)
        scheduleConsumes()
      })
      batchesInFlight.add(running)
    }
  }

  async function runConsumes (batch: PendingConsume[]): Promise<void> {
    const column = <T>(pick: (p: PendingConsume) => T): T[] => batch.map(pick)
    const values = [
      column((p) => p.input.account), column((p) => p.input.day), column((p) => p.input.week),
      column((p) => p.inc.messages), column((p) => p.inc.images), column((p) => p.inc.videos),
      column((p) => p.input.limits.messages_per_day), column((p) => p.input.limits.messages_per_week),
      column((p) => p.input.limits.images_per_day), column((p) => p.input.limits.videos_per_week),
      column((p) => p.input.mode === 'record')
    ]
    let rows: Row[]
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          rows = (await pool.query({ name: 'sellify_consume_batch', text: SQL.consumeBatch, values })).rows as Row[]
          break
        } catch (err) {
          // Deadlock or serialization failure: the whole batch was rolled back, nothing of it counted.
          const code = (err as { code?: unknown }).code
          if (attempt >= CONSUME_RETRIES || (code !== '40P01' && code !== '40001')) throw err
        }
      }
    } catch (err) {
      for (const p of batch) p.reject(err)
      return
    }
    const results: Array<ConsumeResult | Error> = new Array(batch.length)
    for (const r of rows) {
      const i = Number(r.idx) - 1
      if (i >= 0 && i < batch.length) results[i] = consumeResult(r, batch[i].inc)
    }
    for (let i = 0; i < batch.length; i++) {
      const result = results[i] ?? new Error('store: sellify_consume_batch returned no row for a consume')
      if (result instanceof Error) batch[i].reject(result)
      else batch[i].resolve(result)
    }
  }

  function consumeResult (r: Row, inc: PeriodUsage): ConsumeResult | Error {
    const day: PeriodUsage = { messages: Number(r.day_messages), images: Number(r.day_images), videos: Number(r.day_videos) }
    const week: PeriodUsage = { messages: Number(r.week_messages), images: Number(r.week_images), videos: Number(r.week_videos) }
    if (r.allowed === true) return { ok: true, before: { day: subUsage(day, inc), week: subUsage(week, inc) }, after: { day, week } }
    const limit = r.failed_limit
    if (limit !== 'messages_per_day' && limit !== 'messages_per_week' && limit !== 'images_per_day' && limit !== 'videos_per_week') {
      return new Error(`store: sellify_consume_batch returned an unknown limit ${String(limit)}`)
    }
    return { ok: false, limit, usage: { day, week } }
  }

  /*
   * Accounts in memory, trusted while the last poll of account_changes (at most a few polls ago)
   * saw the version they were read under. A read that raced with a change is not kept: it is
   * stored only when the version did not move while it ran.
   */
  const accounts = new Map<string, Account>()
  let accountsVersion: string | undefined
  let accountsPolledAt = 0
  /** Grows with this instance's own account writes, which the version only shows at the next poll. */
  let ownChanges = 0
  let pollTimer: NodeJS.Timeout | undefined

  const accountsTrusted = (): boolean => accountsVersion !== undefined && Date.now() - accountsPolledAt < 3 * accountPollMs

  function remember (account: Account, version: string | undefined, changes: number): void {
    if (version === undefined || version !== accountsVersion || changes !== ownChanges) return
    if (accounts.size >= ACCOUNT_CACHE_MAX) accounts.clear()
    accounts.set(account.id, copyAccount(account))
  }

  async function pollAccounts (): Promise<void> {
    try {
      const rows = await query(SQL.accountsVersion)
      const version = String(rows[0]?.version)
      if (version !== accountsVersion) {
        accounts.clear()
        accountsVersion = version
      }
      accountsPolledAt = Date.now()
    } catch {
      // Unknown: stop trusting memory until a poll succeeds again.
      accounts.clear()
      accountsVersion = undefined
    }
  }

  function startPolling (): void {
    if (pollTimer !== undefined || closed) return
    pollTimer = setInterval(() => { pollAccounts().catch(() => {}) }, accountPollMs)
    pollTimer.unref()
  }

  async function recordReset (input: ResetInput): Promise<ResetRecord | null> {
    checkResetInput(input)
    const timestamp = toIso(input.timestamp)
    const { account, reset_type: type, source, period } = input
    if (source !== 'manual') {
      const rows = await query(SQL.periodicReset, [account, type, source, period, timestamp, input.previous_period ?? null])
      return rows.length === 0 ? null : rowToReset(rows[0])
    }
    return await transaction(async (client) => {
      await client.query(SQL.insertLedger, [account, type, period])
      // Locked so that no consume slips in between the read of `before` and the clearing.
      const old = await client.query(SQL.lockUsage, [account, period])
      const before = rowToUsage(old.rows[0] as Row | undefined)
      await client.query(SQL.clearUsage, [account, period])
      const res = await client.query(SQL.insertReset, [account, type, source, period, timestamp, before.messages, before.images, before.videos])
      return rowToReset(res.rows[0] as Row)
    })
  }

  async function migrate (): Promise<void> {
    await transaction(async (client) => {
      // Serialises instances starting at once; released by COMMIT, so it cannot leak to another
      // pooled connection. Fine for migrations (not for scheduled work: SPEC §12).
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`sellify-core:migrate:${schema ?? ''}`])
      if (schema !== undefined) {
        const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])
        // Checked first: CREATE SCHEMA IF NOT EXISTS needs the CREATE right even when the schema exists.
        if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${pg.escapeIdentifier(schema)}`)
      }
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`)
      const applied = new Set((await client.query('SELECT version FROM schema_migrations')).rows.map(r => Number(r.version)))
      const newest = POSTGRES_MIGRATIONS[POSTGRES_MIGRATIONS.length - 1].version
      for (const v of applied) {
        if (v > newest) throw new Error(`store: the database schema (version ${v}) is newer than this build knows (${newest})`)
      }
      for (const m of POSTGRES_MIGRATIONS) {
        if (applied.has(m.version)) continue
        await client.query(m.sql)
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name])
      }
    })
    await pollAccounts()
    startPolling()
  }

  return {
    kind: 'postgres',

    migrate,

    async ping () {
      await query('SELECT 1')
    },

    async close () {
      closed = true
      if (pollTimer !== undefined) clearInterval(pollTimer)
      pollTimer = undefined
      accounts.clear()
      // Consumes already accepted get their answer: a pool ended under a query still waiting for a
      // client would leave it waiting forever.
      flushConsumes()
      await Promise.all(batchesInFlight)
      ended ??= pool.end()
      await ended
    },

    async getAccount (id) {
      if (accountsTrusted()) {
        const hit = accounts.get(id)
        if (hit !== undefined) return copyAccount(hit)
      }
      const version = accountsVersion
      const changes = ownChanges
      const rows = await query(SQL.getAccount, [id])
      if (rows.length === 0) return null
      const account = rowToAccount(rows[0])
      remember(account, version, changes)
      return account
    },

    async listAccounts () {
      return (await query(SQL.listAccounts)).map(rowToAccount)
    },

    async putAccount (account) {
      const values = accountValues(account)
      ownChanges++
      accounts.delete(account.id)
      try {
        const rows = await query(SQL.putAccount, values)
        return { account: rowToAccount(rows[0]), created: rows[0].created === true }
      } finally {
        ownChanges++
        accounts.delete(account.id)
      }
    },

    async ensureAccount (account) {
      const values = accountValues(account)
      // Empty only when another instance inserted it after this statement's snapshot: look again.
      for (let attempt = 0; attempt < 3; attempt++) {
        const rows = await query(SQL.ensureAccount, values)
        if (rows.length > 0) return rowToAccount(rows[0])
      }
      throw new Error(`store: account ${JSON.stringify(account.id)} could not be created or read`)
    },

    async deleteAccount (id, at) {
      const revokedAt = toIso(at ?? new Date())
      ownChanges++
      accounts.delete(id)
      try {
        const rows = await query(SQL.deleteAccount, [id, revokedAt])
        return Number(rows[0]?.n) > 0
      } finally {
        ownChanges++
        accounts.delete(id)
      }
    },

    async getUsage (account, day, week) {
      checkUsageKeys(account, day, week)
      return rowsToPair(await query(SQL.getUsage, [account, day, week]), day, week)
    },

    consume,

    recordReset,

    async lastResets (account) {
      const rows = (await query(SQL.lastResets, [account])).map(rowToReset)
      return {
        daily: rows.find(r => r.reset_type === 'daily') ?? null,
        weekly: rows.find(r => r.reset_type === 'weekly') ?? null
      }
    },

    async hasReset (account, type, period) {
      checkResetType(type)
      return (await query(SQL.hasReset, [account, type, period])).length > 0
    },

    async listResets (q: ResetQuery) {
      checkResetQuery(q)
      const where: string[] = []
      const values: unknown[] = []
      if (q.account !== undefined) { values.push(q.account); where.push(`account = $${values.length}`) }
      if (q.reset_type !== undefined) { values.push(q.reset_type); where.push(`reset_type = $${values.length}`) }
      if (q.before !== undefined) { values.push(q.before); where.push(`id < $${values.length}`) }
      values.push(q.limit)
      const sql = `SELECT * FROM resets${where.length > 0 ? ' WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC LIMIT $${values.length}`
      return (await query(sql, values)).map(rowToReset)
    },

    async dayHistory (account, from, to) {
      checkDayRange(account, from, to)
      return (await query(SQL.dayHistory, [account, from, to])).map(r => ({ day: String(r.day), ...rowToUsage(r) }))
    },

    async createKey (key: NewApiKey) {
      checkNewKey(key)
      await query(SQL.createKey, [key.id, key.name, key.role, key.account, key.digest, toIso(key.created_at)])
    },

    async listKeys () {
      return (await query(SQL.listKeys)).map(rowToKeyRecord)
    },

    async findKeyByDigest (digest) {
      if (!Buffer.isBuffer(digest)) throw new TypeError('store: digest must be a Buffer')
      const rows = await query(SQL.findKey, [digest])
      return rows.length === 0 ? null : rowToStoredKey(rows[0])
    },

    async revokeKey (id, at) {
      const res = await run(SQL.revokeKey, [id, toIso(at)])
      return (res.rowCount ?? 0) > 0
    },

    async touchKey (id, at) {
      await query(SQL.touchKey, [id, toIso(at)])
    }
  }
}

/** Callers get their own copy: what they do with it cannot change the one kept in memory. */
function copyAccount (a: Account): Account {
  return { ...a, limits: { ...a.limits }, delays: { ...a.delays } }
}

function positiveInt (name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new TypeError(`${name} must be a positive integer`)
  return value
}
