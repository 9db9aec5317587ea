/** The knowledge base of one account: the only facts the bot may state. */

export const LANGUAGES = ['fr', 'en', 'es', 'pt'] as const
export type Language = typeof LANGUAGES[number]

export const TEMPLATE_NAMES = ['greeting', 'product', 'price', 'purchase', 'closing'] as const
export type TemplateName = typeof TEMPLATE_NAMES[number]

/** The conversation events a message can raise, in the order detection tries them. */
export const EVENTS = ['threat_detected', 'negative_response', 'objection_raised', 'purchase_intent', 'price_interest', 'product_question', 'freeze'] as const
export type EventName = typeof EVENTS[number]

export const ALERT_TRIGGERS = ['threat', 'legal_situation', 'anger', 'sensitive_word', 'repeated_misunderstanding', 'account_paused', 'quota_near_limit'] as const
export type AlertTrigger = typeof ALERT_TRIGGERS[number]
export type AlertSeverity = 'critical' | 'high' | 'warning'

export interface Objection {
  /** Words or phrases; any one of them raises the objection. */
  triggers: string[]
  answer: string
}

export interface Media {
  id: string
  type: 'image' | 'video'
  /** http(s) only. */
  url: string
  caption?: string
}

export interface Product {
  /** `^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$` */
  id: string
  name: string
  short_description: string
  long_description: string
  /** A decimal string (`"12500"`, `"19.90"`), never a float. */
  price: string
  /** ISO 4217: three capital letters. */
  currency: string
  keywords: string[]
  objections: Objection[]
  media: Media[]
  media_policy: { allow_images: boolean, allow_video: boolean }
  active: boolean
}

export interface Faq {
  id: string
  triggers: string[]
  answer: string
}

export interface KnowledgeBase {
  business_name: string
  products: Product[]
  faq: Faq[]
  /** Account-wide objections, the same shape as a product's. */
  objections: Objection[]
  /** Overrides of the language's built-in templates; placeholders {name} {price} {currency} {short_description} {business_name}. */
  templates: Partial<Record<TemplateName, string>>
}

/** A knowledge base as stored: `version` grows by one with every change. */
export interface VersionedKnowledge extends KnowledgeBase {
  version: number
}
