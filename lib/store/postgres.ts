/**
 * The shared store: several instances on one PostgreSQL database enforce one global quota.
 *
 * Each consume is ONE round trip to the `sellify_consume` function (see postgres-migrations.ts),
 * atomic and exact across connections, processes and instances. Every other write is a single
 * statement (atomic by itself) or a transaction on one checked-out client: `pool.query` may use
 * another client for each call (SPEC §12).
 */
import pg from 'pg'
import type { PeriodUsage, ResetRecord } from '../types.js'
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
}

/** Lower case only: the schema goes into a `search_path` option where quoting would not survive. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/

const ACCOUNT_UPDATES = ACCOUNT_COLUMNS.filter(c => c !== 'id' && c !== 'created_at').map(c => `${c} = excluded.${c}`).join(', ')
const ACCOUNT_INSERT = `INSERT INTO accounts (${ACCOUNT_COLUMNS.join(', ')}) VALUES (${ACCOUNT_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`
const RESET_COLUMNS = 'account, reset_type, source, period, timestamp, before_messages, before_images, before_videos'

const SQL = {
  consume: 'SELECT * FROM sellify_consume($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)',
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

  async function consume (input: ConsumeInput): Promise<ConsumeResult> {
    checkConsumeInput(input)
    const inc = increments(input.kind, input.count)
    const l = input.limits
    if (closed) throw closedError('postgres')
    const res = await pool.query({
      name: 'sellify_consume',
      text: SQL.consume,
      values: [input.account, input.day, input.week, inc.messages, inc.images, inc.videos,
        l.messages_per_day, l.messages_per_week, l.images_per_day, l.videos_per_week, input.mode === 'record']
    })
    const r = res.rows[0] as Row | undefined
    if (r === undefined) throw new Error('store: sellify_consume returned no row')
    const day: PeriodUsage = { messages: Number(r.day_messages), images: Number(r.day_images), videos: Number(r.day_videos) }
    const week: PeriodUsage = { messages: Number(r.week_messages), images: Number(r.week_images), videos: Number(r.week_videos) }
    if (r.allowed === true) return { ok: true, before: { day: subUsage(day, inc), week: subUsage(week, inc) }, after: { day, week } }
    const limit = r.failed_limit
    if (limit !== 'messages_per_day' && limit !== 'messages_per_week' && limit !== 'images_per_day' && limit !== 'videos_per_week') {
      throw new Error(`store: sellify_consume returned an unknown limit ${String(limit)}`)
    }
    return { ok: false, limit, usage: { day, week } }
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
  }

  return {
    kind: 'postgres',

    migrate,

    async ping () {
      await query('SELECT 1')
    },

    async close () {
      closed = true
      ended ??= pool.end()
      await ended
    },

    async getAccount (id) {
      const rows = await query(SQL.getAccount, [id])
      return rows.length === 0 ? null : rowToAccount(rows[0])
    },

    async listAccounts () {
      return (await query(SQL.listAccounts)).map(rowToAccount)
    },

    async putAccount (account) {
      const rows = await query(SQL.putAccount, accountValues(account))
      return { account: rowToAccount(rows[0]), created: rows[0].created === true }
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
      const rows = await query(SQL.deleteAccount, [id, toIso(at ?? new Date())])
      return Number(rows[0]?.n) > 0
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

function positiveInt (name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new TypeError(`${name} must be a positive integer`)
  return value
}
