import type { Clock } from '../shared/clock.js'
import { createEvents } from '../shared/events.js'
import { DefaultAccountUndeletable, UnknownAccount } from './errors.js'
import { mergePatch } from '../shared/merge-patch.js'
import { assertAccountId, checkAccountBody, hasMaskedSecret, resolveConfig } from './rules.js'
import { accountAsInput, defaultSettings } from './settings.js'
import { deleteAccountOp, ensureAccountOp, putAccountOp, type AccountStore } from './store.js'
import { DEFAULT_ACCOUNT, type Account, type AccountConfig, type AccountConfiguration, type AccountInput } from './types.js'

/**
 * What the accounts engine tells observers (the reset jobs, the key cache, the usage gauges) after the fact.
 * A creation or change carries the account as committed, so an observer never has to read it back.
 */
export type AccountEvent =
  | { type: 'created' | 'changed', account: string, current: Account }
  | { type: 'deleted', account: string }

export interface AccountServiceOptions {
  store: AccountStore
  /** Configuration of accounts created without one (`default`, implicit creation). */
  defaults: AccountConfig
  now: Clock
}

/**
 * Accounts: one WhatsApp number each, `default` always there. Reads go through the store, whose account
 * cache is the only one (docs/architecture.md): this service keeps no copy of its own.
 */
export function createAccountService (options: AccountServiceOptions) {
  const { store, defaults, now } = options
  const events = createEvents<AccountEvent>()

  const newAccount = (id: string, config: AccountConfiguration): Account => ({ id, ...config, created_at: now().toISOString() })

  async function replace (id: string, config: AccountConfiguration): Promise<{ account: Account, created: boolean }> {
    const [result] = await store.commit([putAccountOp(newAccount(id, config))])
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
  async function ensure (id: string): Promise<Account> {
    assertAccountId(id)
    const found = await store.getAccount(id)
    if (found !== null) return found
    const [account] = await store.commit([ensureAccountOp(newAccount(id, { ...defaults, ...defaultSettings() }))])
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
    async put (id: string, input: AccountInput): Promise<{ account: Account, created: boolean }> {
      assertAccountId(id)
      const previous = hasMaskedSecret(input) ? await store.getAccount(id) : null
      return await replace(id, resolveConfig(input, defaults, previous))
    },
    /**
     * A JSON merge patch (RFC 7396) over the stored configuration; the result is checked as a whole, as a
     * PUT body is, so `null` restores a field's default. Nothing changes when any of it is invalid.
     */
    async patch (id: string, patch: unknown): Promise<Account> {
      const previous = await get(id)
      const input = checkAccountBody(mergePatch(accountAsInput(previous), patch))
      return (await replace(id, resolveConfig(input, defaults, previous))).account
    },
    async delete (id: string): Promise<void> {
      assertAccountId(id)
      if (id === DEFAULT_ACCOUNT) throw DefaultAccountUndeletable()
      const [existed] = await store.commit([deleteAccountOp(id, now().toISOString())])
      if (!existed) throw UnknownAccount(id)
      events.emit({ type: 'deleted', account: id })
    },
    observe: events.observe
  }
}

export type AccountService = ReturnType<typeof createAccountService>
