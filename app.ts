import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import config, { type SellifyOptions } from './plugins/config.js'
import storage from './plugins/storage.js'
import errors from './plugins/errors.js'
import auth from './plugins/auth.js'
import rateLimit from './plugins/rate-limit.js'
import quota from './plugins/quota.js'
import scheduler from './plugins/scheduler.js'
import metrics from './plugins/metrics.js'
import openapi from './plugins/openapi.js'
import routes from './routes/index.js'

export type { SellifyOptions } from './plugins/config.js'
export type { QuotaService } from './lib/quota-service.js'
export type { Store } from './lib/store/types.js'

/**
 * Everything that answers HTTP lives in one encapsulated scope: its error handler, JSON-only parsers,
 * auth and rate limit hooks and OpenAPI document apply to Sellify's routes only, under the host's prefix.
 */
async function sellifyScope (fastify: FastifyInstance): Promise<void> {
  await fastify.register(errors)
  await fastify.register(auth)
  await fastify.register(rateLimit)
  await fastify.register(metrics)
  await fastify.register(openapi)
  await fastify.register(routes)
}

/**
 * The root plugin. Unlike the demo app's root it is a `fastify-plugin`, because SPEC §9 promises the host
 * `app.quota` after `app.register(sellify)`: config, store and the quota engine decorate the host instance,
 * while the HTTP side stays encapsulated above (and mounted under `opts.prefix`, which a fastify-plugin
 * would otherwise ignore).
 */
async function sellify (fastify: FastifyInstance, opts: SellifyOptions): Promise<void> {
  await fastify.register(config, opts)
  await fastify.register(storage)
  await fastify.register(quota)
  await fastify.register(scheduler)
  await fastify.register(sellifyScope, { prefix: opts.prefix ?? '' })
}

export default fp(sellify, { name: 'sellify-core', fastify: '5.x' })
