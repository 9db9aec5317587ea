import { Type } from '@sinclair/typebox'
import { DETAIL_MESSAGES } from '../../lib/conversations/service.js'
import { EVENTS, STATES } from '../../lib/conversations/machine.js'
import { SENDERS } from '../../lib/conversations/store.js'
import { AccountIdSchema, IsoTimestampSchema, Nullable, StringEnum } from '../common/schema.js'
import { ContactSchema } from '../messages/schema.js'

export const ContactParamsSchema = Type.Object({ contact: ContactSchema })
export const AccountQuerySchema = Type.Object({ account: Type.Optional(AccountIdSchema) }, { additionalProperties: false })

export const ListQuerySchema = Type.Object({
  account: Type.Optional(AccountIdSchema),
  state: Type.Optional(StringEnum(STATES)),
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
  before: Type.Optional(Type.String({ minLength: 1, maxLength: 400, description: 'The next_before of the previous page' }))
}, { additionalProperties: false })

export const ConversationSchema = Type.Object({
  contact: Type.String(),
  state: StringEnum(STATES),
  previous_state: Nullable(StringEnum(STATES)),
  last_event: Nullable(StringEnum(EVENTS)),
  paused_until: Nullable(IsoTimestampSchema),
  misunderstandings: Type.Integer({ minimum: 0 }),
  created_at: IsoTimestampSchema,
  last_message_at: IsoTimestampSchema
})

export const ConversationListSchema = Type.Object({
  conversations: Type.Array(ConversationSchema, { description: 'Newest activity first' }),
  next_before: Nullable(Type.String({ description: 'Pass as `before` for the next page; null on the last one' }))
})

export const ConversationDetailSchema = Type.Object({
  ...ConversationSchema.properties,
  messages: Type.Array(Type.Object({
    direction: StringEnum(['in', 'out'] as const),
    sender: StringEnum(SENDERS),
    text: Nullable(Type.String({ description: 'Decrypted' })),
    media_type: Nullable(Type.String()),
    decision_id: Nullable(Type.String()),
    at: IsoTimestampSchema
  }), { description: `The last ${DETAIL_MESSAGES} messages, oldest first` })
})

export const PauseBodySchema = Type.Object({
  account: Type.Optional(AccountIdSchema),
  minutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 525_600, description: 'Default: the account\'s human_takeover_minutes' }))
}, { additionalProperties: false })

export const AccountBodySchema = Type.Object({ account: Type.Optional(AccountIdSchema) }, { additionalProperties: false })
