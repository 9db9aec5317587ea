import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { errorResponses } from '../common/schema.js'

/** Prometheus scrape endpoint: public by default, admin-only with SELLIFY_METRICS_PUBLIC=false. */
const metrics: FastifyPluginAsyncTypebox = async function metricsRoute (fastify) {
  const { metricsPublic } = fastify.sellify.config
  const register = fastify.sellify.metrics
  fastify.get('/metrics', {
    config: { access: metricsPublic ? 'public' : 'admin' },
    schema: {
      tags: ['metrics'],
      summary: metricsPublic ? 'Prometheus metrics (text format), public' : 'Prometheus metrics (text format), admin key required',
      ...(metricsPublic ? { security: [] } : {}),
      response: { 200: Type.String({ description: 'Prometheus text exposition format' }), ...errorResponses(401, 403, 429, 500) }
    }
  }, async (_request, reply) => {
    const text = await register.metrics()
    return await reply.type(register.contentType).send(text)
  })
}

export default metrics
