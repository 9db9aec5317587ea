import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { actorOf, scopedAccount } from '../../lib/keys/policy.js'
import { AUTH_ERRORS, BODY_ERRORS, errorResponses } from '../common/schema.js'
import {
  AccountBodySchema, AccountQuerySchema, AlertDetailSchema, AlertListQuerySchema, AlertListSchema, AlertParamsSchema, AlertSchema, TestResultSchema
} from './schema.js'

const tags = ['alerts']

/** The alerts a person must see: list, one with its deliveries, acknowledge, and a test delivery. */
const alerts: FastifyPluginAsyncTypebox = async function alertRoutes (fastify) {
  const service = fastify.sellify.alerts

  fastify.get('', {
    schema: {
      tags,
      summary: 'The account\'s alerts, newest first',
      querystring: AlertListQuerySchema,
      response: { 200: AlertListSchema, ...errorResponses(400, 404, 503, ...AUTH_ERRORS) }
    }
  }, async (request) => await service.list({ ...request.query, account: scopedAccount(request.principal, request.query.account) }))

  fastify.post('/test', {
    schema: {
      tags,
      summary: 'Send a test delivery to each of the account\'s webhooks now, and answer how each went',
      body: AccountBodySchema,
      response: { 200: TestResultSchema, ...errorResponses(404, 503, ...BODY_ERRORS, ...AUTH_ERRORS) }
    }
  }, async (request) => await service.test(scopedAccount(request.principal, request.body?.account)))

  fastify.get('/:id', {
    schema: {
      tags,
      summary: 'One alert with its webhook deliveries',
      params: AlertParamsSchema,
      querystring: AccountQuerySchema,
      response: { 200: AlertDetailSchema, ...errorResponses(400, 404, 503, ...AUTH_ERRORS) }
    }
  }, async (request) => await service.get(request.params.id, scopedAccount(request.principal, request.query.account)))

  fastify.post('/:id/ack', {
    schema: {
      tags,
      summary: 'Acknowledge the alert (idempotent: the first acknowledgement stands)',
      params: AlertParamsSchema,
      body: AccountBodySchema,
      response: { 200: AlertSchema, ...errorResponses(404, 503, ...BODY_ERRORS, ...AUTH_ERRORS) }
    }
  }, async (request) => await service.ack(request.params.id, scopedAccount(request.principal, request.body?.account), actorOf(request.principal)))
}

export default alerts
