import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Readable } from 'node:stream'
import { DEFAULT_ACCOUNT } from '../../lib/accounts/types.js'
import type { AuditInput } from '../../lib/audit/service.js'
import type { JsonObject } from '../../lib/audit/types.js'
import { actorOf, scopedAccount } from '../../lib/keys/policy.js'
import { AUTH_ERRORS, BODY_ERRORS, errorResponses } from '../common/schema.js'
import {
  AuditAccountQuerySchema, AuditExportQuerySchema, AuditIdParamsSchema, AuditListQuerySchema, AuditListSchema, AuditRecordSchema,
  ClientLogBodySchema, VerifySchema
} from './schema.js'

const tags = ['audit']

const quotas = (value: JsonObject | number | null | undefined): JsonObject | undefined =>
  value === undefined || value === null ? undefined : typeof value === 'number' ? { value } : value

const audit: FastifyPluginAsyncTypebox = async function auditRoutes (fastify) {
  const service = fastify.sellify.audit

  fastify.get('', {
    config: { access: 'admin' },
    schema: {
      tags,
      summary: 'An account\'s audit records, newest first, texts decrypted; filters combine',
      querystring: AuditListQuerySchema,
      response: { 200: AuditListSchema, ...errorResponses(400, 503, ...AUTH_ERRORS) }
    }
  }, async (request) => await service.list({ ...request.query, account: request.query.account ?? DEFAULT_ACCOUNT }))

  fastify.get('/verify', {
    config: { access: 'admin' },
    schema: {
      tags,
      summary: 'Check the account\'s hash chain: finds an edited, deleted or reordered record',
      querystring: AuditAccountQuerySchema,
      response: { 200: VerifySchema, ...errorResponses(400, 503, ...AUTH_ERRORS) }
    }
  }, async (request) => await service.verify(request.query.account ?? DEFAULT_ACCOUNT))

  fastify.get('/export', {
    config: { access: 'admin' },
    schema: {
      tags,
      summary: 'Every record of the account in chain order, streamed as NDJSON or CSV',
      querystring: AuditExportQuerySchema,
      produces: ['application/x-ndjson', 'text/csv'],
      response: { 200: { description: 'NDJSON (one record per line) or CSV (a header line, then one line per record)', type: 'string' }, ...errorResponses(400, 503, ...AUTH_ERRORS) }
    }
  }, async (request, reply) => {
    const account = request.query.account ?? DEFAULT_ACCOUNT
    const format = request.query.format
    const lines = service.export({ account, from: request.query.from, to: request.query.to, format })
    return await reply
      .header('content-type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
      .header('content-disposition', `attachment; filename="audit-${account}.${format}"`)
      .send(Readable.from(lines))
  })

  fastify.get('/:id', {
    config: { access: 'admin' },
    schema: {
      tags,
      summary: 'One audit record, texts decrypted',
      params: AuditIdParamsSchema,
      response: { 200: AuditRecordSchema, ...errorResponses(400, 404, 503, ...AUTH_ERRORS) }
    }
  }, async (request) => await service.get(request.params.id))

  fastify.post('/log', {
    schema: {
      tags,
      summary: 'Record a client\'s own log entry (the original\'s AuditLog), texts encrypted, as type client.log',
      body: ClientLogBodySchema,
      response: { 201: AuditRecordSchema, ...errorResponses(404, 503, ...BODY_ERRORS, ...AUTH_ERRORS) }
    }
  }, async (request, reply) => {
    const body = request.body
    const account = scopedAccount(request.principal, body.account) ?? DEFAULT_ACCOUNT
    // The account must exist (default is created on first use), as for every other write.
    await fastify.sellify.accounts.get(account)
    const input: AuditInput = {
      account,
      actor: actorOf(request.principal),
      type: 'client.log',
      contact: body.conversation_id,
      incoming_message: body.incoming_message ?? undefined,
      state_before: body.state ?? undefined,
      action: body.chosen_action ?? undefined,
      ai_prompt: body.ai_prompt ?? undefined,
      ai_response: body.ai_response ?? undefined,
      sent_message: body.sent_message ?? undefined,
      quotas_before: quotas(body.quotas_before as JsonObject | number | null | undefined),
      quotas_after: quotas(body.quotas_after as JsonObject | number | null | undefined),
      client_id: body.id,
      client_timestamp: body.timestamp
    }
    return await reply.code(201).send(await service.record(input))
  })
}

export default audit
