import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { CONTACT_MAX_LENGTH } from '../../lib/decisions/types.js'
import { actorOf, scopedAccount } from '../../lib/keys/policy.js'
import { BadRequest } from '../../lib/shared/errors.js'
import { needsTwin, paramFromRest } from '../common/long-params.js'
import { AUTH_ERRORS, BODY_ERRORS, errorResponses } from '../common/schema.js'
import {
  AccountBodySchema, AccountQuerySchema, ContactParamsSchema, ConversationDetailSchema, ConversationListSchema, ConversationSchema, ListQuerySchema, PauseBodySchema
} from './schema.js'

const tags = ['conversations']

const ACTIONS = ['pause', 'resume', 'freeze'] as const
type Action = typeof ACTIONS[number]

const SUMMARIES: Record<Action, string> = {
  pause: 'A person takes the conversation over: every incoming message is ignored until then',
  resume: 'Clear the pause; an escalated or frozen conversation starts over in discovery',
  freeze: 'Freeze the conversation: the bot never answers it again until it is resumed'
}

/**
 * The operators' side of conversations: read them, take one over, give it back, freeze it, erase a contact.
 * Contact ids go to 128 characters: under a host router that allows fewer, each route also answers on a hidden
 * `/*` twin (routes/common/long-params.ts), one per method, which for POST carries the action as its suffix.
 */
const conversations: FastifyPluginAsyncTypebox = async function conversationsRoutes (fastify) {
  const service = fastify.sellify.conversations
  const twins = needsTwin(fastify, CONTACT_MAX_LENGTH)

  fastify.get('', {
    schema: {
      tags,
      summary: 'The account\'s conversations, newest activity first',
      querystring: ListQuerySchema,
      response: { 200: ConversationListSchema, ...errorResponses(400, 404, 503, ...AUTH_ERRORS) }
    }
  }, async (request) => await service.list({ ...request.query, account: scopedAccount(request.principal, request.query.account) }))

  const one = (hide: boolean) => ({
    tags,
    hide,
    summary: 'One conversation with its last messages, decrypted',
    params: ContactParamsSchema,
    querystring: AccountQuerySchema,
    response: { 200: ConversationDetailSchema, ...errorResponses(400, 404, 503, ...AUTH_ERRORS) }
  })
  const erase = (hide: boolean) => ({
    tags,
    hide,
    summary: 'Erase the contact: conversation, messages and decisions deleted, and every text under its data key unreadable for good',
    params: ContactParamsSchema,
    querystring: AccountQuerySchema,
    response: { 204: { type: 'null', description: 'Erased (or there was nothing to erase)' }, ...errorResponses(400, 404, 503, ...AUTH_ERRORS) }
  })

  async function act (action: Action, request: { principal: Parameters<typeof actorOf>[0], params: { contact: string }, body?: { account?: string, minutes?: number } }) {
    const account = scopedAccount(request.principal, request.body?.account)
    const actor = actorOf(request.principal)
    if (action !== 'pause' && request.body?.minutes !== undefined) throw BadRequest('body must NOT have additional properties (minutes)')
    if (action === 'pause') return await service.pause(account, request.params.contact, request.body?.minutes, actor)
    return action === 'resume' ? await service.resume(account, request.params.contact, actor) : await service.freeze(account, request.params.contact, actor)
  }
  const body = (hide: boolean, summary: string, schema: typeof PauseBodySchema | typeof AccountBodySchema = PauseBodySchema) => ({
    tags,
    hide,
    summary,
    params: ContactParamsSchema,
    body: schema,
    response: { 200: ConversationSchema, ...errorResponses(404, 503, ...BODY_ERRORS, ...AUTH_ERRORS) }
  })

  fastify.get('/:contact', { schema: one(false) }, async (request) => await service.get(scopedAccount(request.principal, request.query.account), request.params.contact))
  fastify.delete('/:contact', { config: { access: 'admin' }, schema: erase(false) }, async (request, reply) => {
    await service.erase(request.query.account, request.params.contact, actorOf(request.principal))
    return await reply.code(204).send()
  })
  for (const action of ACTIONS) {
    fastify.post(`/:contact/${action}`, { schema: body(false, SUMMARIES[action], action === 'pause' ? PauseBodySchema : AccountBodySchema) }, async (request) => await act(action, request))
  }

  if (!twins) return
  fastify.get('/*', { preValidation: paramFromRest('contact'), schema: one(true) }, async (request) =>
    await service.get(scopedAccount(request.principal, request.query.account), request.params.contact))
  fastify.delete('/*', { preValidation: paramFromRest('contact'), config: { access: 'admin' }, schema: erase(true) }, async (request, reply) => {
    await service.erase(request.query.account, request.params.contact, actorOf(request.principal))
    return await reply.code(204).send()
  })
  fastify.post('/*', { preValidation: paramFromRest('contact', ACTIONS), schema: body(true, 'pause, resume or freeze (a contact id longer than the host router allows)') }, async (request) =>
    await act((request.params as unknown as { action: Action }).action, request))
}

export default conversations
