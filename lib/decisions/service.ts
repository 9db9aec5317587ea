/**
 * One call per incoming WhatsApp message: the rules decide (pipeline.ts), the text is written (text.ts, the AI
 * through lib/ai when enabled), and everything the decision changes — its claim, the consume, the conversation,
 * the messages, the decision itself and its audit record — is one plan, committed whole before the answer.
 * The quota is decided inside that transaction: a plan.then picks the messages and record that fit what the
 * consume answered (media, else text only, else `delay`).
 */
import { activeAt } from '../accounts/hours.js'
import { UnknownAccount } from '../accounts/errors.js'
import { DEFAULT_ACCOUNT, type Account } from '../accounts/types.js'
import { buildPrompt, reaskText } from '../ai/prompt.js'
import { writeReply, type Checked } from '../ai/reply.js'
import type { AiResult, ChatRequest } from '../ai/types.js'
import { OBJECTIVES, type Objective } from '../ai/types.js'
import type { AuditActor, AuditInput } from '../audit/recorder.js'
import type { AppendAuditOp } from '../audit/store.js'
import type { JsonObject } from '../audit/types.js'
import type { ContactKey } from '../encryption/service.js'
import type { Place } from '../crypto/index.js'
import { DataKeyErased } from '../audit/store.js'
import { appendMessagesOp, contactPlace, ConversationChanged, messagePlace, saveConversationOp, type ConversationReads, type StoredConversation, type StoredMessage } from '../conversations/store.js'
import type { CompiledKnowledge } from '../knowledge/matcher.js'
import { languagePack } from '../knowledge/language.js'
import type { AlertSeverity, AlertTrigger, Product } from '../knowledge/types.js'
import type { NearLimitInput, RaiseInput } from '../alerts/service.js'
import type { CreateAlertOp } from '../alerts/store.js'
import { periodsAt } from '../periods/periods.js'
import type { Periods } from '../periods/types.js'
import { effectiveLimits, grantedDelay, pausedUntil, refusalRetry, remainingView, usageView } from '../quota/rules.js'
import { consumeAt, keysOf, releaseOp, type QuotaReads, type AccountZone, type ConsumeResult } from '../quota/store.js'
import type { Kind, Limits, Refusal, UsagePair } from '../quota/types.js'
import type { Clock, Random } from '../shared/clock.js'
import { BadRequest, defineError } from '../shared/errors.js'
import { createEvents } from '../shared/events.js'
import { thenOp, type UnitOfWork, type WriteOp } from '../shared/unit-of-work.js'
import type { StoreOp } from '../store/contract.js'
import { decide, type Verdict } from './pipeline.js'
import { hourlySince, hourlyView, type HourlyView } from './hourly.js'
import { claimDecisionOp, markDecisionOp, recordDecisionOp, type ClaimResult, type Consumed, type DecisionReads, type StoredDecision } from './store.js'
import { fallbackText } from '../validation/service.js'
import { knowledgeAnswer, templateName, templateText, typingSeconds, type ReplySource } from './text.js'
import { TEXT_MAX, type ConversationView, type Decision, type IncomingMessage, type Notification, type OutgoingMessage, type ReplyMedia } from './types.js'

export const UnknownDecision = defineError('SELLIFY_UNKNOWN_DECISION', 404, (id: string) => `decision ${id} does not exist`)
export const DecisionNotSendable = defineError('SELLIFY_DECISION_CONFLICT', 409, (id: string, status: string) =>
  status === 'done' ? `decision ${id} has no reply to send` : `decision ${id} was already reported ${status}`)

/** How long a gateway message id gets its first decision back. */
export const IDEMPOTENCY_MS = 24 * 60 * 60 * 1000
/**
 * A decision is made again from fresh reads this often when its conversation changed under it. On one instance a
 * contact's decisions queue (inLane below); what is left is another instance deciding for the same contact, whose
 * burst can win several times in a row; past this, the message is answered 409 and left untouched, to be sent again.
 */
const ATTEMPTS = 10
/** Messages of the conversation the AI is shown. */
const HISTORY = 6
/** Characters of the customer's message an alert notification quotes. */
const QUOTE_MAX = 200

export interface DecisionServiceOptions {
  store: ConversationReads & DecisionReads & Pick<QuotaReads, 'getUsage' | 'getState'> & UnitOfWork<StoreOp>
  accounts: { get: (id?: string) => Promise<Account> }
  encryption: {
    contactKey: (account: string, contact: string) => Promise<ContactKey>
    keyHandle: (id: string) => Promise<ContactKey | null>
    openOrFail: (value: string, place: Place) => Promise<string>
    lookupKey: (account: string, value: string) => string
    forgetAll: () => void
  }
  audit: { entryUnder: (key: ContactKey, input: AuditInput) => AppendAuditOp }
  /** Alerts stored in the decision's plan (lib/alerts); without it, a decision still answers its alert. */
  alerts?: {
    raise: (input: RaiseInput) => { op: CreateAlertOp, view: { id: string, trigger: AlertTrigger, severity: AlertSeverity } }
    nearLimit: (input: NearLimitInput) => Array<{ op: CreateAlertOp, view: { trigger: AlertTrigger, severity: AlertSeverity } }>
    /** After the commit: counted, and its webhooks attempted now. */
    raised: (view: { trigger: AlertTrigger, severity: AlertSeverity }) => void
  }
  knowledge: { compiled: (account?: string) => Promise<CompiledKnowledge> }
  validation: { validate: (input: { account: string, text: string, matched_products?: string[] }) => Promise<Checked> }
  /** The AI, or null when the service has none configured (replies then come from the knowledge base and templates). */
  ai: ((request: ChatRequest) => Promise<AiResult>) | null
  /** Told of the counters after each consume a decision made (the quota metrics). */
  usage?: (account: Account, p: Periods, usage: UsagePair, consume: { kind: Kind, allowed: boolean, reason?: Refusal } | null, grant?: { before: UsagePair, limits: Limits }) => void
  ids: () => string
  now: Clock
  random: Random
}

/** What observers (metrics) are told after a decision committed. */
export interface DecisionEvent { action: Decision['action'], rule: Decision['rule'], duration_ms: number, replayed: boolean }

interface Consumption { usage: UsagePair, consume: { kind: Kind, allowed: boolean, reason?: Refusal }, grant?: { before: UsagePair, limits: Limits } }

/** The zone moved under the consume: made again with the committed one. */
class ZoneChanged extends Error {
  constructor (readonly zone: AccountZone) { super('the account\'s period settings changed') }
}

const answerPlace = (id: string): Place => ({ table: 'decisions', column: 'answer', row: id })

/** Checks the service cannot leave to a schema (an embedder calls it directly too). */
function checkIncoming (input: IncomingMessage): { text: string | null, at: string | null } {
  const text = input.text ?? null
  if (text !== null && [...text].length > TEXT_MAX) throw BadRequest(`body/text must be at most ${TEXT_MAX} characters`)
  if ((text === null || text === '') && (input.media ?? null) === null) throw BadRequest('body must have text or media')
  const ts = input.timestamp ?? null
  if (ts !== null && (!/^\d{4}-\d{2}-\d{2}T/.test(ts) || Number.isNaN(Date.parse(ts)))) {
    throw BadRequest(`body/timestamp must be an ISO 8601 date-time, got ${JSON.stringify(ts)}`)
  }
  return { text: text === '' ? null : text, at: ts === null ? null : new Date(Date.parse(ts)).toISOString() }
}

/** A consume's result that counted or refused; an account gone is a 404, one whose zone moved is decided again. */
function counted (result: ConsumeResult, account: string): Extract<ConsumeResult, { limits: unknown }> {
  if ('limits' in result) return result
  if (result.account === 'missing') throw UnknownAccount(account)
  throw new ZoneChanged(result.zone)
}

function retryable (err: unknown): boolean {
  return ConversationChanged.is(err) || err instanceof ZoneChanged || (err as { code?: string })?.code === DataKeyErased.code
}

export function createDecisionService (options: DecisionServiceOptions) {
  const { store, accounts, encryption, audit, knowledge, validation, ai, ids, now, random } = options
  const events = createEvents<DecisionEvent>()

  /**
   * One attempt after another until one commits: a conversation or an account's period settings that changed
   * under it, or a data key erased meanwhile, make it read and decide again (ATTEMPTS at most).
   */
  async function retried<T> (attempt: (zone: AccountZone | null) => Promise<T>): Promise<T> {
    let zone: AccountZone | null = null
    for (let n = 1; ; n++) {
      try {
        return await attempt(zone)
      } catch (err) {
        if (err instanceof ZoneChanged) zone = err.zone
        if ((err as { code?: string })?.code === DataKeyErased.code) encryption.forgetAll()
        if (!retryable(err) || n >= ATTEMPTS) throw err
      }
    }
  }

  function conversationView (contact: string, fields: Verdict['conversation'], event: Verdict['event']): ConversationView {
    return { contact, state: fields.state, previous_state: fields.previous_state, event, paused_until: fields.paused_until, misunderstandings: fields.misunderstandings }
  }

  /** The last messages of the conversation in clear, oldest first, for the AI's prompt. */
  async function history (account: string, key: ContactKey): Promise<Array<{ from: 'customer' | 'bot', text: string }>> {
    const rows = await store.conversationMessages(account, key.id, HISTORY)
    return rows.reverse().filter((m) => m.text !== null).map((m) => ({ from: m.sender === 'customer' ? 'customer' as const : 'bot' as const, text: key.open(m.text as string, messagePlace(m.id)) }))
  }

  /** The reply's text and where it came from, for a verdict that sends one. */
  async function replyText (account: Account, key: ContactKey, compiled: CompiledKnowledge, verdict: Verdict, analysis: ReturnType<CompiledKnowledge['analyse']>, firstOfSession: boolean, message: string | null):
  Promise<{ text: string, source: ReplySource, validation: Decision['validation'], ai_prompt: string | null, ai_response: string | null } | null> {
    const pack = languagePack(account.language)
    const fallback = fallbackText(account)
    if (verdict.reply.kind === 'none') return null
    if (verdict.reply.kind === 'holding') return { text: pack.holding_message, source: 'template', validation: null, ai_prompt: null, ai_response: null }
    const own = knowledgeAnswer(analysis)
    if (own !== null) return { text: own, source: 'knowledge_base', validation: null, ai_prompt: null, ai_response: null }
    const kb = compiled.knowledge
    const product = verdict.reply.product
    const state = verdict.conversation.state
    const template = templateText(account.language, kb, templateName(state, analysis, product, firstOfSession), product)
    if (ai !== null && account.ai.enabled && (OBJECTIVES as readonly string[]).includes(state)) {
      const prompt = buildPrompt({
        language: account.language,
        tone: account.ai.tone,
        max_length: account.ai.max_length,
        objective: state as Objective,
        knowledge: kb,
        match: analysis,
        // The conversation so far, then the message being answered (not stored yet: it is in this decision's plan).
        history: [...await history(account.id, key), ...(message === null ? [] : [{ from: 'customer' as const, text: message }])]
      })
      const matched = analysis.products.map((p) => p.id)
      const written = await writeReply({
        prompt,
        settings: account.ai,
        complete: ai,
        validate: async (text) => await validation.validate({ account: account.id, text, matched_products: matched }),
        template,
        fallback,
        reaskText: (violations) => reaskText(account.language, violations)
      })
      const answered = written.attempts.filter((a) => a.source === 'ai' && a.text !== null).pop()
      return {
        text: written.text,
        source: written.source,
        validation: written.validation,
        ai_prompt: written.ai_prompt === null ? null : JSON.stringify(written.ai_prompt),
        ai_response: answered?.text ?? null
      }
    }
    return template === null
      ? { text: fallback, source: 'fallback', validation: null, ai_prompt: null, ai_response: null }
      : { text: template, source: 'template', validation: null, ai_prompt: null, ai_response: null }
  }

  function notificationsFor (account: Account, contact: string, state: string, message: string | null): Notification[] {
    const template = languagePack(account.language).alert_template
    const chars = [...(message ?? '')]
    const quote = chars.length > QUOTE_MAX ? chars.slice(0, QUOTE_MAX - 1).join('') + '…' : chars.join('')
    const text = template.replace('{contact}', contact).replace('{state}', state).replace('{message}', quote)
    return account.alert_numbers.map((to) => ({ to, text }))
  }

  /** A decision committed earlier, as it was answered. */
  async function replay (stored: StoredDecision): Promise<Decision> {
    if (stored.answer === null) throw new Error(`store: decision ${stored.id} has no answer`)
    return JSON.parse(await encryption.openOrFail(stored.answer, answerPlace(stored.id))) as Decision
  }

  /**
   * One decision at a time per contact on this instance: a burst of one contact's messages is decided in arrival
   * order instead of racing on the conversation's version (each loser deciding again, up to ATTEMPTS times). Other
   * instances still race, and the version check keeps that exact. Keyed in process memory only.
   */
  const lanes = new Map<string, Promise<void>>()
  async function inLane<T> (key: string, fn: () => Promise<T>): Promise<T> {
    const before = lanes.get(key)
    let release = (): void => {}
    const mine = new Promise<void>((resolve) => { release = resolve })
    const tail = before === undefined ? mine : before.then(async () => { await mine })
    lanes.set(key, tail)
    try {
      if (before !== undefined) await before
      return await fn()
    } finally {
      release()
      if (lanes.get(key) === tail) lanes.delete(key)
    }
  }

  async function incoming (input: IncomingMessage, actor: AuditActor = 'system'): Promise<Decision> {
    const started = performance.now()
    const { text, at: sentAt } = checkIncoming(input)
    return await inLane(`${input.account ?? DEFAULT_ACCOUNT}\u0000${input.contact}`, async () => await decideIncoming(input, actor, started, text, sentAt))
  }

  async function decideIncoming (input: IncomingMessage, actor: AuditActor, started: number, text: string | null, sentAt: string | null): Promise<Decision> {
    return await retried(async (zone) => {
      const read = await accounts.get(input.account)
      const account = zone === null ? read : { ...read, ...zone }
      const at = now()
      const messageKey = input.message_id === undefined || input.message_id === null ? null : encryption.lookupKey(account.id, input.message_id)
      const since = new Date(at.getTime() - IDEMPOTENCY_MS).toISOString()
      if (messageKey !== null) {
        const earlier = await store.decisionByKey(account.id, messageKey, since)
        if (earlier !== null && earlier.status !== 'deciding') return told(await replay(earlier), started, true)
      }
      const key = await encryption.contactKey(account.id, input.contact)
      const [stored, compiled, state] = await Promise.all([store.getConversation(account.id, key.id), knowledge.compiled(account.id), store.getState(account.id)])
      const analysed = compiled.analyse(text ?? input.media?.caption ?? '')
      const products = compiled.products
      const verdict = decide({
        account,
        now: at,
        conversation: stored,
        analysis: analysed,
        hints: input.hints ?? {},
        opening: activeAt(account, at),
        products,
        paused: pausedUntil(state, at.getTime()) !== null
      })
      const firstOfSession = stored === null || verdict.restarted
      // A decision that consumes nothing still records every counter (they are what the consume would see).
      const p = periodsAt(at, account)
      const unchanged = verdict.reply.kind === 'none' ? await store.getUsage(account.id, keysOf(p)) : null
      const written = await replyText(account, key, compiled, verdict, analysed, firstOfSession, text ?? input.media?.caption ?? null)
      const decisionId = `dcs_${ids()}`
      let answer: Decision | null = null
      const consumptions: Consumption[] = []
      const alerted: Array<{ trigger: AlertTrigger, severity: AlertSeverity }> = []
      const plan = decisionPlan({
        account,
        at,
        key,
        contact: input.contact,
        stored,
        verdict,
        analysed,
        products,
        written,
        decisionId,
        messageKey,
        since,
        text,
        sentAt,
        media: input.media ?? null,
        actor,
        started,
        unchanged,
        done: (a) => { answer = a },
        report: (r) => { consumptions.push(r) },
        begin: () => {
          consumptions.length = 0
          alerted.length = 0
        },
        alerted: (view) => { alerted.push(view) }
      })
      const results = await store.commit(plan)
      const claim = results[0] as ClaimResult
      if (!claim.claimed) {
        const holder = await store.getDecision(claim.id)
        if (holder === null) throw new Error(`store: the decision ${claim.id} holding a claim is gone`)
        return told(await replay(holder), started, true)
      }
      for (const c of consumptions) options.usage?.(account, p, c.usage, c.consume, c.grant)
      for (const view of alerted) options.alerts?.raised(view)
      return told(answer as unknown as Decision, started, false)
    })
  }

  function told (decision: Decision, started: number, replayed: boolean): Decision {
    events.emit({ action: decision.action, rule: decision.rule, duration_ms: performance.now() - started, replayed })
    return decision
  }

  interface PlanInput {
    account: Account
    at: Date
    key: ContactKey
    contact: string
    stored: StoredConversation | null
    verdict: Verdict
    analysed: ReturnType<CompiledKnowledge['analyse']>
    products: ReadonlyMap<string, Product>
    written: Awaited<ReturnType<typeof replyText>>
    decisionId: string
    messageKey: string | null
    since: string
    text: string | null
    sentAt: string | null
    media: IncomingMessage['media']
    actor: AuditActor
    started: number
    /** The counters, for a decision that consumes nothing. */
    unchanged: UsagePair | null
    done: (answer: Decision) => void
    /** Each consume's answer, told to the quota's observers once the plan committed. */
    report: (r: Consumption) => void
    begin: () => void
    alerted: (view: { trigger: AlertTrigger, severity: AlertSeverity }) => void
  }

  /**
   * [claim, then: claimed → consume(media) → then: granted → record | refused → consume(text) → then: …].
   * A claim already held builds nothing: the holder's decision is answered.
   */
  function decisionPlan (d: PlanInput): StoreOp[] {
    const { account, at, verdict, written } = d
    const p = periodsAt(at, account)
    const media = verdict.reply.kind === 'respond' ? verdict.reply.media : null
    const kinds: Kind[] = written === null ? [] : media !== null ? [media.type, 'text'] : ['text']
    const attempt = (i: number, refused: ConsumeResult | null): StoreOp[] => {
      if (i >= kinds.length) return finish(d, p, i === 0 ? null : kinds[i - 1], refused)
      const kind = kinds[i]
      return [
        consumeAt(account, p, at, kind, 1, 'consume'),
        thenOp<StoreOp>((r) => {
          const result = counted(r[0] as ConsumeResult, account.id)
          d.report({
            usage: result.ok ? result.after : result.usage,
            consume: { kind, allowed: result.ok, ...(result.ok ? {} : { reason: result.limit }) },
            // No grant for the quota's near-limit observer: this plan raises that alert itself (below).
          })
          return result.ok ? finish(d, p, kind, result) : attempt(i + 1, result)
        })
      ]
    }
    return [
      claimDecisionOp({ id: d.decisionId, account: account.id, key_id: d.key.id, message_key: d.messageKey, created_at: at.toISOString() }, d.since),
      thenOp<StoreOp>((r) => {
        // Built again when the store retries the transaction: what an earlier try saw is forgotten.
        d.begin()
        return (r[0] as ClaimResult).claimed ? attempt(0, null) : []
      })
    ]
  }

  /** The decision as the quota answered it: its answer, messages, conversation, record and audit entry. */
  function finish (d: PlanInput, p: Periods, kind: Kind | null, consume: ConsumeResult | null): StoreOp[] {
    const { account, at, key, verdict, written, decisionId } = d
    const granted = consume !== null && consume.ok
    let { action, rule, reason } = verdict
    let retryAfterSeconds = verdict.retry_after_seconds
    const media = verdict.reply.kind === 'respond' ? verdict.reply.media : null
    const sentMedia = granted && kind !== 'text' && media !== null ? media : null
    let reply: Decision['reply'] = null
    if (written !== null && granted) {
      const list: ReplyMedia[] = sentMedia === null
        ? []
        : [{ id: sentMedia.id, type: sentMedia.type, url: sentMedia.url, ...(sentMedia.caption === undefined ? {} : { caption: sentMedia.caption }), product: sentMedia.product }]
      reply = { text: written.text, media: list, source: written.source }
      if (action === 'respond_with_media' && sentMedia === null) action = 'respond_text'
    } else if (written !== null && consume !== null && !consume.ok && 'limits' in consume && consume.limit === 'account_paused') {
      // Paused between the read and the consume: rule 1, as a decision read after the pause answers.
      action = 'stop_automation'
      rule = 'account_paused'
      reason = 'account_paused'
      retryAfterSeconds = null
    } else if (written !== null && consume !== null && !consume.ok && 'limits' in consume && verdict.reply.kind === 'respond') {
      action = 'delay'
      rule = 'quota'
      reason = `quota:${consume.limit}`
      retryAfterSeconds = refusalRetry(consume.limit, consume.state, p, at)
    }
    const fields = { ...verdict.conversation, media_sent: sentMedia === null ? verdict.conversation.media_sent : [...verdict.conversation.media_sent, sentMedia.product] }
    const typing = reply === null ? 0 : typingSeconds(reply.text, account.typing)
    const pacing = granted && kind !== null && consume.ok ? grantedDelay(account, kind, consume.before, consume.limits, consume.state, random) : 0
    const usageNow = consume === null ? null : consume.ok ? consume.after : 'usage' in consume ? consume.usage : null
    // The limits as they bound this consume: the warm-up's cap in force lowers the daily one.
    const limits = consume !== null && 'limits' in consume ? effectiveLimits(consume.limits, consume.state.warmup_cap) : null
    const answer: Decision = {
      decision_id: decisionId,
      action,
      rule,
      reason,
      reply,
      delay_seconds: reply === null ? 0 : pacing + typing,
      typing_seconds: typing,
      retry_after_seconds: retryAfterSeconds,
      conversation: conversationView(d.contact, fields, verdict.event),
      matched: {
        products: d.analysed.products.map((m) => ({ id: m.id, name: d.products.get(m.id)?.name ?? m.id, score: m.score })),
        objection: d.analysed.objection === null ? null : { product: d.analysed.objection.product, triggers: d.analysed.objection.triggers },
        faq: d.analysed.faq === null ? null : { id: d.analysed.faq.id }
      },
      quota: usageNow === null || limits === null || kind === null
        ? null
        : { allowed: granted, kind, usage: usageView(usageNow), remaining: remainingView(usageNow, limits) },
      validation: written?.validation ?? null,
      alert: verdict.alert,
      notifications: verdict.alert === null ? [] : notificationsFor(account, d.contact, verdict.conversation.previous_state ?? verdict.conversation.state, d.text ?? d.media?.caption ?? null)
    }

    const iso = at.toISOString()
    const incomingId = ids()
    const messages: StoredMessage[] = [{
      id: incomingId,
      account: account.id,
      key_id: key.id,
      direction: 'in',
      sender: 'customer',
      text: d.text === null && (d.media?.caption ?? null) === null ? null : key.seal(d.text ?? d.media?.caption as string, messagePlace(incomingId)),
      media_type: d.media?.type ?? null,
      decision_id: decisionId,
      at: d.sentAt ?? iso
    }]
    if (reply !== null) {
      const outId = ids()
      messages.push({ id: outId, account: account.id, key_id: key.id, direction: 'out', sender: 'bot', text: key.seal(reply.text, messagePlace(outId)), media_type: sentMedia?.type ?? null, decision_id: decisionId, at: iso })
    }
    const consumed: Consumed | null = granted && kind !== null ? { kind, count: 1, hour: p.hour, day: p.day, week: p.week } : null
    const before = consume === null ? d.unchanged ?? undefined : consume.ok ? consume.before : 'usage' in consume ? consume.usage : undefined
    const after = usageNow ?? d.unchanged
    const entry: AuditInput = {
      account: account.id,
      actor: d.actor,
      type: 'decision',
      contact: d.contact,
      ...(d.messageKey === null ? {} : { message_id: d.messageKey }),
      ...(d.text === null ? {} : { incoming_message: d.text }),
      state_before: d.stored?.state ?? 'discovery',
      state_after: fields.state,
      ...(verdict.event === null ? {} : { event: verdict.event }),
      rule,
      action,
      ...(reason === null ? {} : { reason }),
      ...(reply === null ? {} : { reply_source: reply.source, sent_message: reply.text }),
      ...(written?.ai_prompt == null ? {} : { ai_prompt: written.ai_prompt }),
      ...(written?.ai_response == null ? {} : { ai_response: written.ai_response }),
      ...(written?.validation == null ? {} : { validation: written.validation as unknown as JsonObject }),
      ...(before === undefined ? {} : { quotas_before: usageView(before) as unknown as JsonObject }),
      ...(after === null ? {} : { quotas_after: usageView(after) as unknown as JsonObject }),
      duration_ms: Math.round(performance.now() - d.started),
      details: { decision_id: decisionId }
    }
    let alertOp: CreateAlertOp | null = null
    if (verdict.alert !== null && options.alerts !== undefined) {
      const raised = options.alerts.raise({
        account,
        key,
        contact: d.contact,
        trigger: verdict.alert.trigger,
        severity: verdict.alert.severity,
        state: verdict.conversation.previous_state ?? verdict.conversation.state,
        message: d.text ?? d.media?.caption ?? null,
        decision_id: decisionId,
        at
      })
      alertOp = raised.op
      answer.alert = { id: raised.view.id, ...verdict.alert }
      d.alerted(raised.view)
    }
    d.done(answer)
    const ops: Array<WriteOp & StoreOp> = [
      saveConversationOp({
        account: account.id,
        key_id: key.id,
        contact: key.seal(d.contact, contactPlace(key.id)),
        ...fields,
        created_at: d.stored?.created_at ?? iso,
        last_message_at: iso
      }, d.stored?.version ?? 0),
      appendMessagesOp(messages),
      recordDecisionOp(decisionId, reply === null ? 'done' : 'pending', key.seal(JSON.stringify(answer), answerPlace(decisionId)), consumed),
      ...(alertOp === null ? [] : [alertOp]),
      audit.entryUnder(key, { ...entry, ...(answer.alert?.id === undefined ? {} : { details: { decision_id: decisionId, alert_id: answer.alert.id } }) })
    ]
    // A counter this reply took across 80 % of its limit: `quota_near_limit`, in this same transaction, once per
    // period and limit (an alert of that key stored already, on any instance, makes it store nothing).
    if (granted && consume.ok && options.alerts !== undefined) {
      for (const raised of options.alerts.nearLimit({ account, periods: p, before: consume.before, after: consume.after, limits: consume.limits, decision_id: decisionId, at })) {
        const index = ops.length
        ops.push(raised.op, thenOp<StoreOp>((r) => {
          if (r[index] === true) d.alerted(raised.view)
          return []
        }))
      }
    }
    return ops
  }

  /** The decision, with its contact's data key in hand (for the records written about it). */
  async function decisionOf (id: string, account: string): Promise<{ decision: StoredDecision, key: ContactKey, contact: string | undefined }> {
    const decision = await store.getDecision(id)
    if (decision === null || decision.account !== account || decision.status === 'deciding') throw UnknownDecision(id)
    const key = await encryption.keyHandle(decision.key_id)
    if (key === null) throw UnknownDecision(id)
    // The contact, for the report's audit record: the answer names it.
    const contact = decision.answer === null ? undefined : (JSON.parse(key.open(decision.answer, answerPlace(id))) as Decision).conversation.contact
    return { decision, key, contact }
  }

  /** The gateway sent the reply: recorded once; again is the same answer; after `failed` a 409. */
  async function sent (id: string, input: { account?: string, message_id?: string | null }, actor: AuditActor = 'system'): Promise<{ status: 'sent' }> {
    const account = await accounts.get(input.account)
    for (let attempt = 1; ; attempt++) {
      const { decision, key, contact } = await decisionOf(id, account.id)
      if (decision.status === 'sent') return { status: 'sent' }
      if (decision.status !== 'pending') throw DecisionNotSendable(id, decision.status)
      const details: JsonObject = { decision_id: id }
      if (input.message_id !== undefined && input.message_id !== null) details.sent_message_id = encryption.lookupKey(account.id, input.message_id)
      const [moved] = await store.commit([
        markDecisionOp(id, ['pending'], 'sent'),
        { ...audit.entryUnder(key, { account: account.id, actor, type: 'sent', contact, details }), when: (previous: unknown) => previous === true }
      ])
      if (moved) return { status: 'sent' }
      // Moved by another report meanwhile: read again, it is no longer pending.
      if (attempt >= ATTEMPTS) throw new Error(`store: decision ${id} stays pending but cannot be marked`)
    }
  }

  /**
   * The gateway could not send it: what it consumed is given back, in the periods still current only (a send
   * that failed yesterday does not free today's quota). Again is the same answer; after `sent` a 409.
   */
  async function failed (id: string, input: { account?: string, error?: string | null }, actor: AuditActor = 'system'): Promise<{ status: 'failed', released: boolean, usage: ReturnType<typeof usageView> }> {
    const account = await accounts.get(input.account)
    const { decision, key, contact } = await decisionOf(id, account.id)
    const at = now()
    const p = periodsAt(at, account)
    const c = decision.consumed
    const periods = c === null ? [] : [c.hour === p.hour ? c.hour : null, c.day === p.day ? c.day : null, c.week === p.week ? c.week : null].filter((x): x is string => x !== null && x !== undefined)
    const released = periods.length > 0
    // Again: what the first report gave back, not what would be given back now.
    if (decision.status === 'failed') return { status: 'failed', released: decision.released === true, usage: usageView(await store.getUsage(account.id, keysOf(p))) }
    if (decision.status !== 'pending') throw DecisionNotSendable(id, decision.status)
    const moved = (previous: unknown): boolean => previous === true
    const plan: StoreOp[] = [markDecisionOp(id, ['pending'], 'failed', undefined, released)]
    if (released && c !== null) plan.push({ ...releaseOp({ account: account.id, periods, kind: c.kind, count: c.count }), when: moved })
    plan.push(thenOp<StoreOp>((r) => r[0] === true ? [audit.entryUnder(key, { account: account.id, actor, type: 'failed', contact, details: { decision_id: id, released } })] : []))
    const [marked] = await store.commit(plan)
    // Moved by another report meanwhile: answered as that one stands.
    if (marked !== true) return await failed(id, input, actor)
    const usage = await store.getUsage(account.id, keysOf(p))
    options.usage?.(account, p, usage, null)
    return { status: 'failed', released, usage: usageView(usage) }
  }

  /**
   * A message a person sent from the number: counted (it was sent), stored, and the conversation paused for
   * `human_takeover_minutes` from now (each one extends it).
   */
  async function outgoing (input: OutgoingMessage, actor: AuditActor = 'system'): Promise<{ paused_until: string, usage: ReturnType<typeof usageView> }> {
    const text = input.text ?? null
    if (text !== null && [...text].length > TEXT_MAX) throw BadRequest(`body/text must be at most ${TEXT_MAX} characters`)
    return await retried(async (zone) => {
      const read = await accounts.get(input.account)
      const account = zone === null ? read : { ...read, ...zone }
      const key = await encryption.contactKey(account.id, input.contact)
      const stored = await store.getConversation(account.id, key.id)
      const at = now()
      const iso = at.toISOString()
      const p = periodsAt(at, account)
      const pausedUntil = new Date(at.getTime() + account.human_takeover_minutes * 60_000).toISOString()
      const kind: Kind = input.media_type === 'image' || input.media_type === 'video' ? input.media_type : 'text'
      const messageId = ids()
      let after: UsagePair | null = null
      const plan: StoreOp[] = [
        consumeAt(account, p, at, kind, 1, 'record'),
        thenOp<StoreOp>((r) => {
          const result = counted(r[0] as ConsumeResult, account.id)
          if (!result.ok) throw new Error('store: a record was refused')
          after = result.after
          const fields = stored ?? { state: 'discovery' as const, previous_state: null, last_event: null, misunderstandings: 0, session_started_at: iso, media_sent: [], created_at: iso }
          return [
            saveConversationOp({
              account: account.id,
              key_id: key.id,
              contact: key.seal(input.contact, contactPlace(key.id)),
              state: fields.state,
              previous_state: fields.previous_state,
              last_event: fields.last_event,
              misunderstandings: fields.misunderstandings,
              session_started_at: fields.session_started_at,
              media_sent: fields.media_sent,
              created_at: fields.created_at,
              paused_until: pausedUntil,
              last_message_at: iso
            }, stored?.version ?? 0),
            appendMessagesOp([{
              id: messageId, account: account.id, key_id: key.id, direction: 'out', sender: 'human', text: text === null ? null : key.seal(text, messagePlace(messageId)), media_type: input.media_type ?? null, decision_id: null, at: iso
            }]),
            audit.entryUnder(key, {
              account: account.id,
              actor,
              type: 'human_message',
              contact: input.contact,
              ...(text === null ? {} : { sent_message: text }),
              ...(input.message_id === undefined || input.message_id === null ? {} : { message_id: encryption.lookupKey(account.id, input.message_id) }),
              quotas_before: usageView(result.before) as unknown as JsonObject,
              quotas_after: usageView(result.after) as unknown as JsonObject,
              details: { paused_until: pausedUntil }
            })
          ]
        })
      ]
      await store.commit(plan)
      const usage = after as unknown as UsagePair
      options.usage?.(account, p, usage, null)
      return { paused_until: pausedUntil, usage: usageView(usage) }
    })
  }

  return {
    incoming,
    sent,
    failed,
    outgoing,
    /** One account's decisions per hour over the last `hours` hours (the current one included); 404 for an unknown account. */
    hourly: async (accountId: string | undefined, hours: number): Promise<HourlyView> => {
      const account = await accounts.get(accountId)
      const at = now().getTime()
      return hourlyView(account.id, await store.decisionsPerHour(account.id, hourlySince(at, hours)), at, hours)
    },
    /** Be told of every decision answered (metrics). */
    observe: events.observe
  }
}

export type DecisionService = ReturnType<typeof createDecisionService>
