import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { actorOf, scopedAccount } from '../../lib/keys/policy.js'
import { AUTH_ERRORS, BODY_ERRORS, errorResponses } from '../common/schema.js'
import {
  DecisionParamsSchema, DecisionSchema, FailedBodySchema, FailedSchema, IncomingBodySchema, OutgoingBodySchema, OutgoingSchema, SentBodySchema, SentSchema
} from './schema.js'

const tags = ['decisions']

/** The bot's calls: one per incoming message, and its reports after each send. */
const messages: FastifyPluginAsyncTypebox = async function messageRoutes (fastify) {
  const service = fastify.sellify.decisions

  fastify.post('/incoming', {
    schema: {
      tags,
      summary: 'Decide what to do with an incoming WhatsApp message: the action, the exact reply, the wait and the alerts (idempotent by message_id for 24 h)',
      body: IncomingBodySchema,
      response: { 200: DecisionSchema, ...errorResponses(404, 409, 503, ...BODY_ERRORS, ...AUTH_ERRORS) }
    }
  }, async (request) => await service.incoming({ ...request.body, account: scopedAccount(request.principal, request.body?.account) }, actorOf(request.principal)))

  fastify.post('/outgoing', {
    schema: {
      tags,
      summary: 'A message a person sent from the number: counted, stored, and the conversation paused for human_takeover_minutes',
      body: OutgoingBodySchema,
      response: { 200: OutgoingSchema, ...errorResponses(404, 409, 503, ...BODY_ERRORS, ...AUTH_ERRORS) }
    }
  }, async (request) => await service.outgoing({ ...request.body, account: scopedAccount(request.principal, request.body?.account) }, actorOf(request.principal)))

  fastify.post('/:decision_id/sent', {
    schema: {
      tags,
      summary: 'The reply of a decision was sent (idempotent; 409 after failed)',
      params: DecisionParamsSchema,
      body: SentBodySchema,
      response: { 200: SentSchema, ...errorResponses(404, 409, 503, ...BODY_ERRORS, ...AUTH_ERRORS) }
    }
  }, async (request) => await service.sent(request.params.decision_id, { ...request.body, account: scopedAccount(request.principal, request.body?.account) }, actorOf(request.principal)))

  fastify.post('/:decision_id/failed', {
    schema: {
      tags,
      summary: 'The reply of a decision could not be sent: its quota is given back within the same period (idempotent; 409 after sent)',
      params: DecisionParamsSchema,
      body: FailedBodySchema,
      response: { 200: FailedSchema, ...errorResponses(404, 409, 503, ...BODY_ERRORS, ...AUTH_ERRORS) }
    }
  }, async (request) => await service.failed(request.params.decision_id, { ...request.body, account: scopedAccount(request.principal, request.body?.account) }, actorOf(request.principal)))
}

export default messages
