import fp from 'fastify-plugin'
import rateLimit, { normalizeIP } from '@fastify/rate-limit'
import { Redis } from 'ioredis'

/**
 * @see https://github.com/fastify/fastify-rate-limit
 * Per API key (by the validated key's id: the raw secret would end up in Redis key names), per IP without one.
 * Counters live in Redis when REDIS_URL is set, so the limit holds across instances.
 */
export default fp(async function rateLimitPlugin (fastify) {
  const { rateLimit: settings, redisUrl } = fastify.sellify.config
  let redis: Redis | undefined
  if (redisUrl !== undefined) {
    // Fail fast rather than queue: a request should not hang behind an unreachable Redis.
    redis = new Redis(redisUrl, { connectTimeout: 1000, maxRetriesPerRequest: 1, enableOfflineQueue: true, lazyConnect: false })
    redis.on('error', (err) => { fastify.log.warn({ err }, 'rate-limit redis error') })
    fastify.addHook('onClose', async () => { await redis?.quit().catch(() => redis?.disconnect()) })
  }
  await fastify.register(rateLimit, {
    global: true,
    max: settings.max,
    timeWindow: settings.timeWindow,
    ...(redis === undefined ? {} : { redis, nameSpace: 'sellify-rate-limit:' }),
    // Quotas fail closed in the store; the rate limiter guards the service, so a Redis outage lets requests through.
    skipOnError: true,
    // Without a valid key, the address: IPv6 by /64 (what one client is usually given), as the plugin's default does.
    keyGenerator: (request) => request.principal === null ? `ip:${normalizeIP(request.ip)}` : `key:${request.principal.id}`,
    errorResponseBuilder: (_request, context) => ({
      statusCode: context.statusCode,
      error: 'Too Many Requests',
      code: 'SELLIFY_RATE_LIMITED',
      message: `Rate limit exceeded: ${context.max} requests per ${settings.timeWindow}; retry in ${context.after}`
    })
  })
}, { name: 'rate-limit', dependencies: ['config', 'auth'], fastify: '5.x' })
