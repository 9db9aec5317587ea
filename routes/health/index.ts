import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { readPackage } from '../../lib/shared/version.js'
import { StringEnum } from '../../lib/shared/schema.js'

export const HealthSchema = Type.Object({
  status: StringLiteral('healthy', 'unhealthy'),
  service: Type.Literal('sellify-core'),
  version: Type.String(),
  store: Type.Union([Type.Literal('sqlite'), Type.Literal('postgres')]),
  uptime_seconds: Type.Integer({ minimum: 0 }),
  rate_limiter: Type.Optional(StringEnum(['memory', 'redis', 'degraded'], {
    description: 'Where requests are counted: in memory, in Redis (REDIS_URL), or nowhere while Redis does not answer ' +
      '(requests then go through unlimited; the status stays healthy)'
  }))
})

function StringLiteral (...values: string[]) {
  return Type.Unsafe<'healthy' | 'unhealthy'>({ type: 'string', enum: values })
}

/** How long one store ping answers for: keeps /health cheap under load balancers that poll hard. */
const PING_TTL_MS = 1000

const health: FastifyPluginAsyncTypebox = async function health (fastify) {
  const store = fastify.sellify.store
  const { version } = readPackage()
  const started = Date.now()
  let last: { ok: boolean, at: number } | undefined
  let inflight: Promise<boolean> | undefined

  async function storeAnswers (): Promise<boolean> {
    if (last !== undefined && Date.now() - last.at < PING_TTL_MS) return last.ok
    const pending = inflight ?? store.ping().then(() => true, (err: unknown) => {
      fastify.log.error({ err }, 'store ping failed')
      return false
    }).then((ok: boolean) => {
      last = { ok, at: Date.now() }
      inflight = undefined
      return ok
    })
    inflight = pending
    return await pending
  }

  const config = { access: 'public' as const, rateLimit: false as const }
  for (const url of ['/health', '/api/v1/health']) {
    fastify.get(url, {
      config,
      schema: {
        tags: ['health'],
        summary: url === '/health' ? 'Liveness and store reachability (public)' : 'Same as /health, under the API base path',
        security: [],
        response: { 200: HealthSchema, 503: HealthSchema }
      }
    }, async (_request, reply) => {
      const [ok, rateLimiter] = await Promise.all([storeAnswers(), fastify.sellifyRateLimiter.state()])
      return await reply.code(ok ? 200 : 503).send({
        status: ok ? 'healthy' : 'unhealthy',
        service: 'sellify-core',
        version,
        store: store.kind,
        uptime_seconds: Math.floor((Date.now() - started) / 1000),
        rate_limiter: rateLimiter
      })
    })
  }
}

export default health
