/**
 * What every Sellify server of the bench shares: the database, the admin key, the master key and the
 * environment that keeps limits, rate limiting and warm-up out of the load's way.
 */
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import type { Where } from './accounts.js'
import { LOOSE_LIMIT } from './constants.js'

export const PG_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
export const API_KEY = `bench-${randomBytes(24).toString('hex')}`
/** Production refuses to start without a master key: a fresh one per run, like the databases it encrypts into. */
const ENCRYPTION_KEY = randomBytes(32).toString('hex')

export async function postgresReachable (): Promise<boolean> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 })
  try {
    await client.connect()
    await client.query('SELECT 1')
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => {})
  }
}

export async function pgExec (sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 5000 })
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}

/** Drops a target's schema; nothing when it is on SQLite (its file goes with the bench's temporary folder). */
export async function dropSchema (where: Where): Promise<void> {
  if (where.store === 'postgres') await pgExec(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(where.schema ?? '')} CASCADE`).catch(() => {})
}

/** `node dist/server.js` as in production, on this store. */
export function sellifyEnv (where: Where): Record<string, string> {
  return {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    SELLIFY_API_KEY: API_KEY,
    SELLIFY_ENCRYPTION_KEY: ENCRYPTION_KEY,
    // Rate limiting stays on (its hooks run on every request), just out of the way of the load.
    SELLIFY_RATE_LIMIT_MAX: String(LOOSE_LIMIT),
    SELLIFY_MESSAGES_PER_DAY: String(LOOSE_LIMIT),
    SELLIFY_MESSAGES_PER_WEEK: String(LOOSE_LIMIT),
    SELLIFY_MESSAGES_PER_HOUR: String(LOOSE_LIMIT),
    SELLIFY_WARMUP: 'off',
    SELLIFY_AI_PROVIDER: 'none',
    ...(where.store === 'sqlite'
      ? { SELLIFY_DB_PATH: where.sqlitePath ?? '' }
      : { DATABASE_URL: where.databaseUrl ?? '', SELLIFY_PG_SCHEMA: where.schema ?? '' })
  }
}
