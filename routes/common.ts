import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { ACCOUNT_ID_PATTERN } from '../lib/quota-service.js'
import { LIMIT_NAMES, WEEK_DAYS } from '../lib/types.js'

/** A string enum that ajv reports as "must be one of a, b, c" (a Union of literals would say "anyOf"). */
export function StringEnum<const T extends readonly string[]> (values: T, options: { description?: string, default?: T[number] } = {}) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options })
}

/**
 * A nullable value as OpenAPI 3.0 writes it (`nullable: true`). A Union with Null would make
 * fast-json-stringify run ajv on every answer to pick the branch; this serializes directly.
 */
export function Nullable<T extends TSchema> (schema: T) {
  return Type.Unsafe<Static<T> | null>({ ...schema, nullable: true })
}

export const ErrorSchema = Type.Object({
  statusCode: Type.Integer({ examples: [400] }),
  error: Type.String({ examples: ['Bad Request'] }),
  message: Type.String({ description: 'What was wrong, naming the field', examples: ['body/count must be >= 1'] }),
  code: Type.Optional(Type.String())
}, { description: 'Error (Fastify shape)' })

type ErrorCode = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 429 | 500 | 503

/** Response schemas for the error codes a route can answer. */
export function errorResponses (...codes: ErrorCode[]): Record<number, TSchema> {
  return Object.fromEntries(codes.map((c) => [c, ErrorSchema]))
}

/** Errors every authenticated JSON route can answer, besides its own. */
export const AUTH_ERRORS: ErrorCode[] = [401, 403, 429, 500]
export const BODY_ERRORS: ErrorCode[] = [400, 413, 415]

export const AccountIdSchema = Type.String({ pattern: ACCOUNT_ID_PATTERN, description: 'Account id (one WhatsApp number)', examples: ['default'] })
export const IsoTimestampSchema = Type.String({ format: 'date-time', examples: ['2026-01-18T00:00:00.000Z'] })
export const MessageTypeSchema = StringEnum(['text', 'image', 'video'] as const)
export const LimitNameSchema = StringEnum(LIMIT_NAMES)
export const WeekStartSchema = StringEnum(WEEK_DAYS)
export const ResetTimeSchema = Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$', description: 'Local time of day, HH:MM', examples: ['00:00'] })

const Count = Type.Integer({ minimum: 0 })
export const UsageSchema = Type.Object({
  messages_today: Count,
  messages_this_week: Count,
  images_today: Count,
  videos_this_week: Count
})

const Limit = Type.Integer({ minimum: 0, maximum: 1_000_000_000 })
export const LimitsSchema = Type.Object({
  messages_per_day: Limit,
  messages_per_week: Limit,
  images_per_day: Limit,
  videos_per_week: Limit
}, { additionalProperties: false })

const Seconds = Type.Integer({ minimum: 0, maximum: 86_400 })
export const DelaysSchema = Type.Object({
  min_seconds: Seconds,
  max_seconds: Seconds,
  media_seconds: Seconds
}, { additionalProperties: false })

export const AccountSchema = Type.Object({
  id: AccountIdSchema,
  timezone: Type.String({ examples: ['Europe/Paris'] }),
  reset_time: ResetTimeSchema,
  week_start: WeekStartSchema,
  limits: LimitsSchema,
  delays: DelaysSchema,
  created_at: IsoTimestampSchema
})
