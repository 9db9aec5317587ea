/**
 * A Baileys WhatsApp bot whose every answer is decided by Sellify Core (README, "Deciding every message").
 *
 * - A customer's message → POST /api/v1/messages/incoming → wait, show "typing…", send,
 *   then POST /messages/:decision_id/sent (or /failed, which gives the quota back).
 * - A message a person sent from the phone → POST /api/v1/messages/outgoing, so Sellify
 *   pauses the conversation for them (human takeover, README, "Deciding every message").
 * - Each decision's `notifications` → WhatsApp texts to the alert numbers (README, "Alerts").
 * - A closed connection with a status code → POST /api/v1/accounts/:account/signals (the anti-ban signals route, not built yet).
 *
 * Logs carry message ids, decision ids and status codes only: never a customer's text or number.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import {
  DisconnectReason, generateMessageIDV2, isJidUser, isLidUser, jidNormalizedUser, makeWASocket,
  normalizeMessageContent, toNumber, useMultiFileAuthState,
  type AnyMessageContent, type SocketConfig, type WAMessage, type WASocket
} from '@whiskeysockets/baileys'

const SELLIFY_URL = (process.env.SELLIFY_URL ?? 'http://127.0.0.1:3000').replace(/\/+$/, '')
const API_KEY = process.env.SELLIFY_API_KEY ?? ''
const ACCOUNT = process.env.SELLIFY_ACCOUNT || undefined
const AUTH_DIR = process.env.BAILEYS_AUTH_DIR ?? 'baileys-auth'
if (API_KEY === '') {
  console.error('SELLIFY_API_KEY is required')
  process.exit(1)
}
// Requests that name no account use `default` (README, "How quotas work"); an agent key's own account works too.
const accountField = ACCOUNT ? { account: ACCOUNT } : {}
const MAX_TEXT = 4096 // the incoming route refuses longer texts (README, "Deciding every message")
const MAX_DELAY_RETRIES = 5

type MediaType = 'image' | 'video' | 'audio' | 'document' | 'sticker'
type Action = 'respond_text' | 'respond_with_media' | 'ignore' | 'delay' | 'alert_human' | 'stop_automation'

interface IncomingMessage {
  account?: string
  contact: string
  message_id: string
  text?: string
  media?: { type: MediaType, caption?: string }
  timestamp: string
}

interface ReplyMedia { id: string, type: 'image' | 'video', url: string, caption?: string }
interface Reply { text: string, media: ReplyMedia[], source: 'knowledge_base' | 'template' | 'ai' | 'fallback' }
interface Notification { to: string, text: string }

interface Decision {
  decision_id: string
  action: Action
  rule: string
  reason: string | null
  reply: Reply | null
  delay_seconds: number | null // pacing plus typing_seconds: the whole wait before the send
  typing_seconds: number | null // the last part of that wait, shown as "typing…"
  retry_after_seconds: number | null
  conversation: { contact: string, state: string, previous_state: string | null, event: string | null, paused_until: string | null, misunderstandings: number }
  // Shown for dashboards and audits; the bot needs none of them to act.
  matched: unknown
  quota: unknown
  validation: unknown
  alert: unknown
  notifications: Notification[]
}

type Ids = Record<string, string | number | undefined>
function log (level: 'info' | 'warn' | 'error', msg: string, ids: Ids = {}): void {
  console[level](JSON.stringify({ time: new Date().toISOString(), level, msg, ...ids }))
}
const errorText = (err: unknown): string => err instanceof Error ? err.message : String(err)

class HttpError extends Error {
  readonly status: number
  constructor (status: number, path: string) {
    // The error body is not copied in: a 400 may quote the field that held the customer's text.
    super(`POST ${path} answered ${status}`)
    this.status = status
  }
}

/** POST JSON to Sellify. Retries only calls the server treats as idempotent (attempts > 1). */
async function post<T> (path: string, body: object, attempts = 1): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await fetch(SELLIFY_URL + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000)
      })
      if (!res.ok) throw new HttpError(res.status, path)
      return await res.json() as T
    } catch (err) {
      // Network errors, timeouts, 429 and 5xx may pass; any other 4xx will answer the same again.
      const transient = !(err instanceof HttpError) || err.status === 429 || err.status >= 500
      if (!transient || attempt >= attempts) throw err
      await sleep(attempt * 1000)
    }
  }
}

// Ids of the messages this bot sent, so their echo is never reported as a human's message
// (which would pause the conversation). Bounded: an echo arrives within seconds.
const sentByBot = new Set<string>()
function rememberSent (id: string | null | undefined): void {
  if (!id) return
  sentByBot.add(id)
  const oldest = sentByBot.values().next() // a Set iterates in insertion order
  if (sentByBot.size > 10_000 && !oldest.done) sentByBot.delete(oldest.value)
}

// One promise chain per contact: a customer who sends two messages gets two answers in order,
// each after its own pacing, while other customers are answered in parallel.
const chains = new Map<string, Promise<void>>()
function serialise (jid: string, task: () => Promise<void>): void {
  const next = (chains.get(jid) ?? Promise.resolve()).then(task).catch((err: unknown) => {
    log('error', 'task failed', { error: errorText(err) })
  })
  chains.set(jid, next)
  // Forget an idle contact, so the map does not hold every customer ever seen. (`next` never rejects.)
  next.then(() => { if (chains.get(jid) === next) chains.delete(jid) }, () => {})
}

let sock: WASocket | undefined // the current socket: a reconnect replaces it under pending tasks
let stopping = false
let reconnects = 0
let reported: number | undefined // the status already signalled in this streak of failed reconnects

/** Sends one message and returns its id. The id is chosen and remembered before the send. */
async function send (jid: string, content: AnyMessageContent): Promise<string> {
  if (!sock) throw new Error('not connected')
  const messageId = generateMessageIDV2(sock.user?.id)
  rememberSent(messageId)
  const sent = await sock.sendMessage(jid, content, { messageId })
  rememberSent(sent?.key.id)
  return sent?.key.id ?? messageId
}

/** Alerts go out at once, before the reply's pacing: a person should know now (README, "Alerts"). */
async function notify (d: Decision): Promise<void> {
  for (const n of d.notifications) {
    const digits = n.to.replace(/\D/g, '') // "+33 6 12…" → "3361…"
    if (digits === '') continue
    try {
      await send(`${digits}@s.whatsapp.net`, { text: n.text })
    } catch (err) {
      log('error', 'alert notification not sent', { decision_id: d.decision_id, error: errorText(err) })
    }
  }
}

async function deliver (jid: string, d: Decision, reply: Reply): Promise<void> {
  const typing = Math.max(0, d.typing_seconds ?? 0)
  await sleep(Math.max(0, (d.delay_seconds ?? 0) - typing) * 1000)
  // respond_with_media: the reply's text is the first item's caption; otherwise plain text.
  const media = d.action === 'respond_with_media' ? reply.media : []
  const contents: AnyMessageContent[] = media.length === 0
    ? [{ text: reply.text }]
    : media.map((m, i) => {
      const caption = i === 0 ? reply.text : m.caption
      return m.type === 'image' ? { image: { url: m.url }, caption } : { video: { url: m.url }, caption }
    })
  let messageId: string
  try {
    if (typing > 0 && sock) {
      await sock.sendPresenceUpdate('composing', jid)
      await sleep(typing * 1000)
      await sock.sendPresenceUpdate('paused', jid)
    }
    messageId = await send(jid, contents[0])
  } catch (err) {
    // Nothing reached the customer: /failed gives back the quota the decision consumed.
    log('error', 'send failed', { decision_id: d.decision_id, error: errorText(err) })
    await post(`/api/v1/messages/${d.decision_id}/failed`, { error: errorText(err) }, 3)
      .catch((e: unknown) => log('error', 'could not report failed', { decision_id: d.decision_id, error: errorText(e) }))
    return
  }
  // The customer has the text now; further media are best effort and do not undo /sent.
  for (const extra of contents.slice(1)) {
    await send(jid, extra).catch((e: unknown) => log('warn', 'extra media not sent', { decision_id: d.decision_id, error: errorText(e) }))
  }
  await post(`/api/v1/messages/${d.decision_id}/sent`, { message_id: messageId }, 3)
    .catch((e: unknown) => log('error', 'could not report sent', { decision_id: d.decision_id, error: errorText(e) }))
}

async function decide (jid: string, body: IncomingMessage, baseId: string, retry: number): Promise<void> {
  let d: Decision
  try {
    // Same message_id → the same decision for 24 h, so retrying a lost answer is safe.
    d = await post<Decision>('/api/v1/messages/incoming', body, 3)
  } catch (err) {
    log('error', 'no decision, message left unanswered', { message_id: body.message_id, error: errorText(err) })
    return
  }
  log('info', 'decision', { message_id: body.message_id, decision_id: d.decision_id, action: d.action, rule: d.rule })
  await notify(d)
  switch (d.action) {
    case 'respond_text':
    case 'respond_with_media':
    case 'alert_human': // its reply, when there is one, is the holding message
      if (d.reply) await deliver(jid, d, d.reply)
      break
    case 'delay': {
      // A delay decision is final for its message_id: asking again with the same id would
      // only replay it (idempotency). The retry is a fresh call, `${id}:retry1`, `:retry2`…
      // Timers live in memory: a restarted bot does not retry (the delay is on record).
      if (retry >= MAX_DELAY_RETRIES) {
        log('warn', 'still delayed, giving up', { message_id: baseId, decision_id: d.decision_id })
        break
      }
      const seconds = Math.min(Math.max(1, d.retry_after_seconds ?? 60), 86_400) // setTimeout's limit is ~24.8 days
      const next = { ...body, message_id: `${baseId}:retry${retry + 1}` }
      setTimeout(() => serialise(jid, () => decide(jid, next, baseId, retry + 1)), seconds * 1000)
      break
    }
    case 'ignore': // a person, the conversation's state or the rules own it: stay silent
    case 'stop_automation': // automation off (or, once the anti-ban signals exist, the number paused)
      break
  }
}

/** Text and media kind of a message; undefined for reactions, receipts and protocol messages. */
function readContent (m: WAMessage): { text?: string, media?: { type: MediaType, caption?: string } } | undefined {
  const msg = normalizeMessageContent(m.message) // unwraps ephemeral, view-once, edited…
  if (!msg) return undefined
  const caption = msg.imageMessage?.caption || msg.videoMessage?.caption || msg.documentMessage?.caption || undefined
  const text = (msg.conversation || msg.extendedTextMessage?.text || caption || undefined)?.slice(0, MAX_TEXT)
  const kinds = [['image', msg.imageMessage], ['video', msg.videoMessage], ['audio', msg.audioMessage],
    ['document', msg.documentMessage], ['sticker', msg.stickerMessage]] as const
  const type = kinds.find(([, part]) => part != null)?.[0]
  if (type) return { text, media: caption ? { type, caption: caption.slice(0, MAX_TEXT) } : { type } }
  return text ? { text } : undefined
}

function onMessage (m: WAMessage): void {
  const remote = m.key.remoteJid
  const id = m.key.id
  // Customers only: groups, status updates, broadcast lists and channels are not sales chats.
  if (!remote || !id || (!isJidUser(remote) && !isLidUser(remote))) return
  const jid = jidNormalizedUser(remote) // drops the device suffix; matches the contact pattern (README, "Deciding every message")
  const content = readContent(m)
  if (!content) return
  if (m.key.fromMe) {
    if (sentByBot.has(id)) return
    const body = { ...accountField, contact: jid, message_id: id, text: content.text, media_type: content.media?.type, sender: 'human' }
    // Not retried: the route counts the message, and a lost answer may have counted it already.
    serialise(jid, () => post('/api/v1/messages/outgoing', body).then(
      () => log('info', 'human message reported', { message_id: id }),
      (err: unknown) => log('error', 'human message not reported', { message_id: id, error: errorText(err) })))
    return
  }
  const seconds = toNumber(m.messageTimestamp)
  const body: IncomingMessage = {
    ...accountField,
    contact: jid,
    message_id: id,
    ...content,
    timestamp: new Date(seconds > 0 ? seconds * 1000 : Date.now()).toISOString()
  }
  serialise(jid, () => decide(jid, body, id, 0))
}

type Signal = 'disconnected' | 'logged_out' | 'rate_limited' | 'forbidden'
function signalFor (status: number): Signal {
  if (status === DisconnectReason.loggedOut) return 'logged_out' // 401
  if (status === DisconnectReason.forbidden) return 'forbidden' // 403
  if (status === 429 || status === 463) return 'rate_limited'
  return 'disconnected'
}

async function onClose (error: Error | undefined): Promise<void> {
  if (stopping) return // we closed it: neither a ban signal nor a reason to reconnect
  const status = (error as { output?: { statusCode?: number } } | undefined)?.output?.statusCode
  // 515 follows every fresh QR pairing: it is Baileys asking for a restart, not WhatsApp's verdict.
  // A status is signalled once per streak: each signal costs health, and a network outage
  // that fails every reconnect with 408 must not get the number paused.
  if (status !== undefined && status !== DisconnectReason.restartRequired && status !== reported) {
    reported = status
    const type = signalFor(status)
    await post(`/api/v1/accounts/${encodeURIComponent(ACCOUNT ?? 'default')}/signals`, { type, detail: `baileys status ${status}` })
      .catch((err: unknown) => log('warn', 'ban signal not reported (is the route deployed?)', { type, status, error: errorText(err) }))
  }
  if (status === DisconnectReason.loggedOut) {
    log('error', `logged out: delete ${AUTH_DIR} and restart to pair again`, { status })
    process.exit(1)
  }
  const wait = Math.min(60, 2 ** reconnects++) // 1, 2, 4… 60 s: a refused number is not hammered
  log('warn', 'connection closed, reconnecting', { status, in_seconds: wait })
  await sleep(wait * 1000)
  await connect()
}

// Baileys logs whole messages and JIDs at debug/trace: keep only the text of its warnings and errors.
const line = (obj: unknown, msg?: string): string => `baileys: ${msg ?? (typeof obj === 'string' ? obj : 'event')}`
const waLogger: SocketConfig['logger'] = {
  level: 'warn',
  child: () => waLogger,
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: (obj, msg) => log('warn', line(obj, msg)),
  error: (obj, msg) => log('error', line(obj, msg))
}

async function connect (): Promise<void> {
  const { state, saveCreds } = await useMultiFileAuthState(AUTH_DIR)
  // markOnlineOnConnect false: the owner's phone keeps its notifications, so a human can step in.
  const s = makeWASocket({ auth: state, logger: waLogger, markOnlineOnConnect: false })
  sock = s
  s.ev.on('creds.update', () => {
    saveCreds().catch((err: unknown) => log('error', 'credentials not saved', { error: errorText(err) }))
  })
  s.ev.on('connection.update', ({ connection, lastDisconnect, qr }) => {
    // The QR string is a short-lived pairing code, not personal data: render it with any QR tool.
    if (qr) log('info', 'QR code available: scan it in WhatsApp › Linked devices', { qr })
    if (connection === 'open') {
      reconnects = 0
      reported = undefined
      log('info', 'connected')
    }
    if (connection === 'close') {
      onClose(lastDisconnect?.error).catch((err: unknown) => {
        log('error', 'reconnect failed', { error: errorText(err) })
        process.exit(1)
      })
    }
  })
  s.ev.on('messages.upsert', ({ messages, type }) => {
    // 'append' is history sync, messages that arrived while offline and our own sends: none is
    // a message to answer now (an answer hours late reads as a bot).
    if (type !== 'notify') return
    for (const m of messages) onMessage(m)
  })
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    stopping = true
    sock?.end(undefined)
    process.exit(0)
  })
}

log('info', 'starting', { sellify: SELLIFY_URL, account: ACCOUNT ?? 'default' })
await connect()
