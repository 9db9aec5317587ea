import fp from 'fastify-plugin'
import { Registry, collectDefaultMetrics } from 'prom-client'

declare module './config.js' {
  interface SellifyEngines {
    /** Sellify's Prometheus registry (served by GET /metrics); each engine registers its own collectors in it. */
    metrics: Registry
  }
}

/**
 * @see https://github.com/siimon/prom-client
 * The registry only: a registry of Sellify's own (a host's default registry is left alone), with the process
 * defaults. Engines add their collectors from their plugins; HTTP timings come from http-metrics.
 */
export default fp(async function metrics (fastify) {
  const register = new Registry()
  collectDefaultMetrics({ register })
  fastify.sellify.metrics = register
}, { name: 'metrics', dependencies: ['config'], fastify: '5.x' })
