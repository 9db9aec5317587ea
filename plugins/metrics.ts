import fp from 'fastify-plugin'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

declare module 'fastify' {
  interface FastifyInstance {
    /** Sellify's Prometheus registry (served by GET /metrics). */
    sellifyMetrics: Registry
  }
}

/** `sellify_quota_usage` lists at most this many accounts, so a large fleet cannot blow up a scrape. */
const USAGE_ACCOUNTS_MAX = 1000

/**
 * @see https://github.com/siimon/prom-client
 * Prometheus metrics in a registry of Sellify's own (a host's default registry is left alone).
 */
export default fp(async function metrics (fastify) {
  const quota = fastify.quota
  const register = new Registry()
  collectDefaultMetrics({ register })

  const requests = new Counter({ name: 'sellify_http_requests_total', help: 'HTTP requests answered', labelNames: ['method', 'route', 'status_code'], registers: [register] })
  const durations = new Histogram({
    name: 'sellify_http_request_duration_seconds',
    help: 'Time to answer HTTP requests',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [register]
  })
  const consumes = new Counter({ name: 'sellify_quota_consume_total', help: 'Consume decisions by message kind and result', labelNames: ['kind', 'result'], registers: [register] })
  const limitReached = new Counter({ name: 'sellify_quota_limit_reached_total', help: 'Consumes refused, by the limit they would have passed', labelNames: ['limit'], registers: [register] })
  const resets = new Counter({ name: 'sellify_quota_resets_total', help: 'Resets recorded, by type and source', labelNames: ['reset_type', 'source'], registers: [register] })
  const jobErrors = new Counter({ name: 'sellify_scheduler_errors_total', help: 'Failed reset job runs, catch-up passes and re-plans, by job id', labelNames: ['job'], registers: [register] })
  // eslint-disable-next-line no-new
  new Gauge({
    name: 'sellify_quota_usage',
    help: `Current period counters per account (first ${USAGE_ACCOUNTS_MAX} accounts)`,
    labelNames: ['account', 'counter'],
    registers: [register],
    async collect () {
      let rows
      try {
        const accounts = (await quota.accounts.list()).slice(0, USAGE_ACCOUNTS_MAX)
        rows = await Promise.all(accounts.map(async (account) => ({ id: account.id, u: await quota.usageOf(account) })))
      } catch (err) {
        // A scrape still answers with everything else (process, HTTP, counters) while the store is down.
        fastify.log.warn({ err }, 'metrics: could not read the usage of accounts')
        this.reset()
        return
      }
      // Reset and refilled in one synchronous step, so a concurrent scrape never reads it half-filled.
      this.reset()
      for (const { id, u } of rows) {
        this.set({ account: id, counter: 'messages_today' }, u.day.messages)
        this.set({ account: id, counter: 'messages_this_week' }, u.week.messages)
        this.set({ account: id, counter: 'images_today' }, u.day.images)
        this.set({ account: id, counter: 'videos_this_week' }, u.week.videos)
      }
    }
  })

  quota.observe((event) => {
    if (event.type === 'consume') {
      consumes.inc({ kind: event.kind, result: event.allowed ? 'allowed' : 'denied' })
      if (event.reason !== undefined) limitReached.inc({ limit: event.reason })
    } else if (event.type === 'reset') {
      resets.inc({ reset_type: event.reset_type, source: event.source })
    }
  })
  fastify.sellifyScheduler.onError((event) => { jobErrors.inc({ job: event.job }) })

  fastify.addHook('onResponse', async (request, reply) => {
    const labels = { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) }
    requests.inc(labels)
    durations.observe(labels, reply.elapsedTime / 1000)
  })

  fastify.decorate('sellifyMetrics', register)
}, { name: 'metrics', dependencies: ['config', 'quota', 'scheduler', 'auth'], fastify: '5.x' })
