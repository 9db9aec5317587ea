/** What a decision answers (README, "Deciding every message"). */
import type { ConversationEvent, State } from '../conversations/machine.js'
import type { AlertSeverity, AlertTrigger } from '../knowledge/types.js'
import type { Kind, UsageView } from '../quota/types.js'
import type { Action, Rule, Sentiment } from './pipeline.js'
import type { ReplySource } from './text.js'

export const MEDIA_TYPES = ['image', 'video', 'audio', 'document', 'sticker'] as const
export type MediaType = typeof MEDIA_TYPES[number]

/** A contact id: a phone number or a gateway's JID (`+33612345678`, `33612345678@s.whatsapp.net`). */
export const CONTACT_PATTERN = '^[A-Za-z0-9+][A-Za-z0-9._:@+-]{0,127}$'
export const CONTACT_MAX_LENGTH = 128
/** Characters (code points) of one message's text. */
export const TEXT_MAX = 4096

export interface IncomingMessage {
  account?: string
  contact: string
  /** The gateway's id of the message: the same one within 24 hours gets the first decision back. */
  message_id?: string | null
  text?: string | null
  media?: { type: MediaType, caption?: string | null } | null
  /** When the customer sent it (ISO 8601); stored with the message when given. */
  timestamp?: string | null
  hints?: { event?: ConversationEvent | null, sentiment?: Sentiment | null } | null
}

/** A message a person sent from the WhatsApp number, reported by the gateway. */
export interface OutgoingMessage {
  account?: string
  contact: string
  text?: string | null
  media_type?: MediaType | null
  message_id?: string | null
  sender?: 'human'
}

export interface ReplyMedia {
  id: string
  type: 'image' | 'video'
  url: string
  caption?: string
  product: string
}

export interface ConversationView {
  contact: string
  state: State
  previous_state: State | null
  event: ConversationEvent | null
  paused_until: string | null
  misunderstandings: number
}

export interface Notification {
  /** One of the account's `alert_numbers`. */
  to: string
  text: string
}

export interface Decision {
  decision_id: string
  action: Action
  rule: Rule
  reason: string | null
  reply: { text: string, media: ReplyMedia[], source: ReplySource } | null
  delay_seconds: number
  typing_seconds: number
  retry_after_seconds: number | null
  conversation: ConversationView
  matched: {
    products: Array<{ id: string, name: string, score: number }>
    objection: { product: string | null, triggers: string[] } | null
    faq: { id: string } | null
  }
  quota: { allowed: boolean, kind: Kind, usage: UsageView, remaining: UsageView } | null
  validation: { valid: boolean, violations: Array<{ rule: string, detail: string }>, attempts: number } | null
  /** The alert this message raised (`id`: stored, its webhooks in the outbox). */
  alert: { id?: string, trigger: AlertTrigger, severity: AlertSeverity } | null
  notifications: Notification[]
}
