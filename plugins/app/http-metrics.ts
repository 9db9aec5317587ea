import fp from 'fastify-plugin'
import { Counter, Histogram } from 'prom-client'

/** HTTP requests and their durations by route, method and status, for Sellify's own routes only (it runs in their scope). */
export default fp(async function httpMetrics (fastify) {
  const registers = [fastify.sellify.metrics]
  const requests = new Counter({ name: 'sellify_http_requests_total', help: 'HTTP requests answered', labelNames: ['method', 'route', 'status_code'], registers })
  const durations = new Histogram({
    name: 'sellify_http_request_duration_seconds',
    help: 'Time to answer HTTP requests',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers
  })
  fastify.addHook('onResponse', async (request, reply) => {
    const labels = { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) }
    requests.inc(labels)
    durations.observe(labels, reply.elapsedTime / 1000)
  })
}, { name: 'http-metrics', dependencies: ['metrics'], fastify: '5.x' })
