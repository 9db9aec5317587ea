import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { readPackage } from '../../lib/shared/version.js'

/**
 * @see https://github.com/fastify/fastify-swagger
 * OpenAPI 3 document of Sellify's routes (registered in its scope, so an embedding host's routes stay out),
 * served at /docs/json with Swagger UI at /docs. Both are public.
 */
export default fp(async function swaggerSetup (fastify) {
  const pkg = readPackage()
  await fastify.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Sellify Core',
        description: 'Deterministic quota and anti-ban service for a WhatsApp sales bot.',
        version: pkg.version
      },
      components: {
        securitySchemes: {
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' }
        }
      },
      security: [{ apiKey: [] }],
      tags: [
        { name: 'health', description: 'Liveness and store reachability' },
        { name: 'quota', description: 'Send quotas, pacing and resets' },
        { name: 'accounts', description: 'WhatsApp accounts and their limits' },
        { name: 'anti-ban', description: 'Ban signals, the number\'s health score and its pause' },
        { name: 'keys', description: 'API keys (admin)' },
        { name: 'audit', description: 'The tamper-evident record of every change and decision' },
        { name: 'encryption', description: 'Master keys and their rotation (admin)' },
        { name: 'decisions', description: 'One call per incoming message: what to send, when and to whom; the reports after the send' },
        { name: 'alerts', description: 'Alerts for a person: stored, signed webhooks with retries, acknowledgement' },
        { name: 'conversations', description: 'Each contact\'s conversation: state, messages, pause, freeze and erasure' },
        { name: 'validation', description: 'Checks of a text before it is sent' },
        { name: 'metrics', description: 'Prometheus metrics' },
        { name: 'dashboard', description: 'The browser dashboard\'s static files (public; its pages call the API above with the signed-in key)' }
      ]
    }
  })
  await fastify.register(async function docs (instance) {
    instance.addHook('onRoute', (route) => {
      route.config = { ...route.config, access: 'public' }
    })
    await instance.register(swaggerUi, { routePrefix: '/docs' })
  })
}, { name: 'swagger', fastify: '5.x' })
