import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { scopedAccount } from '../../lib/keys/policy.js'
import { AUTH_ERRORS, BODY_ERRORS, errorResponses } from '../common/schema.js'
import { ValidateBodySchema, ValidateResultSchema } from './schema.js'

const validate: FastifyPluginAsyncTypebox = async function validateRoutes (fastify) {
  const service = fastify.sellify.validation

  fastify.post('', {
    schema: {
      tags: ['validation'],
      summary: 'Check a text before it is sent: length, forbidden words, prices, links, promises and products against the knowledge base',
      body: ValidateBodySchema,
      response: { 200: ValidateResultSchema, ...errorResponses(404, 503, ...BODY_ERRORS, ...AUTH_ERRORS) }
    }
  }, async (request) => {
    const { text, account, matched_products } = request.body
    return await service.validate({ account: scopedAccount(request.principal, account), text, matched_products }, { strict: true })
  })
}

export default validate
