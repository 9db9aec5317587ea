import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { actorOf, scopedAccount } from '../../lib/keys/policy.js'
import { AUTH_ERRORS, BODY_ERRORS, errorResponses } from '../common/schema.js'
import { AccountQuerySchema, AnalysisSchema, KNOWLEDGE_BODY_LIMIT, KnowledgeInputSchema, KnowledgeSchema, MatchBodySchema } from './schema.js'

const tags = ['knowledge']

const knowledge: FastifyPluginAsyncTypebox = async function knowledgeRoutes (fastify) {
  const service = fastify.sellify.knowledge

  fastify.get('', {
    schema: {
      tags,
      summary: 'The account\'s whole knowledge base with its version',
      querystring: AccountQuerySchema,
      response: { 200: KnowledgeSchema, ...errorResponses(400, 404, 503, ...AUTH_ERRORS) }
    }
  }, async (request) => await service.get(scopedAccount(request.principal, request.query.account)))

  fastify.put('', {
    config: { access: 'admin' },
    bodyLimit: KNOWLEDGE_BODY_LIMIT,
    schema: {
      tags,
      summary: 'Replace the whole knowledge base at once: all of it is valid or nothing changes',
      querystring: AccountQuerySchema,
      body: KnowledgeInputSchema,
      response: { 200: KnowledgeSchema, ...errorResponses(404, 503, ...BODY_ERRORS, ...AUTH_ERRORS) }
    }
  }, async (request) => await service.put(request.query.account, request.body, actorOf(request.principal)))

  fastify.post('/match', {
    schema: {
      tags,
      summary: 'What the matcher sees in a message (event, products, objection, FAQ, alert), for debugging',
      body: MatchBodySchema,
      response: { 200: AnalysisSchema, ...errorResponses(404, 503, ...BODY_ERRORS, ...AUTH_ERRORS) }
    }
  }, async (request) => (await service.compiled(scopedAccount(request.principal, request.body.account))).analyse(request.body.text))
}

export default knowledge
