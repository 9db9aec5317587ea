/** What every route's schemas share: the error shape and its response codes; the domain schemas re-exported from lib. */
import { Type, type TSchema } from '@sinclair/typebox'
import { LIMIT_NAMES, KINDS, REFUSALS } from '../../lib/quota/types.js'
import { StringEnum } from '../../lib/shared/schema.js'

export { IsoTimestampSchema, Nullable, StringEnum } from '../../lib/shared/schema.js'
export { AccountIdSchema, AccountSchema, DelaysSchema, LimitsSchema, ResetTimeSchema, WeekStartSchema } from '../../lib/accounts/schema.js'

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

export const MessageTypeSchema = StringEnum(KINDS)
export const LimitNameSchema = StringEnum(LIMIT_NAMES)
export const RefusalSchema = StringEnum(REFUSALS, { description: 'The pause (account_paused), the limit that refused (the first in this order), or the warm-up\'s daily cap (warmup)' })

const Count = Type.Integer({ minimum: 0 })
export const UsageSchema = Type.Object({
  messages_today: Count,
  messages_this_week: Count,
  images_today: Count,
  videos_this_week: Count,
  messages_this_hour: Count
})
