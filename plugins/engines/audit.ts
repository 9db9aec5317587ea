import fp from 'fastify-plugin'
import { Counter } from 'prom-client'
import { AsyncTask, SimpleIntervalJob } from 'toad-scheduler'
import { createIdGenerator } from '../../lib/audit/id.js'
import { randomFraction } from '../../lib/crypto/index.js'
import { createAuditService, type AuditService } from '../../lib/audit/service.js'
import type { AppendAuditOp } from '../../lib/audit/store.js'

declare module '../app/config.js' {
  interface SellifyEngines {
    audit: AuditService
  }
}

const DAY_MS = 86_400_000

/**
 * The audit trail: the service, `sellify_audit_records_total{type}` counted from every committed plan, and the
 * daily retention job when SELLIFY_AUDIT_RETENTION_DAYS is set.
 */
export default fp(async function audit (fastify) {
  const { config, store, encryption, metrics, commits } = fastify.sellify
  const service = createAuditService({
    store,
    sealer: encryption,
    // Ids take their time from the clock and their random bits from the CSPRNG, not from the injected RNG:
    // drawing from that would shift every pacing decision a test (or a replay) expects.
    ids: createIdGenerator(config.now, randomFraction),
    now: config.now
  })
  fastify.sellify.audit = service

  const records = new Counter({ name: 'sellify_audit_records_total', help: 'Audit records appended by this instance, by type', labelNames: ['type'], registers: [metrics] })
  commits.observe(({ plan, results }) => {
    plan.forEach((op, i) => {
      if (op.op === 'audit.append' && results[i] !== null) records.inc({ type: (op as AppendAuditOp).entry.type })
    })
  })

  const days = config.auditRetentionDays
  if (days !== undefined && config.scheduler) {
    const task = new AsyncTask('audit-retention', async () => {
      const removed = await service.prune(new Date(config.now().getTime() - days * DAY_MS))
      if (removed > 0) fastify.log.info({ removed, days }, 'audit retention removed old records')
    }, (err) => { fastify.log.error({ err }, 'audit retention failed') })
    fastify.addHook('onReady', async () => {
      fastify.scheduler.addSimpleIntervalJob(new SimpleIntervalJob({ milliseconds: DAY_MS, runImmediately: true }, task, { id: 'sellify-audit-retention', preventOverrun: true }))
    })
    fastify.addHook('onClose', async () => { fastify.scheduler.removeById('sellify-audit-retention') })
  }
}, { name: 'audit', dependencies: ['config', 'storage', 'metrics', 'schedule', 'encryption'], fastify: '5.x' })
