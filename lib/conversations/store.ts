/**
 * What the conversations engine needs of a store. A conversation is keyed by (account, the contact's data
 * key id): the data key is found by the contact's blind index and keeps its id through a key rotation, so no
 * contact id is stored in clear and nothing has to be re-keyed when the master key changes.
 */
import type { Place } from '../crypto/index.js'
import type { UnitOfWork, WriteOp } from '../shared/unit-of-work.js'
import { defineError } from '../shared/errors.js'
import type { ConversationEvent, State } from './machine.js'

export const DIRECTIONS = ['in', 'out'] as const
export const SENDERS = ['customer', 'bot', 'human'] as const
export type Sender = typeof SENDERS[number]

export interface StoredConversation {
  account: string
  /** The contact's data key id. */
  key_id: string
  /** The contact id, encrypted under its data key. */
  contact: string
  state: State
  previous_state: State | null
  last_event: ConversationEvent | null
  misunderstandings: number
  /** ISO 8601: a person took the conversation over until then. */
  paused_until: string | null
  created_at: string
  last_message_at: string
  /** When the current session began (a session expiry starts a new one). */
  session_started_at: string
  /** The products whose media were sent to the contact in this session. */
  media_sent: string[]
  /** Grows by one with every save; a save names the version it read. */
  version: number
}

export interface StoredMessage {
  id: string
  account: string
  key_id: string
  direction: typeof DIRECTIONS[number]
  sender: Sender
  /** Encrypted under the contact's data key; null for a media message without a caption. */
  text: string | null
  media_type: string | null
  decision_id: string | null
  at: string
}

/** Where a conversation's contact and a message's text are stored: what their ciphertexts are bound to. */
export const contactPlace = (keyId: string): Place => ({ table: 'conversations', column: 'contact', row: keyId })
export const messagePlace = (id: string): Place => ({ table: 'conversation_messages', column: 'text', row: id })

/** The conversation was saved by another writer since it was read: read it again and decide again. */
export const ConversationChanged = defineError('SELLIFY_CONVERSATION_CHANGED', 409, () => 'the conversation changed while this message was decided')

/**
 * Insert or replace the conversation, only while its stored version is still `expected` (0: it does not exist
 * yet); the new version. Throws `ConversationChanged` otherwise, so the whole plan is undone.
 */
export interface SaveConversationOp extends WriteOp<'conversations.save', number> {
  readonly conversation: Omit<StoredConversation, 'version'>
  readonly expected: number
}

export interface AppendMessagesOp extends WriteOp<'conversations.messages', number> {
  readonly messages: readonly StoredMessage[]
}

/** Delete the conversations (their messages and decisions too) under these data keys: the number deleted. */
export interface EraseConversationsOp extends WriteOp<'conversations.erase', number> {
  readonly account: string
  readonly key_ids: readonly string[]
}

export type ConversationOp = SaveConversationOp | AppendMessagesOp | EraseConversationsOp

export const saveConversationOp = (conversation: Omit<StoredConversation, 'version'>, expected: number): SaveConversationOp =>
  ({ op: 'conversations.save', conversation, expected })
export const appendMessagesOp = (messages: readonly StoredMessage[]): AppendMessagesOp => ({ op: 'conversations.messages', messages })
export const eraseConversationsOp = (account: string, keyIds: readonly string[]): EraseConversationsOp =>
  ({ op: 'conversations.erase', account, key_ids: keyIds })

export interface ConversationQuery {
  account: string
  state?: State
  /** Newest activity first, the ones after this position. */
  before?: { last_message_at: string, key_id: string }
  limit: number
}

export interface ConversationReads {
  getConversation: (account: string, keyId: string) => Promise<StoredConversation | null>
  listConversations: (query: ConversationQuery) => Promise<StoredConversation[]>
  /** The newest `limit` messages, newest first. */
  conversationMessages: (account: string, keyId: string, limit: number) => Promise<StoredMessage[]>
  /** How many conversations are in each state, over every account (metrics: counts, never contact ids). */
  conversationStates: () => Promise<Record<string, number>>
}

export type ConversationStore = ConversationReads & UnitOfWork<ConversationOp>
