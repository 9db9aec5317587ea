import { Type } from '@sinclair/typebox'
import { AccountBodySchema } from '../../lib/accounts/schema.js'
import { SIGNAL_TYPES } from '../../lib/health/types.js'
import { AccountIdSchema, AccountSchema, IsoTimestampSchema, Nullable, StringEnum } from '../common/schema.js'

export const AccountParamsSchema = Type.Object({ account: AccountIdSchema })

/** The longest id `AccountIdSchema` admits (its pattern's `{0,127}` after the first character). */
export const ACCOUNT_ID_MAX_LENGTH = 128

export { AccountBodySchema }

/** A JSON merge patch (RFC 7396) of the configuration: the result must be a valid PUT body. */
export const AccountPatchSchema = Type.Object({}, {
  additionalProperties: true,
  description: 'JSON merge patch (RFC 7396) of the configuration: objects merge, null restores a field\'s default, arrays and values replace; ' +
    'the result is checked as a whole, as a PUT body'
})

export const AccountListSchema = Type.Object({ accounts: Type.Array(AccountSchema) })
export { AccountSchema }

export const SignalBodySchema = Type.Object({
  type: StringEnum(SIGNAL_TYPES, { description: 'What the gateway saw from WhatsApp (README, "How quotas work")' }),
  detail: Type.Optional(Type.String({ maxLength: 500, description: 'Free text (an error message): stored encrypted' }))
}, { additionalProperties: false })

/** No field: a body, when there is one, is `{}`. */
export const EmptyBodySchema = Type.Object({}, { additionalProperties: false })

export const PauseAccountBodySchema = Type.Object({
  minutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 43_200, default: 60, description: 'How long the pause lasts (an hour unless told, 30 days at most)' }))
}, { additionalProperties: false })

export const HealthSchema = Type.Object({
  account: AccountIdSchema,
  score: Type.Integer({ minimum: 0, maximum: 100, description: 'From 100; below 60 pacing doubles; a signal that leaves it below 30 pauses the account for an hour' }),
  paused_until: Nullable(IsoTimestampSchema),
  pause_reason: Nullable(Type.String({ description: 'health (the score) or manual' })),
  slowed_until: Nullable(IsoTimestampSchema),
  signals: Type.Array(Type.Object({
    id: Type.String(),
    type: StringEnum(SIGNAL_TYPES),
    at: IsoTimestampSchema,
    detail: Nullable(Type.String())
  }), { description: 'The last 20 signals of the past 14 days, newest first' }),
  advice: Type.String()
})

export const SignalResultSchema = Type.Object({ signal_id: Type.String(), ...HealthSchema.properties })
