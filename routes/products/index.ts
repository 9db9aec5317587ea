import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { actorOf, scopedAccount } from '../../lib/keys/policy.js'
import { AUTH_ERRORS, BODY_ERRORS, errorResponses } from '../common/schema.js'
import { AccountQuerySchema, ProductBodySchema, ProductListSchema, ProductParamsSchema, ProductSchema } from './schema.js'

const tags = ['knowledge']

/** The original's product routes, over the account's knowledge base. */
const products: FastifyPluginAsyncTypebox = async function productRoutes (fastify) {
  const service = fastify.sellify.knowledge

  fastify.get('', {
    schema: {
      tags,
      summary: 'The account\'s products, in catalogue order (a bare array, as the original answered)',
      querystring: AccountQuerySchema,
      response: { 200: ProductListSchema, ...errorResponses(400, 404, 503, ...AUTH_ERRORS) }
    }
  }, async (request) => await service.products(scopedAccount(request.principal, request.query.account)))

  fastify.get('/:id', {
    schema: {
      tags,
      summary: 'One product',
      params: ProductParamsSchema,
      querystring: AccountQuerySchema,
      response: { 200: ProductSchema, ...errorResponses(400, 404, 503, ...AUTH_ERRORS) }
    }
  }, async (request) => await service.product(scopedAccount(request.principal, request.query.account), request.params.id))

  fastify.put('/:id', {
    config: { access: 'admin' },
    schema: {
      tags,
      summary: 'Create or replace one product (a new one goes last in the catalogue)',
      params: ProductParamsSchema,
      querystring: AccountQuerySchema,
      body: ProductBodySchema,
      response: { 200: ProductSchema, 201: ProductSchema, ...errorResponses(404, 503, ...BODY_ERRORS, ...AUTH_ERRORS) }
    }
  }, async (request, reply) => {
    const { product, created } = await service.putProduct(request.query.account, request.params.id, request.body, actorOf(request.principal))
    if (created) reply.code(201)
    return product
  })

  fastify.delete('/:id', {
    config: { access: 'admin' },
    schema: {
      tags,
      summary: 'Remove one product',
      params: ProductParamsSchema,
      querystring: AccountQuerySchema,
      response: { 204: Type.Null({ description: 'Removed' }), ...errorResponses(400, 404, 503, ...AUTH_ERRORS) }
    }
  }, async (request, reply) => {
    await service.deleteProduct(request.query.account, request.params.id, actorOf(request.principal))
    return reply.code(204).send(null)
  })
}

export default products
