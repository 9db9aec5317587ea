import { copySettings } from '../../accounts/settings.js'
import type { Account } from '../../accounts/types.js'

/** Callers get their own copy: what they do with it cannot change the one kept in memory. */
export const copyAccount = (a: Account): Account => ({ ...a, limits: { ...a.limits }, delays: { ...a.delays }, warmup: { ...a.warmup }, ...copySettings(a) })

/**
 * The one account cache (docs/architecture.md, "Account cache"): every consume looks its account up, and
 * reading and mapping the row was the largest part of the store's work per request.
 *
 * An entry is trusted while the database's change counter, last observed at most `trustMs` ago, has not
 * moved (SQLite: PRAGMA data_version, which moves with any other connection's commit; PostgreSQL:
 * account_changes.version, bumped by a trigger on every account change). This store's own account writes
 * forget their entry at once. A read is kept only when nothing was forgotten while it ran.
 */
export class AccountCache {
  readonly #entries = new Map<string, Account>()
  readonly #max: number
  readonly #trustMs: number
  #version: string | undefined
  #observedAt = Number.NEGATIVE_INFINITY
  #generation = 0

  constructor (options: { max: number, trustMs: number }) {
    this.#max = options.max
    this.#trustMs = options.trustMs
  }

  /** When the change counter was last observed (epoch ms, wall clock: it bounds staleness, not quota time). */
  get observedAt (): number {
    return this.#observedAt
  }

  /** The change counter as just read: a new value forgets everything. */
  observe (version: string, at = Date.now()): void {
    if (version !== this.#version) {
      this.clear()
      this.#version = version
    }
    this.#observedAt = at
  }

  /** The counter could not be read: trust nothing until it can. */
  distrust (): void {
    this.clear()
    this.#version = undefined
    this.#observedAt = Number.NEGATIVE_INFINITY
  }

  clear (): void {
    this.#entries.clear()
    this.#generation++
  }

  /** This store changed the account (or is about to). */
  forget (id: string): void {
    this.#entries.delete(id)
    this.#generation++
  }

  get (id: string, at = Date.now()): Account | undefined {
    if (this.#version === undefined || at - this.#observedAt >= this.#trustMs) return undefined
    const hit = this.#entries.get(id)
    return hit === undefined ? undefined : copyAccount(hit)
  }

  /** Taken before a read; hand it to `remember` with what the read found. */
  token (): number {
    return this.#generation
  }

  remember (account: Account, token: number): void {
    if (token !== this.#generation || this.#version === undefined) return
    if (this.#entries.size >= this.#max) this.clear()
    this.#entries.set(account.id, copyAccount(account))
  }
}
