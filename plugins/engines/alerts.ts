import fp from 'fastify-plugin'
import { Counter, Gauge } from 'prom-client'
import { AsyncTask, SimpleIntervalJob } from 'toad-scheduler'
import { createAlertService, type AlertService } from '../../lib/alerts/service.js'
import { createIdGenerator } from '../../lib/audit/id.js'
import { randomFraction } from '../../lib/crypto/index.js'

declare module '../app/config.js' {
  interface SellifyEngines {
    alerts: AlertService & {
      /** Attempt what is due now rather than at the next pass (after a decision raised an alert). */
      kick: () => void
    }
  }
}

/** How often the outbox is looked at for due deliveries. */
const PASS_MS = 1000
const JOB_ID = 'sellify-alert-outbox'

/**
 * Alerts, their webhook outbox worker (every second, and at once after a decision raised one), the near-limit
 * alerts of granted consumes, and `sellify_alerts_total`, `sellify_alert_deliveries_total`,
 * `sellify_alert_outbox_pending`.
 */
export default fp(async function alerts (fastify) {
  const { config, store, accounts, encryption, audit, quota, metrics, storeGauges } = fastify.sellify
  const service = createAlertService({
    store,
    accounts,
    encryption,
    audit,
    // As the audit ids: time from the clock, random bits from the CSPRNG.
    ids: createIdGenerator(config.now, randomFraction),
    now: config.now,
    allowPrivate: config.allowPrivateWebhooks,
    onAttemptFailed: (info) => { fastify.log.warn(info, 'alert webhook delivery failed') }
  })

  let running: Promise<unknown> | null = null
  let again = false
  let closing = false
  /** One pass at a time; a kick during a pass makes one more pass right after it. */
  function pass (): Promise<unknown> {
    if (running !== null) {
      again = true
      return running
    }
    running = service.deliverDue()
      .catch((err: unknown) => { fastify.log.error({ err }, 'alert outbox pass failed') })
      .finally(() => {
        running = null
        if (again && !closing) {
          again = false
          pass().catch(() => {})
        }
      })
    return running
  }

  fastify.sellify.alerts = Object.assign(service, { kick: () => { if (!closing) pass().catch(() => {}) } })

  quota.observeGrants((grant) => {
    service.quotaCrossed(grant.account, grant.periods, grant.before, grant.after, grant.limits)
      .then((raised) => { if (raised > 0) fastify.sellify.alerts.kick() })
      .catch((err: unknown) => { fastify.log.error({ err, account: grant.account.id }, 'quota_near_limit alert could not be stored') })
  })

  const raised = new Counter({ name: 'sellify_alerts_total', help: 'Alerts raised, by trigger and severity', labelNames: ['trigger', 'severity'], registers: [metrics] })
  const deliveries = new Counter({ name: 'sellify_alert_deliveries_total', help: 'Webhook delivery attempts, by result (delivered, retry, failed, gone)', labelNames: ['result'], registers: [metrics] })
  for (const result of ['delivered', 'retry', 'failed', 'gone']) deliveries.inc({ result }, 0)
  service.observe((event) => { raised.inc({ trigger: event.trigger, severity: event.severity }) })
  service.observeDeliveries((event) => { deliveries.inc({ result: event.result }) })
  // Counted in the store (every instance's outbox) in the background: a scrape reads nothing.
  const pending = new Gauge({
    name: 'sellify_alert_outbox_pending',
    help: 'Webhook deliveries not yet made, over every instance (counted in the store every 15 s)',
    registers: [metrics]
  })
  storeGauges.add(async () => { pending.set(await service.pending()) })

  if (config.scheduler) {
    const task = new AsyncTask('alert-outbox', async () => { await pass() }, (err) => { fastify.log.error({ err }, 'alert outbox pass failed') })
    fastify.addHook('onReady', async () => {
      fastify.scheduler.addSimpleIntervalJob(new SimpleIntervalJob({ milliseconds: PASS_MS }, task, { id: JOB_ID, preventOverrun: true }))
    })
  }
  // After the scheduler's own hook in registration order, so it runs before it: the pass in flight is awaited
  // before the store closes (a removed job does not wait for its task).
  fastify.addHook('onClose', async () => {
    closing = true
    if (config.scheduler) fastify.scheduler.removeById(JOB_ID)
    // A pass ends by clearing `running`, and a kick while closing starts none.
    for (let current = running; current !== null; current = running) await current
  })
}, { name: 'alerts', dependencies: ['config', 'storage', 'metrics', 'schedule', 'encryption', 'audit', 'accounts', 'quota'], fastify: '5.x' })
