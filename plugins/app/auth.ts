import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { InvalidKey, MissingKey } from '../../lib/keys/errors.js'
import { assertAccess, type Access } from '../../lib/keys/policy.js'
import type { Principal } from '../../lib/keys/types.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access
  }
  interface FastifyRequest {
    /** The validated key, or null (no key, unknown key, or a public route). */
    principal: Principal | null
  }
}

function access (request: FastifyRequest): Access {
  return request.routeOptions.config.access ?? 'agent'
}

/**
 * API-key authentication for Sellify's own routes (the keys engine decides; this wires it in). Identification
 * runs on `onRequest` (so the rate limiter can key by the key's id) and the refusal on `preParsing`, after the
 * rate limiter and before any body is read.
 */
export default fp(async function auth (fastify) {
  const keys = fastify.sellify.keys
  fastify.decorateRequest('principal', null)

  fastify.addHook('onRequest', async function identify (request: FastifyRequest) {
    if (access(request) === 'public') return
    const header = request.headers['x-api-key']
    const secret = Array.isArray(header) ? header[0] : header
    if (secret === undefined || secret === '') return
    request.principal = await keys.authenticate(secret)
  })

  fastify.addHook('preParsing', async function authorize (request: FastifyRequest, _reply: FastifyReply) {
    const needed = access(request)
    if (needed === 'public') return
    const principal = request.principal
    if (principal === null) throw request.headers['x-api-key'] === undefined ? MissingKey() : InvalidKey()
    assertAccess(principal, needed)
    keys.touch(principal)
  })
}, { name: 'auth', dependencies: ['keys'], fastify: '5.x' })
