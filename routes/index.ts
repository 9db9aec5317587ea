import type { FastifyPluginAsync } from 'fastify'
import health from './health/index.js'
import quota from './quota/index.js'
import accounts from './accounts/index.js'
import keys from './keys/index.js'
import products from './products/index.js'
import knowledge from './knowledge/index.js'
import validate from './validate/index.js'
import metrics from './metrics/index.js'
import audit from './audit/index.js'
import encryption from './encryption/index.js'
import conversation from './conversation/index.js'
import decision from './decision/index.js'
import conversations from './conversations/index.js'
import messages from './messages/index.js'
import alerts from './alerts/index.js'
import decisions from './decisions/index.js'
import dashboard from './dashboard/index.js'

/** Every route of the service; paths are relative to wherever Sellify is mounted. */
const routes: FastifyPluginAsync = async function routes (fastify) {
  await fastify.register(health)
  await fastify.register(quota, { prefix: '/api/v1/quota' })
  await fastify.register(accounts, { prefix: '/api/v1/accounts' })
  await fastify.register(keys, { prefix: '/api/v1/keys' })
  await fastify.register(products, { prefix: '/api/v1/products' })
  await fastify.register(knowledge, { prefix: '/api/v1/knowledge' })
  await fastify.register(validate, { prefix: '/api/v1/validate' })
  await fastify.register(audit, { prefix: '/api/v1/audit' })
  await fastify.register(encryption, { prefix: '/api/v1/encryption' })
  await fastify.register(conversation, { prefix: '/api/v1/conversation' })
  await fastify.register(decision, { prefix: '/api/v1/decision' })
  await fastify.register(conversations, { prefix: '/api/v1/conversations' })
  await fastify.register(messages, { prefix: '/api/v1/messages' })
  await fastify.register(alerts, { prefix: '/api/v1/alerts' })
  await fastify.register(decisions, { prefix: '/api/v1/decisions' })
  await fastify.register(dashboard, { prefix: '/dashboard' })
  await fastify.register(metrics)
}

export default routes
