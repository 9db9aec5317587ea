/**
 * The text of a reply the rules chose to send, in order: the matched objection's answer, the matched FAQ
 * answer (both the owner's own words), the AI when it is enabled and configured (checked by the output
 * validation, re-asked, else the template), the language template for the state and the matched product,
 * the fallback message. Prices come from the knowledge base verbatim.
 */
import type { State } from '../conversations/machine.js'
import type { Analysis } from '../knowledge/matcher.js'
import { languagePack } from '../knowledge/language.js'
import type { KnowledgeBase, Language, Product, TemplateName } from '../knowledge/types.js'

export const REPLY_SOURCES = ['knowledge_base', 'template', 'ai', 'fallback'] as const
export type ReplySource = typeof REPLY_SOURCES[number]

/** Fills `{name}`, `{price}`, `{currency}`, `{short_description}`, `{business_name}`; an unknown brace stays as written. */
export function fillTemplate (template: string, kb: Pick<KnowledgeBase, 'business_name'>, product: Product | null): string {
  const values: Record<string, string> = { business_name: kb.business_name }
  if (product !== null) Object.assign(values, { name: product.name, price: product.price, currency: product.currency, short_description: product.short_description })
  return template.replace(/\{(name|price|currency|short_description|business_name)\}/g, (whole, key: string) => values[key] ?? whole)
}

/** Templates that name a product need one; the greeting and closing name only the business. */
const NEEDS_PRODUCT: Readonly<Record<TemplateName, boolean>> = { greeting: false, product: true, price: true, purchase: true, closing: false }

/**
 * The template for the state and the match: a price asked → `price`, an intent → `purchase`, a product
 * named → `product`, a session's first message that names none → `greeting`; otherwise none (the fallback).
 */
export function templateName (state: State, analysis: Pick<Analysis, 'event'>, product: Product | null, firstOfSession: boolean): TemplateName | null {
  if (product !== null) {
    if (analysis.event === 'price_interest') return 'price'
    if (state === 'intent') return 'purchase'
    return 'product'
  }
  return firstOfSession && state === 'discovery' ? 'greeting' : null
}

/** The account's own template, else the language's, filled in; null when there is none for this match. */
export function templateText (language: Language, kb: KnowledgeBase, name: TemplateName | null, product: Product | null): string | null {
  if (name === null || (NEEDS_PRODUCT[name] && product === null)) return null
  const template = kb.templates[name] ?? languagePack(language).templates[name]
  return fillTemplate(template, kb, product)
}

/** How long "typing…" shows before a reply: its length at `chars_per_second`, capped; 0 when typing is off. */
export function typingSeconds (text: string | null, typing: { enabled: boolean, chars_per_second: number, max_seconds: number }): number {
  if (text === null || !typing.enabled || typing.chars_per_second <= 0) return 0
  return Math.min(typing.max_seconds, Math.ceil([...text].length / typing.chars_per_second))
}

/** The owner's own answer to the message, when it raised an objection or asked an FAQ. */
export function knowledgeAnswer (analysis: Pick<Analysis, 'objection' | 'faq'>): string | null {
  return analysis.objection?.answer ?? analysis.faq?.answer ?? null
}
