import fp from 'fastify-plugin'
import { Gauge } from 'prom-client'
import { STATES } from '../../lib/conversations/machine.js'
import { createConversationService, type ConversationService } from '../../lib/conversations/service.js'

declare module '../app/config.js' {
  interface SellifyEngines {
    conversations: ConversationService
  }
}

/** The operators' side of conversations, and `sellify_conversations{state}` (counts, never contact ids). */
export default fp(async function conversations (fastify) {
  const { config, store, accounts, encryption, audit, metrics, storeGauges } = fastify.sellify
  fastify.sellify.conversations = createConversationService({ store, accounts, encryption, audit, now: config.now })
  // Counted in the store (every instance's conversations) in the background: a scrape reads nothing.
  const gauge = new Gauge({
    name: 'sellify_conversations',
    help: 'Conversations in each state, over every account (counted in the store every 15 s)',
    labelNames: ['state'],
    registers: [metrics]
  })
  for (const state of STATES) gauge.set({ state }, 0)
  storeGauges.add(async () => {
    const counts = await store.conversationStates()
    for (const state of STATES) gauge.set({ state }, counts[state] ?? 0)
  })
}, { name: 'conversations', dependencies: ['config', 'storage', 'metrics', 'encryption', 'audit', 'accounts'], fastify: '5.x' })
