/** What the audit trail records. Every enum is one `as const` array; its union type is derived from it. */

export const AUDIT_TYPES = [
  'decision', 'sent', 'failed', 'human_message',
  'account_changed', 'account_deleted', 'knowledge_changed',
  'key_created', 'key_revoked',
  'conversation_paused', 'conversation_resumed', 'conversation_frozen', 'conversation_erased',
  'reset', 'alert_acknowledged', 'client.log',
  'account_signal', 'account_paused', 'account_resumed'
] as const
export type AuditType = typeof AUDIT_TYPES[number]

/** Values a JSON column holds: what `quotas_before`, `validation` and their like may contain. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }
export type JsonObject = { [key: string]: JsonValue }

/** Who caused the record: the API key (its id and name at the time), or the service itself. */
export type AuditActor = { id: string, name: string } | 'system'

/**
 * The fields a record holds as they are stored. The ones holding customer text (`ENCRYPTED_FIELDS`) are opaque
 * ciphertext strings here: the chain hashes what is stored, so erasing a key leaves every hash checkable.
 */
export interface AuditEntry {
  /** Time-ordered (see id.ts). */
  id: string
  /** ISO 8601, UTC. */
  timestamp: string
  account: string
  actor: AuditActor
  type: AuditType
  contact?: string
  message_id?: string
  incoming_message?: string
  state_before?: string
  state_after?: string
  event?: string
  rule?: string
  action?: string
  reason?: string
  reply_source?: string
  ai_prompt?: string
  ai_response?: string
  validation?: JsonObject
  sent_message?: string
  /** Every counter of the account before and after the decision. */
  quotas_before?: JsonObject
  quotas_after?: JsonObject
  duration_ms?: number
  /** What changed, for the records of changes (an account's configuration, a key, a reset, a product). */
  details?: JsonObject
  /** A record posted by a client (`client.log`): the id and time the client gave it. */
  client_id?: string
  client_timestamp?: string
}

/** A record in its account's chain: `hash` = SHA-256(`prev_hash` ‖ canonical form of the fields above). */
export interface AuditRecord extends AuditEntry {
  prev_hash: string
  hash: string
}

/**
 * Every field the canonical form covers, in no particular order (the form sorts them). A field outside this
 * list and the two chain fields is refused rather than silently left out of the hash.
 */
export const AUDIT_FIELDS = [
  'id', 'timestamp', 'account', 'actor', 'type', 'contact', 'message_id', 'incoming_message',
  'state_before', 'state_after', 'event', 'rule', 'action', 'reason', 'reply_source', 'ai_prompt',
  'ai_response', 'validation', 'sent_message', 'quotas_before', 'quotas_after', 'duration_ms', 'details', 'client_id', 'client_timestamp'
] as const satisfies ReadonlyArray<keyof AuditEntry>

/** The fields stored encrypted: opaque strings to the chain, decrypted only when a record is answered. */
export const ENCRYPTED_FIELDS = [
  'contact', 'incoming_message', 'ai_prompt', 'ai_response', 'sent_message'
] as const satisfies ReadonlyArray<keyof AuditEntry>

export const REQUIRED_FIELDS = ['id', 'timestamp', 'account', 'actor', 'type'] as const satisfies ReadonlyArray<keyof AuditEntry>
