import { asJson, auditOps, type AuditActor, type AuditRecorder } from '../audit/recorder.js'
import type { AppendAuditOp } from '../audit/store.js'
import type { Clock } from '../shared/clock.js'
import type { UnitOfWork } from '../shared/unit-of-work.js'
import { createEvents } from '../shared/events.js'
import { DefaultAccountUndeletable, UnknownAccount } from './errors.js'
import { mergePatch } from '../shared/merge-patch.js'
import { assertAccountId, checkAccountBody, hasMaskedSecret, resolveConfig } from './rules.js'
import { accountAsInput, defaultSettings, publicAccount } from './settings.js'
import { deleteAccountOp, ensureAccountOp, putAccountOp, type AccountOp, type AccountReads } from './store.js'
import { DEFAULT_ACCOUNT, type Account, type AccountConfig, type AccountConfiguration, type AccountInput } from './types.js'

/**
 * What the accounts engine tells observers (the reset jobs, the key cache, the usage gauges) after the fact.
 * A creation or change carries the account as committed, so an observer never has to read it back.
 */
export type AccountEvent =
  | { type: 'created' | 'changed', account: string, current: Account }
  | { type: 'deleted', account: string }

/** Encrypts webhook secrets (under the account's own data key); what is stored is only the ciphertext. */
export interface SecretSealer {
  seal: (account: string, url: string, secret: string) => Promise<string>
  open: (account: string, url: string, sealed: string) => Promise<string>
}

/** Where a webhook secret is stored, as its ciphertext is bound to it: the account and the webhook's URL. */
export const webhookSecretPlace = (account: string, url: string) => ({ table: 'accounts', column: 'alert_webhooks.secret', row: `${account}\n${url}` })

export interface AccountServiceOptions {
  store: AccountReads & UnitOfWork<AccountOp | AppendAuditOp>
  /** Each change on record, in the change's transaction. */
  audit?: AuditRecorder
  secrets?: SecretSealer
  /** Configuration of accounts created without one (`default`, implicit creation). */
  defaults: AccountConfig
  now: Clock
  /** Why a webhook URL is refused (credentials, a loopback or private address), or null: a 400 naming it. */
  checkWebhookUrl?: (url: string) => string | null
}

/**
 * Accounts: one WhatsApp number each, `default` always there. Reads go through the store, whose account
 * cache is the only one (docs/architecture.md): this service keeps no copy of its own.
 */
export function createAccountService (options: AccountServiceOptions) {
  const { store, defaults, now, audit, secrets } = options
  const events = createEvents<AccountEvent>()

  const newAccount = (id: string, config: AccountConfiguration): Account => ({ id, ...config, created_at: now().toISOString() })

  /** New secrets sealed; one kept from `previous` (a masked secret) is its stored ciphertext already. */
  async function sealSecrets (id: string, config: AccountConfiguration, previous: Account | null): Promise<AccountConfiguration> {
    if (secrets === undefined || config.alert_webhooks.length === 0) return config
    const alert_webhooks = await Promise.all(config.alert_webhooks.map(async ({ url, secret }) => {
      const kept = previous?.alert_webhooks.some((w) => w.url === url && w.secret === secret) ?? false
      return { url, secret: kept ? secret : await secrets.seal(id, url, secret) }
    }))
    return { ...config, alert_webhooks }
  }

  async function replace (id: string, config: AccountConfiguration, previous: Account | null, actor: AuditActor, action: 'put' | 'patch'): Promise<{ account: Account, created: boolean }> {
    const account = newAccount(id, await sealSecrets(id, config, previous))
    const [result] = await store.commit([
      putAccountOp(account),
      ...await auditOps(audit, { account: id, actor, type: 'account_changed', action, details: { account: asJson(publicAccount(account)) } })
    ])
    events.emit({ type: result.created ? 'created' : 'changed', account: id, current: result.account })
    return result
  }

  async function require (id: string): Promise<Account> {
    assertAccountId(id)
    const account = await store.getAccount(id)
    if (account === null) throw UnknownAccount(id)
    return account
  }

  /** The account, created with the defaults when it does not exist. */
  async function ensure (id: string, actor: AuditActor = 'system'): Promise<Account> {
    assertAccountId(id)
    const found = await store.getAccount(id)
    if (found !== null) return found
    const candidate = newAccount(id, { ...defaults, ...defaultSettings() })
    // Recorded only when this call created it (another writer's account has its own created_at).
    const [account] = await store.commit([
      ensureAccountOp(candidate),
      ...await auditOps(audit, { account: id, actor, type: 'account_changed', action: 'created', details: { account: asJson(publicAccount(candidate)) } },
        (stored) => (stored as Account).created_at === candidate.created_at)
    ])
    events.emit({ type: 'created', account: id, current: account })
    return account
  }

  /** `default` always exists (README, "Accounts"), so it is created on first use whoever asks; others must exist. */
  function get (id: string = DEFAULT_ACCOUNT): Promise<Account> {
    return id === DEFAULT_ACCOUNT ? ensure(id) : require(id)
  }

  return {
    get,
    require,
    ensure,
    async list (): Promise<Account[]> {
      await ensure(DEFAULT_ACCOUNT)
      return await store.listAccounts()
    },
    /** Full configuration: what is omitted takes the defaults, not the previous values. */
    async put (id: string, input: AccountInput, actor: AuditActor = 'system'): Promise<{ account: Account, created: boolean }> {
      assertAccountId(id)
      const previous = hasMaskedSecret(input) || (secrets !== undefined && (input.alert_webhooks?.length ?? 0) > 0) ? await store.getAccount(id) : null
      // Whether an existing account warms up is kept unless the body says (README, "How quotas work").
      const kept = previous ?? (input.warmup?.enabled === undefined ? await store.getAccount(id) : null)
      return await replace(id, resolveConfig(input, defaults, kept, options.checkWebhookUrl), previous, actor, 'put')
    },
    /**
     * A JSON merge patch (RFC 7396) over the stored configuration; the result is checked as a whole, as a
     * PUT body is, so `null` restores a field's default. Nothing changes when any of it is invalid.
     */
    async patch (id: string, patch: unknown, actor: AuditActor = 'system'): Promise<Account> {
      const previous = await get(id)
      const input = checkAccountBody(mergePatch(accountAsInput(previous), patch))
      return (await replace(id, resolveConfig(input, defaults, previous, options.checkWebhookUrl), previous, actor, 'patch')).account
    },
    async delete (id: string, actor: AuditActor = 'system'): Promise<void> {
      assertAccountId(id)
      if (id === DEFAULT_ACCOUNT) throw DefaultAccountUndeletable()
      const [existed] = await store.commit([
        deleteAccountOp(id, now().toISOString()),
        ...await auditOps(audit, { account: id, actor, type: 'account_deleted', action: 'delete' }, (deleted) => deleted === true)
      ])
      if (!existed) throw UnknownAccount(id)
      events.emit({ type: 'deleted', account: id })
    },
    /** The account's webhooks with their secrets in clear (for signing deliveries); never answered. */
    async webhookSecrets (id: string): Promise<Array<{ url: string, secret: string }>> {
      const account = await require(id)
      if (secrets === undefined) return account.alert_webhooks
      return await Promise.all(account.alert_webhooks.map(async ({ url, secret }) => ({ url, secret: await secrets.open(id, url, secret) })))
    },
    observe: events.observe
  }
}

export type AccountService = ReturnType<typeof createAccountService>
