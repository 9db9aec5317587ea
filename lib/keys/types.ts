export const ROLES = ['admin', 'agent'] as const
export type Role = typeof ROLES[number]

export interface ApiKeyRecord {
  id: string
  name: string
  role: Role
  account: string | null
  created_at: string
  last_used_at: string | null
}

/** A key as the rest of the code sees it: never the secret. */
export interface Principal {
  id: string
  /** The key's name when it was looked up (what the audit trail records beside the id). */
  name: string
  role: Role
  /** The one account an agent key is bound to; null for admins. */
  account: string | null
}
