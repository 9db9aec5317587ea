/** The account's domain schemas: one source for the configuration loader and the routes. */
import { Type } from '@sinclair/typebox'
import { IsoTimestampSchema, StringEnum } from '../shared/schema.js'
import { LIMIT_NAMES, type LimitName } from '../quota/types.js'
import { ACCOUNT_ID_PATTERN, WEEK_DAYS } from './types.js'

export const AccountIdSchema = Type.String({ pattern: ACCOUNT_ID_PATTERN, description: 'Account id (one WhatsApp number)', examples: ['default'] })
export const WeekStartSchema = StringEnum(WEEK_DAYS)
export const ResetTimeSchema = Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$', description: 'Local time of day, HH:MM', examples: ['00:00'] })
export const TimeZoneSchema = Type.String({ minLength: 1, maxLength: 64, description: 'IANA time zone', examples: ['America/Sao_Paulo'] })

const Limit = Type.Integer({ minimum: 0, maximum: 1_000_000_000 })
/** One integer column per limit of LIMIT_NAMES. */
export const LimitsSchema = Type.Object(
  Object.fromEntries(LIMIT_NAMES.map((name) => [name, Limit])) as Record<LimitName, typeof Limit>,
  { additionalProperties: false }
)

const Seconds = Type.Integer({ minimum: 0, maximum: 86_400 })
export const DelaysSchema = Type.Object({
  min_seconds: Seconds,
  max_seconds: Seconds,
  media_seconds: Seconds
}, { additionalProperties: false })

const configFields = {
  timezone: TimeZoneSchema,
  reset_time: ResetTimeSchema,
  week_start: WeekStartSchema,
  limits: LimitsSchema,
  delays: DelaysSchema
}

/** A whole configuration (the defaults of new accounts). */
export const AccountConfigSchema = Type.Object(configFields)

export const AccountSchema = Type.Object({
  id: AccountIdSchema,
  ...configFields,
  created_at: IsoTimestampSchema
})

/** Full configuration of a PUT; omitted fields take the service defaults (not the account's previous values). */
export const AccountBodySchema = Type.Object({
  timezone: Type.Optional(configFields.timezone),
  reset_time: Type.Optional(configFields.reset_time),
  week_start: Type.Optional(configFields.week_start),
  limits: Type.Optional(Type.Partial(LimitsSchema, { additionalProperties: false })),
  delays: Type.Optional(Type.Partial(DelaysSchema, { additionalProperties: false }))
}, { additionalProperties: false })
