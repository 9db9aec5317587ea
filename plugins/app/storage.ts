import fp from 'fastify-plugin'
import { resolve } from 'node:path'
import type { Config } from '../../lib/config/config.js'
import { ConfigError } from '../../lib/shared/errors.js'
import { createEvents, type Events } from '../../lib/shared/events.js'
import { createStore, failClosed, type Store } from '../../lib/store/index.js'
import type { StoreOp } from '../../lib/store/contract.js'
import { observeCommits } from '../../lib/store/observe.js'

declare module './config.js' {
  interface SellifyEngines {
    /** The store, wrapped once so that every failure of it is a 503 (fail closed). */
    store: Store
    /** Every plan once it committed, with its results (metrics of what other engines' plans wrote). */
    commits: Pick<Events<{ plan: readonly StoreOp[], results: readonly unknown[] }>, 'observe'>
  }
}

function decoded (text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

/**
 * A store that cannot be opened stops the start with one line that names the variable choosing it
 * (README, "Configuration"); the original error stays its `cause`. A password in the URL is never repeated.
 */
function openingError (store: Config['store'], err: unknown, opening: boolean): ConfigError {
  let reason = err instanceof Error ? err.message : String(err)
  let error: ConfigError
  if (store.databaseUrl === undefined) {
    error = new ConfigError('SELLIFY_DB_PATH', opening ? reason : `cannot open ${resolve(store.sqlitePath)}: ${reason}`)
  } else {
    const password = URL.canParse(store.databaseUrl) ? new URL(store.databaseUrl).password : ''
    for (const secret of password === '' ? [] : [password, decoded(password)]) reason = reason.replaceAll(secret, '***')
    error = new ConfigError('DATABASE_URL', `cannot open the PostgreSQL store: ${reason}`)
  }
  error.cause = err
  return error
}

/** Opens the configured store (SQLite by default, PostgreSQL with DATABASE_URL), migrates it, closes it last. */
export default fp(async function storage (fastify) {
  const config = fastify.sellify.config.store
  let store: Store
  try {
    store = createStore({
      ...config,
      // A broken idle connection must not crash the process; the next query fails closed instead.
      onPoolError: (err: Error) => { fastify.log.error({ err }, 'PostgreSQL pool error') }
    })
  } catch (err) {
    throw openingError(config, err, true)
  }
  try {
    await store.migrate()
  } catch (err) {
    await store.close().catch(() => {})
    throw openingError(config, err, false)
  }
  const commits = createEvents<{ plan: readonly StoreOp[], results: readonly unknown[] }>()
  fastify.sellify.store = observeCommits(failClosed(store), (plan, results) => { commits.emit({ plan, results }) })
  fastify.sellify.commits = commits
  // Registered before the plugins that use the store, so Fastify (reverse order) closes it after them.
  fastify.addHook('onClose', async () => { await store.close() })
}, { name: 'storage', dependencies: ['config'], fastify: '5.x' })
