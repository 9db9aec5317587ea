/**
 * The operators' conversation routes (README, "Deciding every message"), through HTTP on SQLite: the listing and its cursor, one
 * conversation's decrypted messages, pause / resume / freeze as the next incoming message sees them, and
 * the erasure of a contact (README, "Data protection") with what the audit trail (README, "Data protection") keeps of it.
 */
import t from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import sellify from '../../app.js'
import { build, call, DEV_KEY, fixedClock, type TapTest } from '../helper.js'

const A = '+33612345678'
const B = '33698765432@s.whatsapp.net'
const STRANGER = '+19995550100'

const SUMMARY_KEYS = ['contact', 'state', 'previous_state', 'last_event', 'paused_until', 'misunderstandings', 'created_at', 'last_message_at']

const karite = {
  business_name: 'Karité & Co',
  products: [{ id: 'creme-karite', name: 'Crème au karité 200 ml', price: '12500', currency: 'XOF', keywords: ['creme', 'karite'] }]
}

type Json = Record<string, any>

/** The account open at all hours (and whatever else the test needs), with the karité catalogue. */
async function shop (app: FastifyInstance, account = 'default', settings: Json = {}): Promise<void> {
  const put = await call(app, 'PUT', `/api/v1/accounts/${account}`, { active_hours: 'always', ...settings })
  if (put.statusCode !== 200 && put.statusCode !== 201) throw new Error(`PUT account: ${put.body}`)
  const kb = await call(app, 'PUT', `/api/v1/knowledge?account=${account}`, karite)
  if (kb.statusCode !== 200) throw new Error(`PUT knowledge: ${kb.body}`)
}

/** An incoming message, which must be answered 200: the decision. */
async function say (app: FastifyInstance, contact: string, text: string | null, over: Json = {}, key: string = DEV_KEY): Promise<Json> {
  const res = await call(app, 'POST', '/api/v1/messages/incoming', { contact, text, ...over }, key)
  if (res.statusCode !== 200) throw new Error(`incoming ${JSON.stringify(text)} answered ${res.statusCode}: ${res.body}`)
  return res.json()
}

async function list (app: FastifyInstance, query = '', key: string = DEV_KEY): Promise<Json> {
  const res = await call(app, 'GET', `/api/v1/conversations${query === '' ? '' : `?${query}`}`, undefined, key)
  if (res.statusCode !== 200) throw new Error(`GET /conversations?${query}: ${res.statusCode} ${res.body}`)
  return res.json()
}

/** Every page of a listing, following next_before: the contacts in the order the pages gave them. */
async function allPages (app: FastifyInstance, query: string, limit: number): Promise<{ contacts: string[], pages: number }> {
  const contacts: string[] = []
  let before: string | null = null
  for (let pages = 1; pages <= 200; pages++) {
    const page = await list(app, `${query}&limit=${limit}${before === null ? '' : `&before=${encodeURIComponent(before)}`}`)
    if (page.conversations.length > limit) throw new Error(`a page of ${page.conversations.length} for limit ${limit}`)
    contacts.push(...page.conversations.map((c: Json) => c.contact))
    if (page.next_before === null) return { contacts, pages }
    before = page.next_before
  }
  throw new Error('the cursor never reached the end')
}

async function agentKey (app: FastifyInstance, account: string): Promise<string> {
  const res = await call(app, 'POST', '/api/v1/keys', { name: `bot of ${account}`, role: 'agent', account })
  if (res.statusCode !== 201) throw new Error(`POST /keys: ${res.body}`)
  return res.json().key
}

async function verify (app: FastifyInstance, account = 'default'): Promise<Json> {
  return (await call(app, 'GET', `/api/v1/audit/verify?account=${account}`)).json()
}

async function audit (app: FastifyInstance, query: string): Promise<Json[]> {
  const res = await call(app, 'GET', `/api/v1/audit?limit=500&${query}`)
  if (res.statusCode !== 200) throw new Error(`GET /audit?${query}: ${res.body}`)
  return res.json().records
}

async function dataKeys (app: FastifyInstance): Promise<number> {
  const res = await call(app, 'GET', '/api/v1/encryption')
  return Object.values(res.json().by_key as Record<string, number>).reduce((n, c) => n + c, 0)
}

async function messagesToday (app: FastifyInstance, account = 'default'): Promise<number> {
  return (await call(app, 'GET', `/api/v1/quota/status?account=${account}`)).json().messages_today
}

function setup (t: TapTest) {
  const clock = fixedClock('2026-01-18T12:00:00.000Z')
  return { clock, app: build(t, { now: clock.now }) }
}

t.test('GET /conversations: newest activity first, by state, paged by a cursor that gives each one once', async (t) => {
  const { clock, app: building } = setup(t)
  const app = await building
  await shop(app)
  const contacts = Array.from({ length: 7 }, (_, i) => `+3361000000${i}`)
  // [contact, text]: one second apart, so the last activity of each is known.
  const traffic: Array<[string, string]> = [
    ...contacts.map((c): [string, string] => [c, 'Bonjour']),
    [contacts[2], 'Combien coûte la crème au karité ?'],
    [contacts[4], 'Je vais porter plainte'],
    [contacts[0], 'Je prends la crème au karité'],
    [contacts[5], 'Je vais porter plainte']
  ]
  const last = new Map<string, string>()
  for (const [contact, text] of traffic) {
    clock.advance(1000)
    await say(app, contact, text)
    last.set(contact, clock.now().toISOString())
  }
  const newestFirst = [contacts[5], contacts[0], contacts[4], contacts[2], contacts[6], contacts[3], contacts[1]]

  const all = await list(app)
  t.strictSame(all.conversations.map((c: Json) => c.contact), newestFirst, 'newest activity first')
  t.equal(all.next_before, null, 'one page: no cursor')
  t.strictSame(Object.keys(all.conversations[0]), SUMMARY_KEYS)
  for (const c of all.conversations) t.equal(c.last_message_at, last.get(c.contact), `${c.contact as string} last_message_at`)
  t.match(all.conversations.find((c: Json) => c.contact === contacts[0]), {
    state: 'intent', previous_state: 'discovery', last_event: 'purchase_intent', paused_until: null, misunderstandings: 0, created_at: '2026-01-18T12:00:01.000Z'
  })

  const escalated = await list(app, 'state=escalated')
  t.strictSame(escalated.conversations.map((c: Json) => c.contact), [contacts[5], contacts[4]], 'state=escalated: those only, in order')
  t.strictSame((await list(app, 'state=discovery')).conversations.map((c: Json) => c.contact), [contacts[6], contacts[3], contacts[1]])
  t.strictSame((await list(app, 'state=frozen')).conversations, [], 'a state nobody is in')

  for (const limit of [1, 2, 3, 7]) {
    const { contacts: paged, pages } = await allPages(app, 'account=default', limit)
    t.strictSame(paged, newestFirst, `limit=${limit}: every conversation exactly once, in order`)
    t.ok(pages >= Math.ceil(7 / limit), `limit=${limit}: ${pages} pages`)
  }
  const first = await list(app, 'limit=3')
  t.equal(first.conversations.length, 3)
  t.type(first.next_before, 'string', 'a full page gives a cursor')
  t.strictSame((await allPages(app, 'state=discovery', 2)).contacts, [contacts[6], contacts[3], contacts[1]], 'the state filter pages too')

  // A conversation that moves while a client pages: later pages are not disturbed by it.
  clock.advance(1000)
  await say(app, contacts[1], 'Combien coûte la crème au karité ?')
  const second = await list(app, `limit=3&before=${encodeURIComponent(first.next_before)}`)
  t.strictSame(second.conversations.map((c: Json) => c.contact), [contacts[2], contacts[6], contacts[3]], 'the page after the cursor')
  t.equal((await list(app, 'limit=1')).conversations[0].contact, contacts[1], 'the newest activity is first again')
})

t.test('GET /conversations: conversations with the same last activity are each listed once across pages', async (t) => {
  const { app: building } = setup(t)
  const app = await building
  await shop(app)
  // The clock does not move: 55 conversations with one last_message_at, ordered by the cursor's tie-breaker.
  const contacts = Array.from({ length: 55 }, (_, i) => `+4470000000${String(i).padStart(2, '0')}`)
  for (const c of contacts) await say(app, c, 'Bonjour')

  const page = await list(app)
  t.equal(page.conversations.length, 50, 'limit defaults to 50')
  t.type(page.next_before, 'string')
  const rest = await list(app, `before=${encodeURIComponent(page.next_before)}`)
  t.equal(rest.conversations.length, 5)
  t.equal(rest.next_before, null)
  const once = [...page.conversations, ...rest.conversations].map((c: Json) => c.contact)
  t.strictSame([...once].sort(), [...contacts].sort(), 'the two pages hold every conversation once')
  for (const limit of [1, 4, 50, 55, 500]) {
    t.strictSame((await allPages(app, 'state=discovery', limit)).contacts, once, `limit=${limit}: the same order, each once`)
  }
})

t.test('GET /conversations: bad limits and cursors are 400s naming the field; accounts are kept apart', async (t) => {
  const { clock, app: building } = setup(t)
  const app = await building
  await shop(app)
  await shop(app, 'shop-b')
  await say(app, A, 'Bonjour')
  clock.advance(1000)
  await say(app, B, 'Bonjour')
  await say(app, A, 'Combien coûte la crème au karité ?', { account: 'shop-b' })

  const cases: Array<[string, RegExp]> = [
    ['limit=501', /^querystring\/limit must be <= 500/],
    ['limit=0', /^querystring\/limit must be >= 1/],
    ['limit=ten', /^querystring\/limit must be integer/],
    ['state=browsing', /^querystring\/state must be one of discovery, /],
    ['before=garbage', /^querystring\/before "garbage" is not a cursor this listing gave/],
    [`before=${Buffer.from('not a date\nkey').toString('base64url')}`, /^querystring\/before /],
    [`before=${Buffer.from('2026-01-18T12:00:00.000Z').toString('base64url')}`, /^querystring\/before /],
    [`before=${Buffer.from('2026-01-18T12:00:00.000Z\nkey\nmore').toString('base64url')}`, /^querystring\/before /],
    ['before=', /^querystring\/before must NOT have fewer than 1 characters/],
    ['extra=1', /extra/]
  ]
  for (const [query, message] of cases) {
    const res = await call(app, 'GET', `/api/v1/conversations?${query}`)
    t.equal(res.statusCode, 400, query)
    t.match(res.json(), { statusCode: 400, error: 'Bad Request', message }, query)
  }
  t.equal((await call(app, 'GET', '/api/v1/conversations?limit=500')).statusCode, 200, '500 is allowed')
  t.match((await call(app, 'GET', '/api/v1/conversations?account=nobody')).json(), { statusCode: 404, message: /nobody/ })

  t.strictSame((await list(app)).conversations.map((c: Json) => [c.contact, c.state]), [[B, 'discovery'], [A, 'discovery']], 'default\'s own')
  t.strictSame((await list(app, 'account=shop-b')).conversations.map((c: Json) => [c.contact, c.state]), [[A, 'interest']], 'shop-b\'s own: the same contact is another conversation')
  const detail = (await call(app, 'GET', `/api/v1/conversations/${A}?account=shop-b`)).json()
  t.strictSame(detail.messages.map((m: Json) => m.text).slice(0, 1), ['Combien coûte la crème au karité ?'], 'shop-b\'s messages')
  t.equal((await call(app, 'GET', `/api/v1/conversations/${B}?account=shop-b`)).statusCode, 404, 'default\'s contact is unknown to shop-b')

  const agent = await agentKey(app, 'shop-b')
  t.strictSame((await list(app, '', agent)).conversations.map((c: Json) => c.contact), [A], 'an agent lists its own account\'s')
  t.strictSame((await list(app, 'account=shop-b', agent)).conversations.map((c: Json) => c.contact), [A])
  const forbidden: Array<[string, string, unknown]> = [
    ['GET', '/api/v1/conversations?account=default', undefined],
    ['GET', `/api/v1/conversations/${B}?account=default`, undefined],
    ['POST', `/api/v1/conversations/${B}/pause`, { account: 'default' }],
    ['POST', `/api/v1/conversations/${B}/resume`, { account: 'default' }],
    ['POST', `/api/v1/conversations/${B}/freeze`, { account: 'default' }],
    ['DELETE', `/api/v1/conversations/${A}?account=shop-b`, undefined]
  ]
  for (const [method, url, body] of forbidden) {
    const res = await call(app, method as 'GET', url, body, agent)
    t.equal(res.statusCode, 403, `${method} ${url}`)
    t.match(res.json(), { statusCode: 403, error: 'Forbidden' })
  }
  t.equal((await call(app, 'GET', `/api/v1/conversations/${A}`, undefined, agent)).json().state, 'interest', 'the agent reads its own account\'s contact')
  t.equal((await call(app, 'GET', '/api/v1/conversations', undefined, null)).statusCode, 401)
  t.match((await list(app)).conversations, [{ contact: B, state: 'discovery', paused_until: null }, { contact: A, state: 'discovery', paused_until: null }], 'nothing the agent was refused changed')
  t.equal((await list(app, 'account=shop-b')).conversations.length, 1, 'nor was the refused erasure made')
})

t.test('GET /conversations/:contact: the last 50 messages decrypted, oldest first, with senders and decision ids', async (t) => {
  const { clock, app: building } = setup(t)
  const app = await building
  await shop(app)
  await say(app, B, 'Bonjour')
  const expected: Json[] = []
  for (let i = 1; i <= 60; i++) {
    clock.advance(1000)
    const at = clock.now().toISOString()
    const media = i === 58 ? { type: 'image' } : null
    const text = media === null ? `Message ${i} : la crème au karité, elle sent bon ?` : null
    const d = await say(app, A, text, { message_id: `wamid-${i}`, media })
    expected.push({ direction: 'in', sender: 'customer', text, media_type: media?.type ?? null, decision_id: d.decision_id, at })
    if (d.reply !== null) expected.push({ direction: 'out', sender: 'bot', text: d.reply.text, media_type: null, decision_id: d.decision_id, at })
  }
  clock.advance(1000)
  const human = await call(app, 'POST', '/api/v1/messages/outgoing', { contact: A, text: 'Bonjour, ici Awa de la boutique.', sender: 'human' })
  t.equal(human.statusCode, 200, human.body)
  expected.push({ direction: 'out', sender: 'human', text: 'Bonjour, ici Awa de la boutique.', media_type: null, decision_id: null, at: clock.now().toISOString() })
  t.equal(expected.length, 121, '60 incoming messages, each answered, and the human one')

  const res = await call(app, 'GET', `/api/v1/conversations/${A}`)
  t.equal(res.statusCode, 200)
  const detail = res.json()
  t.strictSame(Object.keys(detail), [...SUMMARY_KEYS, 'messages'])
  t.match(detail, { contact: A, state: 'interest', paused_until: human.json().paused_until, last_message_at: clock.now().toISOString(), created_at: '2026-01-18T12:00:01.000Z' })
  t.equal(detail.messages.length, 50, 'at most 50')
  t.strictSame(detail.messages, expected.slice(-50), 'the last 50, oldest first, texts in clear')
  t.strictSame(detail.messages.map((m: Json) => m.sender).slice(-3), ['customer', 'bot', 'human'])
  t.ok(detail.messages.some((m: Json) => m.media_type === 'image' && m.text === null), 'a media without caption has no text')

  const other = (await call(app, 'GET', `/api/v1/conversations/${B}`)).json()
  t.strictSame(other.messages.map((m: Json) => [m.direction, m.sender, m.text]), [
    ['in', 'customer', 'Bonjour'],
    ['out', 'bot', 'Bonjour et bienvenue chez Karité & Co ! Que recherchez-vous aujourd\'hui ?']
  ], 'another contact has only its own messages')

  const unknown = await call(app, 'GET', `/api/v1/conversations/${STRANGER}`)
  t.equal(unknown.statusCode, 404)
  t.match(unknown.json(), { statusCode: 404, error: 'Not Found', message: 'no conversation with this contact' })
  t.notMatch(unknown.body, STRANGER, 'the answer does not repeat the contact')
  for (const bad of ['-33612345678', 'a%20b', '%2B33%2F1', 'caf%C3%A9']) {
    const r = await call(app, 'GET', `/api/v1/conversations/${bad}`)
    t.equal(r.statusCode, 400, bad)
    t.match(r.json().message, /^params\/contact must match pattern/, bad)
  }
  const tooLong = await call(app, 'GET', `/api/v1/conversations/${'x'.repeat(129)}`)
  t.ok(tooLong.statusCode === 400 || tooLong.statusCode === 414, `129 characters are refused (${tooLong.statusCode})`)
})

t.test('pause, resume and freeze: what the next incoming message gets, each on record', async (t) => {
  const { clock, app: building } = setup(t)
  const app = await building
  await shop(app, 'default', { human_takeover_minutes: 45, escalation: { max_misunderstandings: 2 } })
  const C = '+2250700000001'
  await say(app, A, 'Bonjour')

  // Pause for 30 minutes: ignored, nothing consumed.
  let res = await call(app, 'POST', `/api/v1/conversations/${A}/pause`, { minutes: 30 })
  t.equal(res.statusCode, 200, res.body)
  const at = '2026-01-18T12:00:00.000Z'
  t.strictSame(res.json(), { contact: A, state: 'discovery', previous_state: null, last_event: null, paused_until: '2026-01-18T12:30:00.000Z', misunderstandings: 0, created_at: at, last_message_at: at })
  t.equal((await call(app, 'GET', `/api/v1/conversations/${A}`)).json().paused_until, '2026-01-18T12:30:00.000Z')
  const used = await messagesToday(app)
  clock.advance(60_000)
  let d = await say(app, A, 'Combien coûte la crème au karité ?')
  t.match(d, { action: 'ignore', rule: 'human_takeover', reason: 'human_takeover', reply: null, quota: null, conversation: { state: 'discovery', paused_until: '2026-01-18T12:30:00.000Z' } })
  t.equal(await messagesToday(app), used, 'an ignored message consumes nothing')

  // Without minutes: the account's human_takeover_minutes, from now.
  res = await call(app, 'POST', `/api/v1/conversations/${A}/pause`, {})
  t.equal(res.statusCode, 200, res.body)
  t.equal(res.json().paused_until, '2026-01-18T12:46:00.000Z', '45 minutes from 12:01')
  for (const minutes of [0, -5, 1.5, 525_601, '10']) {
    const bad = await call(app, 'POST', `/api/v1/conversations/${A}/pause`, { minutes })
    t.equal(bad.statusCode, 400, `minutes ${String(minutes)}`)
    t.match(bad.json().message, /^body\/minutes /)
  }
  t.equal((await call(app, 'POST', `/api/v1/conversations/${A}/pause`, { minutes: 30, extra: true })).statusCode, 400)

  // Resume: the pause is cleared and the bot answers again; the state is kept.
  res = await call(app, 'POST', `/api/v1/conversations/${A}/resume`, {})
  t.equal(res.statusCode, 200, res.body)
  t.match(res.json(), { contact: A, state: 'discovery', previous_state: null, paused_until: null })
  d = await say(app, A, 'Combien coûte la crème au karité ?')
  t.match(d, { action: 'respond_text', rule: 'respond', conversation: { state: 'interest', previous_state: 'discovery', paused_until: null } })

  // A pause ends by itself at paused_until.
  t.equal((await call(app, 'POST', `/api/v1/conversations/${A}/pause`, { minutes: 1 })).statusCode, 200)
  t.match(await say(app, A, 'Je prends la crème au karité'), { rule: 'human_takeover' })
  clock.advance(61_000)
  t.match(await say(app, A, 'Je prends la crème au karité'), { rule: 'respond', conversation: { state: 'intent' } }, 'answered after paused_until')

  // Escalated by an alert (two misunderstandings in a row), then resumed: discovery, the count starts over.
  await say(app, B, 'Bonjour')
  t.match(await say(app, B, 'zzz'), { rule: 'respond', conversation: { misunderstandings: 1 } })
  d = await say(app, B, 'zzz')
  t.match(d, { action: 'alert_human', rule: 'misunderstood', alert: { trigger: 'repeated_misunderstanding' }, conversation: { state: 'escalated', misunderstandings: 2 } })
  t.match(await say(app, B, 'Combien coûte la crème au karité ?'), { action: 'ignore', rule: 'escalated', reason: 'escalated', reply: null })
  res = await call(app, 'POST', `/api/v1/conversations/${B}/resume`, {})
  t.equal(res.statusCode, 200, res.body)
  t.match(res.json(), { contact: B, state: 'discovery', previous_state: 'escalated', paused_until: null, misunderstandings: 0 })
  t.match(await say(app, B, 'zzz'), { action: 'respond_text', rule: 'respond', conversation: { state: 'discovery', misunderstandings: 1 } },
    'one misunderstanding after the resume is not yet max_misunderstandings')

  // Escalated by a legal threat: the same way back.
  const D = '+2250700000002'
  t.match(await say(app, D, 'Je vais porter plainte'), { action: 'alert_human', rule: 'alert', alert: { trigger: 'legal_situation' }, conversation: { state: 'escalated' } })
  t.match((await call(app, 'POST', `/api/v1/conversations/${D}/resume`, {})).json(), { state: 'discovery', previous_state: 'escalated', misunderstandings: 0 })
  t.match(await say(app, D, 'Combien coûte la crème au karité ?'), { action: 'respond_text', rule: 'respond', conversation: { state: 'interest', previous_state: 'discovery' } })

  // Frozen: ignored until an operator resumes it; a second freeze changes nothing.
  await say(app, C, 'Combien coûte la crème au karité ?')
  res = await call(app, 'POST', `/api/v1/conversations/${C}/freeze`, {})
  t.equal(res.statusCode, 200, res.body)
  t.match(res.json(), { contact: C, state: 'frozen', previous_state: 'interest', last_event: 'freeze' })
  t.match(await say(app, C, 'Je prends la crème au karité'), { action: 'ignore', rule: 'frozen', reason: 'frozen', reply: null, conversation: { state: 'frozen' } })
  t.match((await call(app, 'POST', `/api/v1/conversations/${C}/freeze`, {})).json(), { state: 'frozen', previous_state: 'interest' })
  t.match((await call(app, 'POST', `/api/v1/conversations/${C}/resume`, {})).json(), { state: 'discovery', previous_state: 'frozen' })
  t.match(await say(app, C, 'Je prends la crème au karité'), { action: 'respond_text', conversation: { state: 'intent', previous_state: 'discovery' } })

  // Each change is on record, with the key that made it, and the chain verifies.
  const actor = { id: 'bootstrap', name: 'SELLIFY_API_KEY' }
  const paused = await audit(app, 'type=conversation_paused')
  t.strictSame(paused.map((r) => [r.contact, r.details.paused_until]), [
    [A, '2026-01-18T12:02:00.000Z'], [A, '2026-01-18T12:46:00.000Z'], [A, '2026-01-18T12:30:00.000Z']
  ], 'every pause, newest first, with its end')
  t.match(paused[0], { type: 'conversation_paused', account: 'default', actor, erased: false, state_before: 'interest', state_after: 'interest' })
  const resumed = await audit(app, 'type=conversation_resumed')
  t.strictSame(resumed.map((r) => [r.contact, r.state_before, r.state_after]), [[C, 'frozen', 'discovery'], [D, 'escalated', 'discovery'], [B, 'escalated', 'discovery'], [A, 'discovery', 'discovery']])
  t.match(resumed[3], { actor, details: { paused_until: null } })
  const frozen = await audit(app, 'type=conversation_frozen')
  t.strictSame(frozen.map((r) => [r.contact, r.state_before, r.state_after]), [[C, 'frozen', 'frozen'], [C, 'interest', 'frozen']])
  t.strictSame((await audit(app, `contact=${encodeURIComponent(C)}`)).map((r) => r.type),
    ['decision', 'conversation_resumed', 'conversation_frozen', 'decision', 'conversation_frozen', 'decision'], 'on the contact\'s trail')
  const chain = await verify(app)
  t.match(chain, { valid: true, first_invalid_id: null })

  // An unknown contact: 404 each, and nothing written anywhere.
  const keys = await dataKeys(app)
  for (const action of ['pause', 'resume', 'freeze']) {
    const r = await call(app, 'POST', `/api/v1/conversations/${STRANGER}/${action}`, action === 'pause' ? { minutes: 5 } : {})
    t.equal(r.statusCode, 404, action)
    t.match(r.json(), { statusCode: 404, message: 'no conversation with this contact' })
  }
  t.strictSame(await verify(app), chain, 'no record')
  t.equal(await dataKeys(app), keys, 'no data key made for the stranger')
  t.equal((await call(app, 'GET', `/api/v1/conversations/${STRANGER}`)).statusCode, 404, 'no conversation made')
  t.equal((await call(app, 'POST', '/api/v1/conversations/-x/pause', {})).statusCode, 400)
})

t.test('pause, resume and freeze need no body: every field of it is optional', async (t) => {
  const { app: building } = setup(t)
  const app = await building
  await shop(app, 'default', { human_takeover_minutes: 45 })
  await say(app, A, 'Bonjour')
  for (const [action, state, pausedUntil] of [['pause', 'discovery', '2026-01-18T12:45:00.000Z'], ['resume', 'discovery', null], ['freeze', 'frozen', null]]) {
    const res = await app.inject({ method: 'POST', url: `/api/v1/conversations/${A}/${action as string}`, headers: { 'x-api-key': DEV_KEY } })
    t.equal(res.statusCode, 200, `POST ${action as string} without a body: ${res.body}`)
    if (res.statusCode === 200) t.match(res.json(), { contact: A, state, paused_until: pausedUntil })
  }
})

for (const [host, router] of [['embedded in a bare Fastify() (router maxParamLength 100)', undefined], ['a host whose router allows 128 characters (as the standalone server\'s)', 128]] as const) {
  t.test(`a contact id of 128 characters (the longest a contact id may be, README, "Deciding every message") works on every conversation route: ${host}`, async (t) => {
    const app = router === undefined
      ? await build(t)
      : await (async () => {
        const a = Fastify({ routerOptions: { maxParamLength: router } })
        await a.register(sellify, { env: {}, scheduler: false, now: () => new Date('2026-01-18T12:00:00.000Z'), store: { sqlitePath: ':memory:' } })
        await a.ready()
        t.teardown(() => a.close())
        return a
      })()
    await shop(app)
    const longest = '3' + '0123456789._:@+-'.repeat(8).slice(0, 127)
    t.equal(longest.length, 128)
    await say(app, longest, 'Bonjour')
    t.equal((await list(app)).conversations[0].contact, longest)
    const url = `/api/v1/conversations/${longest}`
    for (const [method, path, status] of [['GET', url, 200], ['POST', `${url}/pause`, 200], ['POST', `${url}/resume`, 200], ['POST', `${url}/freeze`, 200], ['DELETE', url, 204], ['GET', url, 404]] as const) {
      const res = await call(app, method, path, method === 'POST' ? {} : undefined)
      t.equal(res.statusCode, status, `${method} …${path.slice(-16)}: ${res.body.slice(0, 100)}`)
    }
  })
}

t.test('DELETE /conversations/:contact: the contact is erased, its records unreadable, the chain intact', async (t) => {
  const { clock, app: building } = setup(t)
  const app = await building
  await shop(app)
  await shop(app, 'shop-b')
  const flow = ['Bonjour', 'Combien coûte la crème au karité ?', 'Je prends la crème au karité']
  const decided: Json[] = []
  for (const [i, text] of flow.entries()) {
    clock.advance(1000)
    decided.push(await say(app, A, text, { message_id: `wamid-a-${i}` }))
  }
  t.equal((await call(app, 'POST', `/api/v1/messages/${decided[0].decision_id as string}/sent`, {})).statusCode, 200)
  t.equal((await call(app, 'POST', '/api/v1/messages/outgoing', { contact: A, text: 'Je vous appelle, Awa.', sender: 'human' })).statusCode, 200)
  await say(app, B, 'Bonjour', { message_id: 'wamid-b-0' })
  await say(app, A, 'Bonjour', { account: 'shop-b' })
  const bBefore = (await call(app, 'GET', `/api/v1/conversations/${B}`)).json()
  const bRecords = await audit(app, `contact=${encodeURIComponent(B)}`)
  const otherShop = (await call(app, 'GET', `/api/v1/conversations/${A}?account=shop-b`)).json()

  const records = await audit(app, `contact=${encodeURIComponent(A)}`)
  t.strictSame(records.filter((r) => r.type !== 'sent').map((r) => r.type), ['human_message', 'decision', 'decision', 'decision'], 'the contact\'s trail before')
  t.ok(records.every((r) => r.erased === false))
  const oldest = records[records.length - 1]
  t.match(oldest, { type: 'decision', contact: A, incoming_message: 'Bonjour', sent_message: decided[0].reply.text })
  const agent = await agentKey(app, 'default')
  const before = await verify(app)
  t.equal(before.valid, true)
  const keys = await dataKeys(app)

  const refused = await call(app, 'DELETE', `/api/v1/conversations/${A}`, undefined, agent)
  t.equal(refused.statusCode, 403, 'admin only')
  t.match(refused.json(), { statusCode: 403, message: /admin/ })
  t.equal((await call(app, 'GET', `/api/v1/conversations/${A}`)).statusCode, 200, 'nothing erased by the refused call')

  const erased = await call(app, 'DELETE', `/api/v1/conversations/${A}`)
  t.equal(erased.statusCode, 204)
  t.equal(erased.body, '', 'no body')

  t.equal((await call(app, 'GET', `/api/v1/conversations/${A}`)).statusCode, 404, 'the conversation is gone')
  t.strictSame((await list(app)).conversations.map((c: Json) => c.contact), [B], 'and out of the listing')
  t.equal((await call(app, 'POST', `/api/v1/messages/${decided[1].decision_id as string}/sent`, {})).statusCode, 404, 'its decisions are gone')
  t.equal(await dataKeys(app), keys - 1, 'its data key is destroyed')

  // Every earlier record is still there, texts unreadable, everything else as it was.
  for (const r of records) {
    const now = await call(app, 'GET', `/api/v1/audit/${r.id as string}`)
    t.equal(now.statusCode, 200)
    const texts = Object.fromEntries(['contact', 'incoming_message', 'sent_message', 'ai_prompt', 'ai_response'].filter((f) => f in r).map((f) => [f, null]))
    t.ok(Object.keys(texts).length > 0, `${r.type as string} has texts of the contact`)
    t.strictSame(now.json(), { ...r, ...texts, erased: true }, `${r.type as string} ${r.id as string}: texts null, erased, the rest unchanged`)
  }
  t.notMatch(JSON.stringify(await audit(app, 'type=decision')), 'Combien coûte', 'no text of the contact is answered any more')
  t.strictSame(await audit(app, `contact=${encodeURIComponent(A)}`), [], 'nothing is found by the contact any more')
  const after = await verify(app)
  t.strictSame(after, { valid: true, records: before.records + 1, first_invalid_id: null }, 'the chain still verifies, one record longer')

  const erasures = await audit(app, 'type=conversation_erased')
  t.equal(erasures.length, 1)
  t.match(erasures[0], { type: 'conversation_erased', account: 'default', actor: { id: 'bootstrap', name: 'SELLIFY_API_KEY' }, erased: false })
  t.notOk('contact' in erasures[0] && erasures[0].contact !== null, 'the record names no contact')
  t.notMatch(JSON.stringify(erasures[0]), '33612345678', 'not even in its details')

  // Other contacts and the same contact of another account are untouched.
  t.strictSame((await call(app, 'GET', `/api/v1/conversations/${B}`)).json(), bBefore)
  t.strictSame(await audit(app, `contact=${encodeURIComponent(B)}`), bRecords)
  t.strictSame((await call(app, 'GET', `/api/v1/conversations/${A}?account=shop-b`)).json(), otherShop)

  // The contact writes again: a new conversation under a new data key; the old records stay unreadable.
  clock.advance(1000)
  const fresh = await say(app, A, 'Combien coûte la crème au karité ?', { message_id: 'wamid-a-new' })
  t.match(fresh, { action: 'respond_text', conversation: { state: 'interest', previous_state: 'discovery', misunderstandings: 0 } }, 'from discovery')
  t.equal(await dataKeys(app), keys, 'a new data key')
  const detail = (await call(app, 'GET', `/api/v1/conversations/${A}`)).json()
  t.match(detail, { state: 'interest', created_at: clock.now().toISOString() })
  t.strictSame(detail.messages.map((m: Json) => m.text), ['Combien coûte la crème au karité ?', fresh.reply.text], 'none of the erased messages')
  t.match(await audit(app, `contact=${encodeURIComponent(A)}`), [{ type: 'decision', erased: false, contact: A, incoming_message: 'Combien coûte la crème au karité ?' }])
  t.equal((await call(app, 'GET', `/api/v1/audit/${oldest.id as string}`)).json().erased, true, 'the old key stays destroyed')
  const replayed = await say(app, A, 'Bonjour', { message_id: 'wamid-a-0' })
  t.notOk(decided.some((d) => d.decision_id === replayed.decision_id), 'an erased decision is not answered again')
  t.equal((await verify(app)).valid, true)

  // Nothing to erase: 204, nothing written. Another account's contact: only that one.
  const chain = await verify(app)
  t.equal((await call(app, 'DELETE', `/api/v1/conversations/${STRANGER}`)).statusCode, 204)
  t.strictSame(await verify(app), chain, 'no record of an erasure of nobody')
  t.equal((await audit(app, 'type=conversation_erased')).length, 1)
  t.equal((await call(app, 'DELETE', `/api/v1/conversations/${A}?account=shop-b`)).statusCode, 204)
  t.equal((await call(app, 'GET', `/api/v1/conversations/${A}?account=shop-b`)).statusCode, 404)
  t.equal((await call(app, 'GET', `/api/v1/conversations/${A}`)).statusCode, 200, 'default\'s conversation with the same contact stays')
  t.equal((await audit(app, 'account=shop-b&type=conversation_erased')).length, 1)
  t.equal((await call(app, 'DELETE', `/api/v1/conversations/${A}?account=nobody`)).statusCode, 404)
  t.equal((await call(app, 'DELETE', '/api/v1/conversations/-x')).statusCode, 400)
})
