/**
 * Validation of a knowledge base beyond what a route's schema already refused: the whole document is checked
 * (so the embedding API gets the same answers as HTTP), then what JSON Schema cannot say. The first problem
 * found, in document order, is the error, and it names its path (`body/products/3/price …`).
 */
import type { ValidateFunction } from 'ajv'
import { compileStrict, describeValidation } from '../shared/validation.js'
import { InvalidKnowledge } from './errors.js'
import { KnowledgeInputSchema, ProductBodySchema, type KnowledgeInput, type ProductBody } from './schema.js'
import type { KnowledgeBase, Product } from './types.js'

export const PLACEHOLDERS = ['name', 'price', 'currency', 'short_description', 'business_name'] as const

// Checked as the routes' body validator checks: no coercion, defaults filled, unknown fields refused.
const knowledgeCheck = compileStrict(KnowledgeInputSchema)
const productCheck = compileStrict(ProductBodySchema)

/** A copy of the value with its defaults filled in, or the first schema error at `root`. */
function checked<T> (check: ValidateFunction, input: unknown, root: string): T {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw InvalidKnowledge(`${root} must be object`)
  const value = structuredClone(input)
  if (!check(value)) throw InvalidKnowledge(describeValidation(check.errors ?? [], root))
  return value as T
}

/** A whole knowledge base, valid and complete (defaults filled), or a 400 naming the first bad path. */
export function validKnowledge (input: unknown, root = 'body'): KnowledgeBase {
  const kb = checked<KnowledgeInput>(knowledgeCheck, input, root) as KnowledgeBase
  checkStrings(kb, root)
  const seen = new Map<string, number>()
  kb.products.forEach((product, i) => {
    const first = seen.get(product.id)
    if (first !== undefined) throw InvalidKnowledge(`${root}/products/${i}/id ${JSON.stringify(product.id)} is already the id of ${root}/products/${first}`)
    seen.set(product.id, i)
    checkProduct(product, `${root}/products/${i}`)
  })
  const faqIds = new Map<string, number>()
  kb.faq.forEach((faq, i) => {
    const first = faqIds.get(faq.id)
    if (first !== undefined) throw InvalidKnowledge(`${root}/faq/${i}/id ${JSON.stringify(faq.id)} is already the id of ${root}/faq/${first}`)
    faqIds.set(faq.id, i)
  })
  for (const [name, template] of Object.entries(kb.templates)) checkTemplate(template, `${root}/templates/${name}`)
  return kb
}

/**
 * One product as `PUT /products/:id` gives it (its id optional, else the path's), valid and complete, or a
 * 400 naming the field.
 */
export function validProduct (id: string, input: unknown, root = 'body'): Product {
  const body = checked<ProductBody>(productCheck, input, root)
  if (body.id !== undefined && body.id !== id) throw InvalidKnowledge(`${root}/id must be the path's id ${JSON.stringify(id)} or omitted`)
  const product = { ...body, id } as Product
  checkStrings(product, root)
  checkProduct(product, root)
  return product
}

function checkProduct (product: Product, at: string): void {
  const mediaIds = new Map<string, number>()
  product.media.forEach((media, i) => {
    const first = mediaIds.get(media.id)
    if (first !== undefined) throw InvalidKnowledge(`${at}/media/${i}/id ${JSON.stringify(media.id)} is already the id of ${at}/media/${first}`)
    mediaIds.set(media.id, i)
    if (!isHttpUrl(media.url)) throw InvalidKnowledge(`${at}/media/${i}/url must be an http or https URL`)
  })
}

function isHttpUrl (text: string): boolean {
  if (!URL.canParse(text)) return false
  const url = new URL(text)
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== ''
}

/** Every `{…}` of a template is one of the placeholders. */
function checkTemplate (template: string, at: string): void {
  for (const [, name] of template.matchAll(/\{([^{}]*)\}/g)) {
    if (!(PLACEHOLDERS as readonly string[]).includes(name)) {
      throw InvalidKnowledge(`${at} has the unknown placeholder {${name}}; the placeholders are ${PLACEHOLDERS.map((p) => `{${p}}`).join(' ')}`)
    }
  }
}

/** No text may hold U+0000: PostgreSQL cannot store it, and no shop needs it. */
function checkStrings (value: unknown, at: string): void {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) throw InvalidKnowledge(`${at} must not contain the character U+0000`)
    return
  }
  if (Array.isArray(value)) {
    value.forEach((item, i) => { checkStrings(item, `${at}/${i}`) })
    return
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) checkStrings(item, `${at}/${key}`)
  }
}
