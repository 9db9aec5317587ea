import fp from 'fastify-plugin'
import { Gauge } from 'prom-client'
import { STATES } from '../../lib/conversations/machine.js'
import { createConversationService, type ConversationService } from '../../lib/conversations/service.js'

declare module '../app/config.js' {
  interface SellifyEngines {
    conversations: ConversationService
  }
}

const STATES_TTL_MS = 15_000

/** The operators' side of conversations, and `sellify_conversations{state}` (counts, never contact ids). */
export default fp(async function conversations (fastify) {
  const { config, store, accounts, encryption, audit, metrics } = fastify.sellify
  fastify.sellify.conversations = createConversationService({ store, accounts, encryption, audit, now: config.now })
  // Counted by the store (every instance's conversations), at most every STATES_TTL_MS: a scrape in between
  // reads nothing. A store that does not answer keeps the last counts rather than failing the scrape.
  let counted = 0
  let counts: Record<string, number> = {}
  // eslint-disable-next-line no-new
  new Gauge({
    name: 'sellify_conversations',
    help: `Conversations in each state, over every account (counted in the store at most every ${STATES_TTL_MS / 1000} s)`,
    labelNames: ['state'],
    registers: [metrics],
    async collect () {
      if (Date.now() - counted >= STATES_TTL_MS) {
        try {
          counts = await store.conversationStates()
          counted = Date.now()
        } catch (err) {
          fastify.log.warn({ err }, 'conversation counts could not be read for /metrics')
        }
      }
      for (const state of STATES) this.set({ state }, counts[state] ?? 0)
    }
  })
}, { name: 'conversations', dependencies: ['config', 'storage', 'metrics', 'encryption', 'audit', 'accounts'], fastify: '5.x' })
