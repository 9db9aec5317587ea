import { Type } from '@sinclair/typebox'
import { KNOWLEDGE_LIMITS, KnowledgeInputSchema, KnowledgeSchema } from '../../lib/knowledge/schema.js'
import { EVENTS } from '../../lib/knowledge/types.js'
import { AccountIdSchema, Nullable, StringEnum } from '../common/schema.js'

export { AccountQuerySchema } from '../products/schema.js'
export { KnowledgeInputSchema, KnowledgeSchema }

/** A whole knowledge base can be far larger than the other routes' bodies: 1 000 products fit. */
export const KNOWLEDGE_BODY_LIMIT = 4 * 1024 * 1024
export const MATCH_TEXT_MAX = 4096

export const MatchBodySchema = Type.Object({
  text: Type.String({ maxLength: MATCH_TEXT_MAX, description: 'A customer\'s message', examples: ['Combien coûte la crème au karité ?'] }),
  account: Type.Optional(AccountIdSchema)
}, { additionalProperties: false })

const Phrase = Type.String({ maxLength: KNOWLEDGE_LIMITS.phrase })

export const AnalysisSchema = Type.Object({
  event: Nullable(StringEnum(EVENTS, { description: 'What the message raises, by the detection order; null when nothing is found' })),
  products: Type.Array(Type.Object({
    id: Type.String(),
    score: Type.Integer({ minimum: 0, description: 'Keyword words matched' }),
    keywords: Type.Array(Phrase, { description: 'The product\'s keywords that matched' })
  }), { description: 'Matched active products, best first' }),
  objection: Nullable(Type.Object({
    product: Nullable(Type.String({ description: 'The product whose objection it is; null for an account-wide one' })),
    triggers: Type.Array(Phrase),
    answer: Type.String()
  })),
  faq: Nullable(Type.Object({ id: Type.String(), answer: Type.String() })),
  alert: Nullable(Type.Object({
    trigger: StringEnum(['threat', 'legal_situation', 'anger', 'sensitive_word'] as const),
    severity: StringEnum(['critical', 'high'] as const)
  }))
})
