/**
 * The one migration rule of both backends: numbered migrations, applied in order inside one transaction,
 * recorded in `schema_migrations`; a migration, once released, is never edited (add a new one instead).
 */
export interface Migration {
  version: number
  name: string
  sql: string
}

/** The migrations still to apply, in order; refuses a database that a newer build has migrated. */
export function pendingMigrations (all: readonly Migration[], applied: Iterable<number>): Migration[] {
  const done = new Set(applied)
  const newest = all[all.length - 1].version
  for (const v of done) {
    if (v > newest) throw new Error(`store: the database schema (version ${v}) is newer than this build knows (${newest})`)
  }
  return all.filter((m) => !done.has(m.version))
}
