import type { Account, ApiKeyRecord, Kind, Limits, PeriodUsage, ResetRecord, ResetSource, ResetType } from '../types.js'

export interface UsagePair {
  day: PeriodUsage
  week: PeriodUsage
}

export interface ConsumeInput {
  account: string
  /** Day key, `YYYY-MM-DD`. */
  day: string
  /** Week key, `YYYY-Www`. */
  week: string
  kind: Kind
  count: number
  /** `consume` refuses when a counter would pass its limit; `record` always counts (the send already happened). */
  mode: 'consume' | 'record'
  limits: Limits
}

export type ConsumeResult =
  | { ok: true, before: UsagePair, after: UsagePair }
  /** Nothing changed. `limit` is the first limit (in LIMIT_NAMES order) the send would pass. */
  | { ok: false, limit: keyof Limits, usage: UsagePair }

export interface ResetInput {
  account: string
  reset_type: ResetType
  source: ResetSource
  /** Period the reset opens (schedule, catch-up) or clears (manual). */
  period: string
  /** Period whose counters go in `before` when the reset does not clear (the period that just ended). */
  previous_period?: string
  timestamp: string
}

export interface ResetQuery {
  account?: string
  reset_type?: ResetType
  limit: number
  /** Only resets whose id is lower (cursor for the next page). */
  before?: number
}

export interface NewApiKey {
  id: string
  name: string
  role: ApiKeyRecord['role']
  account: string | null
  digest: Buffer
  created_at: string
}

export interface StoredApiKey extends ApiKeyRecord {
  digest: Buffer
  revoked_at: string | null
}

/**
 * What a quota store does. Every method that writes is durable when its promise resolves
 * (committed, on disk), and atomic: it happens whole or not at all.
 * Errors reject the promise; callers fail closed.
 */
export interface Store {
  readonly kind: 'sqlite' | 'postgres'
  /** Create or upgrade the schema. Idempotent; safe with several instances starting at once. */
  migrate (): Promise<void>
  /** Cheap liveness probe (a trivial query). */
  ping (): Promise<void>
  close (): Promise<void>

  getAccount (id: string): Promise<Account | null>
  listAccounts (): Promise<Account[]>
  /** Insert or replace the account's configuration; `created_at` of an existing account is kept. */
  putAccount (account: Account): Promise<{ account: Account, created: boolean }>
  /** Insert the account unless it exists; returns the stored one. */
  ensureAccount (account: Account): Promise<Account>
  /**
   * Delete the account, its counters, its reset history and revoke its agent keys.
   * `at` (ISO 8601) is the keys' `revoked_at`; the current time when omitted. False when the account did not exist.
   */
  deleteAccount (id: string, at?: string): Promise<boolean>

  getUsage (account: string, day: string, week: string): Promise<UsagePair>
  /** Atomic check-and-increment of every counter the kind touches (day row, then week row). */
  consume (input: ConsumeInput): Promise<ConsumeResult>

  /**
   * Record a reset. `manual`: clear the counters of `period` and always record.
   * `schedule` / `catch-up`: record only when (account, reset_type, period) has no reset yet (any source),
   * in the same transaction as the ledger row, so concurrent instances record it exactly once; null when it had one.
   */
  recordReset (input: ResetInput): Promise<ResetRecord | null>
  /** The newest reset of each type of the account. */
  lastResets (account: string): Promise<{ daily: ResetRecord | null, weekly: ResetRecord | null }>
  /** Whether (account, type, period) has a reset of any source. */
  hasReset (account: string, type: ResetType, period: string): Promise<boolean>
  /** Newest first. */
  listResets (query: ResetQuery): Promise<ResetRecord[]>
  /** Day rows of the account with from <= day <= to, ascending; days without a row are absent. */
  dayHistory (account: string, from: string, to: string): Promise<Array<{ day: string } & PeriodUsage>>

  createKey (key: NewApiKey): Promise<void>
  /** Keys not revoked, oldest first; never their digests. */
  listKeys (): Promise<ApiKeyRecord[]>
  /** The key with this digest, revoked or not. */
  findKeyByDigest (digest: Buffer): Promise<StoredApiKey | null>
  /** Marks it revoked; false when unknown or already revoked. */
  revokeKey (id: string, at: string): Promise<boolean>
  touchKey (id: string, at: string): Promise<void>
}
