import fp from 'fastify-plugin'
import { createResetJobs, type ResetJobs } from '../../lib/resets/jobs.js'
import { registerResetMetrics } from '../../lib/resets/metrics.js'
import { createResetService, type ResetService } from '../../lib/resets/service.js'

declare module '../app/config.js' {
  interface SellifyEngines {
    resets: ResetService
    /** The reset jobs (lib/resets/jobs.ts): planned per time zone group, caught up on ready. */
    resetJobs: ResetJobs
  }
}

export default fp(async function resets (fastify) {
  const { config, store, accounts, metrics, audit } = fastify.sellify
  const service = createResetService({ store, accounts, now: config.now, audit: audit.entry })
  const jobs = createResetJobs({ toad: fastify.scheduler, resets: service, accounts, now: config.now, log: fastify.log, enabled: config.scheduler })
  fastify.sellify.resets = service
  fastify.sellify.resetJobs = jobs
  registerResetMetrics(metrics, service, jobs)
  // Awaited on ready, so the service answers only once every account's current periods are accounted for.
  fastify.addHook('onReady', jobs.start)
  // Registered after @fastify/schedule, so it runs before that plugin's stop() (onClose hooks run in reverse
  // order, and its stop() does not wait for a running task) and before the store closes.
  fastify.addHook('onClose', jobs.stop)
}, { name: 'resets', dependencies: ['config', 'storage', 'audit', 'metrics', 'schedule', 'accounts'], fastify: '5.x' })
