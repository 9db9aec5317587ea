import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import config, { type SellifyOptions } from './plugins/app/config.js'
import storage from './plugins/app/storage.js'
import encryptionKeys from './plugins/app/encryption-keys.js'
import metrics from './plugins/app/metrics.js'
import httpContract from './plugins/app/http-contract.js'
import auth from './plugins/app/auth.js'
import httpMetrics from './plugins/app/http-metrics.js'
import schedule from './plugins/external/schedule.js'
import rateLimit from './plugins/external/rate-limit.js'
import swagger from './plugins/external/swagger.js'
import encryption from './plugins/engines/encryption.js'
import audit from './plugins/engines/audit.js'
import accounts from './plugins/engines/accounts.js'
import resets from './plugins/engines/resets.js'
import quota from './plugins/engines/quota.js'
import keys from './plugins/engines/keys.js'
import knowledge from './plugins/engines/knowledge.js'
import validation from './plugins/engines/validation.js'
import ai from './plugins/engines/ai.js'
import alerts from './plugins/engines/alerts.js'
import conversations from './plugins/engines/conversations.js'
import decisions from './plugins/engines/decisions.js'
import health from './plugins/engines/health.js'
import routes from './routes/index.js'

export type { SellifyOptions, SellifyEngines } from './plugins/app/config.js'
export type { QuotaApi } from './plugins/engines/quota.js'
export type { QuotaService } from './lib/quota/service.js'
export type { Store } from './lib/store/contract.js'
// The engines' plugins add their members to `app.sellify` with `declare module` next to the assignment; these
// re-exports (of no names: the plugins export only their default) make dist/app.d.ts load those files, so a
// host that compiles against the package sees `app.sellify.store`, `.metrics`, `.accounts`, `.resets`,
// `.resetJobs` and `.keys` (config.js and quota.js are loaded by the exports above).
export type * from './plugins/app/storage.js'
export type * from './plugins/app/metrics.js'
export type * from './plugins/app/encryption-keys.js'
export type * from './plugins/engines/encryption.js'
export type * from './plugins/engines/audit.js'
export type * from './plugins/engines/accounts.js'
export type * from './plugins/engines/resets.js'
export type * from './plugins/engines/keys.js'
export type * from './plugins/engines/knowledge.js'
export type * from './plugins/engines/validation.js'
export type * from './plugins/engines/ai.js'
export type * from './plugins/engines/alerts.js'
export type * from './plugins/engines/conversations.js'
export type * from './plugins/engines/decisions.js'
export type * from './plugins/engines/health.js'

/**
 * Everything that answers HTTP lives in one encapsulated scope: its error handler, JSON-only parsers,
 * auth and rate limit hooks and OpenAPI document apply to Sellify's routes only, under the host's prefix.
 */
async function sellifyScope (fastify: FastifyInstance): Promise<void> {
  await fastify.register(httpContract)
  await fastify.register(auth)
  await fastify.register(rateLimit)
  await fastify.register(httpMetrics)
  await fastify.register(swagger)
  await fastify.register(routes)
}

/**
 * The root plugin. Unlike a usual Fastify app's root it is a `fastify-plugin`, because the embedding API promises
 * the host `app.quota` (and `app.sellify`) after `app.register(sellify)`: configuration, store and engines
 * decorate the host instance, while the HTTP side stays encapsulated above (and mounted under `opts.prefix`,
 * which a fastify-plugin would otherwise ignore). Order: config → storage → encryption keys → metrics registry → engines
 * (each after the engines it uses) → HTTP scope (docs/architecture.md).
 */
async function sellify (fastify: FastifyInstance, opts: SellifyOptions): Promise<void> {
  await fastify.register(config, opts)
  await fastify.register(storage)
  await fastify.register(encryptionKeys)
  await fastify.register(metrics)
  await fastify.register(schedule)
  await fastify.register(encryption)
  await fastify.register(audit)
  await fastify.register(accounts)
  await fastify.register(resets)
  await fastify.register(quota)
  await fastify.register(keys)
  await fastify.register(knowledge)
  await fastify.register(validation)
  await fastify.register(ai)
  await fastify.register(alerts)
  await fastify.register(health)
  await fastify.register(conversations)
  await fastify.register(decisions)
  await fastify.register(sellifyScope, { prefix: opts.prefix ?? '' })
}

export default fp(sellify, { name: 'sellify-core', fastify: '5.x' })
