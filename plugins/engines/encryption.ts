import fp from 'fastify-plugin'
import { createEncryptionService, type EncryptionService } from '../../lib/encryption/service.js'

declare module '../app/config.js' {
  interface SellifyEngines {
    encryption: EncryptionService
  }
}

/** Envelope encryption over the configured master keys (plugins/app/encryption-keys.ts). */
export default fp(async function encryption (fastify) {
  const { config, store, keyring } = fastify.sellify
  fastify.sellify.encryption = createEncryptionService({ store, keyring, now: config.now })
}, { name: 'encryption', dependencies: ['config', 'storage', 'encryption-keys'], fastify: '5.x' })
