import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { transitionByName } from '../../lib/conversations/machine.js'
import { AUTH_ERRORS, BODY_ERRORS, errorResponses } from '../common/schema.js'

const tags = ['conversations']

/** The original's stateless route: the conversation's next state, by the one transition table. */
const conversation: FastifyPluginAsyncTypebox = async function conversationRoutes (fastify) {
  fastify.post('/transition', {
    schema: {
      tags,
      summary: 'The state a conversation moves to on an event (stateless; the original\'s names or ours)',
      body: Type.Object({
        current_state: Type.String({ minLength: 1, maxLength: 64, description: '`discovery` … `frozen`, or the original\'s `Discovery` … `Frozen`' }),
        event: Type.String({ minLength: 1, maxLength: 64, description: '`product_question` … `freeze`, or the original\'s `ProductQuestion` … `Freeze`' })
      }, { additionalProperties: false }),
      response: {
        200: Type.Object({ new_state: Type.String({ description: 'In the style the state was given in' }) }),
        ...errorResponses(503, ...BODY_ERRORS, ...AUTH_ERRORS)
      }
    }
  }, async (request) => ({ new_state: transitionByName(request.body.current_state, request.body.event) }))
}

export default conversation
