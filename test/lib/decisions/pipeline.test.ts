import t from 'tap'
import { activeAt } from '../../../lib/accounts/hours.js'
import { defaultSettings } from '../../../lib/accounts/settings.js'
import type { AccountSettings } from '../../../lib/accounts/types.js'
import type { State } from '../../../lib/conversations/machine.js'
import { ACTIONS, RULES, decide, type ConversationFields, type DecideInput, type Hints, type Verdict } from '../../../lib/decisions/pipeline.js'
import { compileKnowledge } from '../../../lib/knowledge/matcher.js'
import type { KnowledgeBase, Product } from '../../../lib/knowledge/types.js'

function product (id: string, name: string, keywords: string[], more: Partial<Product> = {}): Product {
  return {
    id,
    name,
    short_description: `${name}, la description.`,
    long_description: '',
    price: '1000',
    currency: 'XOF',
    keywords,
    objections: [],
    media: [],
    media_policy: { allow_images: true, allow_video: false },
    active: true,
    ...more
  }
}

const photo = { id: 'photo-1', type: 'image' as const, url: 'https://shop.example/k.jpg', caption: 'Crème au karité' }
const karite = product('creme-karite', 'Crème au karité 200 ml', ['creme', 'karite', 'beurre de karite'], {
  price: '12500',
  objections: [{ triggers: ['trop cher'], answer: 'Un pot dure trois mois.' }],
  media: [photo]
})
// Its only media is a video, which its policy refuses.
const savon = product('savon-noir', 'Savon noir', ['savon noir', 'savon'], {
  media: [{ id: 'savon-video', type: 'video', url: 'https://shop.example/s.mp4' }],
  media_policy: { allow_images: true, allow_video: false }
})
// Images refused, videos allowed: the video is the one to send, though the image comes first.
const huile = product('huile-coco', 'Huile de coco', ['huile', 'coco'], {
  price: '19.90',
  currency: 'EUR',
  media: [
    { id: 'huile-photo', type: 'image', url: 'https://shop.example/h.jpg' },
    { id: 'huile-video', type: 'video', url: 'https://shop.example/h.mp4' }
  ],
  media_policy: { allow_images: false, allow_video: true }
})
const gommage = product('gommage', 'Gommage', ['gommage'], { media: [] })
const retired = product('ancien', 'Ancien produit', ['ancien'], { media: [photo], active: false })

const shop: KnowledgeBase = {
  business_name: 'Boutique Awa',
  products: [karite, savon, huile, gommage, retired],
  faq: [{ id: 'livraison', triggers: ['livraison'], answer: 'Partout au Sénégal.' }],
  objections: [{ triggers: ['pas maintenant'], answer: 'Je reste disponible.' }],
  templates: {}
}

type Settings = AccountSettings & { timezone: string }
const settings = (more: Partial<Settings> = {}): Settings => ({ ...defaultSettings(), timezone: 'Europe/Paris', ...more })

// Sunday 2026-01-18, Paris is UTC+1: 11:15 local is open (09:00-18:00 every day), 21:00 local is closed.
const OPEN = new Date('2026-01-18T10:15:00Z')
const CLOSED = new Date('2026-01-18T20:00:00Z')
const MINUTE = 60_000

type Stored = ConversationFields & { last_message_at: string }
function stored (more: Partial<Stored> = {}, now: Date = OPEN): Stored {
  return {
    state: 'discovery',
    previous_state: null,
    last_event: null,
    misunderstandings: 0,
    paused_until: null,
    session_started_at: new Date(now.getTime() - 60 * MINUTE).toISOString(),
    media_sent: [],
    last_message_at: new Date(now.getTime() - 5 * MINUTE).toISOString(),
    ...more
  }
}

/** Just the fields decide() answers for a stored conversation. */
function fieldsOf (c: Stored): ConversationFields {
  const { last_message_at: _last, ...fields } = c
  return fields
}

interface Case {
  text?: string
  conversation?: Stored | null
  account?: Settings
  hints?: Hints
  now?: Date
  products?: Product[]
}

/** The decision for one message, with a real analysis and opening, as the service builds them. */
function run (c: Case = {}): Verdict {
  const account = c.account ?? settings()
  const now = c.now ?? OPEN
  const compiled = compileKnowledge(shop, 1, { language: account.language, sensitive_keywords: account.escalation.sensitive_keywords, forbidden_words: account.forbidden_words })
  const input: DecideInput = {
    account,
    now,
    conversation: c.conversation === undefined ? stored({}, now) : c.conversation,
    analysis: compiled.analyse(c.text ?? ''),
    hints: c.hints ?? {},
    opening: activeAt(account, now),
    products: new Map((c.products ?? shop.products).filter((p) => p.active).map((p) => [p.id, p]))
  }
  const verdict = decide(input)
  // Nothing outside the original's closed set is ever answered.
  if (!(ACTIONS as readonly string[]).includes(verdict.action) || !(RULES as readonly string[]).includes(verdict.rule)) {
    throw new Error(`unknown action ${verdict.action} or rule ${verdict.rule}`)
  }
  return verdict
}

/** Feeds each message to the conversation the previous decision left. */
function chain (texts: string[], start: Stored = stored(), account: Settings = settings()): Verdict[] {
  let conversation = start
  return texts.map((text) => {
    const verdict = run({ text, conversation, account })
    conversation = { ...verdict.conversation, last_message_at: new Date(OPEN.getTime() - MINUTE).toISOString() }
    return verdict
  })
}

const THREAT = 'je vais te tuer'

t.test('rule 1: automation off answers stop_automation whatever else applies', async (t) => {
  const off = settings({ automation: 'off' })
  const cases: Array<[string, Case]> = [
    ['a plain question', { text: 'combien coûte la crème ?' }],
    ['a threat', { text: THREAT, hints: { sentiment: 'threat' } }],
    ['a paused conversation', { text: 'la crème', conversation: stored({ paused_until: new Date(OPEN.getTime() + 30 * MINUTE).toISOString() }) }],
    ['an escalated conversation', { text: 'la crème', conversation: stored({ state: 'escalated', previous_state: 'interest' }) }],
    ['a frozen conversation', { text: 'la crème', conversation: stored({ state: 'frozen', previous_state: 'intent' }) }],
    ['a negative message', { text: 'non merci' }],
    ['outside active hours', { text: 'la crème', now: CLOSED, conversation: stored({}, CLOSED) }],
    ['a misunderstanding past the maximum', { text: 'euh', conversation: stored({ misunderstandings: 5 }) }]
  ]
  for (const [name, c] of cases) {
    const conversation = c.conversation ?? stored({}, c.now)
    const v = run({ ...c, conversation, account: off })
    t.equal(v.action, 'stop_automation', name)
    t.equal(v.rule, 'automation_off', name)
    t.equal(v.reason, 'automation_off', name)
    t.equal(v.event, null, name)
    t.same(v.reply, { kind: 'none' }, `${name}: nothing is sent`)
    t.equal(v.alert, null, `${name}: nobody is alerted`)
    t.equal(v.retry_after_seconds, null, name)
    t.strictSame(v.conversation, fieldsOf(conversation), `${name}: the conversation is left as it was`)
  }
  t.equal(run({ text: 'bonjour', conversation: null, account: off }).action, 'stop_automation', 'a first message too')
})

t.test('rule 2: a conversation paused by a person is ignored until the pause ends', async (t) => {
  const until = new Date(OPEN.getTime() + 30 * MINUTE).toISOString()
  const paused = stored({ state: 'interest', previous_state: 'discovery', last_event: 'product_question', misunderstandings: 1, paused_until: until, media_sent: ['creme-karite'] })
  for (const text of ['combien coûte la crème ?', THREAT, 'non merci', 'euh']) {
    const v = run({ text, conversation: paused, hints: { sentiment: 'anger' } })
    t.equal(v.action, 'ignore', text)
    t.equal(v.rule, 'human_takeover', text)
    t.equal(v.reason, 'human_takeover', text)
    t.equal(v.alert, null, `${text}: a person has it already, no alert`)
    t.same(v.reply, { kind: 'none' })
    t.strictSame(v.conversation, fieldsOf(paused), `${text}: state, event and counts unchanged`)
  }
  const pausedTonight = { ...paused, paused_until: new Date(CLOSED.getTime() + 30 * MINUTE).toISOString() }
  t.equal(run({ text: 'la crème', conversation: pausedTonight, now: CLOSED }).rule, 'human_takeover', 'it beats outside hours')
  t.equal(run({ text: 'la crème', conversation: { ...paused, state: 'escalated' } }).rule, 'human_takeover', 'and a held conversation')

  const over = stored({ state: 'interest', previous_state: 'discovery', paused_until: new Date(OPEN.getTime() - MINUTE).toISOString() })
  const v = run({ text: 'combien coûte la crème ?', conversation: over })
  t.equal(v.rule, 'respond', 'a pause that ended is no pause')
  t.equal(v.conversation.state, 'intent')
  t.equal(run({ text: 'la crème', conversation: { ...over, paused_until: OPEN.toISOString() } }).rule, 'respond', 'the pause ends at its instant')
})

t.test('rule 3: escalated and frozen conversations belong to a person', async (t) => {
  for (const state of ['escalated', 'frozen'] as const) {
    const held = stored({ state, previous_state: 'objection', last_event: 'threat_detected', misunderstandings: 2 })
    for (const c of [{ text: 'la crème' }, { text: THREAT }, { text: 'euh' }, { text: 'non merci' }, { text: 'la crème', hints: { event: 'freeze' as const } }]) {
      const v = run({ ...c, conversation: held })
      t.equal(v.action, 'ignore', `${state}: ${c.text}`)
      t.equal(v.rule, state)
      t.equal(v.reason, state)
      t.equal(v.event, null)
      t.equal(v.alert, null, 'not alerted twice')
      t.same(v.reply, { kind: 'none' })
      t.strictSame(v.conversation, fieldsOf(held), `${state}: unchanged (no misunderstanding counted)`)
    }
    t.equal(run({ text: 'la crème', conversation: held, now: CLOSED }).rule, state, 'it beats outside hours')
  }
})

t.test('rule 4: a message that needs a person alerts and escalates', async (t) => {
  const before = stored({ state: 'interest', previous_state: 'discovery', last_event: 'product_question' })
  const cases: Array<[string, Case, { trigger: string, severity: string }, string | null]> = [
    ['threat words', { text: 'je sais où tu habites, je vais te tuer' }, { trigger: 'threat', severity: 'critical' }, 'threat_detected'],
    ['legal words', { text: 'je vais porter plainte' }, { trigger: 'legal_situation', severity: 'critical' }, 'threat_detected'],
    ['a default sensitive keyword (also a legal word)', { text: 'mon avocat vous appellera' }, { trigger: 'legal_situation', severity: 'critical' }, 'threat_detected'],
    ['anger words', { text: "c'est une arnaque" }, { trigger: 'anger', severity: 'high' }, null],
    ['an account sensitive keyword', {
      text: 'un journaliste va en parler',
      account: settings({ escalation: { max_misunderstandings: 3, sensitive_keywords: ['journaliste'], reply: 'none' } })
    }, { trigger: 'sensitive_word', severity: 'high' }, null],
    ['the gateway saw anger', { text: 'la crème', hints: { sentiment: 'anger' } }, { trigger: 'anger', severity: 'high' }, 'product_question'],
    ['the gateway saw a threat', { text: 'bonjour', hints: { sentiment: 'threat' } }, { trigger: 'threat', severity: 'critical' }, null]
  ]
  for (const [name, c, alert, event] of cases) {
    const v = run({ ...c, conversation: before })
    t.equal(v.action, 'alert_human', name)
    t.equal(v.rule, 'alert', name)
    t.strictSame(v.alert, alert, name)
    t.equal(v.reason, alert.trigger, name)
    t.equal(v.event, event, `${name}: the event`)
    t.equal(v.conversation.state, 'escalated', name)
    t.equal(v.conversation.previous_state, 'interest', `${name}: the state before`)
    t.same(v.reply, { kind: 'none' }, `${name}: escalation.reply none is silence`)
  }
  t.equal(run({ text: 'un journaliste va en parler', conversation: before }).rule, 'respond', 'a word the account did not list is no alert')

  t.strictSame(run({ text: THREAT, hints: { sentiment: 'anger' }, conversation: before }).alert, { trigger: 'threat', severity: 'critical' }, 'the words found beat the hint')
  const holding = settings({ escalation: { max_misunderstandings: 3, sensitive_keywords: [], reply: 'holding' } })
  t.same(run({ text: THREAT, account: holding, conversation: before }).reply, { kind: 'holding' }, 'escalation.reply holding: the holding message')

  const fromObjection = run({ text: "c'est une arnaque", conversation: stored({ state: 'objection', previous_state: 'interest' }) })
  t.equal(fromObjection.conversation.previous_state, 'objection')
  t.equal(run({ text: THREAT, conversation: null }).conversation.previous_state, 'discovery', 'a first message escalates from discovery')

  const negative = run({ text: 'stop, arnaque', conversation: before })
  t.equal(negative.rule, 'alert', 'alert beats a negative message')
  t.equal(negative.conversation.state, 'escalated')
  const already = run({ text: 'arnaque', conversation: stored({ state: 'negative', previous_state: 'interest' }) })
  t.equal(already.rule, 'alert', 'alert beats a negative conversation')
  t.equal(already.conversation.previous_state, 'negative')
  const closed = run({ text: THREAT, now: CLOSED, conversation: stored({ state: 'intent' }, CLOSED) })
  t.equal(closed.rule, 'alert', 'alert beats outside hours')
  t.equal(closed.retry_after_seconds, null)
  const confused = run({ text: 'arnaque', conversation: stored({ misunderstandings: 2 }) })
  t.equal(confused.rule, 'alert', 'alert beats the misunderstanding count')
  t.equal(confused.alert?.trigger, 'anger')
})

t.test('rule 5: a conversation that is or becomes negative is ignored', async (t) => {
  const v = run({ text: 'non merci, pas intéressé', conversation: stored({ state: 'interest', previous_state: 'discovery' }) })
  t.equal(v.action, 'ignore')
  t.equal(v.rule, 'negative')
  t.equal(v.reason, 'negative_response')
  t.equal(v.event, 'negative_response')
  t.equal(v.conversation.state, 'negative')
  t.equal(v.conversation.previous_state, 'interest')
  t.equal(v.conversation.last_event, 'negative_response')
  t.same(v.reply, { kind: 'none' })
  t.equal(v.alert, null)

  const still = run({ text: 'combien coûte la crème ?', conversation: stored({ state: 'negative', previous_state: 'intent' }) })
  t.equal(still.rule, 'negative', 'a negative conversation stays ignored: a price question leaves it negative')
  t.equal(still.conversation.state, 'negative')
  t.equal(still.conversation.previous_state, 'intent', 'unchanged state: previous state kept')

  const closed = run({ text: 'stop', now: CLOSED, conversation: stored({}, CLOSED) })
  t.equal(closed.rule, 'negative', 'negative beats outside hours')
  t.equal(closed.retry_after_seconds, null)
  t.equal(run({ text: 'arrêtez', conversation: stored({ misunderstandings: 2 }) }).rule, 'negative', 'negative beats the misunderstanding count')
})

t.test('rule 6: outside active hours, delay until the next opening or ignore', async (t) => {
  const v = run({ text: 'combien coûte la crème ?', now: CLOSED, conversation: stored({}, CLOSED) })
  t.equal(v.action, 'delay')
  t.equal(v.rule, 'outside_active_hours')
  // Monday 09:00 in Paris is 08:00Z: 12 hours after Sunday 20:00Z.
  t.equal(v.retry_after_seconds, 12 * 3600)
  t.equal(v.reason, 'opens_at:2026-01-19T08:00:00.000Z')
  t.same(v.reply, { kind: 'none' })
  t.equal(v.conversation.state, 'interest', 'the message is still applied to the conversation')
  t.equal(v.event, 'price_interest')

  const early = new Date('2026-01-19T07:59:59.500Z')
  t.equal(run({ text: 'la crème', now: early, conversation: stored({}, early) }).retry_after_seconds, 1, 'half a second rounds up to 1')
  const weekdays = settings({ timezone: 'UTC', active_hours: { start: '09:00', end: '18:00', days: ['monday', 'tuesday', 'wednesday', 'thursday', 'friday'] } })
  const friday = new Date('2026-01-16T18:30:00Z')
  t.equal(run({ text: 'la crème', now: friday, account: weekdays, conversation: stored({}, friday) }).retry_after_seconds, (2 * 24 + 14) * 3600 + 30 * 60, 'Friday evening: Monday 09:00')

  const ignore = run({ text: 'la crème', now: CLOSED, account: settings({ outside_hours: 'ignore' }), conversation: stored({}, CLOSED) })
  t.equal(ignore.action, 'ignore')
  t.equal(ignore.rule, 'outside_active_hours')
  t.equal(ignore.retry_after_seconds, null)
  t.equal(ignore.reason, 'opens_at:2026-01-19T08:00:00.000Z')

  const always = run({ text: 'la crème', now: CLOSED, account: settings({ active_hours: 'always' }), conversation: stored({}, CLOSED) })
  t.equal(always.rule, 'respond', 'always open')

  const confused = run({ text: 'euh', now: CLOSED, conversation: stored({ misunderstandings: 2 }, CLOSED) })
  t.equal(confused.rule, 'outside_active_hours', 'outside hours beats the misunderstanding count')
  t.equal(confused.conversation.misunderstandings, 3, 'the misunderstanding still counts')
})

t.test('rule 7: misunderstandings reaching the maximum alert a person', async (t) => {
  const [first, second, third] = chain(['euh', 'hmm ?', 'je sais pas'])
  t.equal(first.rule, 'respond')
  t.equal(first.conversation.misunderstandings, 1)
  t.equal(second.rule, 'respond')
  t.equal(second.conversation.misunderstandings, 2)
  t.equal(third.action, 'alert_human', 'the third in a row, with max_misunderstandings 3')
  t.equal(third.rule, 'misunderstood')
  t.equal(third.reason, 'repeated_misunderstanding')
  t.strictSame(third.alert, { trigger: 'repeated_misunderstanding', severity: 'high' })
  t.equal(third.conversation.state, 'escalated')
  t.equal(third.conversation.previous_state, 'discovery')
  t.equal(third.conversation.misunderstandings, 3)
  t.same(third.reply, { kind: 'none' })

  const holding = settings({ escalation: { max_misunderstandings: 1, sensitive_keywords: [], reply: 'holding' } })
  const once = run({ text: 'euh', account: holding, conversation: stored({ state: 'interest' }) })
  t.equal(once.rule, 'misunderstood', 'max 1: the first misunderstanding alerts')
  t.same(once.reply, { kind: 'holding' })
  t.equal(once.conversation.previous_state, 'interest')

  const [, , understood] = chain(['euh', 'hmm ?', 'la crème'])
  t.equal(understood.rule, 'respond', 'an understood message in between breaks the run')
  t.equal(understood.conversation.misunderstandings, 0)
})

t.test('rule 9: respond', async (t) => {
  const v = run({ text: 'combien coûte le savon noir ?' })
  t.equal(v.action, 'respond_text')
  t.equal(v.rule, 'respond')
  t.equal(v.reason, null)
  t.equal(v.alert, null)
  t.equal(v.retry_after_seconds, null)
  t.equal(v.restarted, false)
  t.same(v.reply, { kind: 'respond', media: null, product: savon })
  const greeting = run({ text: 'bonjour', conversation: null })
  t.equal(greeting.action, 'respond_text')
  t.same(greeting.reply, { kind: 'respond', media: null, product: null })
})

t.test('event detection', async (t) => {
  t.equal(run({ text: 'combien coûte la crème ?' }).event, 'price_interest', "the matcher's event")
  t.equal(run({ text: 'je prends la crème, combien ?' }).event, 'purchase_intent', 'purchase before price')
  t.equal(run({ text: 'la crème est trop cher' }).event, 'objection_raised')
  t.equal(run({ text: 'et la livraison ?' }).event, 'product_question', 'an FAQ trigger is a product question')

  const hinted = run({ text: 'combien ?', hints: { event: 'purchase_intent' } })
  t.equal(hinted.event, 'purchase_intent', "the gateway's event is used")
  t.equal(hinted.conversation.state, 'intent')
  t.equal(run({ text: 'non merci', hints: { event: 'product_question' } }).conversation.state, 'interest', 'even over a negative word')
  t.equal(run({ text: 'combien ?', hints: { event: null } }).event, 'price_interest', 'a null hint is no hint')

  const threat = run({ text: THREAT, hints: { event: 'product_question' } })
  t.equal(threat.event, 'threat_detected', 'unless a threat is found')
  t.equal(threat.conversation.last_event, 'threat_detected')
  t.equal(run({ text: 'je vais voir un avocat', hints: { event: 'purchase_intent' } }).event, 'threat_detected', 'legal words are a threat too')

  // The gateway's own NLU may find what the word lists do not: a threat it saw alerts a person, a freeze holds.
  const gatewayThreat = run({ text: 'bonjour', conversation: stored({ state: 'interest' }), hints: { event: 'threat_detected' } })
  t.strictSame([gatewayThreat.rule, gatewayThreat.action, gatewayThreat.conversation.state], ['alert', 'alert_human', 'escalated'], 'a threat the gateway saw escalates')
  t.strictSame(gatewayThreat.alert, { trigger: 'threat', severity: 'critical' })
  const gatewayFreeze = run({ text: 'bonjour', conversation: stored({ state: 'interest' }), hints: { event: 'freeze' } })
  t.strictSame([gatewayFreeze.rule, gatewayFreeze.action, gatewayFreeze.conversation.state, gatewayFreeze.reply.kind], ['frozen', 'ignore', 'frozen', 'none'], 'a freeze the gateway asked for is not answered')

  const nothing = run({ text: 'euh', conversation: stored({ state: 'interest', last_event: 'product_question', misunderstandings: 1 }) })
  t.equal(nothing.event, null, 'nothing found')
  t.equal(nothing.conversation.misunderstandings, 2, 'a misunderstanding')
  t.equal(nothing.conversation.state, 'interest', 'the state stays')
  t.equal(nothing.conversation.last_event, 'product_question', 'the last event stays')

  const greeting = run({ text: 'bonjour', conversation: null })
  t.equal(greeting.event, null)
  t.equal(greeting.conversation.misunderstandings, 0, "a contact's first message that names nothing is a greeting")
  t.equal(greeting.conversation.state, 'discovery')

  for (const [name, c] of [['a matched event', { text: 'la crème' }], ['a hinted event', { text: 'euh', hints: { event: 'price_interest' as const } }]] as const) {
    const v = run({ ...c, conversation: stored({ misunderstandings: 2 }) })
    t.equal(v.rule, 'respond', name)
    t.equal(v.conversation.misunderstandings, 0, `${name} resets the count`)
  }
})

t.test('transitions through decide', async (t) => {
  const cells: Array<[State, string, State]> = [
    ['discovery', 'combien coûte la crème ?', 'interest'],
    ['discovery', 'la crème', 'interest'],
    ['discovery', 'je veux commander la crème', 'intent'],
    ['discovery', 'la crème est trop cher', 'objection'],
    ['interest', 'combien coûte la crème ?', 'intent'],
    ['interest', 'je prends la crème', 'intent'],
    ['interest', 'et le savon ?', 'interest'],
    ['intent', 'combien coûte le savon ?', 'intent'],
    ['intent', 'pas maintenant', 'objection'],
    ['objection', 'et le savon ?', 'interest'],
    ['objection', 'je prends la crème', 'intent'],
    ['objection', 'combien ?', 'objection']
  ]
  for (const [from, text, to] of cells) {
    const v = run({ text, conversation: stored({ state: from, previous_state: 'discovery' }) })
    t.equal(v.conversation.state, to, `${from} + "${text}" (${String(v.event)}) → ${to}`)
    t.equal(v.rule, 'respond')
    t.equal(v.conversation.previous_state, from === to ? 'discovery' : from, 'previous_state moves only when the state does')
  }

  const [price, purchase] = chain(['combien coûte la crème ?', 'je prends'])
  t.equal(price.conversation.state, 'interest')
  t.equal(purchase.conversation.state, 'intent')
  t.equal(purchase.conversation.previous_state, 'interest')
  t.equal(purchase.conversation.last_event, 'purchase_intent')

  const [objection, question] = chain(['la crème est trop cher', 'et le savon noir ?'])
  t.equal(objection.conversation.state, 'objection')
  t.equal(objection.event, 'objection_raised')
  t.equal(question.conversation.state, 'interest')
  t.equal(question.conversation.previous_state, 'objection')
})

t.test('session expiry: an idle conversation starts over in discovery', async (t) => {
  const expiry = defaultSettings().session_expiry_minutes * MINUTE
  const old = stored({
    state: 'intent',
    previous_state: 'interest',
    last_event: 'purchase_intent',
    misunderstandings: 2,
    media_sent: ['creme-karite'],
    last_message_at: new Date(OPEN.getTime() - expiry - 1).toISOString()
  })

  const greeting = run({ text: 'bonjour', conversation: old })
  t.equal(greeting.restarted, true)
  t.strictSame(greeting.conversation, {
    state: 'discovery',
    previous_state: null,
    last_event: null,
    misunderstandings: 0,
    paused_until: null,
    session_started_at: OPEN.toISOString(),
    media_sent: []
  }, 'a fresh session; its first message naming nothing is a greeting, no misunderstanding')
  t.equal(greeting.rule, 'respond')

  const question = run({ text: 'la crème', conversation: old })
  t.equal(question.restarted, true)
  t.equal(question.conversation.state, 'interest', 'the message applies to the new session: discovery + product question')
  t.equal(question.conversation.previous_state, 'discovery')
  t.equal(question.action, 'respond_with_media', 'media already sent belonged to the old session')
  t.same(question.conversation.media_sent, [])

  const negative = run({ text: 'non merci', conversation: old })
  t.equal(negative.conversation.previous_state, 'discovery', 'from discovery, not from the old intent')

  const shorter = settings({ session_expiry_minutes: 30 })
  t.equal(run({ text: 'la crème', account: shorter, conversation: stored({ state: 'intent', last_message_at: new Date(OPEN.getTime() - 31 * MINUTE).toISOString() }) }).restarted, true, 'the account\'s expiry')
  t.equal(run({ text: 'la crème', account: shorter, conversation: stored({ state: 'intent', last_message_at: new Date(OPEN.getTime() - 29 * MINUTE).toISOString() }) }).restarted, false)

  const boundary = { ...old, last_message_at: new Date(OPEN.getTime() - expiry).toISOString() }
  const kept = run({ text: 'euh', conversation: boundary })
  t.equal(kept.restarted, false, 'exactly at the boundary: not expired')
  t.equal(kept.conversation.previous_state, 'intent', 'the old state carried over')
  t.equal(kept.conversation.misunderstandings, 3)
  t.same(kept.conversation.media_sent, ['creme-karite'])
  t.equal(kept.rule, 'misunderstood', 'the count carried over and reached the maximum')

  for (const state of ['escalated', 'frozen'] as const) {
    const held = { ...old, state }
    const v = run({ text: 'la crème', conversation: held })
    t.equal(v.restarted, false, `${state} does not expire`)
    t.equal(v.rule, state)
    t.strictSame(v.conversation, fieldsOf(held), `${state} stays held`)
  }
})

t.test('media: only an allowed media of the best product, in interest or intent, once per session', async (t) => {
  const image = run({ text: 'la crème' })
  t.equal(image.action, 'respond_with_media')
  t.same(image.reply, { kind: 'respond', media: { ...photo, product: 'creme-karite' }, product: karite })
  t.equal(image.conversation.state, 'interest')

  const intent = run({ text: 'je prends la crème' })
  t.equal(intent.conversation.state, 'intent')
  t.equal(intent.action, 'respond_with_media', 'in intent too')

  const video = run({ text: "l'huile de coco" })
  t.equal(video.action, 'respond_with_media')
  t.same(video.reply, { kind: 'respond', media: { id: 'huile-video', type: 'video', url: 'https://shop.example/h.mp4', product: 'huile-coco' }, product: huile },
    'the first media the policy allows: the video, not the refused image')

  const refused = run({ text: 'le savon noir' })
  t.equal(refused.action, 'respond_text', 'a video its policy refuses')
  t.same(refused.reply, { kind: 'respond', media: null, product: savon })
  t.equal(run({ text: 'le gommage' }).action, 'respond_text', 'a product without media')
  t.equal(run({ text: 'ancien' }).action, 'respond_text', 'an inactive product never matches')

  const sent = run({ text: 'la crème', conversation: stored({ state: 'interest', media_sent: ['creme-karite'] }) })
  t.equal(sent.action, 'respond_text', 'its media was sent in this session')
  t.same(sent.reply, { kind: 'respond', media: null, product: karite })
  t.same(sent.conversation.media_sent, ['creme-karite'])
  t.equal(run({ text: 'la crème', conversation: stored({ state: 'interest', media_sent: ['huile-coco'] }) }).action, 'respond_with_media', 'another product\'s media does not count')

  const objection = run({ text: 'la crème est trop cher' })
  t.equal(objection.conversation.state, 'objection')
  t.equal(objection.action, 'respond_text', 'not in objection')
  t.equal(run({ text: 'combien ?', conversation: stored({ state: 'objection' }) }).action, 'respond_text')

  const best = run({ text: 'le savon noir ou la crème ?' })
  t.equal(best.action, 'respond_text', 'the best match (savon noir, score 3) has no allowed media')
  t.same(best.reply, { kind: 'respond', media: null, product: savon })

  const unknown = run({ text: 'la crème', products: [savon] })
  t.equal(unknown.action, 'respond_text', 'a matched product missing from the catalogue given is no product')
  t.same(unknown.reply, { kind: 'respond', media: null, product: null })

  const stays = stored({ state: 'interest', media_sent: ['huile-coco'] })
  run({ text: 'la crème', conversation: stays })
  t.same(stays.media_sent, ['huile-coco'], 'decide never changes the conversation it was given')
})

t.test('rules 1-3 leave the conversation as it was', async (t) => {
  const base = { previous_state: 'interest' as const, last_event: 'price_interest' as const, misunderstandings: 2, media_sent: ['creme-karite'] }
  const pause = new Date(OPEN.getTime() + MINUTE).toISOString()
  const cases: Array<[string, Stored, Settings]> = [
    ['automation off', stored({ ...base, state: 'intent' }), settings({ automation: 'off' })],
    ['paused', stored({ ...base, state: 'objection', paused_until: pause }), settings()],
    ['escalated', stored({ ...base, state: 'escalated' }), settings()],
    ['frozen', stored({ ...base, state: 'frozen' }), settings()]
  ]
  for (const [name, conversation, account] of cases) {
    for (const text of ['je prends la crème', 'non merci', 'euh', THREAT]) {
      const v = run({ text, conversation, account })
      t.equal(v.conversation.state, conversation.state, `${name}, "${text}": state unchanged`)
      t.strictSame(v.conversation, fieldsOf(conversation), `${name}, "${text}": every field unchanged`)
      t.not(v.conversation.media_sent, conversation.media_sent, 'a copy, not the stored list')
    }
  }
})
