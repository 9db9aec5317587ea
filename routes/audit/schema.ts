import { Type } from '@sinclair/typebox'
import { AUDIT_TYPES } from '../../lib/audit/types.js'
import { AccountIdSchema, IsoTimestampSchema, Nullable, StringEnum } from '../common/schema.js'

const Json = Type.Record(Type.String(), Type.Unknown())
const Text = Type.Optional(Nullable(Type.String({ description: 'Decrypted; null once the contact was erased' })))
const RecordId = Type.String({ pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$', description: 'A record id (UUIDv7)' })
const Instant = Type.String({ minLength: 10, maxLength: 40, description: 'ISO 8601 date or date-time' })

export const AuditRecordSchema = Type.Object({
  id: Type.String(),
  timestamp: IsoTimestampSchema,
  account: Type.String(),
  actor: Type.Union([Type.Literal('system'), Type.Object({ id: Type.String(), name: Type.String() })]),
  type: StringEnum(AUDIT_TYPES),
  contact: Text,
  message_id: Type.Optional(Type.String()),
  incoming_message: Text,
  state_before: Type.Optional(Type.String()),
  state_after: Type.Optional(Type.String()),
  event: Type.Optional(Type.String()),
  rule: Type.Optional(Type.String()),
  action: Type.Optional(Type.String()),
  reason: Type.Optional(Type.String()),
  reply_source: Type.Optional(Type.String()),
  ai_prompt: Text,
  ai_response: Text,
  validation: Type.Optional(Json),
  sent_message: Text,
  quotas_before: Type.Optional(Json),
  quotas_after: Type.Optional(Json),
  duration_ms: Type.Optional(Type.Number()),
  details: Type.Optional(Json),
  client_id: Type.Optional(Type.String()),
  client_timestamp: Type.Optional(Type.String()),
  erased: Type.Boolean({ description: 'True when the texts were erased with their contact' }),
  prev_hash: Type.String({ description: 'The hash of the record before it in the account\'s chain' }),
  hash: Type.String({ description: 'SHA-256(prev_hash ‖ canonical record), hex' })
})

export const AuditListQuerySchema = Type.Object({
  account: Type.Optional(AccountIdSchema),
  contact: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'A contact id (phone number or JID): its records only' })),
  type: Type.Optional(StringEnum(AUDIT_TYPES)),
  action: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  from: Type.Optional(Instant),
  to: Type.Optional(Instant),
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
  before: Type.Optional(RecordId)
})

export const AuditListSchema = Type.Object({
  records: Type.Array(AuditRecordSchema),
  next_before: Nullable(Type.String({ description: 'Pass as `before` for the next (older) page; null on the last page' }))
})

export const AuditIdParamsSchema = Type.Object({ id: RecordId })

export const AuditExportQuerySchema = Type.Object({
  account: Type.Optional(AccountIdSchema),
  from: Type.Optional(Instant),
  to: Type.Optional(Instant),
  format: StringEnum(['ndjson', 'csv'] as const, { default: 'ndjson' })
})

export const AuditAccountQuerySchema = Type.Object({ account: Type.Optional(AccountIdSchema) })

export const VerifySchema = Type.Object({
  valid: Type.Boolean(),
  records: Type.Integer({ description: 'Records checked' }),
  first_invalid_id: Nullable(Type.String({ description: 'The first record that does not verify (null when valid, or when only the newest records are missing)' })),
  reason: Type.Optional(StringEnum(['account', 'prev_hash', 'hash', 'malformed', 'head'] as const))
})

const Quotas = Type.Union([Json, Type.Number(), Type.Null()])

/** The original's `AuditLog`, as its clients send it. */
export const ClientLogBodySchema = Type.Object({
  id: Type.Optional(Type.String({ maxLength: 128 })),
  timestamp: Type.Optional(Type.String({ maxLength: 64 })),
  conversation_id: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'The contact (stored encrypted)' })),
  incoming_message: Type.Optional(Nullable(Type.String({ maxLength: 10000 }))),
  state: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
  chosen_action: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
  ai_prompt: Type.Optional(Nullable(Type.String({ maxLength: 100000 }))),
  ai_response: Type.Optional(Nullable(Type.String({ maxLength: 100000 }))),
  sent_message: Type.Optional(Nullable(Type.String({ maxLength: 10000 }))),
  quotas_before: Type.Optional(Quotas),
  quotas_after: Type.Optional(Quotas),
  account: Type.Optional(AccountIdSchema)
}, { additionalProperties: false })
