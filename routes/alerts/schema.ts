import { Type } from '@sinclair/typebox'
import { DELIVERY_STATUSES } from '../../lib/alerts/store.js'
import { ALERT_TRIGGERS } from '../../lib/knowledge/types.js'
import { AccountIdSchema, IsoTimestampSchema, Nullable, StringEnum } from '../common/schema.js'

const Severity = StringEnum(['critical', 'high', 'warning'] as const)
const AlertId = Type.String({ pattern: '^alr_[0-9a-f-]{36}$', description: 'An alert id (`alr_<uuidv7>`)' })

export const AlertSchema = Type.Object({
  id: Type.String(),
  account: Type.String(),
  contact: Nullable(Type.String({ description: 'Decrypted; null for an alert about the account, or once the contact was erased' })),
  trigger: StringEnum(ALERT_TRIGGERS),
  severity: Severity,
  status: StringEnum(['open', 'acknowledged'] as const),
  state: Nullable(Type.String({ description: 'The conversation\'s state when it was raised' })),
  message: Nullable(Type.String({ description: 'The customer\'s last message, decrypted' })),
  decision_id: Nullable(Type.String()),
  limit: Nullable(Type.String({ description: 'For quota_near_limit: the limit crossed (messages_per_day, …)' })),
  period: Nullable(Type.String({ description: 'For quota_near_limit: its period (2026-01-18, 2026-W03)' })),
  created_at: IsoTimestampSchema,
  acknowledged_at: Nullable(IsoTimestampSchema),
  acknowledged_by: Type.Union([Type.Literal('system'), Type.Object({ id: Type.String(), name: Type.String() }), Type.Null()], { description: 'The key that acknowledged it (its id and name), or null while open' })
})

export const DeliverySchema = Type.Object({
  id: Type.String({ description: 'The X-Sellify-Delivery header of every attempt' }),
  url: Type.String(),
  status: StringEnum(DELIVERY_STATUSES),
  attempts: Type.Integer({ minimum: 0 }),
  next_attempt_at: Nullable(IsoTimestampSchema),
  last_status: Nullable(Type.Integer()),
  last_error: Nullable(Type.String()),
  created_at: IsoTimestampSchema,
  delivered_at: Nullable(IsoTimestampSchema)
})

export const AlertListQuerySchema = Type.Object({
  account: Type.Optional(AccountIdSchema),
  status: Type.Optional(StringEnum(['open', 'acknowledged'] as const)),
  severity: Type.Optional(Severity),
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
  before: Type.Optional(AlertId)
}, { additionalProperties: false })

export const AlertListSchema = Type.Object({
  alerts: Type.Array(AlertSchema, { description: 'Newest first' }),
  next_before: Nullable(Type.String({ description: 'Pass as `before` for the next page; null on the last one' }))
})

export const AlertParamsSchema = Type.Object({ id: AlertId })
export const AccountQuerySchema = Type.Object({ account: Type.Optional(AccountIdSchema) }, { additionalProperties: false })
export const AccountBodySchema = Type.Object({ account: Type.Optional(AccountIdSchema) }, { additionalProperties: false })
export const AlertDetailSchema = Type.Object({ ...AlertSchema.properties, deliveries: Type.Array(DeliverySchema) })

export const TestResultSchema = Type.Object({
  deliveries: Type.Array(Type.Object({
    url: Type.String(),
    ok: Type.Boolean(),
    status: Nullable(Type.Integer({ description: 'The receiver\'s HTTP status' })),
    error: Nullable(Type.String({ description: 'Why it was not delivered (timeout, refused_address, …)' })),
    duration_ms: Type.Integer({ minimum: 0 })
  }), { description: 'One per alert_webhooks entry of the account' })
})
