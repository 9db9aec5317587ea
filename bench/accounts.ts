/**
 * The accounts of a target: created before its servers start, and its counters read back after they
 * stopped, to compare with what the bench was granted.
 */
import Database from 'better-sqlite3'
import pg from 'pg'
import { createPostgresStore, createSqliteStore, type Store } from '../lib/store/index.js'
import { ACCOUNT_COLUMNS, accountValues } from '../lib/store/sql/rows.js'
import { putAccountOp } from '../lib/accounts/store.js'
import type { Account } from '../lib/accounts/types.js'
import { defaultSettings } from '../lib/accounts/settings.js'
import type { Ledger } from './load.js'
import { LOOSE_LIMIT, PEER_TABLE } from './constants.js'

export type StoreKind = 'sqlite' | 'postgres'

export interface Where {
  store: StoreKind
  sqlitePath?: string
  databaseUrl?: string
  schema?: string
}

function openStore (where: Where): Store {
  if (where.store === 'sqlite') return createSqliteStore({ path: need(where.sqlitePath, 'sqlitePath') })
  return createPostgresStore({ connectionString: need(where.databaseUrl, 'databaseUrl'), ...(where.schema === undefined ? {} : { schema: where.schema }) })
}

function need (value: string | undefined, name: string): string {
  if (value === undefined) throw new Error(`${name} is required`)
  return value
}

/** PostgreSQL types of the account columns, in ACCOUNT_COLUMNS order, for one multi-row insert. */
const PG_ACCOUNT_TYPES = ['text', 'text', 'text', 'text', 'bigint', 'bigint', 'bigint', 'bigint', 'bigint', 'float8', 'float8', 'float8', 'timestamptz', 'boolean', 'bigint', 'integer', 'jsonb']

/**
 * Sellify's accounts: the schema by its own store's migrations; tight accounts get their day limit,
 * every other limit is loose. SQLite through the store (group commit makes it quick); PostgreSQL in
 * one statement, as 10 000 separate commits take seconds.
 */
export async function seedSellify (where: Where, ledger: Ledger): Promise<void> {
  const store = openStore(where)
  try {
    await store.migrate()
    const created_at = new Date().toISOString()
    const accounts: Account[] = ledger.ids.map((id, i) => ({
      id,
      timezone: 'UTC',
      reset_time: '00:00',
      week_start: 'monday',
      // Only the daily limit binds: the ledger checks it exactly. An established number: no warm-up.
      limits: { messages_per_day: ledger.limits[i], messages_per_week: LOOSE_LIMIT, images_per_day: LOOSE_LIMIT, videos_per_week: LOOSE_LIMIT, messages_per_hour: LOOSE_LIMIT },
      delays: { min_seconds: 2, max_seconds: 8, media_seconds: 5 },
      warmup: { enabled: false, start_per_day: 20, days: 14 },
      ...defaultSettings(),
      created_at
    }))
    if (where.store === 'sqlite') {
      await Promise.all(accounts.map((a) => store.commit([putAccountOp(a)])))
      return
    }
    const columns = ACCOUNT_COLUMNS.map((_, c) => accounts.map((a) => accountValues(a)[c]))
    await withPg(where, async (client) => {
      await client.query(`INSERT INTO accounts (${ACCOUNT_COLUMNS.join(', ')})
        SELECT * FROM unnest(${PG_ACCOUNT_TYPES.map((type, c) => `$${c + 1}::${type}[]`).join(', ')})`, columns)
    })
  } finally {
    await store.close()
  }
}

async function withPg<T> (where: Where, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: need(where.databaseUrl, 'databaseUrl') })
  await client.connect()
  try {
    await client.query(`SET search_path = ${pg.escapeIdentifier(need(where.schema, 'schema'))}`)
    return await fn(client)
  } finally {
    await client.end()
  }
}

/** Rows as both drivers give them. */
type CounterRow = { name: string, period: string, n: number | string }

async function rows (where: Where, sql: string): Promise<CounterRow[]> {
  if (where.store === 'sqlite') {
    const db = new Database(need(where.sqlitePath, 'sqlitePath'), { readonly: true })
    try {
      return db.prepare(sql).all() as CounterRow[]
    } finally {
      db.close()
    }
  }
  return await withPg(where, async (client) => (await client.query(sql)).rows as CounterRow[])
}

export interface Verdict {
  /** Sends granted beyond the limit, summed over accounts (must be 0). */
  overGrants: number
  /** Accounts whose stored day or week counter differs from what the bench was granted. */
  mismatches: number
  /** Accounts whose stored counters are below what was granted: grants the store lost. */
  under: number
  /** Day counts stored beyond what was granted, summed over accounts (what increment-first stores do). */
  excess: number
  /** Accounts whose stored day counter is above its limit. */
  storedOverLimit: number
}

/**
 * Every account: granted ≤ limit (per calendar day the run touched), and the stored day and week
 * counters equal what was granted. Requests that got no answer make "equal" a range.
 */
export async function verify (kind: 'sellify' | 'peer', where: Where, ledger: Ledger, days: number): Promise<Verdict> {
  const index = new Map(ledger.ids.map((id, i) => [id, i]))
  const n = ledger.ids.length
  const day = new Float64Array(n)
  const week = new Float64Array(n)
  let storedOverLimit = 0
  if (kind === 'sellify') {
    for (const r of await rows(where, 'SELECT account AS name, period, messages AS n FROM usage')) {
      const i = index.get(r.name)
      if (i === undefined) continue
      const count = Number(r.n)
      // Day keys are 10 characters, week keys 8; hour rows (13) count the same sends again and are left out.
      if (r.period.length === 10) {
        day[i] += count
        if (count > ledger.limits[i]) storedOverLimit++
      } else if (r.period.length === 8) {
        week[i] += count
      }
    }
  } else {
    for (const r of await rows(where, `SELECT key AS name, '' AS period, points AS n FROM ${PEER_TABLE}`)) {
      const [prefix, account] = [r.name.slice(0, r.name.indexOf(':')), r.name.slice(r.name.indexOf(':') + 1)]
      const i = index.get(account)
      if (i === undefined) continue
      const count = Number(r.n)
      if (prefix === 'day') {
        day[i] += count
        if (count > ledger.limits[i]) storedOverLimit++
      } else if (prefix === 'week') {
        week[i] += count
      }
    }
  }
  let overGrants = 0
  let mismatches = 0
  let under = 0
  let excess = 0
  for (let i = 0; i < n; i++) {
    const g = ledger.granted[i]
    overGrants += Math.max(0, g - ledger.limits[i] * days)
    const within = (stored: number): boolean => stored >= g && stored <= g + ledger.lost
    if (!within(day[i]) || !within(week[i])) mismatches++
    if (day[i] < g || week[i] < g) under++
    excess += Math.max(0, day[i] - g - ledger.lost)
  }
  return { overGrants, mismatches, under, excess, storedOverLimit }
}
