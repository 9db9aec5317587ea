/**
 * The knowledge base's TypeBox schemas: one source for the service's validation and the routes. What a
 * schema cannot say (unique ids, placeholders, URLs) is in rules.ts.
 */
import { Type, type Static } from '@sinclair/typebox'
import { StringEnum } from '../shared/schema.js'

export const PRODUCT_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'
/** Digits with an optional fraction of up to 4 digits; no sign, exponent or leading zero. */
export const PRICE_PATTERN = '^(0|[1-9][0-9]*)(\\.[0-9]{1,4})?$'

/** Bounds of one knowledge base (README, "Knowledge base"). */
export const KNOWLEDGE_LIMITS = {
  products: 1000,
  faq: 1000,
  objections: 200,
  keywords: 50,
  triggers: 50,
  media: 20,
  text: 2000,
  phrase: 200,
  business_name: 200
} as const

const Text = (description?: string) => Type.String({ maxLength: KNOWLEDGE_LIMITS.text, ...(description === undefined ? {} : { description }) })
const Phrase = Type.String({ minLength: 1, maxLength: KNOWLEDGE_LIMITS.phrase, description: 'A word or phrase; matches when its words appear contiguously in a message' })

export const ProductIdSchema = Type.String({ pattern: PRODUCT_ID_PATTERN, description: 'Product id: letters, digits, dot, dash, underscore; up to 64 characters', examples: ['creme-karite'] })
const ItemIdSchema = Type.String({ pattern: PRODUCT_ID_PATTERN, description: 'Id: letters, digits, dot, dash, underscore; up to 64 characters' })

export const ObjectionSchema = Type.Object({
  triggers: Type.Array(Phrase, { minItems: 1, maxItems: KNOWLEDGE_LIMITS.triggers }),
  answer: Type.String({ minLength: 1, maxLength: KNOWLEDGE_LIMITS.text })
}, { additionalProperties: false })

export const MediaSchema = Type.Object({
  id: ItemIdSchema,
  type: StringEnum(['image', 'video'] as const),
  url: Type.String({ pattern: '^[Hh][Tt][Tt][Pp][Ss]?://', maxLength: KNOWLEDGE_LIMITS.text, description: 'http(s) only', examples: ['https://shop.example/k.jpg'] }),
  caption: Type.Optional(Text())
}, { additionalProperties: false })

export const MediaPolicySchema = Type.Object({
  allow_images: Type.Boolean({ default: true }),
  allow_video: Type.Boolean({ default: false })
}, { additionalProperties: false })

/** A product's fields besides its id; what is omitted takes the default shown. */
const productFields = {
  name: Type.String({ minLength: 1, maxLength: KNOWLEDGE_LIMITS.phrase, examples: ['Crème au karité 200 ml'] }),
  short_description: Type.String({ maxLength: KNOWLEDGE_LIMITS.text, default: '' }),
  long_description: Type.String({ maxLength: KNOWLEDGE_LIMITS.text, default: '' }),
  price: Type.String({ pattern: PRICE_PATTERN, maxLength: 32, description: 'A decimal string, never a float', examples: ['12500', '19.90'] }),
  currency: Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code', examples: ['XOF'] }),
  keywords: Type.Array(Phrase, { maxItems: KNOWLEDGE_LIMITS.keywords, default: [] }),
  objections: Type.Array(ObjectionSchema, { maxItems: KNOWLEDGE_LIMITS.objections, default: [] }),
  media: Type.Array(MediaSchema, { maxItems: KNOWLEDGE_LIMITS.media, default: [] }),
  media_policy: Type.Object(MediaPolicySchema.properties, { additionalProperties: false, default: { allow_images: true, allow_video: false } }),
  active: Type.Boolean({ default: true })
}
/** The fields a write may omit, for their defaults. */
const optionalProductFields = {
  name: productFields.name,
  short_description: Type.Optional(productFields.short_description),
  long_description: Type.Optional(productFields.long_description),
  price: productFields.price,
  currency: productFields.currency,
  keywords: Type.Optional(productFields.keywords),
  objections: Type.Optional(productFields.objections),
  media: Type.Optional(productFields.media),
  media_policy: Type.Optional(productFields.media_policy),
  active: Type.Optional(productFields.active)
}

/** A product as stored and answered: every field present. */
export const ProductSchema = Type.Object({ id: ProductIdSchema, ...productFields }, { additionalProperties: false })

/** A product as written: `id`, `name`, `price` and `currency` required, the rest defaulted. */
export const ProductInputSchema = Type.Object({ id: ProductIdSchema, ...optionalProductFields }, { additionalProperties: false })

/** The body of `PUT /products/:id`: the product, its id optional (the path's). */
export const ProductBodySchema = Type.Object({ id: Type.Optional(ProductIdSchema), ...optionalProductFields }, { additionalProperties: false })

export const FaqSchema = Type.Object({
  id: ItemIdSchema,
  triggers: Type.Array(Phrase, { minItems: 1, maxItems: KNOWLEDGE_LIMITS.triggers }),
  answer: Type.String({ minLength: 1, maxLength: KNOWLEDGE_LIMITS.text })
}, { additionalProperties: false })

const Template = Type.Optional(Type.String({ minLength: 1, maxLength: KNOWLEDGE_LIMITS.text }))
/** One optional field per TEMPLATE_NAMES entry (lib/knowledge/types.ts). */
export const TemplatesSchema = Type.Object({
  greeting: Template,
  product: Template,
  price: Template,
  purchase: Template,
  closing: Template
}, { additionalProperties: false, description: 'Overrides of the language\'s templates; placeholders {name} {price} {currency} {short_description} {business_name}' })

const kbFields = {
  business_name: Type.String({ maxLength: KNOWLEDGE_LIMITS.business_name, default: '' }),
  faq: Type.Array(FaqSchema, { maxItems: KNOWLEDGE_LIMITS.faq, default: [] }),
  objections: Type.Array(ObjectionSchema, { maxItems: KNOWLEDGE_LIMITS.objections, default: [] }),
  templates: Type.Object(TemplatesSchema.properties, { additionalProperties: false, default: {} })
}

/** A whole knowledge base as written (`PUT /knowledge`): `products` required (`[]` empties it), the rest defaulted. */
export const KnowledgeInputSchema = Type.Object({
  business_name: Type.Optional(kbFields.business_name),
  products: Type.Array(ProductInputSchema, { maxItems: KNOWLEDGE_LIMITS.products }),
  faq: Type.Optional(kbFields.faq),
  objections: Type.Optional(kbFields.objections),
  templates: Type.Optional(kbFields.templates)
}, { additionalProperties: false })

/** A knowledge base as answered, with its version (0: never written). */
export const KnowledgeSchema = Type.Object({
  business_name: kbFields.business_name,
  products: Type.Array(ProductSchema),
  faq: Type.Array(FaqSchema),
  objections: Type.Array(ObjectionSchema),
  templates: TemplatesSchema,
  version: Type.Integer({ minimum: 0, description: 'Grows by one with every change; 0 for a knowledge base never written' })
})

export type ProductInput = Static<typeof ProductInputSchema>
export type ProductBody = Static<typeof ProductBodySchema>
export type KnowledgeInput = Static<typeof KnowledgeInputSchema>
