import fp from 'fastify-plugin'
import { registerQuotaMetrics, type QuotaMetrics } from '../../lib/quota/metrics.js'
import { createQuotaService, type QuotaService } from '../../lib/quota/service.js'
import type { ResetService } from '../../lib/resets/service.js'
import type { AccountService } from '../../lib/accounts/service.js'

/**
 * What `app.quota` offers a host (README, "Embedding"): the quota service, the manual resets, and, as in 0.1,
 * the reset listing and the accounts (which now live at `app.sellify.resets` and `app.sellify.accounts`).
 */
export type QuotaApi = QuotaService & Pick<ResetService, 'resetDaily' | 'resetWeekly'> & {
  listResets: ResetService['list']
  accounts: AccountService
}

declare module '../app/config.js' {
  interface SellifyEngines {
    quota: QuotaApi
    /** The quota engine's collectors (lib/quota/metrics.ts): per-account usage only when /metrics needs a key. */
    quotaMetrics: QuotaMetrics
  }
}
declare module 'fastify' {
  interface FastifyInstance {
    /** The quota engine, as the routes call it, with the manual resets: the embedding API kept from 0.1. */
    quota: QuotaApi
  }
}

export default fp(async function quota (fastify) {
  const { config, store, accounts, resets, metrics } = fastify.sellify
  const service = createQuotaService({ store, accounts, now: config.now, random: config.random })
  // One object: what a host calls (or replaces) on `app.quota` is exactly what the routes call.
  const api: QuotaApi = Object.assign(service, { resetDaily: resets.resetDaily, resetWeekly: resets.resetWeekly, listResets: resets.list, accounts })
  fastify.sellify.quota = api
  fastify.decorate('quota', api)
  const collectors = registerQuotaMetrics(metrics, { quota: service, accounts, resets, now: config.now, log: fastify.log, usage: !config.metricsPublic })
  fastify.sellify.quotaMetrics = collectors
  fastify.addHook('onReady', collectors.start)
  // Registered after the storage plugin, so it runs before the store closes (onClose hooks run in reverse).
  fastify.addHook('onClose', collectors.stop)
}, { name: 'quota', dependencies: ['config', 'storage', 'metrics', 'accounts', 'resets'], fastify: '5.x' })
