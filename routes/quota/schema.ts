import { KINDS } from '../../lib/quota/types.js'
import { RESET_SOURCES, RESET_TYPES } from '../../lib/resets/types.js'
import { Type, type Static } from '@sinclair/typebox'
import { AccountIdSchema, IsoTimestampSchema, LimitsSchema, RefusalSchema, MessageTypeSchema, Nullable, StringEnum, UsageSchema } from '../common/schema.js'

export const AccountQuerySchema = Type.Object({
  account: Type.Optional(AccountIdSchema)
})

export const SendBodySchema = Type.Object({
  message_type: MessageTypeSchema,
  account: Type.Optional(AccountIdSchema),
  count: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, default: 1, description: 'Sends in this call' }))
}, { additionalProperties: false })
export type SendBody = Static<typeof SendBodySchema>

/**
 * `/record`'s body: every field optional, so the original's body-less call counts one text message (README, "Deciding every message").
 * The same fields as a send otherwise; a body that names its `message_type` is counted exactly as before.
 */
export const RecordBodySchema = Type.Object({
  message_type: Type.Optional(StringEnum(KINDS, { default: 'text' })),
  account: Type.Optional(AccountIdSchema),
  count: SendBodySchema.properties.count
}, { additionalProperties: false })
export type RecordBody = Static<typeof RecordBodySchema>

export const StatusSchema = Type.Object({
  messages_today: Type.Integer(),
  messages_this_week: Type.Integer(),
  images_today: Type.Integer(),
  videos_this_week: Type.Integer(),
  last_reset: IsoTimestampSchema,
  needs_daily_reset: Type.Boolean(),
  needs_weekly_reset: Type.Boolean(),
  // After the original clients' seven fields, which stay first.
  messages_this_hour: Type.Integer({ description: 'Messages of the current calendar hour of the account\'s time zone' }),
  account: AccountIdSchema,
  timezone: Type.String(),
  limits: LimitsSchema,
  remaining: UsageSchema,
  last_daily_reset: Nullable(IsoTimestampSchema),
  last_weekly_reset: Nullable(IsoTimestampSchema),
  next_daily_reset: IsoTimestampSchema,
  next_weekly_reset: IsoTimestampSchema,
  next_hourly_reset: IsoTimestampSchema,
  effective_limits: Type.Object(LimitsSchema.properties, { description: 'The limits as they bind today: the warm-up lowers messages_per_day; `remaining` is under these' }),
  warmup_day: Nullable(Type.Integer({ minimum: 1, description: 'The warm-up\'s day (1 on its first); null when the account does not warm up' })),
  paused_until: Nullable(IsoTimestampSchema)
})

export const CheckSchema = Type.Object({
  can_send: Type.Boolean(),
  delay_seconds: Nullable(Type.Integer({ minimum: 0, description: 'Seconds to wait before sending; null when it may not send' })),
  reason: Type.Optional(RefusalSchema),
  retry_after_seconds: Type.Optional(Type.Integer({ minimum: 1 }))
})

export const ConsumeSchema = Type.Object({
  allowed: Type.Boolean(),
  delay_seconds: Type.Optional(Type.Integer({ minimum: 0, description: 'When allowed: seconds to wait before sending' })),
  reason: Type.Optional(RefusalSchema),
  retry_after_seconds: Type.Optional(Type.Integer({ minimum: 1, description: 'When refused: seconds until that limit\'s window begins anew' })),
  usage: UsageSchema,
  remaining: UsageSchema
})

export const RecordSchema = Type.Object({
  recorded: Type.Literal(true),
  usage: UsageSchema
})

export const ResetBodySchema = Type.Object({
  account: Type.Optional(AccountIdSchema)
}, { additionalProperties: false })

export const ResetResultSchema = Type.Object({
  reset_type: StringEnum(RESET_TYPES),
  timestamp: IsoTimestampSchema,
  accounts: Type.Array(AccountIdSchema)
})

const PeriodUsageSchema = Type.Object({
  messages: Type.Integer(),
  images: Type.Integer(),
  videos: Type.Integer()
})

export const ResetsQuerySchema = Type.Object({
  account: Type.Optional(AccountIdSchema),
  reset_type: Type.Optional(StringEnum(RESET_TYPES)),
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
  before: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'Only resets with a lower id (the last id of the previous page)' }))
})

export const ResetsSchema = Type.Object({
  resets: Type.Array(Type.Object({
    id: Type.Integer(),
    account: AccountIdSchema,
    reset_type: StringEnum(RESET_TYPES),
    source: StringEnum(RESET_SOURCES),
    period: Type.String({ examples: ['2026-01-18', '2026-W03'] }),
    timestamp: IsoTimestampSchema,
    before: PeriodUsageSchema
  }))
})

export const HistoryQuerySchema = Type.Object({
  account: Type.Optional(AccountIdSchema),
  days: Type.Integer({ minimum: 1, maximum: 366, default: 14 })
})

export const HistorySchema = Type.Object({
  days: Type.Array(Type.Object({
    day: Type.String({ examples: ['2026-01-18'] }),
    messages: Type.Integer(),
    images: Type.Integer(),
    videos: Type.Integer()
  }))
})
