import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { decideOriginal, originalState } from '../../lib/decisions/original.js'
import { scopedAccount } from '../../lib/keys/policy.js'
import { AUTH_ERRORS, BODY_ERRORS, errorResponses } from '../common/schema.js'
import { OriginalDecisionBodySchema, OriginalDecisionSchema } from './schema.js'

/** The original's stateless decision route: its four rules, with the account's alert words; nothing is stored or consumed. */
const decision: FastifyPluginAsyncTypebox = async function decisionRoutes (fastify) {
  const knowledge = fastify.sellify.knowledge

  fastify.post('', {
    schema: {
      tags: ['decisions'],
      summary: 'The original\'s stateless decision: outside hours → Ignore, no quota → Delay, an alert → AlertHuman, else RespondText',
      body: OriginalDecisionBodySchema,
      response: { 200: OriginalDecisionSchema, ...errorResponses(404, 503, ...BODY_ERRORS, ...AUTH_ERRORS) }
    }
  }, async (request) => {
    // Bad input is a 400 before the account is looked up.
    originalState(request.body.conversation_state)
    const matcher = await knowledge.compiled(scopedAccount(request.principal, request.body.account))
    return decideOriginal(request.body, matcher)
  })
}

export default decision
