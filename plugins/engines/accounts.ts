import fp from 'fastify-plugin'
import { createAccountService, type AccountService } from '../../lib/accounts/service.js'

declare module '../app/config.js' {
  interface SellifyEngines {
    accounts: AccountService
  }
}

export default fp(async function accounts (fastify) {
  const { config, store } = fastify.sellify
  fastify.sellify.accounts = createAccountService({ store, defaults: config.defaults, now: config.now })
}, { name: 'accounts', dependencies: ['config', 'storage'], fastify: '5.x' })
