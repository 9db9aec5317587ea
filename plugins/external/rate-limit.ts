import fp from 'fastify-plugin'
import rateLimit, { normalizeIP } from '@fastify/rate-limit'
import { Redis } from 'ioredis'
import { Counter } from 'prom-client'
import { once } from 'node:events'
import { createRequire } from 'node:module'
import {
  createLimiterHealth, LIMITER_REDIS_OPTIONS, limiterNamespace, observedStore, type CounterStore
} from '../../lib/ratelimit/redis.js'

/** The official plugin's Redis store (its counting script), which the package does not export by name. */
const RedisStore = createRequire(import.meta.url)('@fastify/rate-limit/store/RedisStore.js') as
  new (continueExceeding: boolean, exponentialBackoff: boolean, redis: Redis, key: string) => CounterStore

/** What the plugin hands a store's constructor, as far as the Redis store reads it. */
interface StoreOptions { continueExceeding?: boolean, exponentialBackoff?: boolean }

/** How long the start waits for a first connection, so the first requests are counted; Redis down does not stop it. */
const STARTUP_WAIT_MS = 1000

declare module 'fastify' {
  interface FastifyInstance {
    /** Sellify's rate limiter, as /health describes it. */
    sellifyRateLimiter: {
      /** Where requests are counted: in memory, in Redis, or nowhere while Redis does not answer (they go through). */
      state: () => Promise<'memory' | 'redis' | 'degraded'>
    }
  }
}

/**
 * @see https://github.com/fastify/fastify-rate-limit
 * Per API key (by the validated key's id: the raw secret would end up in Redis key names), per IP without one.
 * Counters live in Redis when REDIS_URL is set, so the limit holds across instances. The rate limiter guards
 * the service and quotas fail closed in the store, so a Redis that is down or stalls lets requests through:
 * every Redis call is bounded, a failed check is skipped and counted (`sellify_rate_limit_errors_total`), and
 * /health shows the limiter degraded.
 */
export default fp(async function rateLimitPlugin (fastify) {
  const { rateLimit: settings, redisUrl, apiKey } = fastify.sellify.config
  const errors = new Counter({
    name: 'sellify_rate_limit_errors_total',
    help: 'Rate-limit checks that failed because Redis did not answer in time; each of those requests went through unlimited',
    registers: [fastify.sellify.metrics]
  })

  let store: { store: new (options: StoreOptions) => CounterStore } | undefined
  if (redisUrl === undefined) {
    fastify.decorate('sellifyRateLimiter', { state: async () => 'memory' as const })
  } else {
    const redis = new Redis(redisUrl, LIMITER_REDIS_OPTIONS)
    const health = createLimiterHealth({
      ping: async () => await redis.ping(),
      onChange: (state, err) => {
        if (state === 'degraded') fastify.log.warn({ err }, 'rate limiter: Redis does not answer; requests go through unlimited until it does')
        else fastify.log.info('rate limiter: Redis answers again')
      }
    })
    // A connection's errors and recoveries are outcomes too (logged once per change, not once per reconnection).
    redis.on('error', (err: Error) => { health.record(err) })
    redis.on('ready', () => { health.record(null) })
    fastify.addHook('onClose', async () => {
      await redis.quit().catch(() => {})
      redis.disconnect()
    })
    await once(redis, 'ready', { signal: AbortSignal.timeout(STARTUP_WAIT_MS) }).catch(() => {})

    const namespace = limiterNamespace(apiKey)
    const observe = (err: Error | null): void => {
      if (err !== null) errors.inc()
      health.record(err)
    }
    class ObservedRedisStore implements CounterStore {
      private readonly inner: CounterStore
      constructor (options: StoreOptions) {
        this.inner = observedStore(new RedisStore(options.continueExceeding === true, options.exponentialBackoff === true, redis, namespace), observe)
      }

      incr (...args: Parameters<CounterStore['incr']>): void { this.inner.incr(...args) }
      child (routeOptions: object): CounterStore { return this.inner.child(routeOptions) }
    }
    store = { store: ObservedRedisStore }
    fastify.decorate('sellifyRateLimiter', { state: health.check })
  }

  await fastify.register(rateLimit, {
    global: true,
    max: settings.max,
    timeWindow: settings.timeWindow,
    ...store,
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
}, { name: 'rate-limit', dependencies: ['config', 'metrics', 'auth'], fastify: '5.x' })
