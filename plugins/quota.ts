import fp from 'fastify-plugin'
import { createQuotaService } from '../lib/quota-service.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The quota engine; the routes call exactly this (SPEC §9). */
    quota: ReturnType<typeof createQuotaService>
  }
}

export default fp(async function quota (fastify) {
  const { defaults, now, random } = fastify.sellifyConfig
  fastify.decorate('quota', createQuotaService({ store: fastify.sellifyStore, defaults, now, random }))
}, { name: 'quota', dependencies: ['config', 'storage'], fastify: '5.x' })
