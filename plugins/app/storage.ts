import fp from 'fastify-plugin'
import { createStore, failClosed, type Store } from '../../lib/store/index.js'

declare module './config.js' {
  interface SellifyEngines {
    /** The store, wrapped once so that every failure of it is a 503 (fail closed). */
    store: Store
  }
}

/** Opens the configured store (SQLite by default, PostgreSQL with DATABASE_URL), migrates it, closes it last. */
export default fp(async function storage (fastify) {
  const store = createStore({
    ...fastify.sellify.config.store,
    // A broken idle connection must not crash the process; the next query fails closed instead.
    onPoolError: (err: Error) => { fastify.log.error({ err }, 'PostgreSQL pool error') }
  })
  try {
    await store.migrate()
  } catch (err) {
    await store.close().catch(() => {})
    throw err
  }
  fastify.sellify.store = failClosed(store)
  // Registered before the plugins that use the store, so Fastify (reverse order) closes it after them.
  fastify.addHook('onClose', async () => { await store.close() })
}, { name: 'storage', dependencies: ['config'], fastify: '5.x' })
