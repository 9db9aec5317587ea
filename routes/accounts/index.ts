import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { scopedAccount } from '../../lib/keys/policy.js'
import { AUTH_ERRORS, BODY_ERRORS, errorResponses } from '../common/schema.js'
import { AccountBodySchema, AccountListSchema, AccountParamsSchema, AccountSchema } from './schema.js'

const tags = ['accounts']

const accounts: FastifyPluginAsyncTypebox = async function accountRoutes (fastify) {
  const service = fastify.sellify.accounts

  fastify.get('', {
    config: { access: 'admin' },
    schema: { tags, summary: 'Every account with its configuration', response: { 200: AccountListSchema, ...errorResponses(503, ...AUTH_ERRORS) } }
  }, async () => ({ accounts: await service.list() }))

  fastify.get('/:account', {
    schema: {
      tags,
      summary: 'One account\'s configuration (admins, or an agent for its own account)',
      params: AccountParamsSchema,
      response: { 200: AccountSchema, ...errorResponses(400, 404, 503, ...AUTH_ERRORS) }
    }
  }, async (request) => await service.get(scopedAccount(request.principal, request.params.account) ?? request.params.account))

  fastify.put('/:account', {
    config: { access: 'admin' },
    schema: {
      tags,
      summary: 'Create or replace an account\'s configuration',
      params: AccountParamsSchema,
      body: AccountBodySchema,
      response: { 200: AccountSchema, 201: AccountSchema, ...errorResponses(503, ...BODY_ERRORS, ...AUTH_ERRORS) }
    }
  }, async (request, reply) => {
    const { account, created } = await service.put(request.params.account, request.body ?? {})
    if (created) reply.code(201)
    return account
  })

  fastify.delete('/:account', {
    config: { access: 'admin' },
    schema: {
      tags,
      summary: 'Delete an account, its counters and history, and revoke its agent keys',
      params: AccountParamsSchema,
      response: { 204: Type.Null({ description: 'Deleted' }), ...errorResponses(400, 404, 409, 503, ...AUTH_ERRORS) }
    }
  }, async (request, reply) => {
    await service.delete(request.params.account)
    return reply.code(204).send(null)
  })
}

export default accounts
