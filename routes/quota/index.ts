import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { actorOf, scopedAccount } from '../../lib/keys/policy.js'
import { AUTH_ERRORS, BODY_ERRORS, errorResponses } from '../common/schema.js'
import {
  AccountQuerySchema, CheckSchema, ConsumeSchema, HistoryQuerySchema, HistorySchema, RecordBodySchema, RecordSchema, ResetBodySchema,
  ResetResultSchema, ResetsQuerySchema, ResetsSchema, SendBodySchema, StatusSchema, type RecordBody, type SendBody
} from './schema.js'

const tags = ['quota']

/** A send request as the service takes it: the account the key may act on; admins may create accounts implicitly. */
function sendRequest (request: FastifyRequest, body: SendBody) {
  return {
    message_type: body.message_type,
    count: body.count,
    account: scopedAccount(request.principal, body.account),
    createMissing: request.principal?.role === 'admin'
  }
}

const quota: FastifyPluginAsyncTypebox = async function quotaRoutes (fastify) {
  const service = fastify.sellify.quota
  const resets = fastify.sellify.resets

  fastify.get('/status', {
    schema: {
      tags,
      summary: 'Counters, limits and reset state of an account',
      querystring: AccountQuerySchema,
      response: { 200: StatusSchema, ...errorResponses(400, 404, 503, ...AUTH_ERRORS) }
    }
  }, async (request) => await service.status(scopedAccount(request.principal, request.query.account)))

  fastify.post('/check', {
    schema: {
      tags,
      summary: 'Would a send be allowed now? Reads only',
      body: SendBodySchema,
      response: { 200: CheckSchema, ...errorResponses(404, 503, ...BODY_ERRORS, ...AUTH_ERRORS) }
    }
  }, async (request) => await service.check(sendRequest(request, request.body)))

  fastify.post('/consume', {
    schema: {
      tags,
      summary: 'Atomically check and count a send; refused sends change nothing',
      body: SendBodySchema,
      response: { 200: ConsumeSchema, ...errorResponses(404, 503, ...BODY_ERRORS, ...AUTH_ERRORS) }
    }
  }, async (request) => await service.consume(sendRequest(request, request.body)))

  fastify.post('/record', {
    schema: {
      tags,
      summary: 'Count a send that already happened, even past the limit; no body: one text message (the original\'s call)',
      body: RecordBodySchema,
      response: { 200: RecordSchema, ...errorResponses(404, 503, ...BODY_ERRORS, ...AUTH_ERRORS) }
    }
  }, async (request) => {
    // No body at all reaches here as null or undefined (http-contract lets it through: every field is optional).
    const body: RecordBody | null | undefined = request.body
    return await service.record(sendRequest(request, { message_type: body?.message_type ?? 'text', count: body?.count ?? 1, account: body?.account }))
  })

  for (const type of ['daily', 'weekly'] as const) {
    fastify.post(`/reset/${type}`, {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: `Clear the current ${type === 'daily' ? 'day' : 'week'}'s counters of one account, or of every account without a body`,
        body: ResetBodySchema,
        response: { 200: ResetResultSchema, ...errorResponses(404, 503, ...BODY_ERRORS, ...AUTH_ERRORS) }
      }
    }, async (request) => {
      const account = request.body?.account
      const actor = actorOf(request.principal)
      return type === 'daily' ? await resets.resetDaily(account, actor) : await resets.resetWeekly(account, actor)
    })
  }

  fastify.get('/resets', {
    config: { access: 'admin' },
    schema: {
      tags,
      summary: 'Reset history, newest first',
      querystring: ResetsQuerySchema,
      response: { 200: ResetsSchema, ...errorResponses(400, 503, ...AUTH_ERRORS) }
    }
  }, async (request) => ({ resets: await resets.list(request.query) }))

  fastify.get('/history', {
    schema: {
      tags,
      summary: 'Sends per day of the last `days` days, oldest first',
      querystring: HistoryQuerySchema,
      response: { 200: HistorySchema, ...errorResponses(400, 404, 503, ...AUTH_ERRORS) }
    }
  }, async (request) => await service.history(scopedAccount(request.principal, request.query.account), request.query.days))
}

export default quota
