import t from 'tap'
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import sellify from '../../app.js'
import { loggerOptions } from '../../lib/shared/logger-options.js'
import { build, call, fixedClock, type LogLine, type TapTest } from '../helper.js'
import { configure, type Json, karite } from './decision-fixtures.js'

/*
 * The incoming-message pipeline as a bot and an owner see it (README, "Deciding every message", "Alerts" and "Data protection"), on the SQLite store.
 * Pacing is deterministic: random() is 0, so the base delay is the centre of [delays.min_seconds, delays.max_seconds]
 * ((2 + 8) / 2 = 5 by default; README, "How quotas work"), the media pause is 5 and typing is ceil(characters / 12)
 * capped at 15.
 */

const CONTACT = '+33612345678'
const ALERT_NUMBERS = ['+221770000001', '+221770000002']

const KB = {
  business_name: 'Karité & Co',
  products: [
    karite({
      short_description: 'Crème hydratante au beurre de karité pur.',
      keywords: ['creme', 'karite', 'beurre de karite'],
      media: [{ id: 'photo-1', type: 'image', url: 'https://shop.example/k.jpg', caption: 'Crème au karité' }],
      media_policy: { allow_images: true, allow_video: false }
    }),
    { id: 'huile-argan', name: 'Huile d\'argan 50 ml', price: '19.90', currency: 'EUR', keywords: ['huile', 'argan'] }
  ],
  faq: [{ id: 'livraison', triggers: ['livraison'], answer: 'Livraison en 48 h à Dakar.' }],
  objections: [{ triggers: ['trop cher'], answer: 'Un pot dure trois mois : moins de 140 XOF par jour.' }]
}

const GREETING = 'Bonjour et bienvenue chez Karité & Co ! Que recherchez-vous aujourd\'hui ?'
const PRICE = 'Crème au karité 200 ml coûte 12500 XOF.'
const PURCHASE = 'Parfait ! Pour commander Crème au karité 200 ml (12500 XOF), envoyez-nous votre nom, votre adresse de livraison et la quantité souhaitée.'
const OBJECTION = 'Un pot dure trois mois : moins de 140 XOF par jour.'
const FALLBACK = 'Désolé, je n\'ai pas bien compris votre demande. Pouvez-vous préciser ?'
const HOLDING = 'Merci pour votre message. Nous revenons vers vous très vite.'
const PHOTO = { id: 'photo-1', type: 'image', url: 'https://shop.example/k.jpg', caption: 'Crème au karité', product: 'creme-karite' }
const CREME = { id: 'creme-karite', name: 'Crème au karité 200 ml' }
const ERROR_SHAPE = { statusCode: Number, error: String, message: String }

const alertText = (contact: string, state: string, message: string) =>
  `🚨 Intervention requise\nClient : ${contact}\nÉtat : ${state}\nDernier message : "${message}"`

async function setup (t: TapTest, app: FastifyInstance, settings: Json = {}): Promise<void> {
  await configure(t, app, settings)
  t.equal((await call(app, 'PUT', '/api/v1/knowledge', KB)).statusCode, 200)
}

async function say (t: TapTest, app: FastifyInstance, text: string | null, extra: Json = {}, contact = CONTACT): Promise<Json> {
  const res = await call(app, 'POST', '/api/v1/messages/incoming', { contact, text, ...extra })
  t.equal(res.statusCode, 200, res.body)
  return res.json()
}

async function usage (app: FastifyInstance, account = 'default'): Promise<Json> {
  const s = (await call(app, 'GET', `/api/v1/quota/status?account=${account}`)).json()
  return { messages_today: s.messages_today, messages_this_week: s.messages_this_week, images_today: s.images_today, videos_this_week: s.videos_this_week, messages_this_hour: s.messages_this_hour }
}

/** The decisions on record for a contact, oldest first. */
async function decisions (app: FastifyInstance, contact = CONTACT): Promise<Json[]> {
  const res = await call(app, 'GET', `/api/v1/audit?type=decision&limit=500&contact=${encodeURIComponent(contact)}`)
  return res.json().records.reverse()
}

async function conversation (app: FastifyInstance, contact = CONTACT): Promise<Json> {
  const res = await call(app, 'GET', `/api/v1/conversations/${encodeURIComponent(contact)}`)
  return res.json()
}

async function verified (t: TapTest, app: FastifyInstance, account = 'default'): Promise<void> {
  t.match((await call(app, 'GET', `/api/v1/audit/verify?account=${account}`)).json(), { valid: true, first_invalid_id: null }, 'the audit chain verifies')
}

// A test's sends of a day fall in one hour of it unless it says otherwise (`hour`).
const u = (messages: number, images = 0, hour = messages) => ({ messages_today: messages, messages_this_week: messages, images_today: images, videos_this_week: 0, messages_this_hour: hour })

t.test('a shopper from greeting to price to objection to purchase: exact texts, media once per session, and the owner\'s record', async (t) => {
  const clock = fixedClock('2026-01-18T12:00:00Z')
  const app = await build(t, { now: clock.now })
  await setup(t, app)

  const hello = await say(t, app, 'Bonjour', { message_id: 'wamid-1', timestamp: '2026-01-18T12:59:30+01:00' })
  t.strictSame(Object.keys(hello), [
    'decision_id', 'action', 'rule', 'reason', 'reply', 'delay_seconds', 'typing_seconds', 'retry_after_seconds',
    'conversation', 'matched', 'quota', 'validation', 'alert', 'notifications'
  ])
  t.match(hello.decision_id, /^dcs_/)
  t.strictSame({ ...hello, decision_id: undefined }, {
    decision_id: undefined,
    action: 'respond_text',
    rule: 'respond',
    reason: null,
    reply: { text: GREETING, media: [], source: 'template' },
    delay_seconds: 5 + 7,
    typing_seconds: 7,
    retry_after_seconds: null,
    conversation: { contact: CONTACT, state: 'discovery', previous_state: null, event: null, paused_until: null, misunderstandings: 0 },
    matched: { products: [], objection: null, faq: null },
    quota: {
      allowed: true,
      kind: 'text',
      usage: u(1),
      remaining: { messages_today: 199, messages_this_week: 999, images_today: 50, videos_this_week: 20, messages_this_hour: 999_999 }
    },
    validation: null,
    alert: null,
    notifications: []
  }, 'a first message that names nothing is greeted with the business name')

  const price = await say(t, app, 'Combien coûte la crème au karité ?', { message_id: 'wamid-2' })
  t.match(price, {
    action: 'respond_with_media',
    rule: 'respond',
    reason: null,
    delay_seconds: 5 + 5 + 4,
    typing_seconds: 4,
    conversation: { state: 'interest', previous_state: 'discovery', event: 'price_interest', misunderstandings: 0 },
    matched: { products: [{ ...CREME, score: 2 }], objection: null, faq: null },
    quota: { allowed: true, kind: 'image', usage: u(2, 1) }
  })
  t.strictSame(price.reply, { text: PRICE, media: [PHOTO], source: 'template' }, 'the price verbatim from the knowledge base, with the product photo')

  const objection = await say(t, app, 'C\'est trop cher pour moi', { message_id: 'wamid-3' })
  t.match(objection, {
    action: 'respond_text',
    rule: 'respond',
    delay_seconds: 5 + 5,
    typing_seconds: 5,
    conversation: { state: 'objection', previous_state: 'interest', event: 'objection_raised' },
    matched: { products: [], objection: { product: null, triggers: ['trop cher'] }, faq: null },
    quota: { kind: 'text', usage: u(3, 1) }
  })
  t.strictSame(objection.reply, { text: OBJECTION, media: [], source: 'knowledge_base' }, 'the account-wide objection\'s own answer')

  const purchase = await say(t, app, 'Bon, je prends la crème', { message_id: 'wamid-4' })
  t.match(purchase, {
    action: 'respond_text',
    delay_seconds: 5 + 12,
    typing_seconds: 12,
    conversation: { state: 'intent', previous_state: 'objection', event: 'purchase_intent' },
    matched: { products: [{ ...CREME, score: 1 }] },
    quota: { kind: 'text', usage: u(4, 1) }
  })
  t.strictSame(purchase.reply, { text: PURCHASE, media: [], source: 'template' }, 'the purchase template with the price verbatim; the photo was sent already')

  const again = await say(t, app, 'Et quel est le prix de la crème déjà ?', { message_id: 'wamid-5' })
  t.match(again, { action: 'respond_text', conversation: { state: 'intent', event: 'price_interest' }, quota: { kind: 'text', usage: u(5, 1) } })
  t.strictSame(again.reply, { text: PRICE, media: [], source: 'template' }, 'a second price question in the same session: text only')

  const faq = await say(t, app, 'Et la livraison ?', { message_id: 'wamid-6' })
  t.match(faq, { action: 'respond_text', matched: { faq: { id: 'livraison' } }, conversation: { state: 'intent', event: 'product_question' } })
  t.strictSame(faq.reply, { text: 'Livraison en 48 h à Dakar.', media: [], source: 'knowledge_base' })

  // The owner reads the conversation: every message in order, decrypted, each with its decision.
  const conv = await conversation(app)
  t.match(conv, { contact: CONTACT, state: 'intent', previous_state: 'objection', last_event: 'product_question', paused_until: null, misunderstandings: 0 })
  const answered = [hello, price, objection, purchase, again, faq]
  const incoming = ['Bonjour', 'Combien coûte la crème au karité ?', 'C\'est trop cher pour moi', 'Bon, je prends la crème', 'Et quel est le prix de la crème déjà ?', 'Et la livraison ?']
  t.strictSame(conv.messages, answered.flatMap((d, i) => [
    { direction: 'in', sender: 'customer', text: incoming[i], media_type: null, decision_id: d.decision_id, at: i === 0 ? '2026-01-18T11:59:30.000Z' : '2026-01-18T12:00:00.000Z' },
    { direction: 'out', sender: 'bot', text: d.reply.text, media_type: i === 1 ? 'image' : null, decision_id: d.decision_id, at: '2026-01-18T12:00:00.000Z' }
  ]), 'the customer\'s timestamp is kept on the incoming message')

  // …and the audit trail: why the bot said what it said.
  const records = await decisions(app)
  t.equal(records.length, 6)
  t.strictSame(records.map((r) => [r.rule, r.action, r.state_before, r.state_after, r.event ?? null, r.reply_source, r.sent_message, r.incoming_message]), [
    ['respond', 'respond_text', 'discovery', 'discovery', null, 'template', GREETING, 'Bonjour'],
    ['respond', 'respond_with_media', 'discovery', 'interest', 'price_interest', 'template', PRICE, incoming[1]],
    ['respond', 'respond_text', 'interest', 'objection', 'objection_raised', 'knowledge_base', OBJECTION, incoming[2]],
    ['respond', 'respond_text', 'objection', 'intent', 'purchase_intent', 'template', PURCHASE, incoming[3]],
    ['respond', 'respond_text', 'intent', 'intent', 'price_interest', 'template', PRICE, incoming[4]],
    ['respond', 'respond_text', 'intent', 'intent', 'product_question', 'knowledge_base', 'Livraison en 48 h à Dakar.', incoming[5]]
  ])
  t.match(records[1], {
    type: 'decision',
    account: 'default',
    actor: { id: 'bootstrap' },
    contact: CONTACT,
    quotas_before: u(1, 0),
    quotas_after: u(2, 1),
    details: { decision_id: price.decision_id },
    duration_ms: Number
  })
  t.strictSame(records.map((r) => r.details.decision_id), answered.map((d) => d.decision_id))
  t.ok(records.every((r) => typeof r.message_id === 'string' && !r.message_id.startsWith('wamid')), 'the gateway message id is kept as a keyed hash only')
  await verified(t, app)

  // A day later the session has expired: it starts over, and the photo goes again.
  clock.advance(25 * 3600_000)
  const next = await say(t, app, 'Bonjour, combien coûte la crème ?', { message_id: 'wamid-7' })
  t.match(next, { action: 'respond_with_media', conversation: { state: 'interest', previous_state: 'discovery', event: 'price_interest' }, quota: { kind: 'image', usage: u(1, 1) } })
  t.strictSame(next.reply, { text: PRICE, media: [PHOTO], source: 'template' })
})

t.test('a product whose media policy refuses images is answered in text', async (t) => {
  const app = await build(t)
  await configure(t, app)
  const kb = { ...KB, products: [{ ...KB.products[0], media_policy: { allow_images: false, allow_video: true } }] }
  t.equal((await call(app, 'PUT', '/api/v1/knowledge', kb)).statusCode, 200)
  const d = await say(t, app, 'Combien coûte la crème au karité ?')
  t.match(d, { action: 'respond_text', quota: { kind: 'text', usage: u(1) }, delay_seconds: 5 + 4 })
  t.strictSame(d.reply, { text: PRICE, media: [], source: 'template' })
})

t.test('pacing and typing follow the account\'s delays and typing settings', async (t) => {
  const app = await build(t)
  await setup(t, app, { delays: { min_seconds: 4, max_seconds: 10, media_seconds: 6 }, typing: { enabled: true, chars_per_second: 5, max_seconds: 15 } })
  // The pacing is the centre of 4–10 s: 7.
  const price = await say(t, app, 'Combien coûte la crème au karité ?')
  t.match(price, { action: 'respond_with_media', typing_seconds: 8, delay_seconds: 7 + 6 + 8 }, '39 characters at 5 a second')
  const purchase = await say(t, app, 'je prends la crème')
  t.match(purchase, { typing_seconds: 15, delay_seconds: 7 + 15 }, '137 characters: capped at max_seconds')

  // A PUT without delays is back to the default 2–8 s: 5.
  await setup(t, app, { typing: { enabled: false, chars_per_second: 12, max_seconds: 15 } })
  const quiet = await say(t, app, 'quel est le prix de la crème ?')
  t.match(quiet, { typing_seconds: 0, delay_seconds: 5, reply: { text: PRICE } }, 'typing off: pacing only')
})

t.test('an angry customer: alert_human, notifications, silence until an operator resumes', async (t) => {
  const clock = fixedClock('2026-01-18T12:00:00Z')
  const app = await build(t, { now: clock.now })
  await setup(t, app, { alert_numbers: ALERT_NUMBERS })

  await say(t, app, 'Bonjour')
  t.match(await say(t, app, 'Combien coûte la crème ?'), { conversation: { state: 'interest' } })
  const before = await usage(app)
  const angry = await say(t, app, 'Vous êtes des escrocs !', { message_id: 'wamid-angry' })
  t.strictSame({ ...angry, decision_id: undefined, alert: { trigger: angry.alert?.trigger, severity: angry.alert?.severity } }, {
    decision_id: undefined,
    action: 'alert_human',
    rule: 'alert',
    reason: 'anger',
    reply: null,
    delay_seconds: 0,
    typing_seconds: 0,
    retry_after_seconds: null,
    conversation: { contact: CONTACT, state: 'escalated', previous_state: 'interest', event: null, paused_until: null, misunderstandings: angry.conversation.misunderstandings },
    matched: { products: [], objection: null, faq: null },
    quota: null,
    validation: null,
    alert: { trigger: 'anger', severity: 'high' },
    notifications: ALERT_NUMBERS.map((to) => ({ to, text: alertText(CONTACT, 'interest', 'Vous êtes des escrocs !') }))
  }, 'escalation.reply none: silence for the customer, a WhatsApp text for each alert number')
  t.strictSame(await usage(app), before, 'a decision without a reply consumes nothing')

  const later = await say(t, app, 'Répondez-moi, combien coûte la crème ?')
  t.match(later, { action: 'ignore', rule: 'escalated', reason: 'escalated', reply: null, alert: null, notifications: [], quota: null, conversation: { state: 'escalated' } })
  clock.advance(3 * 24 * 3600_000)
  t.match(await say(t, app, 'Allô ?'), { action: 'ignore', rule: 'escalated' }, 'an escalated conversation does not expire by itself')
  t.strictSame(await usage(app), u(0), 'nothing consumed (a new week)')

  const resumed = await call(app, 'POST', `/api/v1/conversations/${CONTACT}/resume`, {})
  t.equal(resumed.statusCode, 200)
  t.match(resumed.json(), { contact: CONTACT, state: 'discovery', previous_state: 'escalated', paused_until: null, misunderstandings: 0 })
  const back = await say(t, app, 'Combien coûte la crème ?')
  t.match(back, { action: 'respond_text', rule: 'respond', conversation: { state: 'interest', previous_state: 'discovery' } }, 'the bot answers again')
  t.strictSame(back.reply, { text: PRICE, media: [], source: 'template' }, 'the same session: the photo was sent before the alert')

  const conv = await conversation(app)
  t.strictSame(conv.messages.map((m: Json) => `${m.sender}:${m.text as string}`), [
    'customer:Bonjour', `bot:${GREETING}`, 'customer:Combien coûte la crème ?', `bot:${PRICE}`,
    'customer:Vous êtes des escrocs !', 'customer:Répondez-moi, combien coûte la crème ?', 'customer:Allô ?',
    'customer:Combien coûte la crème ?', `bot:${PRICE}`
  ], 'ignored messages are stored, with no reply')
  const records = await decisions(app)
  t.match(records[2], { rule: 'alert', action: 'alert_human', reason: 'anger', state_before: 'interest', state_after: 'escalated', incoming_message: 'Vous êtes des escrocs !' })
  t.notOk('sent_message' in records[2], 'nothing was sent')
  t.match(records.slice(3, 5), [{ rule: 'escalated', action: 'ignore' }, { rule: 'escalated', action: 'ignore' }])
  const resumes = (await call(app, 'GET', '/api/v1/audit?type=conversation_resumed')).json().records
  t.match(resumes, [{ contact: CONTACT, state_before: 'escalated', state_after: 'discovery' }])
  await verified(t, app)
})

t.test('escalation.reply holding: the neutral holding message is sent and consumes one', async (t) => {
  const app = await build(t)
  await setup(t, app, { alert_numbers: ALERT_NUMBERS.slice(0, 1), escalation: { max_misunderstandings: 3, sensitive_keywords: ['remboursement'], reply: 'holding' } })
  const legal = await say(t, app, 'Je vais voir un avocat', {}, '+221771112233')
  t.match(legal, {
    action: 'alert_human',
    rule: 'alert',
    reason: 'legal_situation',
    delay_seconds: 5 + 5,
    typing_seconds: 5,
    alert: { trigger: 'legal_situation', severity: 'critical' },
    quota: { allowed: true, kind: 'text', usage: u(1) },
    conversation: { state: 'escalated', previous_state: 'discovery' }
  })
  t.strictSame(legal.reply, { text: HOLDING, media: [], source: 'template' })
  t.strictSame(legal.notifications, [{ to: ALERT_NUMBERS[0], text: alertText('+221771112233', 'discovery', 'Je vais voir un avocat') }])

  const sensitive = await say(t, app, 'Je veux un remboursement', {}, '+221774445566')
  t.match(sensitive, { action: 'alert_human', reason: 'sensitive_word', alert: { trigger: 'sensitive_word', severity: 'high' }, reply: { text: HOLDING }, quota: { usage: u(2) } }, 'the account\'s own sensitive keywords')
  t.match(await say(t, app, 'Alors ?', {}, '+221774445566'), { action: 'ignore', rule: 'escalated', reply: null, quota: null })
  t.strictSame(await usage(app), u(2))
  const [record] = await decisions(app, '+221771112233')
  t.match(record, { rule: 'alert', action: 'alert_human', reason: 'legal_situation', reply_source: 'template', sent_message: HOLDING, quotas_before: u(0), quotas_after: u(1) })
})

t.test('the gateway\'s hints: its event is used, its sentiment raises the alert', async (t) => {
  const app = await build(t)
  await setup(t, app, { alert_numbers: ALERT_NUMBERS.slice(0, 1) })
  const hinted = await say(t, app, 'ok pour moi', { hints: { event: 'purchase_intent' } }, '+1001')
  t.match(hinted, { action: 'respond_text', conversation: { state: 'intent', previous_state: 'discovery', event: 'purchase_intent' } })
  const threat = await say(t, app, 'ok', { hints: { sentiment: 'threat' } }, '+1002')
  t.match(threat, { action: 'alert_human', rule: 'alert', reason: 'threat', alert: { trigger: 'threat', severity: 'critical' }, conversation: { state: 'escalated' } })
  t.strictSame(threat.notifications, [{ to: ALERT_NUMBERS[0], text: alertText('+1002', 'discovery', 'ok') }])
  const threatWords = await say(t, app, 'je vais vous tuer', { hints: { event: 'purchase_intent' } }, '+1003')
  t.match(threatWords, { action: 'alert_human', reason: 'threat', conversation: { state: 'escalated', event: 'threat_detected' } }, 'a threat Sellify finds wins over the hint')
})

t.test('a gateway hint of threat_detected alerts; a hint of freeze freezes: nothing is sent to either', async (t) => {
  // README, "Deciding every message": the gateway's event is used; escalated and frozen are left only by an operator. README, "Deciding every message" rules 3-4:
  // what escalates a conversation alerts a person; a conversation a human owns is not answered.
  const app = await build(t)
  await setup(t, app, { alert_numbers: ALERT_NUMBERS.slice(0, 1) })
  await say(t, app, 'Bonjour', {}, '+2001')
  const threat = await say(t, app, 'bla bla', { hints: { event: 'threat_detected' } }, '+2001')
  t.match(threat, { action: 'alert_human', rule: 'alert', reply: null, quota: null, alert: { trigger: 'threat', severity: 'critical' }, conversation: { state: 'escalated', event: 'threat_detected' } })
  t.strictSame(threat.notifications, [{ to: ALERT_NUMBERS[0], text: alertText('+2001', 'discovery', 'bla bla') }])

  await say(t, app, 'Bonjour', {}, '+2002')
  const before = await usage(app)
  const freeze = await say(t, app, 'bla bla', { hints: { event: 'freeze' } }, '+2002')
  t.match(freeze, { action: 'ignore', rule: 'frozen', reply: null, quota: null, notifications: [], conversation: { state: 'frozen', previous_state: 'discovery', event: 'freeze' } })
  t.match(await say(t, app, 'Bonjour ?', {}, '+2002'), { action: 'ignore', rule: 'frozen' })
  t.strictSame(await usage(app), before, 'nothing consumed')
  t.match((await call(app, 'POST', '/api/v1/conversations/+2002/resume', {})).json(), { state: 'discovery', previous_state: 'frozen' })
})

t.test('a customer who says stop: negative, ignored, nothing consumed', async (t) => {
  const app = await build(t)
  await setup(t, app)
  const hello = await say(t, app, 'Bonjour')
  const stop = await say(t, app, 'Stop, ne m\'écrivez plus')
  t.strictSame({ ...stop, decision_id: undefined }, {
    decision_id: undefined,
    action: 'ignore',
    rule: 'negative',
    reason: 'negative_response',
    reply: null,
    delay_seconds: 0,
    typing_seconds: 0,
    retry_after_seconds: null,
    conversation: { contact: CONTACT, state: 'negative', previous_state: 'discovery', event: 'negative_response', paused_until: null, misunderstandings: 0 },
    matched: { products: [], objection: null, faq: null },
    quota: null,
    validation: null,
    alert: null,
    notifications: []
  })
  const after = await say(t, app, 'combien coûte la crème ?')
  t.match(after, { action: 'ignore', rule: 'negative', reply: null, conversation: { state: 'negative' } }, 'a negative conversation stays silent')
  t.strictSame(await usage(app), u(1), 'only the greeting was consumed')
  t.equal((await call(app, 'POST', `/api/v1/messages/${stop.decision_id as string}/sent`, {})).statusCode, 409, 'nothing to report sent')
  t.equal((await call(app, 'POST', `/api/v1/messages/${hello.decision_id as string}/sent`, {})).statusCode, 200)
  const records = await decisions(app)
  t.match(records.slice(1), [{ rule: 'negative', action: 'ignore', state_before: 'discovery', state_after: 'negative', event: 'negative_response' }, { rule: 'negative', action: 'ignore' }])
  t.notOk(records.slice(1).some((r) => 'sent_message' in r || 'reply_source' in r))
  await verified(t, app)
})

t.test('a customer who writes at night: delay to the next opening, or ignore', async (t) => {
  const clock = fixedClock('2026-01-18T22:30:00Z') // Sunday 23:30 in Paris
  const app = await build(t, { now: clock.now })
  const hours = { timezone: 'Europe/Paris', active_hours: { start: '09:00', end: '18:00', days: ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] } }
  await setup(t, app, { ...hours, alert_numbers: ALERT_NUMBERS.slice(0, 1) })

  const night = await say(t, app, 'Combien coûte la crème ?')
  t.match(night, {
    action: 'delay',
    rule: 'outside_active_hours',
    reason: 'opens_at:2026-01-19T08:00:00.000Z',
    retry_after_seconds: 9.5 * 3600,
    reply: null,
    delay_seconds: 0,
    typing_seconds: 0,
    quota: null,
    notifications: []
  }, 'Monday 09:00 in Paris is 08:00 UTC')
  clock.set('2026-01-19T07:59:59Z')
  t.match(await say(t, app, 'Vous êtes là ?'), { action: 'delay', retry_after_seconds: 1 })
  t.strictSame(await usage(app), u(0), 'a delay consumes nothing')
  t.match(await say(t, app, 'Stop', {}, '+3001'), { action: 'ignore', rule: 'negative' }, 'negative comes before the hours')
  t.match(await say(t, app, 'Bande d\'escrocs', {}, '+3002'), { action: 'alert_human', rule: 'alert', notifications: [{ to: ALERT_NUMBERS[0] }] }, 'an alert comes before the hours')

  clock.set('2026-01-19T08:00:00Z')
  t.match(await say(t, app, 'Combien coûte la crème ?'), { action: 'respond_with_media', rule: 'respond', reply: { text: PRICE }, retry_after_seconds: null }, 'open at 09:00 sharp')

  await setup(t, app, { ...hours, active_hours: { ...hours.active_hours, days: ['monday', 'tuesday', 'wednesday', 'thursday', 'friday'] } })
  clock.set('2026-01-24T10:00:00Z') // Saturday 11:00 in Paris
  t.match(await say(t, app, 'Bonjour', {}, '+3003'), { action: 'delay', reason: 'opens_at:2026-01-26T08:00:00.000Z', retry_after_seconds: 46 * 3600 }, 'closed on Saturdays: Monday 09:00')

  await setup(t, app, { ...hours, outside_hours: 'ignore' })
  clock.set('2026-01-19T20:00:00Z')
  const ignored = await say(t, app, 'Combien coûte la crème ?', {}, '+3004')
  t.match(ignored, { action: 'ignore', rule: 'outside_active_hours', reason: 'opens_at:2026-01-20T08:00:00.000Z', retry_after_seconds: null, reply: null, quota: null })
  const [record] = await decisions(app, '+3004')
  t.match(record, { rule: 'outside_active_hours', action: 'ignore', reason: 'opens_at:2026-01-20T08:00:00.000Z' })
})

t.test('misunderstandings: the fallback, reset by any event, then alert_human at max_misunderstandings', async (t) => {
  const app = await build(t)
  await setup(t, app, { alert_numbers: ALERT_NUMBERS.slice(0, 1) })
  t.match(await say(t, app, 'Bonjour'), { reply: { text: GREETING }, conversation: { misunderstandings: 0 } })
  const first = await say(t, app, 'azerty')
  t.match(first, { action: 'respond_text', rule: 'respond', conversation: { state: 'discovery', event: null, misunderstandings: 1 }, delay_seconds: 5 + 6 })
  t.strictSame(first.reply, { text: FALLBACK, media: [], source: 'fallback' })
  t.match(await say(t, app, 'combien coûte la crème ?'), { conversation: { state: 'interest', misunderstandings: 0 } }, 'a found event resets the count')
  t.match(await say(t, app, 'qsdf'), { reply: { text: FALLBACK, source: 'fallback' }, conversation: { misunderstandings: 1 } })
  t.match(await say(t, app, 'wxcv'), { reply: { text: FALLBACK, source: 'fallback' }, conversation: { misunderstandings: 2 } })
  const before = await usage(app)
  const third = await say(t, app, 'poiu')
  t.match(third, {
    action: 'alert_human',
    rule: 'misunderstood',
    reason: 'repeated_misunderstanding',
    reply: null,
    quota: null,
    alert: { trigger: 'repeated_misunderstanding', severity: 'high' },
    conversation: { state: 'escalated', previous_state: 'interest', misunderstandings: 3 }
  })
  t.strictSame(third.notifications, [{ to: ALERT_NUMBERS[0], text: alertText(CONTACT, 'interest', 'poiu') }])
  t.strictSame(await usage(app), before)
  t.match(await say(t, app, 'allo'), { action: 'ignore', rule: 'escalated' })
  t.match((await decisions(app))[5], { rule: 'misunderstood', action: 'alert_human', reason: 'repeated_misunderstanding', state_after: 'escalated' })

  await setup(t, app, { fallback_message: 'Pardon, pouvez-vous reformuler ?', escalation: { max_misunderstandings: 1, sensitive_keywords: [], reply: 'holding' } })
  await say(t, app, 'salut', {}, '+4001')
  const own = await say(t, app, 'hmm', {}, '+4001')
  t.match(own, { action: 'alert_human', rule: 'misunderstood', reply: { text: HOLDING, source: 'template' }, quota: { allowed: true } }, 'max 1: the first misunderstanding alerts, with the holding message')
  await say(t, app, 'salut', {}, '+4002')
  await setup(t, app, { fallback_message: 'Pardon, pouvez-vous reformuler ?' })
  t.strictSame((await say(t, app, 'hmm', {}, '+4002')).reply, { text: 'Pardon, pouvez-vous reformuler ?', media: [], source: 'fallback' }, 'the account\'s own fallback message')
})

t.test('human takeover: an outgoing message is recorded past the limit and pauses the conversation; each one extends it', async (t) => {
  const clock = fixedClock('2026-01-14T12:00:00Z')
  const app = await build(t, { now: clock.now })
  await setup(t, app, { limits: { messages_per_day: 1 } })
  t.match(await say(t, app, 'Bonjour'), { action: 'respond_text', quota: { usage: u(1) } })

  const human = await call(app, 'POST', '/api/v1/messages/outgoing', { contact: CONTACT, text: 'Bonjour, ici Awa de la boutique', sender: 'human', message_id: 'wamid-h1' })
  t.equal(human.statusCode, 200, human.body)
  t.strictSame(human.json(), { paused_until: '2026-01-14T13:00:00.000Z', usage: u(2) }, 'counted although the day\'s limit of 1 is reached')

  const paused = await say(t, app, 'Combien coûte la crème ?')
  t.match(paused, { action: 'ignore', rule: 'human_takeover', reason: 'human_takeover', reply: null, quota: null, conversation: { paused_until: '2026-01-14T13:00:00.000Z', state: 'discovery' } })

  clock.set('2026-01-14T12:30:00Z')
  const extended = await call(app, 'POST', '/api/v1/messages/outgoing', { contact: CONTACT, text: 'Elle coûte 12500 XOF' })
  t.strictSame(extended.json(), { paused_until: '2026-01-14T13:30:00.000Z', usage: u(3) }, 'each human message extends the pause')
  clock.set('2026-01-14T13:15:00Z')
  t.match(await say(t, app, 'Merci !'), { action: 'ignore', rule: 'human_takeover', conversation: { paused_until: '2026-01-14T13:30:00.000Z' } }, 'still paused past the first pause\'s end')
  t.strictSame(await usage(app), u(3, 0, 0), 'the day keeps its three; 13:00 is a new hour')

  clock.set('2026-01-14T13:30:01Z')
  t.match(await say(t, app, 'Combien coûte la crème ?'), { action: 'delay', rule: 'quota', reason: 'quota:messages_per_day' }, 'the pause is over; the human messages used the day\'s quota')
  await setup(t, app, { limits: { messages_per_day: 10 } })
  t.match(await say(t, app, 'Combien coûte la crème ?'), { action: 'respond_with_media', rule: 'respond', quota: { usage: u(4, 1, 1) } })

  const pause = await call(app, 'POST', `/api/v1/conversations/${CONTACT}/pause`, { minutes: 5 })
  t.match(pause.json(), { paused_until: '2026-01-14T13:35:01.000Z' })
  t.match(await say(t, app, 'Allô ?'), { action: 'ignore', rule: 'human_takeover' }, 'an operator\'s pause does the same')

  const conv = await conversation(app)
  t.match(conv.messages.filter((m: Json) => m.sender === 'human'), [
    { direction: 'out', sender: 'human', text: 'Bonjour, ici Awa de la boutique', decision_id: null, at: '2026-01-14T12:00:00.000Z' },
    { direction: 'out', sender: 'human', text: 'Elle coûte 12500 XOF', decision_id: null, at: '2026-01-14T12:30:00.000Z' }
  ])
  const records = (await call(app, 'GET', '/api/v1/audit?type=human_message')).json().records.reverse()
  t.match(records, [
    { contact: CONTACT, sent_message: 'Bonjour, ici Awa de la boutique', quotas_before: u(1), quotas_after: u(2), details: { paused_until: '2026-01-14T13:00:00.000Z' } },
    { contact: CONTACT, sent_message: 'Elle coûte 12500 XOF', quotas_before: u(2), quotas_after: u(3), details: { paused_until: '2026-01-14T13:30:00.000Z' } }
  ])
  t.ok(typeof records[0].message_id === 'string' && records[0].message_id !== 'wamid-h1', 'the gateway id as a keyed hash')
  t.match((await decisions(app)).slice(1, 3), [{ rule: 'human_takeover', action: 'ignore' }, { rule: 'human_takeover', action: 'ignore' }])
  await verified(t, app)
})

t.test('automation off: stop_automation for every message, nothing consumed, nobody alerted', async (t) => {
  const app = await build(t)
  await setup(t, app, { automation: 'off', alert_numbers: ALERT_NUMBERS })
  for (const text of ['Bonjour', 'Combien coûte la crème ?', 'Vous êtes des escrocs', 'Stop', 'azerty']) {
    const d = await say(t, app, text)
    t.match(d, { action: 'stop_automation', rule: 'automation_off', reply: null, quota: null, alert: null, notifications: [], delay_seconds: 0, conversation: { state: 'discovery', event: null } }, text)
  }
  t.strictSame(await usage(app), u(0))
  t.ok((await decisions(app)).every((r) => r.rule === 'automation_off' && r.action === 'stop_automation'))
  await configure(t, app, { automation: 'on' })
  t.match(await say(t, app, 'Combien coûte la crème ?'), { action: 'respond_with_media' }, 'back on at once')
})

t.test('bad input: a 400 naming the field, and nothing changes', async (t) => {
  const app = await build(t)
  await setup(t, app)
  await say(t, app, 'Bonjour')
  const snapshot = async () => ({
    usage: await usage(app),
    conversations: (await call(app, 'GET', '/api/v1/conversations')).json(),
    audit: (await call(app, 'GET', '/api/v1/audit?limit=500')).json()
  })
  const before = await snapshot()
  const cases: Array<[string, unknown, RegExp]> = [
    ['a contact with a space', { contact: '+33 6 12 34 56 78', text: 'Bonjour' }, /^body\/contact must match pattern/],
    ['a contact starting with a dash', { contact: '-33612345678', text: 'Bonjour' }, /^body\/contact must match pattern/],
    ['a contact of 129 characters', { contact: '3'.repeat(129), text: 'Bonjour' }, /^body\/contact must match pattern/],
    ['no contact', { text: 'Bonjour' }, /^body\/contact is required$/],
    ['a text over 4096 characters', { contact: CONTACT, text: 'x'.repeat(4097) }, /^body\/text must NOT have more than 4096 characters$/],
    ['4097 emoji', { contact: CONTACT, text: '😀'.repeat(4097) }, /^body\/text must NOT have more than 4096 characters$/],
    ['neither text nor media', { contact: CONTACT }, /^body must have text or media$/],
    ['an empty text and no media', { contact: CONTACT, text: '', media: null }, /^body must have text or media$/],
    ['media of an unknown type', { contact: CONTACT, media: { type: 'gif' } }, /^body\/media\/type must be one of image, video, audio, document, sticker$/],
    ['media with an unknown field', { contact: CONTACT, media: { type: 'image', url: 'https://x.example/a.jpg' } }, /^body\/media\/url is not an allowed field$/],
    ['a timestamp that does not parse', { contact: CONTACT, text: 'Bonjour', timestamp: 'hier soir' }, /^body\/timestamp must be an ISO 8601 date-time/],
    ['a timestamp with month 13', { contact: CONTACT, text: 'Bonjour', timestamp: '2026-13-01T10:00:00Z' }, /^body\/timestamp must be an ISO 8601 date-time/],
    ['hints.event not in the list', { contact: CONTACT, text: 'Bonjour', hints: { event: 'greeting' } }, /^body\/hints\/event must be one of product_question, /],
    ['hints.sentiment not in the list', { contact: CONTACT, text: 'Bonjour', hints: { sentiment: 'joy' } }, /^body\/hints\/sentiment must be one of anger, threat, null$/],
    ['an unknown field', { contact: CONTACT, text: 'Bonjour', conversation_state: 'Discovery' }, /^body\/conversation_state is not an allowed field$/],
    ['text not a string', { contact: CONTACT, text: 42 }, /^body\/text must be string/],
    ['an empty message_id', { contact: CONTACT, text: 'Bonjour', message_id: '' }, /^body\/message_id must NOT have fewer than 1 characters/],
    ['not JSON', '{"contact": "+336', /JSON/]
  ]
  for (const [name, body, message] of cases) {
    const res = await call(app, 'POST', '/api/v1/messages/incoming', body)
    t.equal(res.statusCode, 400, name)
    t.match(res.json(), { ...ERROR_SHAPE, message }, name)
  }
  const outgoing: Array<[string, unknown, RegExp]> = [
    ['a bot sender', { contact: CONTACT, text: 'x', sender: 'bot' }, /^body\/sender /],
    ['a bad contact', { contact: 'nobody here', text: 'x' }, /^body\/contact must match pattern/],
    ['a text over 4096 characters', { contact: CONTACT, text: 'x'.repeat(4097) }, /^body\/text must NOT have more than 4096 characters$/],
    ['an unknown media type', { contact: CONTACT, media_type: 'gif' }, /^body\/media_type must be one of/]
  ]
  for (const [name, body, message] of outgoing) {
    const res = await call(app, 'POST', '/api/v1/messages/outgoing', body)
    t.equal(res.statusCode, 400, `outgoing: ${name}`)
    t.match(res.json(), { ...ERROR_SHAPE, message }, `outgoing: ${name}`)
  }
  t.equal((await call(app, 'POST', '/api/v1/messages/incoming', { contact: CONTACT, text: 'Bonjour', account: 'nobody' })).statusCode, 404, 'an account that does not exist')

  await configure(t, app, {}, 'shop-2')
  const agent = (await call(app, 'POST', '/api/v1/keys', { name: 'bot', role: 'agent', account: 'shop-2' })).json().key as string
  const foreign = await call(app, 'POST', '/api/v1/messages/incoming', { account: 'default', contact: CONTACT, text: 'Bonjour' }, agent)
  t.equal(foreign.statusCode, 403, 'an agent key of another account')
  t.equal((await call(app, 'POST', '/api/v1/messages/outgoing', { account: 'default', contact: CONTACT, text: 'x' }, agent)).statusCode, 403)
  t.equal((await call(app, 'POST', '/api/v1/messages/incoming', { contact: CONTACT, text: 'Bonjour' }, null)).statusCode, 401, 'no key')
  t.strictSame(await snapshot(), before, 'no refused request changed the quota, the conversations or the audit trail')

  const own = await call(app, 'POST', '/api/v1/messages/incoming', { contact: CONTACT, text: 'Bonjour' }, agent)
  t.equal(own.statusCode, 200, 'the agent decides for its own account')
  t.strictSame(await usage(app, 'shop-2'), u(1))
  t.strictSame(await usage(app), before.usage)

  const emoji = '😀'.repeat(4096)
  const long = await say(t, app, emoji)
  t.match(long, { action: 'respond_text', reply: { source: 'fallback' } }, '4096 characters are code points: 4096 emoji (8192 UTF-16 units) pass')
  t.equal((await conversation(app)).messages.at(-2).text, emoji, 'stored whole')
  const media = await say(t, app, null, { media: { type: 'image', caption: null } }, '+5001')
  t.match(media, { action: 'respond_text', reply: { text: GREETING } }, 'media alone is a message')
  t.match((await conversation(app, '+5001')).messages[0], { direction: 'in', text: null, media_type: 'image' })
})

/** Every file of the store's folder, read byte for byte. */
async function filesOf (dir: string): Promise<Array<{ name: string, bytes: Buffer }>> {
  const names = (await readdir(dir)).filter((n) => n.startsWith('s.db'))
  return await Promise.all(names.map(async (name) => ({ name, bytes: await readFile(join(dir, name)) })))
}

t.test('personal data at rest: no customer text, contact id or gateway message id in the SQLite file, its WAL or the logs', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sellify-messages-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const path = join(dir, 's.db')
  const logs: LogLine[] = []
  const clock = fixedClock('2026-01-18T12:00:00Z')
  const app = await build(t, { now: clock.now, store: { sqlitePath: path }, env: { SELLIFY_ENCRYPTION_KEY: '2c'.repeat(32) } }, { logs })
  await setup(t, app, { alert_numbers: ALERT_NUMBERS.slice(0, 1) })

  const contact = '221771234567@s.whatsapp.net'
  const secrets = [
    'Bonjour, ici Aïssatou Diallo',
    'Aïssatou',
    'Livrez-moi au 12 rue Carnot, Dakar',
    'rue Carnot',
    'Vous êtes des voleurs, Moussa',
    'Moussa',
    'Bonjour Aïssatou, ici Awa',
    contact,
    '221771234567',
    'wamid.HBgLMjIxNzcxMjM0NTY3FQIAERgSQ0Y1',
    'wamid.OUTGOING-77A1',
    'wamid.SENT-5F0C'
  ]
  const send = async (text: string, message_id: string) => {
    const res = await call(app, 'POST', '/api/v1/messages/incoming', { contact, text, message_id })
    t.equal(res.statusCode, 200, res.body)
    return res.json()
  }
  const hello = await send(secrets[0], secrets[9])
  t.equal((await call(app, 'POST', `/api/v1/messages/${hello.decision_id as string}/sent`, { message_id: secrets[11] })).statusCode, 200)
  const order = await send(`Je prends la crème. ${secrets[2]}`, 'wamid.2')
  t.equal((await call(app, 'POST', `/api/v1/messages/${order.decision_id as string}/failed`, { error: `could not reach ${contact}` })).statusCode, 200)
  t.equal((await call(app, 'POST', '/api/v1/messages/outgoing', { contact, text: secrets[6], message_id: secrets[10] })).statusCode, 200)
  clock.advance(61 * 60_000)
  const angry = await send(secrets[4], 'wamid.3')
  t.match(angry, { action: 'alert_human', notifications: [{ to: ALERT_NUMBERS[0] }] })
  // The pipeline's routes carry personal data in their bodies only, which are not logged.
  const pipelineLogs = JSON.stringify(logs)
  t.ok(logs.length > 0, 'the app logged')
  for (const secret of secrets) t.notOk(pipelineLogs.includes(secret), `the pipeline's log lines hold no ${JSON.stringify(secret)}`)

  // What is stored decrypts for the owner…
  const conv = await conversation(app, contact)
  t.match(conv.messages.map((m: Json) => m.text), [secrets[0], GREETING, `Je prends la crème. ${secrets[2]}`, PURCHASE, secrets[6], secrets[4]])
  const records = await decisions(app, contact)
  t.equal(records[0].incoming_message, secrets[0])
  t.equal(records[0].contact, contact)

  // …and nowhere in clear on disk: the database and its WAL while the app runs, the database after it closed.
  const open = await filesOf(dir)
  t.ok(open.some((f) => f.name === 's.db-wal' && f.bytes.length > 0), 'the WAL holds the writes')
  await app.close()
  const closed = await filesOf(dir)
  for (const { name, bytes } of [...open.map((f) => ({ ...f, name: `${f.name} (open)` })), ...closed.map((f) => ({ ...f, name: `${f.name} (closed)` }))]) {
    for (const secret of secrets) t.equal(bytes.indexOf(Buffer.from(secret, 'utf8')), -1, `${name}: no ${JSON.stringify(secret)}`)
  }
  t.ok(existsSync(path))
})

t.test('the server\'s logger: an owner reading a conversation or its audit trail does not write the contact id to the log', async (t) => {
  // README, "Data protection" and the project's rule: contact ids never in logs. The routes take the contact in the path
  // (README, "Deciding every message") and the query (README, "Data protection"), and the server logs every request's URL (lib/shared/logger-options.ts).
  const lines: string[] = []
  const app = Fastify({ logger: { ...loggerOptions('info'), stream: { write: (line: string) => { lines.push(line) } } } })
  await app.register(sellify, { env: {}, now: () => new Date('2026-01-18T12:00:00.000Z'), random: () => 0, store: { sqlitePath: ':memory:' } })
  await app.ready()
  t.teardown(() => app.close())
  await setup(t, app)
  const contact = '221779876543@s.whatsapp.net'
  await say(t, app, 'Bonjour', {}, contact)
  t.notOk(lines.some((l) => l.includes('221779876543')), 'the incoming message\'s request is logged without the contact')
  t.equal((await call(app, 'GET', `/api/v1/conversations/${contact}`)).statusCode, 200)
  t.equal((await call(app, 'POST', `/api/v1/conversations/${contact}/pause`, {})).statusCode, 200)
  t.equal((await call(app, 'GET', `/api/v1/audit?contact=${encodeURIComponent(contact)}`)).statusCode, 200)
  t.strictSame(lines.filter((l) => l.includes('221779876543')), [], 'no log line names the contact')
})

t.test('null stands for absent: the SPEC\'s own example request, null hints and a null media_type are accepted', async (t) => {
  // README, "Deciding every message" shows `"media": null, "hints": {"event": null}`; the schemas declare these fields nullable.
  const app = await build(t)
  await setup(t, app)
  const example = await call(app, 'POST', '/api/v1/messages/incoming', {
    account: 'default', contact: CONTACT, message_id: '3EB0A1B2C3', text: 'Bonjour, combien coûte la crème au karité ?', media: null, timestamp: '2026-01-18T10:15:00Z', hints: { event: null }
  })
  t.equal(example.statusCode, 200, `hints.event null: ${example.body}`)
  const sentiment = await call(app, 'POST', '/api/v1/messages/incoming', { contact: '+1', text: 'Bonjour', hints: { sentiment: null } })
  t.equal(sentiment.statusCode, 200, `hints.sentiment null: ${sentiment.body}`)
  const human = await call(app, 'POST', '/api/v1/messages/outgoing', { contact: CONTACT, text: 'Bonjour', media_type: null, message_id: null })
  t.equal(human.statusCode, 200, `outgoing media_type null: ${human.body}`)
})
