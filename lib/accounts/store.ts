/** What the accounts engine needs of a store. */
import type { UnitOfWork, WriteOp } from '../shared/unit-of-work.js'
import type { Account } from './types.js'

/** Insert or replace the account's configuration; `created_at` of an existing account is kept. */
export interface PutAccountOp extends WriteOp<'accounts.put', { account: Account, created: boolean }> {
  readonly account: Account
}

/** Insert the account unless it exists; the result is the stored one. */
export interface EnsureAccountOp extends WriteOp<'accounts.ensure', Account> {
  readonly account: Account
}

/**
 * Delete the account, its counters, its reset history, and revoke its agent keys with `revoked_at` = `at`.
 * False when the account did not exist.
 */
export interface DeleteAccountOp extends WriteOp<'accounts.delete', boolean> {
  readonly id: string
  /** ISO 8601 instant. */
  readonly at: string
}

export type AccountOp = PutAccountOp | EnsureAccountOp | DeleteAccountOp

export const putAccountOp = (account: Account): PutAccountOp => ({ op: 'accounts.put', account })
export const ensureAccountOp = (account: Account): EnsureAccountOp => ({ op: 'accounts.ensure', account })
export const deleteAccountOp = (id: string, at: string): DeleteAccountOp => ({ op: 'accounts.delete', id, at })

export interface AccountReads {
  /**
   * The account as committed, read through the store's one account cache: another instance's change is seen
   * within the cache's staleness bound (docs/architecture.md), this instance's own at once.
   */
  getAccount: (id: string) => Promise<Account | null>
  /** Every account, by id. */
  listAccounts: () => Promise<Account[]>
}

export type AccountStore = AccountReads & UnitOfWork<AccountOp>
