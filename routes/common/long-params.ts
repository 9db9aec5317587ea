/**
 * Path parameters longer than the host's router allows. Fastify's router refuses a path parameter longer than
 * its `maxParamLength` with a 414 before any route runs; that option belongs to the host's router (100 unless
 * the host sets it; the standalone server sets 128) and a plugin cannot change it, while account and contact
 * ids go to 128 characters. A wildcard is not bound by the limit, so under a shorter limit a route may also
 * answer on a hidden `/*` twin, which the router reaches only when the parameter route does not match.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

/** Whether the host's router refuses parameters of `length` characters (so the twins are needed). */
export function needsTwin (fastify: FastifyInstance, length: number): boolean {
  const { maxParamLength, routerOptions } = fastify.initialConfig
  // Given both ways, one of them may be a default Fastify filled in: the smaller is the safe reading.
  return Math.min(maxParamLength ?? 100, routerOptions?.maxParamLength ?? Infinity) < length
}

/**
 * A twin's preValidation: the rest of the path, `<value>` or `<value>/<one of suffixes>`, becomes
 * `params[name]` (and `params.action`, the suffix) before validation, so the schema, the handler and the error
 * messages are the parameter route's. Anything else is no route, as without the twin. With `bare`, the value
 * alone is taken too (a GET twin that answers both `/:name` and `/:name/<suffix>`).
 */
export function paramFromRest (name: string, suffixes: readonly string[] = [], bare = false) {
  return async function fromRest (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const rest = (request.params as Record<string, string>)['*']
    const slash = rest.indexOf('/')
    const value = slash === -1 ? rest : rest.slice(0, slash)
    const action = slash === -1 ? null : rest.slice(slash + 1)
    const expected = suffixes.length > 0
    if ((action === null && expected && !bare) || (action !== null && (!expected || !suffixes.includes(action)))) {
      reply.callNotFound()
      return reply
    }
    request.params = action === null ? { [name]: value } : { [name]: value, action }
  }
}
