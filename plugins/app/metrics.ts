import fp from 'fastify-plugin'
import { Registry, collectDefaultMetrics } from 'prom-client'

declare module './config.js' {
  interface SellifyEngines {
    /** Sellify's Prometheus registry (served by GET /metrics); each engine registers its own collectors in it. */
    metrics: Registry
    /**
     * Gauges counted in the store (conversations per state, the alert outbox): counted every
     * STORE_GAUGES_MS in the background, so a scrape reads nothing of the store; `refresh()` counts now.
     */
    storeGauges: { add: (count: () => Promise<void>) => void, refresh: () => Promise<void> }
  }
}

/** How often the gauges counted in the store are counted again. */
export const STORE_GAUGES_MS = 15_000

/**
 * @see https://github.com/siimon/prom-client
 * The registry only: a registry of Sellify's own (a host's default registry is left alone), with the process
 * defaults. Engines add their collectors from their plugins; HTTP timings come from http-metrics.
 */
export default fp(async function metrics (fastify) {
  const register = new Registry()
  collectDefaultMetrics({ register })
  fastify.sellify.metrics = register

  const counts: Array<() => Promise<void>> = []
  let running: Promise<void> | null = null
  const refresh = (): Promise<void> => {
    running ??= Promise.all(counts.map(async (count) => {
      try {
        await count()
      } catch (err) {
        // The last counts stay; the next round tries again.
        fastify.log.warn({ err }, 'a store-counted gauge could not be counted')
      }
    })).then(() => { running = null })
    return running
  }
  fastify.sellify.storeGauges = { add: (count) => { counts.push(count) }, refresh }
  let timer: NodeJS.Timeout | undefined
  fastify.addHook('onReady', async () => {
    await refresh()
    timer = setInterval(() => { refresh().catch(() => {}) }, STORE_GAUGES_MS).unref()
  })
  // Registered after the store: runs before it closes, and waits for a count in flight.
  fastify.addHook('onClose', async () => {
    clearInterval(timer)
    await running
  })
}, { name: 'metrics', dependencies: ['config'], fastify: '5.x' })
