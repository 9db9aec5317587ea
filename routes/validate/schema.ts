import { Type, type Static } from '@sinclair/typebox'
import { ProductIdSchema } from '../../lib/knowledge/schema.js'
import { RULES } from '../../lib/validation/rules.js'
import { AccountIdSchema, Nullable, StringEnum } from '../common/schema.js'

export const VALIDATE_TEXT_MAX = 10_000
export const MATCHED_PRODUCTS_MAX = 100

export const ValidateBodySchema = Type.Object({
  text: Type.String({ maxLength: VALIDATE_TEXT_MAX, description: 'The text to check before it is sent (characters are code points)', examples: ['La crème au karité coûte 12 500 FCFA.'] }),
  account: Type.Optional(AccountIdSchema),
  matched_products: Type.Optional(Type.Array(ProductIdSchema, {
    maxItems: MATCHED_PRODUCTS_MAX,
    description: 'The products matched for the message the text answers: their texts are the facts promises are checked against, and naming another product is a violation'
  }))
}, { additionalProperties: false })
export type ValidateBody = Static<typeof ValidateBodySchema>

export const ViolationSchema = Type.Object({
  rule: StringEnum(RULES),
  detail: Type.String({ description: 'What broke the rule: the word, the amount or link as written, the promise, the product id, the length', examples: ['robot'] })
})

export const ValidateResultSchema = Type.Object({
  valid: Type.Boolean(),
  validated_text: Nullable(Type.String({ description: 'The text when it is valid, else null' })),
  error: Nullable(Type.String({ description: 'The first violation in one sentence, or null', examples: ['the text contains the forbidden word "robot"'] })),
  violations: Type.Array(ViolationSchema, { description: 'Every violation, in the order of the rules' }),
  fallback_text: Type.String({ description: 'What to send instead: the account\'s fallback_message, else its language\'s' })
})
export type ValidateResult = Static<typeof ValidateResultSchema>
