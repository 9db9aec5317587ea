import { Type, type Static } from '@sinclair/typebox'
import { ORIGINAL_ACTIONS } from '../../lib/decisions/original.js'
import { AccountIdSchema, Nullable, StringEnum } from '../common/schema.js'

/** As the incoming-message pipeline's `text` (README, "Deciding every message"). */
export const INCOMING_MESSAGE_MAX = 4096

export const OriginalDecisionBodySchema = Type.Object({
  incoming_message: Type.String({
    maxLength: INCOMING_MESSAGE_MAX,
    description: 'The customer\'s message (characters are code points); searched for alert words by the account\'s matcher',
    examples: ['Je vais porter plainte si je ne suis pas livré demain.']
  }),
  conversation_state: Type.String({
    minLength: 1,
    maxLength: 64,
    description: '`discovery` … `frozen`, or the original\'s `Discovery` … `Frozen`; checked, not used by the four rules',
    examples: ['Discovery']
  }),
  quotas_available: Type.Boolean({ description: 'Whether the account may still send (false: `Delay`)' }),
  is_active_hours: Type.Boolean({ description: 'Whether it is within the account\'s active hours (false: `Ignore`)' }),
  sentiment_detected: Type.Optional(Nullable(Type.String({
    maxLength: 64,
    description: 'The gateway\'s own analysis: `anger` or `threat` (any case) raise `AlertHuman`; any other value raises nothing',
    examples: ['anger']
  }))),
  account: Type.Optional(AccountIdSchema)
}, { additionalProperties: false })
export type OriginalDecisionBody = Static<typeof OriginalDecisionBodySchema>

export const OriginalDecisionSchema = Type.Object({
  action: StringEnum(ORIGINAL_ACTIONS),
  details: Nullable(Type.String({
    description: '`outside_active_hours` (Ignore), `3600 seconds` (Delay), the alert\'s reason (AlertHuman: `threat`, `legal_situation`, `anger`, `sensitive_word`, `sentiment:anger`, `sentiment:threat`), null (RespondText)',
    examples: ['legal_situation']
  }))
})
export type OriginalDecision = Static<typeof OriginalDecisionSchema>
