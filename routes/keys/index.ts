import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { AUTH_ERRORS, BODY_ERRORS, errorResponses } from '../common/schema.js'
import { CreatedKeySchema, KeyListSchema, KeyParamsSchema, NewKeyBodySchema, OwnKeySchema } from './schema.js'
import { actorOf } from '../../lib/keys/policy.js'

const tags = ['keys']

const keys: FastifyPluginAsyncTypebox = async function keyRoutes (fastify) {
  const service = fastify.sellify.keys
  const config = { access: 'admin' as const }

  fastify.post('', {
    config,
    schema: { tags, summary: 'Create a key; its secret is in this answer only', body: NewKeyBodySchema, response: { 201: CreatedKeySchema, ...errorResponses(503, ...BODY_ERRORS, ...AUTH_ERRORS) } }
  }, async (request, reply) => {
    reply.code(201)
    return await service.create(request.body, actorOf(request.principal))
  })

  fastify.get('', {
    config,
    schema: { tags, summary: 'Every active key, without secrets', response: { 200: KeyListSchema, ...errorResponses(503, ...AUTH_ERRORS) } }
  }, async () => ({ keys: await service.list() }))

  // Any valid key may ask who it is (the dashboard shows an agent its own account only).
  fastify.get('/me', {
    config: { access: 'agent' },
    schema: { tags, summary: 'The key that asks: its id, name, role and account (any valid key)', response: { 200: OwnKeySchema, ...errorResponses(...AUTH_ERRORS) } }
  }, async (request) => {
    const { id, name, role, account } = request.principal as NonNullable<typeof request.principal>
    return { id, name, role, account }
  })

  fastify.delete('/:id', {
    config,
    schema: { tags, summary: 'Revoke a key (refused by every instance within 5 s)', params: KeyParamsSchema, response: { 204: Type.Null({ description: 'Revoked' }), ...errorResponses(404, 503, ...AUTH_ERRORS) } }
  }, async (request, reply) => {
    await service.revoke(request.params.id, actorOf(request.principal))
    return reply.code(204).send(null)
  })
}

export default keys
