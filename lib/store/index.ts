/**
 * Opens the configured store: PostgreSQL when a database URL is given, else SQLite
 * (`./data/sellify.db` by default, `:memory:` allowed).
 */
import { mkdirSync, statSync, type Stats } from 'node:fs'
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
  if (path === ':memory:' || path === '' || path.startsWith('file:')) return createSqliteStore({ path })
  const file = resolve(path)
  if (stat(file)?.isDirectory() === true) throw new Error(`cannot open ${file}: it is a folder, not a database file`)
  createFolder(dirname(file))
  try {
    return createSqliteStore({ path })
  } catch (err) {
    throw new Error(`cannot open ${file}: ${(err as Error).message}`, { cause: err })
  }
}

function stat (path: string): Stats | undefined {
  try {
    return statSync(path)
  } catch {
    return undefined
  }
}

/**
 * The database file's folder and its missing parents, one `mkdir` each. Node 20's recursive `mkdirSync`
 * spins forever at 100 % CPU where a folder cannot be made (anywhere under `/proc`), so it is not used.
 */
export function createFolder (folder: string): void {
  const missing: string[] = []
  let existing = folder
  let found = stat(existing)
  while (found === undefined && dirname(existing) !== existing) {
    missing.unshift(existing)
    existing = dirname(existing)
    found = stat(existing)
  }
  if (found?.isDirectory() !== true) throw new Error(`cannot create the folder ${folder}: ${existing} is not a folder`)
  for (const dir of missing) {
    try {
      mkdirSync(dir)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' && stat(dir)?.isDirectory() === true) continue
      throw new Error(`cannot create the folder ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err })
    }
  }
}
