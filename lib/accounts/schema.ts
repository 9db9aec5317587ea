/** The account's domain schemas: one source for the configuration loader and the routes. */
import { Type, type TOptional, type TSchema } from '@sinclair/typebox'
import { LANGUAGES } from '../knowledge/types.js'
import { IsoTimestampSchema, Nullable, StringEnum } from '../shared/schema.js'
import { LIMIT_NAMES, type LimitName } from '../quota/types.js'
import { ACCOUNT_ID_PATTERN, AUTOMATION, ESCALATION_REPLIES, OUTSIDE_HOURS, SECRET_MASK, WEEK_DAYS } from './types.js'

export const AccountIdSchema = Type.String({ pattern: ACCOUNT_ID_PATTERN, description: 'Account id (one WhatsApp number)', examples: ['default'] })
export const WeekStartSchema = StringEnum(WEEK_DAYS)
const TIME_OF_DAY = '^([01][0-9]|2[0-3]):[0-5][0-9]$'
export const ResetTimeSchema = Type.String({ pattern: TIME_OF_DAY, description: 'Local time of day, HH:MM', examples: ['00:00'] })
export const TimeZoneSchema = Type.String({ minLength: 1, maxLength: 64, description: 'IANA time zone', examples: ['America/Sao_Paulo'] })

const Limit = Type.Integer({ minimum: 0, maximum: 1_000_000_000 })
/** One integer column per limit of LIMIT_NAMES. */
export const LimitsSchema = Type.Object(
  Object.fromEntries(LIMIT_NAMES.map((name) => [name, Limit])) as Record<LimitName, typeof Limit>,
  { additionalProperties: false }
)

export const WarmupSchema = Type.Object({
  enabled: Type.Boolean({ description: 'Ramp the daily limit up (a new number); off for an established one' }),
  start_per_day: Type.Integer({ minimum: 1, maximum: 1_000_000_000, description: 'The daily cap on the first day (at least 1: a number that must send nothing sets messages_per_day to 0)' }),
  days: Type.Integer({ minimum: 1, maximum: 90, description: 'The day on which the daily limit is reached' })
}, { additionalProperties: false })

const Seconds = Type.Integer({ minimum: 0, maximum: 86_400 })
export const DelaysSchema = Type.Object({
  min_seconds: Seconds,
  max_seconds: Seconds,
  media_seconds: Seconds
}, { additionalProperties: false })

/** Bounds of the settings' word lists. */
export const MAX_LIST_ITEMS = 200
export const MAX_ITEM_LENGTH = 200

const WordList = (description: string) => Type.Array(Type.String({ minLength: 1, maxLength: MAX_ITEM_LENGTH }), { maxItems: MAX_LIST_ITEMS, description })
const HOSTNAME = '^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$'

export const LanguageSchema = StringEnum(LANGUAGES, { description: 'Built-in word lists and messages' })
export const ActiveHoursSchema = Type.Object({
  start: ResetTimeSchema,
  end: Type.String({ pattern: TIME_OF_DAY, description: 'Local time of day, HH:MM; before start: the span ends the next day', examples: ['18:00'] }),
  days: Type.Array(StringEnum(WEEK_DAYS), { minItems: 1, maxItems: 7, uniqueItems: true, description: 'The days a span starts on' })
}, { additionalProperties: false })
const Always = Type.Literal('always', { description: 'Always open' })

const AiSchema = Type.Object({
  enabled: Type.Boolean(),
  tone: Type.String({ maxLength: 200 }),
  max_length: Type.Integer({ minimum: 1, maximum: 4096 }),
  temperature: Type.Number({ minimum: 0, maximum: 2 }),
  reask: Type.Integer({ minimum: 0, maximum: 3 })
}, { additionalProperties: false })

const EscalationSchema = Type.Object({
  max_misunderstandings: Type.Integer({ minimum: 1, maximum: 20 }),
  sensitive_keywords: WordList('Words that alert a human (added to the language\'s built-in ones)'),
  reply: StringEnum(ESCALATION_REPLIES, { description: 'What the customer gets when a human is alerted' })
}, { additionalProperties: false })

const TypingSchema = Type.Object({
  enabled: Type.Boolean(),
  chars_per_second: Type.Number({ exclusiveMinimum: 0, maximum: 100 }),
  max_seconds: Type.Integer({ minimum: 0, maximum: 120 })
}, { additionalProperties: false })

const WebhookUrl = Type.String({ pattern: '^https?://[^\\s/?#]+[^\\s]*$', maxLength: 2048, description: 'http(s) URL' })
const webhook = <T extends TSchema>(secret: T) => Type.Object({ url: WebhookUrl, secret }, { additionalProperties: false })
const WebhookSecret = Type.String({
  minLength: 1,
  maxLength: 256,
  description: `16 to 256 characters; "${SECRET_MASK}" keeps the stored secret of the webhook with the same URL`
})

/** In the order answers show them; a body takes its own forms of some (below). */
const settingsFields = {
  language: LanguageSchema,
  active_hours: Type.Union([ActiveHoursSchema, Always]),
  outside_hours: StringEnum(OUTSIDE_HOURS, { description: 'Outside active hours: answer delay until the next opening, or ignore' }),
  ai: AiSchema,
  alert_numbers: Type.Array(Type.String({ pattern: '^\\+?[0-9]{6,20}$' }), { maxItems: 20, uniqueItems: true }),
  alert_webhooks: Type.Array(webhook(Type.Literal(SECRET_MASK)), { maxItems: 10, description: 'Secrets are write-only: answers show them masked' }),
  escalation: EscalationSchema,
  forbidden_words: WordList('Words the bot never writes (added to the language\'s built-in ones)'),
  allowed_domains: Type.Array(Type.String({ pattern: HOSTNAME, maxLength: 253 }), { maxItems: MAX_LIST_ITEMS, description: 'Hostnames links may point to' }),
  human_takeover_minutes: Type.Integer({ minimum: 1, maximum: 10_080 }),
  session_expiry_minutes: Type.Integer({ minimum: 1, maximum: 525_600 }),
  typing: TypingSchema,
  fallback_message: Nullable(Type.String({ minLength: 1, maxLength: 1000, description: 'null: the language\'s default' })),
  automation: StringEnum(AUTOMATION, { description: 'off: every decision answers stop_automation' })
}

const configFields = {
  timezone: TimeZoneSchema,
  reset_time: ResetTimeSchema,
  week_start: WeekStartSchema,
  limits: LimitsSchema,
  delays: DelaysSchema,
  warmup: WarmupSchema
}

/** A whole configuration (the defaults of new accounts). */
export const AccountConfigSchema = Type.Object(configFields)

/** An account as answered: webhook secrets are write-only and shown masked. */
export const AccountSchema = Type.Object({
  id: AccountIdSchema,
  ...configFields,
  ...settingsFields,
  created_at: IsoTimestampSchema
})

const optional = <T extends Record<string, TSchema>>(fields: T) =>
  Object.fromEntries(Object.entries(fields).map(([k, s]) => [k, Type.Optional(s)])) as { [K in keyof T]: TOptional<T[K]> }
const partial = <T extends Parameters<typeof Type.Partial>[0]>(schema: T) => Type.Partial(schema, { additionalProperties: false })

/**
 * Full configuration of a PUT (and the result of a PATCH); omitted fields take the service defaults (not
 * the account's previous values), field by field inside the nested objects.
 */
export const AccountBodySchema = Type.Object({
  ...optional(configFields),
  ...optional(settingsFields),
  limits: Type.Optional(partial(LimitsSchema)),
  delays: Type.Optional(partial(DelaysSchema)),
  warmup: Type.Optional(partial(WarmupSchema)),
  active_hours: Type.Optional(Type.Union([partial(ActiveHoursSchema), Always, Type.Null({ description: 'Always open' })])),
  ai: Type.Optional(partial(AiSchema)),
  escalation: Type.Optional(partial(EscalationSchema)),
  typing: Type.Optional(partial(TypingSchema)),
  alert_webhooks: Type.Optional(Type.Array(webhook(WebhookSecret), { maxItems: 10 }))
}, { additionalProperties: false })
