import fp from 'fastify-plugin'
import { createKnowledgeService, type KnowledgeService } from '../../lib/knowledge/service.js'

declare module '../app/config.js' {
  interface SellifyEngines {
    knowledge: KnowledgeService
  }
}

export default fp(async function knowledge (fastify) {
  const { store, accounts, audit } = fastify.sellify
  const service = createKnowledgeService({ store, accounts, audit: audit.entry })
  // A matcher is compiled with the account's settings: this instance drops it at once when they change.
  accounts.observe((event) => { service.forget(event.account) })
  fastify.sellify.knowledge = service
}, { name: 'knowledge', dependencies: ['config', 'storage', 'audit', 'accounts'], fastify: '5.x' })
