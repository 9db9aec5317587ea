import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { actorOf, scopedAccount } from '../../lib/keys/policy.js'
import { AUTH_ERRORS, BODY_ERRORS, errorResponses } from '../common/schema.js'
import {
  AccountBodySchema, AccountQuerySchema, ContactParamsSchema, ConversationDetailSchema, ConversationListSchema, ConversationSchema, ListQuerySchema, PauseBodySchema
} from './schema.js'

const tags = ['conversations']

/** The operators' side of conversations: read them, take one over, give it back, freeze it, erase a contact. */
const conversations: FastifyPluginAsyncTypebox = async function conversationsRoutes (fastify) {
  const service = fastify.sellify.conversations

  fastify.get('', {
    schema: {
      tags,
      summary: 'The account\'s conversations, newest activity first',
      querystring: ListQuerySchema,
      response: { 200: ConversationListSchema, ...errorResponses(400, 404, 503, ...AUTH_ERRORS) }
    }
  }, async (request) => await service.list({ ...request.query, account: scopedAccount(request.principal, request.query.account) }))

  fastify.get('/:contact', {
    schema: {
      tags,
      summary: 'One conversation with its last messages, decrypted',
      params: ContactParamsSchema,
      querystring: AccountQuerySchema,
      response: { 200: ConversationDetailSchema, ...errorResponses(400, 404, 503, ...AUTH_ERRORS) }
    }
  }, async (request) => await service.get(scopedAccount(request.principal, request.query.account), request.params.contact))

  fastify.post('/:contact/pause', {
    schema: {
      tags,
      summary: 'A person takes the conversation over: every incoming message is ignored until then',
      params: ContactParamsSchema,
      body: PauseBodySchema,
      response: { 200: ConversationSchema, ...errorResponses(404, 503, ...BODY_ERRORS, ...AUTH_ERRORS) }
    }
  }, async (request) => await service.pause(scopedAccount(request.principal, request.body?.account), request.params.contact, request.body?.minutes, actorOf(request.principal)))

  fastify.post('/:contact/resume', {
    schema: {
      tags,
      summary: 'Clear the pause; an escalated or frozen conversation starts over in discovery',
      params: ContactParamsSchema,
      body: AccountBodySchema,
      response: { 200: ConversationSchema, ...errorResponses(404, 503, ...BODY_ERRORS, ...AUTH_ERRORS) }
    }
  }, async (request) => await service.resume(scopedAccount(request.principal, request.body?.account), request.params.contact, actorOf(request.principal)))

  fastify.post('/:contact/freeze', {
    schema: {
      tags,
      summary: 'Freeze the conversation: the bot never answers it again until it is resumed',
      params: ContactParamsSchema,
      body: AccountBodySchema,
      response: { 200: ConversationSchema, ...errorResponses(404, 503, ...BODY_ERRORS, ...AUTH_ERRORS) }
    }
  }, async (request) => await service.freeze(scopedAccount(request.principal, request.body?.account), request.params.contact, actorOf(request.principal)))

  fastify.delete('/:contact', {
    config: { access: 'admin' },
    schema: {
      tags,
      summary: 'Erase the contact: conversation, messages and decisions deleted, and every text under its data key unreadable for good',
      params: ContactParamsSchema,
      querystring: AccountQuerySchema,
      response: { 204: { type: 'null', description: 'Erased (or there was nothing to erase)' }, ...errorResponses(400, 404, 503, ...AUTH_ERRORS) }
    }
  }, async (request, reply) => {
    await service.erase(request.query.account, request.params.contact, actorOf(request.principal))
    return await reply.code(204).send()
  })
}

export default conversations
