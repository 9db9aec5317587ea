import fp from 'fastify-plugin'
import { createAiGateway, type AiGateway } from '../../lib/ai/gateway.js'
import { registerAiMetrics } from '../../lib/ai/metrics.js'

declare module '../app/config.js' {
  interface SellifyEngines {
    /** The AI gateway (lib/ai/gateway.ts); with SELLIFY_AI_PROVIDER=none every call answers `disabled`. */
    ai: AiGateway
  }
}

export default fp(async function ai (fastify) {
  const { config, metrics } = fastify.sellify
  const { provider, model, baseUrl, timeoutMs, apiKey } = config.ai
  const gateway = createAiGateway({ provider, model, baseUrl, apiKey, timeoutMs, now: config.now, random: config.random })
  registerAiMetrics(metrics, gateway)
  fastify.sellify.ai = gateway
  // A call still waiting for a slow provider would otherwise hold the close for up to its deadline.
  fastify.addHook('onClose', async () => { gateway.close() })
}, { name: 'ai', dependencies: ['config', 'metrics'], fastify: '5.x' })
