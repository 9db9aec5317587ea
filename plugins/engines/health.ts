import fp from 'fastify-plugin'
import { Counter } from 'prom-client'
import { createIdGenerator } from '../../lib/audit/id.js'
import { randomFraction } from '../../lib/crypto/index.js'
import { createHealthService, type HealthService } from '../../lib/health/service.js'
import { SIGNAL_TYPES } from '../../lib/health/types.js'

declare module '../app/config.js' {
  interface SellifyEngines {
    /** Ban signals, the health score, and the account's pause (lib/health/service.ts). */
    health: HealthService
  }
}

/** The health engine and `sellify_account_signals_total{type}`; a pause by the score kicks its alert's webhooks. */
export default fp(async function health (fastify) {
  const { config, store, accounts, encryption, audit, alerts, metrics } = fastify.sellify
  const service = createHealthService({
    store,
    accounts,
    encryption,
    audit,
    raise: alerts.raise,
    // As the audit ids: time from the clock, random bits from the CSPRNG.
    ids: createIdGenerator(config.now, randomFraction),
    now: config.now
  })
  fastify.sellify.health = service

  const signals = new Counter({ name: 'sellify_account_signals_total', help: 'Ban signals reported by gateways, by type', labelNames: ['type'], registers: [metrics] })
  for (const type of SIGNAL_TYPES) signals.inc({ type }, 0)
  service.observeSignals((event) => { signals.inc({ type: event.type }) })
  service.observePauses((view) => {
    alerts.told(view)
    alerts.kick()
  })
}, { name: 'health', dependencies: ['config', 'storage', 'metrics', 'encryption', 'audit', 'accounts', 'alerts'], fastify: '5.x' })
