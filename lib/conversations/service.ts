/**
 * What an operator does with conversations: list and read them (messages decrypted), take one over (pause),
 * give it back (resume), freeze it, and erase a contact for good (README, "Data protection": the contact's data key goes, so every
 * text under it anywhere becomes unreadable, and the conversation rows go with it).
 */
import type { Account } from '../accounts/types.js'
import type { AuditActor, AuditInput } from '../audit/recorder.js'
import type { AppendAuditOp } from '../audit/store.js'
import type { ContactKey } from '../encryption/service.js'
import type { EraseDataKeysOp } from '../encryption/store.js'
import { BadRequest, defineError } from '../shared/errors.js'
import type { UnitOfWork } from '../shared/unit-of-work.js'
import type { StoreOp } from '../store/contract.js'
import { transition, type ConversationEvent, type State } from './machine.js'
import { ConversationChanged, contactPlace, eraseConversationsOp, messagePlace, saveConversationOp, type ConversationReads, type Sender, type StoredConversation } from './store.js'

export const UnknownConversation = defineError('SELLIFY_UNKNOWN_CONVERSATION', 404, () => 'no conversation with this contact')

/** Messages a conversation's detail shows. */
export const DETAIL_MESSAGES = 50
const ATTEMPTS = 5

export interface ConversationSummary {
  contact: string
  state: State
  previous_state: State | null
  last_event: ConversationEvent | null
  paused_until: string | null
  misunderstandings: number
  created_at: string
  last_message_at: string
}

export interface MessageView {
  direction: 'in' | 'out'
  sender: Sender
  text: string | null
  media_type: string | null
  decision_id: string | null
  at: string
}

export interface ConversationServiceOptions {
  store: ConversationReads & UnitOfWork<StoreOp>
  accounts: { get: (id?: string) => Promise<Account> }
  encryption: {
    contactKeyIds: (account: string, contact: string) => Promise<string[]>
    keyHandle: (id: string) => Promise<ContactKey | null>
    eraseOp: (account: string, contact: string) => EraseDataKeysOp
    forget: (erased: readonly string[]) => void
  }
  audit: {
    entry: (input: AuditInput) => Promise<AppendAuditOp>
    entryUnder: (key: ContactKey, input: AuditInput) => AppendAuditOp
  }
  now: () => Date
}

/** The listing's cursor: the position of the last conversation of a page, opaque to clients. */
function cursorOf (c: StoredConversation): string {
  return Buffer.from(`${c.last_message_at}\n${c.key_id}`).toString('base64url')
}

function parseCursor (cursor: string): { last_message_at: string, key_id: string } {
  const [at, keyId, extra] = Buffer.from(cursor, 'base64url').toString('utf8').split('\n')
  if (extra !== undefined || keyId === undefined || keyId === '' || Number.isNaN(Date.parse(at))) throw BadRequest(`querystring/before ${JSON.stringify(cursor)} is not a cursor this listing gave`)
  return { last_message_at: at, key_id: keyId }
}

export function createConversationService (options: ConversationServiceOptions) {
  const { store, accounts, encryption, audit, now } = options

  function summary (c: StoredConversation, key: ContactKey): ConversationSummary {
    return {
      contact: key.open(c.contact, contactPlace(c.key_id)),
      state: c.state,
      previous_state: c.previous_state,
      last_event: c.last_event,
      paused_until: c.paused_until,
      misunderstandings: c.misunderstandings,
      created_at: c.created_at,
      last_message_at: c.last_message_at
    }
  }

  /** The contact's conversation and data key, or a 404. */
  async function find (account: string, contact: string): Promise<{ stored: StoredConversation, key: ContactKey }> {
    for (const id of await encryption.contactKeyIds(account, contact)) {
      const [stored, key] = await Promise.all([store.getConversation(account, id), encryption.keyHandle(id)])
      if (stored !== null && key !== null) return { stored, key }
    }
    throw UnknownConversation()
  }

  /** Change one conversation (read, change, compare-and-set), with the record of the change in the same transaction. */
  async function change (accountId: string | undefined, contact: string, type: 'conversation_paused' | 'conversation_resumed' | 'conversation_frozen', actor: AuditActor,
    next: (c: StoredConversation, account: Account) => Partial<StoredConversation>): Promise<ConversationSummary> {
    const account = await accounts.get(accountId)
    for (let attempt = 1; ; attempt++) {
      const { stored, key } = await find(account.id, contact)
      const changed = { ...stored, ...next(stored, account) }
      const { version: _, ...row } = changed
      try {
        await store.commit([
          saveConversationOp(row, stored.version),
          audit.entryUnder(key, { account: account.id, actor, type, contact, state_before: stored.state, state_after: changed.state, details: { paused_until: changed.paused_until } })
        ])
        return summary(changed, key)
      } catch (err) {
        if (ConversationChanged.is(err) && attempt < ATTEMPTS) continue
        throw err
      }
    }
  }

  return {
    async list (query: { account?: string, state?: State, limit: number, before?: string }): Promise<{ conversations: ConversationSummary[], next_before: string | null }> {
      const account = await accounts.get(query.account)
      const rows = await store.listConversations({
        account: account.id, state: query.state, limit: query.limit, ...(query.before === undefined ? {} : { before: parseCursor(query.before) })
      })
      const conversations: ConversationSummary[] = []
      for (const row of rows) {
        const key = await encryption.keyHandle(row.key_id)
        // Its key erased meanwhile: the rows go with the erasure's transaction, so this is a race; leave it out.
        if (key !== null) conversations.push(summary(row, key))
      }
      return { conversations, next_before: rows.length === query.limit && rows.length > 0 ? cursorOf(rows[rows.length - 1]) : null }
    },

    /** The conversation with its last DETAIL_MESSAGES messages, oldest first, decrypted. */
    async get (accountId: string | undefined, contact: string): Promise<ConversationSummary & { messages: MessageView[] }> {
      const account = await accounts.get(accountId)
      const { stored, key } = await find(account.id, contact)
      const rows = await store.conversationMessages(account.id, stored.key_id, DETAIL_MESSAGES)
      const messages = rows.reverse().map((m) => ({
        direction: m.direction,
        sender: m.sender,
        text: m.text === null ? null : key.open(m.text, messagePlace(m.id)),
        media_type: m.media_type,
        decision_id: m.decision_id,
        at: m.at
      }))
      return { ...summary(stored, key), messages }
    },

    /** A person takes the conversation over for `minutes` (default: the account's `human_takeover_minutes`). */
    pause: (account: string | undefined, contact: string, minutes: number | undefined, actor: AuditActor = 'system') =>
      change(account, contact, 'conversation_paused', actor, (_c, a) => ({ paused_until: new Date(now().getTime() + (minutes ?? a.human_takeover_minutes) * 60_000).toISOString() })),

    /** The pause is cleared; an escalated or frozen conversation starts over in `discovery`. */
    resume: (account: string | undefined, contact: string, actor: AuditActor = 'system') =>
      change(account, contact, 'conversation_resumed', actor, (c) => c.state === 'escalated' || c.state === 'frozen'
        ? { paused_until: null, state: 'discovery', previous_state: c.state, misunderstandings: 0 }
        : { paused_until: null }),

    freeze: (account: string | undefined, contact: string, actor: AuditActor = 'system') =>
      change(account, contact, 'conversation_frozen', actor, (c) => {
        const state = transition(c.state, 'freeze')
        return { state, previous_state: state === c.state ? c.previous_state : c.state, last_event: 'freeze' }
      }),

    /**
     * Erasure: the contact's conversation, messages and decisions deleted and its data key destroyed, in one
     * transaction. The record says that an erasure happened, never of whom. Answers whether anything was erased.
     */
    async erase (accountId: string | undefined, contact: string, actor: AuditActor = 'system'): Promise<boolean> {
      const account = await accounts.get(accountId)
      const keyIds = await encryption.contactKeyIds(account.id, contact)
      if (keyIds.length === 0) return false
      const [conversations, erased] = await store.commit([
        eraseConversationsOp(account.id, keyIds),
        encryption.eraseOp(account.id, contact),
        await audit.entry({ account: account.id, actor, type: 'conversation_erased', details: { data_keys: keyIds.length } })
      ])
      encryption.forget(erased)
      return conversations > 0 || erased.length > 0
    }
  }
}

export type ConversationService = ReturnType<typeof createConversationService>
