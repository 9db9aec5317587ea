/** Who may do what: pure rules over a principal. */
import { AdminOnly, OtherAccount } from './errors.js'
import type { Principal } from './types.js'

/** Who may call a route: `public` (no key), `agent` (any valid key, account-scoped) or `admin`. */
export type Access = 'public' | 'agent' | 'admin'

/** Throws unless the principal may use a route that needs `needed` (the caller has already refused no key). */
export function assertAccess (principal: Principal, needed: Access): void {
  if (needed === 'admin' && principal.role !== 'admin') throw AdminOnly()
}

/**
 * The account a request may act on. Admins act on what they name; an agent acts on its own account,
 * whether it names it or not, and naming another is a 403.
 */
export function scopedAccount (principal: Principal | null, named: string | undefined): string | undefined {
  if (principal === null || principal.role === 'admin') return named
  if (named !== undefined && named !== principal.account) throw OtherAccount(principal.account)
  return principal.account ?? undefined
}

/** Who a change is recorded as in the audit trail: the key's id and name. */
export function actorOf (principal: Principal | null): { id: string, name: string } | 'system' {
  return principal === null ? 'system' : { id: principal.id, name: principal.name }
}
