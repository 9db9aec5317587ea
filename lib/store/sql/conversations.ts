/**
 * Conversations, their messages and decisions as both backends store them: the statements written once with
 * `?` placeholders (`dialect.pg` numbers them), the input checks and the row mapping.
 */
import { EVENTS, STATES, type ConversationEvent, type State } from '../../conversations/machine.js'
import { DIRECTIONS, SENDERS, type ConversationQuery, type StoredConversation, type StoredMessage } from '../../conversations/store.js'
import { DECISION_STATUSES, type Consumed, type DecisionStatus, type HourlyDecisions, type StoredDecision } from '../../decisions/store.js'
import { KINDS } from '../../quota/types.js'
import { jsonValue, num, textOrNull, toIso, type Row } from './rows.js'

const CONVERSATION_COLUMNS = [
  'account', 'key_id', 'contact', 'state', 'previous_state', 'last_event', 'misunderstandings', 'paused_until',
  'created_at', 'last_message_at', 'session_started_at', 'media_sent'
] as const
export const MESSAGE_COLUMNS = ['id', 'account', 'key_id', 'direction', 'sender', 'text', 'media_type', 'decision_id', 'at'] as const

const marks = (n: number): string => Array.from({ length: n }, () => '?').join(', ')

export const CONVERSATION_SQL = {
  get: 'SELECT * FROM conversations WHERE account = ? AND key_id = ?',
  insert: `INSERT INTO conversations (${CONVERSATION_COLUMNS.join(', ')}, version) VALUES (${marks(CONVERSATION_COLUMNS.length)}, 1)
    ON CONFLICT (account, key_id) DO NOTHING RETURNING version`,
  update: `UPDATE conversations SET ${CONVERSATION_COLUMNS.slice(2).map((c) => `${c} = ?`).join(', ')}, version = version + 1
    WHERE account = ? AND key_id = ? AND version = ? RETURNING version`,
  insertMessage: `INSERT INTO conversation_messages (${MESSAGE_COLUMNS.join(', ')}) VALUES (${marks(MESSAGE_COLUMNS.length)})`,
  messages: 'SELECT * FROM conversation_messages WHERE account = ? AND key_id = ? ORDER BY at DESC, id DESC LIMIT ?',
  states: 'SELECT state, count(*) AS n FROM conversations GROUP BY state ORDER BY state',
  getDecision: 'SELECT * FROM decisions WHERE id = ?',
  perHour: `SELECT substr(created_at, 1, 13) AS hour, status, count(*) AS n FROM decisions
    WHERE account = ? AND created_at >= ? AND status <> 'deciding' GROUP BY substr(created_at, 1, 13), status ORDER BY hour, status`,
  decisionByKey: 'SELECT * FROM decisions WHERE account = ? AND message_key = ? AND created_at >= ?',
  releaseClaim: 'UPDATE decisions SET message_key = NULL WHERE account = ? AND message_key = ? AND created_at < ?',
  claim: `INSERT INTO decisions (id, account, key_id, message_key, status, created_at) VALUES (?, ?, ?, ?, 'deciding', ?)
    ON CONFLICT (account, message_key) DO NOTHING RETURNING id`,
  claimHolder: 'SELECT id FROM decisions WHERE account = ? AND message_key = ?',
  record: "UPDATE decisions SET status = ?, answer = ?, consumed = ? WHERE id = ? AND status = 'deciding'"
} as const

/** `DELETE FROM <table> WHERE account = ? AND key_id IN (…)`: an erasure's statements. */
export function eraseSql (table: 'conversations' | 'conversation_messages' | 'decisions', keyIds: readonly string[]): string {
  return `DELETE FROM ${table} WHERE account = ? AND key_id IN (${marks(keyIds.length)})`
}

/** `UPDATE decisions SET status = ? WHERE id = ? AND status IN (…)`. */
export function markSql (from: readonly DecisionStatus[]): string {
  return `UPDATE decisions SET status = ?, released = ? WHERE id = ? AND status IN (${marks(from.length)})`
}

export function listConversationsSql (q: ConversationQuery): { sql: string, params: unknown[] } {
  const where = ['account = ?']
  const params: unknown[] = [q.account]
  if (q.state !== undefined) { where.push('state = ?'); params.push(q.state) }
  if (q.before !== undefined) {
    where.push('(last_message_at < ? OR (last_message_at = ? AND key_id < ?))')
    params.push(q.before.last_message_at, q.before.last_message_at, q.before.key_id)
  }
  params.push(q.limit)
  return { sql: `SELECT * FROM conversations WHERE ${where.join(' AND ')} ORDER BY last_message_at DESC, key_id DESC LIMIT ?`, params }
}

function fail (message: string): never {
  throw new TypeError(`store: ${message}`)
}
const isId = (v: unknown): v is string => typeof v === 'string' && v !== ''
const oneOf = (values: readonly string[], v: unknown): boolean => typeof v === 'string' && values.includes(v)

export function checkConversation (c: Omit<StoredConversation, 'version'>, expected: number): void {
  if (c === null || typeof c !== 'object') fail('conversations.save needs a conversation')
  if (!isId(c.account) || !isId(c.key_id) || !isId(c.contact)) fail('a conversation needs an account, a data key id and its contact')
  if (!oneOf(STATES, c.state) || (c.previous_state !== null && !oneOf(STATES, c.previous_state))) fail(`unknown conversation state ${JSON.stringify(c.state)}`)
  if (c.last_event !== null && !oneOf(EVENTS, c.last_event)) fail(`unknown conversation event ${JSON.stringify(c.last_event)}`)
  if (!Number.isSafeInteger(c.misunderstandings) || c.misunderstandings < 0) fail('misunderstandings must be an integer >= 0')
  if (!Array.isArray(c.media_sent) || c.media_sent.some((p) => typeof p !== 'string')) fail('media_sent must be a list of product ids')
  for (const at of [c.created_at, c.last_message_at, c.session_started_at]) toIso(at)
  if (c.paused_until !== null) toIso(c.paused_until)
  if (!Number.isSafeInteger(expected) || expected < 0) fail('expected must be the version read (0: none)')
}

export function checkMessage (m: StoredMessage): void {
  if (m === null || typeof m !== 'object' || !isId(m.id) || !isId(m.account) || !isId(m.key_id)) fail('a message needs an id, an account and a data key id')
  if (!oneOf(DIRECTIONS, m.direction) || !oneOf(SENDERS, m.sender)) fail('a message needs a direction and a sender')
  if (m.text !== null && typeof m.text !== 'string') fail('a message text is a string or null')
  toIso(m.at)
}

export function checkKeyIds (keyIds: readonly string[]): void {
  if (!Array.isArray(keyIds) || keyIds.length === 0 || keyIds.some((k) => !isId(k))) fail('an erasure needs a non-empty list of data key ids')
}

export function checkConsumed (c: Consumed | null): void {
  if (c === null) return
  if (c === undefined || typeof c !== 'object' || !oneOf(KINDS, c.kind) || !Number.isSafeInteger(c.count) || c.count < 1 || !isId(c.day) || !isId(c.week)) {
    fail('consumed is null or {kind, count, day, week}')
  }
}

export function checkStatuses (from: readonly DecisionStatus[]): void {
  if (!Array.isArray(from) || from.length === 0 || from.some((s) => !oneOf(DECISION_STATUSES, s))) fail('decisions.mark needs the list of statuses a decision may leave')
}

export function conversationValues (c: Omit<StoredConversation, 'version'>): unknown[] {
  return [
    c.account, c.key_id, c.contact, c.state, c.previous_state, c.last_event, c.misunderstandings, c.paused_until === null ? null : toIso(c.paused_until),
    toIso(c.created_at), toIso(c.last_message_at), toIso(c.session_started_at), JSON.stringify(c.media_sent)
  ]
}

/** The update's parameters: every column after the key, then the key and the version read. */
export function conversationUpdateValues (c: Omit<StoredConversation, 'version'>, expected: number): unknown[] {
  const [account, keyId, ...rest] = conversationValues(c)
  return [...rest, account, keyId, expected]
}

export function messageValues (m: StoredMessage): unknown[] {
  return [m.id, m.account, m.key_id, m.direction, m.sender, m.text, m.media_type, m.decision_id, toIso(m.at)]
}

export function rowToConversation (r: Row): StoredConversation {
  return {
    account: String(r.account),
    key_id: String(r.key_id),
    contact: String(r.contact),
    state: String(r.state) as State,
    previous_state: textOrNull(r.previous_state) as State | null,
    last_event: textOrNull(r.last_event) as ConversationEvent | null,
    misunderstandings: num(r.misunderstandings),
    paused_until: textOrNull(r.paused_until),
    created_at: String(r.created_at),
    last_message_at: String(r.last_message_at),
    session_started_at: String(r.session_started_at),
    media_sent: jsonValue(r.media_sent) as string[],
    version: num(r.version)
  }
}

export function rowToMessage (r: Row): StoredMessage {
  return {
    id: String(r.id),
    account: String(r.account),
    key_id: String(r.key_id),
    direction: String(r.direction) as StoredMessage['direction'],
    sender: String(r.sender) as StoredMessage['sender'],
    text: textOrNull(r.text),
    media_type: textOrNull(r.media_type),
    decision_id: textOrNull(r.decision_id),
    at: String(r.at)
  }
}

export function rowToDecision (r: Row): StoredDecision {
  return {
    id: String(r.id),
    account: String(r.account),
    key_id: String(r.key_id),
    message_key: textOrNull(r.message_key),
    status: String(r.status) as DecisionStatus,
    created_at: String(r.created_at),
    answer: textOrNull(r.answer),
    consumed: r.consumed === null || r.consumed === undefined ? null : jsonValue(r.consumed) as Consumed,
    released: r.released === null || r.released === undefined ? null : Number(r.released) === 1
  }
}

/** A row of `perHour`. */
export function rowToHourly (r: Row): HourlyDecisions {
  return { hour: String(r.hour), status: String(r.status) as HourlyDecisions['status'], count: num(r.n) }
}
