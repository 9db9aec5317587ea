import { Type, type Static } from '@sinclair/typebox'
import { EVENTS, STATES } from '../../lib/conversations/machine.js'
import { ACTIONS, RULES, SENTIMENTS } from '../../lib/decisions/pipeline.js'
import { REPLY_SOURCES } from '../../lib/decisions/text.js'
import { CONTACT_PATTERN, MEDIA_TYPES, TEXT_MAX } from '../../lib/decisions/types.js'
import { ALERT_TRIGGERS } from '../../lib/knowledge/types.js'
import { AccountIdSchema, IsoTimestampSchema, MessageTypeSchema, Nullable, StringEnum, UsageSchema } from '../common/schema.js'

export const ContactSchema = Type.String({
  pattern: CONTACT_PATTERN,
  description: 'The customer: a phone number or the gateway\'s JID',
  examples: ['+33612345678', '33612345678@s.whatsapp.net']
})
const GatewayId = Type.String({ minLength: 1, maxLength: 256, description: 'The gateway\'s id of the message', examples: ['3EB0A1B2C3'] })
const Text = Type.String({ maxLength: TEXT_MAX, description: `At most ${TEXT_MAX} characters (code points)` })

export const IncomingBodySchema = Type.Object({
  account: Type.Optional(AccountIdSchema),
  contact: ContactSchema,
  message_id: Type.Optional(Nullable(GatewayId)),
  text: Type.Optional(Nullable(Text)),
  media: Type.Optional(Nullable(Type.Object({
    type: StringEnum(MEDIA_TYPES),
    caption: Type.Optional(Nullable(Text))
  }, { additionalProperties: false }))),
  timestamp: Type.Optional(Nullable(Type.String({ maxLength: 40, description: 'When the customer sent it, ISO 8601', examples: ['2026-01-18T10:15:00Z'] }))),
  hints: Type.Optional(Nullable(Type.Object({
    event: Type.Optional(Nullable(StringEnum(EVENTS, { description: 'The gateway\'s own analysis; used unless Sellify finds a threat' }))),
    sentiment: Type.Optional(Nullable(StringEnum(SENTIMENTS, { description: 'The original\'s sentiment_detected: raises that alert' })))
  }, { additionalProperties: false })))
}, {
  additionalProperties: false,
  examples: [{ account: 'shop-1', contact: '+33612345678', message_id: '3EB0A1B2C3', text: 'Bonjour, combien coûte la crème au karité ?', media: null, timestamp: '2026-01-18T10:15:00Z', hints: { event: null } }]
})
export type IncomingBody = Static<typeof IncomingBodySchema>

const QuotaSchema = Type.Object({ allowed: Type.Boolean(), kind: MessageTypeSchema, usage: UsageSchema, remaining: UsageSchema })

export const DecisionSchema = Type.Object({
  decision_id: Type.String({ examples: ['dcs_0193f6a2-…'] }),
  action: StringEnum(ACTIONS),
  rule: StringEnum(RULES, { description: 'The rule that decided' }),
  reason: Nullable(Type.String({ description: 'Why, for the rules that say (`human_takeover`, `quota:messages_per_day`, `opens_at:<instant>` …)' })),
  reply: Nullable(Type.Object({
    text: Type.String(),
    media: Type.Array(Type.Object({
      id: Type.String(),
      type: StringEnum(['image', 'video'] as const),
      url: Type.String(),
      caption: Type.Optional(Type.String()),
      product: Type.String()
    })),
    source: StringEnum(REPLY_SOURCES)
  })),
  delay_seconds: Type.Integer({ minimum: 0, description: 'Wait this long before sending, showing "typing…" for the last typing_seconds' }),
  typing_seconds: Type.Integer({ minimum: 0 }),
  retry_after_seconds: Nullable(Type.Integer({ minimum: 1 })),
  conversation: Type.Object({
    contact: Type.String(),
    state: StringEnum(STATES),
    previous_state: Nullable(StringEnum(STATES)),
    event: Nullable(StringEnum(EVENTS)),
    paused_until: Nullable(IsoTimestampSchema),
    misunderstandings: Type.Integer({ minimum: 0 })
  }),
  matched: Type.Object({
    products: Type.Array(Type.Object({ id: Type.String(), name: Type.String(), score: Type.Integer() })),
    objection: Nullable(Type.Object({ product: Nullable(Type.String()), triggers: Type.Array(Type.String()) })),
    faq: Nullable(Type.Object({ id: Type.String() }))
  }),
  quota: Nullable(QuotaSchema),
  validation: Nullable(Type.Object({
    valid: Type.Boolean(),
    violations: Type.Array(Type.Object({ rule: Type.String(), detail: Type.String() })),
    attempts: Type.Integer({ minimum: 0 })
  })),
  alert: Nullable(Type.Object({
    id: Type.Optional(Type.String({ description: 'The stored alert (GET /api/v1/alerts/:id)' })),
    trigger: StringEnum(ALERT_TRIGGERS),
    severity: StringEnum(['critical', 'high', 'warning'] as const)
  })),
  notifications: Type.Array(Type.Object({ to: Type.String(), text: Type.String() }), { description: 'WhatsApp texts for the bot to send to the account\'s alert_numbers' })
})

export const DecisionParamsSchema = Type.Object({
  decision_id: Type.String({ minLength: 1, maxLength: 128, description: 'The decision_id an incoming message was answered with' })
})

export const SentBodySchema = Type.Object({
  account: Type.Optional(AccountIdSchema),
  message_id: Type.Optional(Nullable(GatewayId))
}, { additionalProperties: false })

export const FailedBodySchema = Type.Object({
  account: Type.Optional(AccountIdSchema),
  error: Type.Optional(Nullable(Type.String({ maxLength: 1000, description: 'What the gateway said (not stored: it may name the customer)' })))
}, { additionalProperties: false })

export const OutgoingBodySchema = Type.Object({
  account: Type.Optional(AccountIdSchema),
  contact: ContactSchema,
  text: Type.Optional(Nullable(Text)),
  media_type: Type.Optional(Nullable(StringEnum(MEDIA_TYPES))),
  message_id: Type.Optional(Nullable(GatewayId)),
  sender: Type.Optional(Type.Literal('human', { description: 'Only a person\'s messages are reported here' }))
}, { additionalProperties: false })

export const SentSchema = Type.Object({ status: Type.Literal('sent') })
export const FailedSchema = Type.Object({
  status: Type.Literal('failed'),
  released: Type.Boolean({ description: 'Whether the quota the decision consumed was given back (only within the same period)' }),
  usage: UsageSchema
})
export const OutgoingSchema = Type.Object({ paused_until: IsoTimestampSchema, usage: UsageSchema })
