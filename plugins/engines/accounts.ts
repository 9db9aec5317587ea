import fp from 'fastify-plugin'
import { checkWebhookUrl } from '../../lib/alerts/webhook.js'
import { createAccountService, webhookSecretPlace, type AccountService } from '../../lib/accounts/service.js'

declare module '../app/config.js' {
  interface SellifyEngines {
    accounts: AccountService
  }
}

export default fp(async function accounts (fastify) {
  const { config, store, audit, encryption } = fastify.sellify
  fastify.sellify.accounts = createAccountService({
    store,
    defaults: config.defaults,
    now: config.now,
    audit: audit.entry,
    checkWebhookUrl: (url) => checkWebhookUrl(url, { allowPrivate: config.allowPrivateWebhooks }),
    // Under the account's own data key, bound to the webhook's URL.
    secrets: {
      seal: async (account, url, secret) => (await encryption.seal(account, null, secret, webhookSecretPlace(account, url))).value,
      open: async (account, url, sealed) => await encryption.openOrFail(sealed, webhookSecretPlace(account, url))
    }
  })
}, { name: 'accounts', dependencies: ['config', 'storage', 'encryption', 'audit'], fastify: '5.x' })
