/**
 * Opens the configured store: PostgreSQL when a database URL is given, else SQLite
 * (`./data/sellify.db` by default, `:memory:` allowed).
 */
import { mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import type { Store } from './contract.js'
import { createPostgresStore } from './postgres/index.js'
import { createSqliteStore } from './sqlite/index.js'

export type * from './contract.js'
export { createSqliteStore, type SqliteStore, type SqliteStoreOptions } from './sqlite/index.js'
export { createPostgresStore, type PostgresStoreOptions } from './postgres/index.js'
export { failClosed } from './fail-closed.js'

export const DEFAULT_SQLITE_PATH = './data/sellify.db'

export interface StoreOptions {
  /** SQLite file (default `./data/sellify.db`; its folder is created); `:memory:` for a private in-memory database. */
  sqlitePath?: string
  /** PostgreSQL URL; when set, the store is PostgreSQL and `sqlitePath` is ignored. */
  databaseUrl?: string
  /** PostgreSQL schema of the tables (created by `migrate` when missing). */
  pgSchema?: string
  /** PostgreSQL connections in the pool (default 10). */
  pgPoolSize?: number
  /** Longest a PostgreSQL statement may run (default 5000 ms). */
  queryTimeoutMs?: number
  /** Errors of idle PostgreSQL connections, for the log; the pool replaces them by itself. */
  onPoolError?: (err: Error) => void
}

export function createStore (o: StoreOptions = {}): Store {
  if (o.databaseUrl !== undefined && o.databaseUrl !== '') {
    return createPostgresStore({
      connectionString: o.databaseUrl,
      ...(o.pgSchema === undefined ? {} : { schema: o.pgSchema }),
      ...(o.pgPoolSize === undefined ? {} : { poolSize: o.pgPoolSize }),
      ...(o.queryTimeoutMs === undefined ? {} : { queryTimeoutMs: o.queryTimeoutMs }),
      ...(o.onPoolError === undefined ? {} : { onError: o.onPoolError })
    })
  }
  const path = o.sqlitePath ?? DEFAULT_SQLITE_PATH
  if (path !== ':memory:' && path !== '' && !path.startsWith('file:')) {
    mkdirSync(dirname(resolve(path)), { recursive: true })
  }
  return createSqliteStore({ path })
}
