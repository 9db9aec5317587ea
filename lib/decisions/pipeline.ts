/**
 * The decision's rules (README, "Deciding every message"), as one pure function: the same conversation,
 * message, settings and instant always give the same verdict. The first rule that applies decides; the quota
 * (rule 8) is decided by the store, inside the decision's transaction, so this function says what to send and
 * the service turns a refused consume into `delay`.
 */
import type { Opening } from '../accounts/hours.js'
import type { Account } from '../accounts/types.js'
import { transition, type ConversationEvent, type State } from '../conversations/machine.js'
import type { StoredConversation } from '../conversations/store.js'
import type { Analysis } from '../knowledge/matcher.js'
import { secondsUntil } from '../quota/rules.js'
import type { AlertSeverity, AlertTrigger, Media, Product } from '../knowledge/types.js'

/** The original's closed set of actions: nothing else is ever answered. */
export const ACTIONS = ['respond_text', 'respond_with_media', 'ignore', 'delay', 'alert_human', 'stop_automation'] as const
export type Action = typeof ACTIONS[number]

/** The rules, in the order they are tried; an answer names the one that decided. */
export const RULES = [
  'automation_off', 'account_paused', 'human_takeover', 'escalated', 'frozen', 'alert', 'negative', 'outside_active_hours',
  'misunderstood', 'quota', 'respond'
] as const
export type Rule = typeof RULES[number]

export const SENTIMENTS = ['anger', 'threat'] as const
export type Sentiment = typeof SENTIMENTS[number]

export interface Hints {
  /** The gateway's own NLU: used unless a threat is detected. */
  event?: ConversationEvent | null
  /** The original's `sentiment_detected`: raises that alert. */
  sentiment?: Sentiment | null
}

/** The conversation's fields a decision reads and writes. */
export type ConversationFields = Pick<StoredConversation,
  'state' | 'previous_state' | 'last_event' | 'misunderstandings' | 'paused_until' | 'session_started_at' | 'media_sent'>

export interface DecideInput {
  account: Pick<Account, 'automation' | 'outside_hours' | 'escalation' | 'session_expiry_minutes'>
  now: Date
  /** The stored conversation, or null for a contact's first message. */
  conversation: (ConversationFields & { last_message_at: string }) | null
  analysis: Analysis
  hints: Hints
  opening: Opening
  /** The matched products, by id (active ones only are ever matched). */
  products: ReadonlyMap<string, Product>
  /** The account is paused (README, "How quotas work"): by hand, or by its health. */
  paused?: boolean
}

/** What to send when the rule sends something: the reply to write, and the media to try first. */
export type ReplyPlan =
  | { kind: 'none' }
  /** `escalation.reply: "holding"`: the language's holding message. */
  | { kind: 'holding' }
  | { kind: 'respond', media: (Media & { product: string }) | null, product: Product | null }

export interface Verdict {
  rule: Rule
  action: Action
  reason: string | null
  event: ConversationEvent | null
  /** The conversation after this message (before the quota's answer: media sent is added by the service). */
  conversation: ConversationFields
  /** True when the session expired and started over before this message. */
  restarted: boolean
  reply: ReplyPlan
  alert: { trigger: AlertTrigger, severity: AlertSeverity } | null
  retry_after_seconds: number | null
}

const MINUTE_MS = 60_000

function freshConversation (now: Date): ConversationFields {
  return { state: 'discovery', previous_state: null, last_event: null, misunderstandings: 0, paused_until: null, session_started_at: now.toISOString(), media_sent: [] }
}

/** A conversation that is not held by a person starts over once `session_expiry_minutes` passed without a message. */
function current (input: DecideInput): { fields: ConversationFields, restarted: boolean } {
  const { conversation: c, now, account } = input
  if (c === null) return { fields: freshConversation(now), restarted: false }
  const { last_message_at: last, ...fields } = c
  const held = c.state === 'escalated' || c.state === 'frozen'
  if (!held && now.getTime() - Date.parse(last) > account.session_expiry_minutes * MINUTE_MS) {
    return { fields: { ...freshConversation(now), paused_until: c.paused_until }, restarted: true }
  }
  return { fields: { ...fields, media_sent: [...fields.media_sent] }, restarted: false }
}

/** The event of the message: the matcher's, or the gateway's hint unless the matcher found a threat. */
function eventOf (analysis: Analysis, hints: Hints): ConversationEvent | null {
  if (analysis.event === 'threat_detected') return analysis.event
  return hints.event ?? analysis.event
}

/** The first media of the best product that its policy allows, unless one was sent in this session. */
function mediaFor (product: Product | null, sent: readonly string[]): (Media & { product: string }) | null {
  if (product === null || sent.includes(product.id)) return null
  const media = product.media.find((m) => m.type === 'image' ? product.media_policy.allow_images : product.media_policy.allow_video)
  return media === undefined ? null : { ...media, product: product.id }
}

export function decide (input: DecideInput): Verdict {
  const { now, account, analysis, hints } = input
  const { fields: before, restarted } = current(input)
  const base = { restarted, alert: null, retry_after_seconds: null, reply: { kind: 'none' } as ReplyPlan }
  const unchanged = { ...before }

  // Rules 1-3: nothing of the message is acted on, and the conversation's state stays as it is.
  if (account.automation === 'off') return { ...base, rule: 'automation_off', action: 'stop_automation', reason: 'automation_off', event: null, conversation: unchanged }
  if (input.paused === true) return { ...base, rule: 'account_paused', action: 'stop_automation', reason: 'account_paused', event: null, conversation: unchanged }
  if (before.paused_until !== null && Date.parse(before.paused_until) > now.getTime()) {
    return { ...base, rule: 'human_takeover', action: 'ignore', reason: 'human_takeover', event: null, conversation: unchanged }
  }
  if (before.state === 'escalated' || before.state === 'frozen') {
    return { ...base, rule: before.state, action: 'ignore', reason: before.state, event: null, conversation: unchanged }
  }

  const event = eventOf(analysis, hints)
  // A session's first message that names nothing is a greeting, answered with the greeting template.
  const firstOfSession = input.conversation === null || restarted
  // A message that raises an alert was understood well enough: it is not a misunderstanding.
  const understood = event !== null || analysis.alert !== null || (hints.sentiment ?? null) !== null
  const misunderstandings = !understood && !firstOfSession ? before.misunderstandings + 1 : 0
  const moved = (state: State): ConversationFields => ({
    ...before,
    state,
    previous_state: state === before.state ? before.previous_state : before.state,
    last_event: event ?? before.last_event,
    misunderstandings
  })
  const holding: ReplyPlan = account.escalation.reply === 'holding' ? { kind: 'holding' } : { kind: 'none' }

  // Rule 4: the message needs a person (a threat, a legal word, anger, a sensitive word, or the gateway says so).
  const sentiment = hints.sentiment ?? null
  // A threat the gateway's own analysis found (hints.event) escalates like one found here: never silently.
  const alert = analysis.alert ?? (sentiment === 'threat' || event === 'threat_detected'
    ? { trigger: 'threat' as const, severity: 'critical' as const }
    : sentiment === 'anger' ? { trigger: 'anger' as const, severity: 'high' as const } : null)
  if (alert !== null) {
    return { ...base, rule: 'alert', action: 'alert_human', reason: alert.trigger, event, conversation: moved('escalated'), reply: holding, alert }
  }

  const state = event === null ? before.state : transition(before.state, event)
  // The gateway said freeze (hints.event): held from this message on, and this one is not answered either.
  if (state === 'frozen') return { ...base, rule: 'frozen', action: 'ignore', reason: 'freeze', event, conversation: moved(state) }
  if (state === 'negative') return { ...base, rule: 'negative', action: 'ignore', reason: 'negative_response', event, conversation: moved(state) }

  if (!input.opening.open) {
    const opensAt = input.opening.opens_at
    return account.outside_hours === 'delay'
      ? { ...base, rule: 'outside_active_hours', action: 'delay', reason: `opens_at:${opensAt.toISOString()}`, event, conversation: moved(state), retry_after_seconds: secondsUntil(opensAt, now) }
      : { ...base, rule: 'outside_active_hours', action: 'ignore', reason: `opens_at:${opensAt.toISOString()}`, event, conversation: moved(state) }
  }

  if (misunderstandings >= account.escalation.max_misunderstandings) {
    return {
      ...base,
      rule: 'misunderstood',
      action: 'alert_human',
      reason: 'repeated_misunderstanding',
      event,
      conversation: moved('escalated'),
      reply: holding,
      alert: { trigger: 'repeated_misunderstanding', severity: 'high' }
    }
  }

  const best = analysis.products.length > 0 ? input.products.get(analysis.products[0].id) ?? null : null
  const media = state === 'interest' || state === 'intent' ? mediaFor(best, before.media_sent) : null
  return {
    ...base,
    rule: 'respond',
    action: media === null ? 'respond_text' : 'respond_with_media',
    reason: null,
    event,
    conversation: moved(state),
    reply: { kind: 'respond', media, product: best }
  }
}
