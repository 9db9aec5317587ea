import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { AUTH_ERRORS, errorResponses } from '../common/schema.js'

const tags = ['encryption']
const ByKey = Type.Record(Type.String(), Type.Integer({ minimum: 0 }), { description: 'Data keys wrapped by each master key id' })

const encryption: FastifyPluginAsyncTypebox = async function encryptionRoutes (fastify) {
  const service = fastify.sellify.encryption

  fastify.get('', {
    config: { access: 'admin' },
    schema: {
      tags,
      summary: 'The master key new data is encrypted under, and how many data keys each key id wraps',
      response: {
        200: Type.Object({ current: Type.String(), kids: Type.Array(Type.String()), by_key: ByKey }),
        ...errorResponses(503, ...AUTH_ERRORS)
      }
    }
  }, async () => await service.status())

  fastify.post('/rotate', {
    config: { access: 'admin' },
    schema: {
      tags,
      summary: 'Re-wrap every data key under the current master key, in slices, while the service keeps answering',
      response: {
        200: Type.Object({ rotated: Type.Integer({ minimum: 0 }), by_key: ByKey }),
        ...errorResponses(500, 503, ...AUTH_ERRORS)
      }
    }
  }, async () => await service.rotate())
}

export default encryption
