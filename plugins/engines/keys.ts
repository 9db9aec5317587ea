import fp from 'fastify-plugin'
import { createKeyService, type KeyService } from '../../lib/keys/service.js'

declare module '../app/config.js' {
  interface SellifyEngines {
    keys: KeyService
  }
}

export default fp(async function keys (fastify) {
  const { config, store, accounts } = fastify.sellify
  const service = createKeyService({
    store,
    audit: fastify.sellify.audit.entry,
    bootstrapKey: config.apiKey,
    now: config.now,
    onTouchError: (err, key) => { fastify.log.warn({ err, key }, 'could not record key use') }
  })
  // Deleting an account revokes its agent keys in the store; this instance refuses them at once.
  accounts.observe((event) => { if (event.type === 'deleted') service.forget() })
  fastify.sellify.keys = service
}, { name: 'keys', dependencies: ['config', 'storage', 'audit', 'accounts'], fastify: '5.x' })
