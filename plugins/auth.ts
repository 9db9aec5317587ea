import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { forbidden, SellifyError, storeUnavailable } from '../lib/errors.js'
import { createKeyService } from '../lib/key-service.js'
import { BOOTSTRAP_KEY_ID, digestKey, sameDigest, type Principal } from '../lib/keys.js'

/** Who may call a route: `public` (no key), `agent` (any valid key, account-scoped) or `admin`. */
export type Access = 'public' | 'agent' | 'admin'

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access
  }
  interface FastifyRequest {
    /** The validated key, or null (no key, unknown key, or a public route). */
    principal: Principal | null
  }
}

/**
 * How long a key lookup is trusted. Revocation must reach every instance within 5 s (SPEC §7);
 * 2 s leaves room for a slow store.
 */
const KEY_CACHE_MS = 2000
const KEY_CACHE_MAX = 10_000
/** last_used_at is written at most this often per key, so a busy key does not write on every request. */
const TOUCH_EVERY_MS = 60_000

function unauthorized (message: string): SellifyError {
  return new SellifyError(401, 'SELLIFY_UNAUTHORIZED', message, { headers: { 'www-authenticate': 'ApiKey header="X-API-Key"' } })
}

/**
 * API-key authentication for Sellify's own routes. Identification runs on `onRequest` (so the rate limiter
 * can key by the key's id) and the refusal on `preParsing`, after the rate limiter and before any body is read.
 */
export default fp(async function auth (fastify) {
  const { apiKey, now } = fastify.sellifyConfig
  const store = fastify.sellifyStore
  const bootstrap = digestKey(apiKey)
  const cache = new Map<string, { principal: Principal | null, until: number }>()
  const touched = new Map<string, number>()

  async function lookup (digest: Buffer): Promise<Principal | null> {
    if (sameDigest(digest, bootstrap)) return { id: BOOTSTRAP_KEY_ID, role: 'admin', account: null }
    const cacheKey = digest.toString('hex')
    const hit = cache.get(cacheKey)
    if (hit !== undefined && hit.until > Date.now()) return hit.principal
    let principal: Principal | null = null
    try {
      const stored = await store.findKeyByDigest(digest)
      if (stored !== null && stored.revoked_at === null) principal = { id: stored.id, role: stored.role, account: stored.account }
    } catch (err) {
      throw storeUnavailable(err)
    }
    // Unknown keys are cached too, but the cache is bounded so random keys cannot grow memory.
    if (cache.size >= KEY_CACHE_MAX) cache.clear()
    cache.set(cacheKey, { principal, until: Date.now() + KEY_CACHE_MS })
    return principal
  }

  function touch (principal: Principal): void {
    if (principal.id === BOOTSTRAP_KEY_ID) return
    const at = now()
    const last = touched.get(principal.id)
    if (last !== undefined && at.getTime() - last < TOUCH_EVERY_MS) return
    touched.set(principal.id, at.getTime())
    store.touchKey(principal.id, at.toISOString()).catch((err: unknown) => {
      fastify.log.warn({ err, key: principal.id }, 'could not record key use')
    })
  }

  fastify.decorateRequest('principal', null)

  fastify.addHook('onRequest', async function identify (request: FastifyRequest) {
    if (access(request) === 'public') return
    const header = request.headers['x-api-key']
    const secret = Array.isArray(header) ? header[0] : header
    if (secret === undefined || secret === '') return
    request.principal = await lookup(digestKey(secret))
  })

  fastify.addHook('preParsing', async function authorize (request: FastifyRequest, _reply: FastifyReply) {
    const needed = access(request)
    if (needed === 'public') return
    const principal = request.principal
    if (principal === null) {
      throw unauthorized(request.headers['x-api-key'] === undefined ? 'Missing X-API-Key header' : 'Invalid API key')
    }
    if (needed === 'admin' && principal.role !== 'admin') throw forbidden('This route needs an admin key')
    touch(principal)
  })

  // Deleting an account revokes its agent keys in the store; this instance refuses them at once.
  fastify.quota.observe((event) => { if (event.type === 'accounts') cache.clear() })

  const keys = createKeyService({ store, now })
  fastify.decorate('apiKeys', {
    ...keys,
    async revoke (id: string): Promise<void> {
      await keys.revoke(id)
      // This instance refuses the key at once; others within KEY_CACHE_MS.
      cache.clear()
    }
  })
}, { name: 'auth', dependencies: ['config', 'storage', 'quota'], fastify: '5.x' })

function access (request: FastifyRequest): Access {
  return request.routeOptions.config.access ?? 'agent'
}

declare module 'fastify' {
  interface FastifyInstance {
    apiKeys: ReturnType<typeof createKeyService>
  }
}

/**
 * The account a request may act on. Admins act on what they name; an agent acts on its own account,
 * whether it names it or not, and naming another is a 403.
 */
export function scopedAccount (request: FastifyRequest, named: string | undefined): string | undefined {
  const principal = request.principal
  if (principal === null || principal.role === 'admin') return named
  if (named !== undefined && named !== principal.account) throw forbidden(`This key may only act on account ${JSON.stringify(principal.account)}`)
  return principal.account ?? undefined
}
