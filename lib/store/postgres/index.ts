/**
 * The shared store: several instances on one PostgreSQL database enforce one global quota.
 *
 * A plan that is one consume is group-committed: the consumes of one event-loop turn go to the database in
 * ONE call of `sellify_consume_batch` (see migrations.ts), one round trip and one commit for all of them,
 * each decided exactly as if alone, across connections, processes and instances; every promise settles
 * after the commit. Any other plan runs in one transaction on one checked-out client (`pool.query` may use
 * another client for each call), or, when it is a single statement, on the pool.
 *
 * Account rows are kept in memory while `account_changes.version`, polled every second, says that no
 * instance changed an account: a consume then needs no read of its account.
 *
 * Each engine's statements live in its own file beside this one (accounts.ts, quota.ts, resets.ts, keys.ts).
 */
import pg from 'pg'
import type { OpName, OpOf, Store, StoreOp } from '../contract.js'
import type { Results, ResultOf } from '../../shared/unit-of-work.js'
import { AccountCache } from '../sql/account-cache.js'
import { WriteHealth } from '../sql/write-health.js'
import { pendingMigrations } from '../sql/migrate.js'
import { prepare } from '../sql/plan.js'
import { closedError, type Row } from '../sql/rows.js'
import { SellifyError } from '../../shared/errors.js'
import { postgresAccounts } from './accounts.js'
import { postgresAlerts } from './alerts.js'
import { postgresHealth } from './health.js'
import { postgresAudit } from './audit.js'
import { postgresConversations } from './conversations.js'
import { postgresDataKeys } from './data-keys.js'
import { postgresKeys } from './keys.js'
import { postgresKnowledge } from './knowledge.js'
import { POSTGRES_MIGRATIONS } from './migrations.js'
import { postgresQuota } from './quota.js'
import { postgresResets } from './resets.js'

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

/** Bounds the accounts kept in memory; cleared when full. */
const ACCOUNT_CACHE_MAX = 100_000

/** Lower case only: the schema goes into a `search_path` option where quoting would not survive. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/

/** A connection to run statements on: the pool (one statement, autocommit) or a client inside a transaction. */
export interface Queryable {
  query: (text: string, values?: unknown[]) => Promise<Row[]>
  result: (text: string, values?: unknown[]) => Promise<pg.QueryResult>
}

/** How one operation is applied (its input was checked by ../sql/plan.ts). */
export interface PostgresApplier<O extends StoreOp> {
  run: (q: Queryable, op: O) => Promise<ResultOf<O>>
  /** Alone in a plan, it still needs a transaction of its own (several statements). */
  transactional?: boolean
}

export type PostgresAppliers = { [K in OpName]: PostgresApplier<OpOf<K>> }

/** What an engine's PostgreSQL file is handed. */
export interface PostgresConn {
  pool: Queryable
  accounts: AccountCache
  closed: () => boolean
}

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

  const queryable = (runner: { query: (text: string, values?: unknown[]) => Promise<pg.QueryResult> }): Queryable => ({
    query: async (text, values) => (await runner.query(text, values)).rows as Row[],
    result: async (text, values) => await runner.query(text, values)
  })
  const poolQ = queryable({
    query: async (text, values) => {
      if (closed) throw closedError('postgres')
      return await pool.query(text, values)
    }
  })

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
      // A refusal of the plan's own (a conversation that changed meanwhile) leaves the connection as sound as a
      // database error does.
      if (err instanceof pg.DatabaseError || err instanceof SellifyError) {
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

  const conn: PostgresConn = {
    pool: poolQ,
    accounts: new AccountCache({ max: ACCOUNT_CACHE_MAX, trustMs: 3 * accountPollMs }),
    closed: () => closed
  }
  const accounts = postgresAccounts(conn)
  const quota = postgresQuota(conn, pool, queryTimeoutMs)
  const resets = postgresResets(conn)
  const keys = postgresKeys(conn)
  const knowledge = postgresKnowledge(conn)
  const dataKeys = postgresDataKeys(conn)
  const audit = postgresAudit(conn)
  const conversations = postgresConversations(conn)
  const alerts = postgresAlerts(conn)
  const accountHealth = postgresHealth(conn)
  const appliers: PostgresAppliers = {
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
    'plan.then': { run: async () => { throw new Error('store: plan.then is applied by the plan runner') }, transactional: true }
  }

  /** What a `plan.then` built: nothing to apply is a result of no results. */
  const applyBuilt = async (q: Queryable, built: readonly StoreOp[]): Promise<unknown[]> => built.length === 0 ? [] : await applyAll(q, built)

  /** Every operation of a plan in order, on one transaction's client; a `plan.then` sees the results before it. */
  async function applyAll (q: Queryable, plan: readonly StoreOp[], steps = prepare(plan, appliers as { [K in OpName]: PostgresApplier<StoreOp> })): Promise<unknown[]> {
    const results: unknown[] = []
    for (let i = 0; i < plan.length; i++) {
      const op: StoreOp = plan[i]
      if (op.when !== undefined && !op.when(results[i - 1])) {
        results.push(null)
        continue
      }
      results.push(op.op === 'plan.then' ? await applyBuilt(q, op.build(results)) : await steps[i].run(q, op))
    }
    return results
  }

  /** Read-only, disk full, I/O error: see ../sql/write-health.ts. */
  const health = new WriteHealth(cannotWrite)
  /** The engines' reads, refused while the store cannot write. */
  function guarded<T extends object> (reads: T): T {
    const wrapped: Record<string, unknown> = {}
    for (const [name, fn] of Object.entries(reads) as Array<[string, (...args: unknown[]) => Promise<unknown>]>) {
      wrapped[name] = (...args: unknown[]) => health.failure === null ? fn(...args) : Promise.reject(health.failure)
    }
    return wrapped as T
  }

  function commit<const P extends readonly StoreOp[]> (plan: P): Promise<Results<P>> {
    return health.track(apply(plan))
  }

  async function apply<const P extends readonly StoreOp[]> (plan: P): Promise<Results<P>> {
    const steps = prepare(plan, appliers as { [K in OpName]: PostgresApplier<StoreOp> })
    if (closed) throw closedError('postgres')
    if (plan.length === 1) {
      const op: StoreOp = plan[0]
      // The hot path: a lone consume joins this turn's batch.
      if (op.op === 'quota.consume') return [await quota.batched(op.input)] as Results<P>
      if (steps[0].transactional !== true) return [await steps[0].run(poolQ, op)] as Results<P>
    }
    return await transaction(async (client) => await applyAll(queryable(client), plan, steps) as Results<P>)
  }

  let pollTimer: NodeJS.Timeout | undefined

  async function pollAccounts (): Promise<void> {
    try {
      const rows = await poolQ.query('SELECT version FROM account_changes')
      conn.accounts.observe(String(rows[0]?.version))
    } catch {
      // Unknown: stop trusting memory until a poll succeeds again.
      conn.accounts.distrust()
    }
  }

  function startPolling (): void {
    if (pollTimer !== undefined || closed) return
    pollTimer = setInterval(() => { pollAccounts().catch(() => {}) }, accountPollMs)
    pollTimer.unref()
  }

  async function migrate (): Promise<void> {
    await transaction(async (client) => {
      // Serialises instances starting at once; released by COMMIT, so it cannot leak to another pooled
      // connection. Fine for migrations (not for scheduled work, which the reset ledger serialises).
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
      const applied = (await client.query('SELECT version FROM schema_migrations')).rows.map(r => Number(r.version))
      for (const m of pendingMigrations(POSTGRES_MIGRATIONS, applied)) {
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
    /** Answers only when a write commits (migration 6's one-row table). */
    async ping () {
      await health.track(poolQ.query('INSERT INTO store_probe (id, at) VALUES (true, now()) ON CONFLICT (id) DO UPDATE SET at = excluded.at'))
    },
    async close () {
      closed = true
      if (pollTimer !== undefined) clearInterval(pollTimer)
      pollTimer = undefined
      conn.accounts.distrust()
      // Consumes already accepted get their answer: a pool ended under a query still waiting for a
      // client would leave it waiting forever.
      await quota.drain()
      ended ??= pool.end()
      await ended
    },
    ...guarded(accounts.reads),
    ...guarded(quota.reads),
    ...guarded(resets.reads),
    ...guarded(keys.reads),
    ...guarded(knowledge.reads),
    ...guarded(dataKeys.reads),
    ...guarded(audit.reads),
    ...guarded(conversations.reads),
    ...guarded(alerts.reads),
    ...guarded(accountHealth.reads),
    commit
  }
}

/** SQLSTATEs of a database that cannot take a write: read-only transaction, disk full, I/O error. */
const CANNOT_WRITE = new Set(['25006', '53100', '58030'])
const cannotWrite = (err: unknown): boolean => err instanceof pg.DatabaseError && err.code !== undefined && CANNOT_WRITE.has(err.code)

function positiveInt (name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new TypeError(`${name} must be a positive integer`)
  return value
}
