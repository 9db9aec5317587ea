import fp from 'fastify-plugin'
import { Counter, Histogram } from 'prom-client'
import { createIdGenerator } from '../../lib/audit/id.js'
import { randomFraction } from '../../lib/crypto/index.js'
import { createDecisionService, type DecisionService } from '../../lib/decisions/service.js'

declare module '../app/config.js' {
  interface SellifyEngines {
    /** One call per incoming message (lib/decisions/service.ts), and the reports after the send. */
    decisions: DecisionService
  }
}

/** The decision engine, `sellify_decisions_total{action,rule}` and `sellify_decision_duration_seconds`. */
export default fp(async function decisions (fastify) {
  const { config, store, accounts, encryption, audit, knowledge, validation, ai, quota, alerts, metrics } = fastify.sellify
  const service = createDecisionService({
    store,
    accounts,
    encryption,
    audit,
    knowledge,
    validation,
    // No provider configured: replies come from the knowledge base and the templates, and no prompt is built.
    ai: config.ai.provider === 'none' ? null : ai.complete,
    alerts: {
      raise: alerts.raise,
      nearLimit: alerts.nearLimit,
      raised: (view) => {
        alerts.told(view)
        alerts.kick()
      }
    },
    usage: (account, p, usage, consume, grant) => { quota.report(account, p, usage, consume === null ? null : { ...consume, count: 1 }, grant) },
    // As the audit ids: time from the clock, random bits from the CSPRNG (the injected RNG paces replies).
    ids: createIdGenerator(config.now, randomFraction),
    now: config.now,
    random: config.random
  })
  fastify.sellify.decisions = service

  const decided = new Counter({ name: 'sellify_decisions_total', help: 'Decisions answered, by action and the rule that decided (replays of a retried webhook included)', labelNames: ['action', 'rule'], registers: [metrics] })
  const duration = new Histogram({
    name: 'sellify_decision_duration_seconds',
    help: 'Time to answer one incoming message, its AI call included',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [metrics]
  })
  service.observe((event) => {
    decided.inc({ action: event.action, rule: event.rule })
    duration.observe(event.duration_ms / 1000)
  })
}, { name: 'decisions', dependencies: ['config', 'storage', 'metrics', 'encryption', 'audit', 'accounts', 'quota', 'knowledge', 'validation', 'ai', 'alerts'], fastify: '5.x' })
