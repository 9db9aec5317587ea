import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { build, call, DEV_KEY, type TapTest } from '../helper.js'

const URL = '/api/v1/decision'

/** A message the rules reach the end with: active hours, quota left, no sentiment. */
const ask = (over: Record<string, unknown> = {}) => ({
  incoming_message: 'Bonjour, vous avez la crème au karité ?',
  conversation_state: 'Discovery',
  quotas_available: true,
  is_active_hours: true,
  sentiment_detected: null,
  ...over
})

async function decide (app: FastifyInstance, body: unknown, key: string | null = DEV_KEY) {
  return await call(app, 'POST', URL, body, key)
}

async function agentKey (t: TapTest, app: FastifyInstance, account: string): Promise<string> {
  t.equal((await call(app, 'PUT', `/api/v1/accounts/${account}`, {})).statusCode, 201)
  return (await call(app, 'POST', '/api/v1/keys', { name: 'bot', role: 'agent', account })).json().key
}

t.test('the original\'s four rules, each, with its answer', async (t) => {
  const app = await build(t)
  const respond = await decide(app, ask())
  t.equal(respond.statusCode, 200)
  t.strictSame(respond.json(), { action: 'RespondText', details: null })
  t.strictSame((await decide(app, ask({ is_active_hours: false }))).json(), { action: 'Ignore', details: 'outside_active_hours' })
  t.strictSame((await decide(app, ask({ quotas_available: false }))).json(), { action: 'Delay', details: '3600 seconds' })
  t.strictSame((await decide(app, ask({ sentiment_detected: 'anger' }))).json(), { action: 'AlertHuman', details: 'sentiment:anger' })
  t.strictSame((await decide(app, ask({ incoming_message: 'Je vais porter plainte' }))).json(), { action: 'AlertHuman', details: 'legal_situation' })
})

t.test('the first rule that applies decides: hours, then quota, then alerts', async (t) => {
  const app = await build(t)
  const everything = { incoming_message: 'je vais te tuer', sentiment_detected: 'threat' }
  t.strictSame((await decide(app, ask({ ...everything, is_active_hours: false, quotas_available: false }))).json(),
    { action: 'Ignore', details: 'outside_active_hours' }, 'outside hours wins over no quota and a threat')
  t.strictSame((await decide(app, ask({ ...everything, quotas_available: false }))).json(),
    { action: 'Delay', details: '3600 seconds' }, 'no quota wins over a threat')
  t.strictSame((await decide(app, ask(everything))).json(), { action: 'AlertHuman', details: 'threat' })
})

t.test('sentiment: anger and threat in any case raise the alert; other values and none do not', async (t) => {
  const app = await build(t)
  for (const [sentiment, details] of [['anger', 'sentiment:anger'], ['ANGER', 'sentiment:anger'], ['Threat', 'sentiment:threat'], ['threat', 'sentiment:threat']]) {
    t.strictSame((await decide(app, ask({ sentiment_detected: sentiment }))).json(), { action: 'AlertHuman', details }, sentiment)
  }
  for (const sentiment of ['neutral', 'joy', '', 'angry', null]) {
    t.strictSame((await decide(app, ask({ sentiment_detected: sentiment }))).json(), { action: 'RespondText', details: null }, String(sentiment))
  }
  const { sentiment_detected: _omitted, ...without } = ask()
  t.strictSame((await decide(app, without)).json(), { action: 'RespondText', details: null }, 'sentiment_detected may be left out')

  // Both present: the more severe is named; on a tie, the message's own trigger.
  t.strictSame((await decide(app, ask({ incoming_message: 'Quelle arnaque', sentiment_detected: 'threat' }))).json(),
    { action: 'AlertHuman', details: 'sentiment:threat' }, 'a threatening sentiment outranks an angry word')
  t.strictSame((await decide(app, ask({ incoming_message: 'je vais te tuer', sentiment_detected: 'anger' }))).json(),
    { action: 'AlertHuman', details: 'threat' }, 'a threat word outranks an angry sentiment')
  t.strictSame((await decide(app, ask({ incoming_message: 'Quelle arnaque', sentiment_detected: 'anger' }))).json(),
    { action: 'AlertHuman', details: 'anger' }, 'a tie names the message\'s trigger')
})

t.test('alert words of the account\'s language, matched as whole words', async (t) => {
  const app = await build(t)
  t.equal((await call(app, 'PUT', '/api/v1/accounts/shop-en', { language: 'en' })).statusCode, 201)
  const cases: Array<[string | undefined, string, string | null]> = [
    [undefined, 'je vais porter plainte', 'legal_situation'],
    [undefined, 'Je vais te tuer !', 'threat'],
    [undefined, 'C\'est une arnaque, bande d\'escrocs', 'anger'],
    [undefined, 'Il faut statuer sur ma commande', null],
    ['shop-en', 'I will kill you', 'threat'],
    ['shop-en', 'My lawyer will hear about this', 'legal_situation'],
    ['shop-en', 'This is a scam', 'anger'],
    ['shop-en', 'Do you have the shea butter cream?', null]
  ]
  for (const [account, message, trigger] of cases) {
    const res = await decide(app, ask({ incoming_message: message, ...(account === undefined ? {} : { account }) }))
    t.equal(res.statusCode, 200, message)
    t.strictSame(res.json(), trigger === null ? { action: 'RespondText', details: null } : { action: 'AlertHuman', details: trigger }, message)
  }
})

t.test('the account\'s sensitive keywords raise sensitive_word, as soon as they are set', async (t) => {
  const app = await build(t)
  t.equal((await call(app, 'PUT', '/api/v1/accounts/shop', {})).statusCode, 201)
  const message = ask({ incoming_message: 'Je veux un remboursement complet', account: 'shop' })
  t.strictSame((await decide(app, message)).json(), { action: 'RespondText', details: null }, 'not a sensitive word yet')
  const put = await call(app, 'PUT', '/api/v1/accounts/shop', { escalation: { sensitive_keywords: ['remboursement', 'chargeback'] } })
  t.equal(put.statusCode, 200, put.body)
  t.strictSame((await decide(app, message)).json(), { action: 'AlertHuman', details: 'sensitive_word' })
  t.strictSame((await decide(app, ask({ incoming_message: 'Je veux un remboursement complet' }))).json(),
    { action: 'RespondText', details: null }, 'another account\'s keywords do not apply')
})

t.test('the state may be named in the original\'s style or ours; the rules do not read it', async (t) => {
  const app = await build(t)
  for (const state of ['Discovery', 'discovery', 'Interest', 'intent', 'Objection', 'negative', 'Escalated', 'frozen']) {
    const res = await decide(app, ask({ conversation_state: state }))
    t.equal(res.statusCode, 200, state)
    t.strictSame(res.json(), { action: 'RespondText', details: null }, state)
  }
})

t.test('bad input is a 400 naming the field, and 4096 characters are allowed', async (t) => {
  const app = await build(t)
  const { incoming_message: _m, ...noMessage } = ask()
  const { is_active_hours: _h, ...noHours } = ask()
  const cases: Array<[unknown, RegExp]> = [
    [noMessage, /^body\/incoming_message is required/],
    [noHours, /^body\/is_active_hours is required/],
    [ask({ incoming_message: 'a'.repeat(4097) }), /^body\/incoming_message must NOT have more than 4096 characters/],
    [ask({ incoming_message: 42 }), /^body\/incoming_message must be string/],
    [ask({ quotas_available: 'true' }), /^body\/quotas_available must be boolean/],
    [ask({ quotas_available: 1 }), /^body\/quotas_available must be boolean/],
    [ask({ is_active_hours: null }), /^body\/is_active_hours must be boolean/],
    [ask({ conversation_state: 'Browsing' }), /^body\/conversation_state "Browsing" is not a state: one of discovery, .* \(or Discovery, /],
    [ask({ conversation_state: 'DISCOVERY' }), /^body\/conversation_state "DISCOVERY" is not a state/],
    [ask({ conversation_state: '' }), /^body\/conversation_state must NOT have fewer than 1 characters/],
    [ask({ sentiment_detected: 3 }), /^body\/sentiment_detected must be string/],
    [ask({ account: 'bad id!' }), /^body\/account must match pattern/],
    [ask({ extra: true }), /^body\/extra is not an allowed field/],
    ['[]', /^body must be object/],
    ['{"incoming_message": ', /JSON/]
  ]
  for (const [body, message] of cases) {
    const res = await decide(app, body)
    t.equal(res.statusCode, 400, JSON.stringify(body).slice(0, 80))
    t.match(res.json(), { statusCode: 400, error: 'Bad Request', message }, JSON.stringify(body).slice(0, 80))
  }
  const noBody = await app.inject({ method: 'POST', url: URL, headers: { 'x-api-key': DEV_KEY } })
  t.equal(noBody.statusCode, 400, 'no body at all')
  t.match(noBody.json().message, /^body must be object/)
  const empty = await app.inject({ method: 'POST', url: URL, headers: { 'x-api-key': DEV_KEY, 'content-type': 'application/json' }, payload: '' })
  t.equal(empty.statusCode, 400, 'an empty JSON body')
  const text = await app.inject({ method: 'POST', url: URL, headers: { 'x-api-key': DEV_KEY, 'content-type': 'text/plain' }, payload: 'hi' })
  t.equal(text.statusCode, 415)

  // Characters are code points: 4096 emoji (8192 UTF-16 units) pass, and one more letter does not.
  t.strictSame((await decide(app, ask({ incoming_message: '😡'.repeat(4096) }))).json(), { action: 'RespondText', details: null })
  t.equal((await decide(app, ask({ incoming_message: '😡'.repeat(4096) + 'a' }))).statusCode, 400)
  t.equal((await decide(app, ask({ incoming_message: 'a'.repeat(4096) }))).statusCode, 200)
  t.strictSame((await decide(app, ask({ incoming_message: '' }))).json(), { action: 'RespondText', details: null }, 'an empty message (a media without caption)')
})

t.test('keys: an agent decides for its own account only; an unknown account is a 404', async (t) => {
  const app = await build(t)
  const agentA = await agentKey(t, app, 'shop-a')
  t.equal((await call(app, 'PUT', '/api/v1/accounts/shop-b', { escalation: { sensitive_keywords: ['chargeback'] } })).statusCode, 201)
  t.equal((await call(app, 'PUT', '/api/v1/accounts/shop-a', { escalation: { sensitive_keywords: ['remboursement'] } })).statusCode, 200)

  const other = await decide(app, ask({ account: 'shop-b' }), agentA)
  t.equal(other.statusCode, 403)
  t.match(other.json(), { statusCode: 403, error: 'Forbidden', message: /shop-a/ })
  t.equal((await decide(app, ask({ account: 'default' }), agentA)).statusCode, 403, 'default is another account too')
  t.strictSame((await decide(app, ask({ account: 'shop-a', incoming_message: 'un remboursement' }), agentA)).json(),
    { action: 'AlertHuman', details: 'sensitive_word' }, 'naming its own account')
  t.strictSame((await decide(app, ask({ incoming_message: 'un remboursement' }), agentA)).json(),
    { action: 'AlertHuman', details: 'sensitive_word' }, 'naming none: its own account\'s keywords, not default\'s')
  t.strictSame((await decide(app, ask({ incoming_message: 'a chargeback' }), agentA)).json(),
    { action: 'RespondText', details: null }, 'shop-b\'s keywords do not apply to shop-a')
  t.strictSame((await decide(app, ask({ account: 'shop-b', incoming_message: 'a chargeback' }))).json(),
    { action: 'AlertHuman', details: 'sensitive_word' }, 'the admin names any account')

  const unknown = await decide(app, ask({ account: 'nobody' }))
  t.equal(unknown.statusCode, 404)
  t.match(unknown.json().message, /nobody/)
  t.equal((await call(app, 'GET', '/api/v1/accounts/nobody')).statusCode, 404, 'and it is not created')
  t.equal((await decide(app, ask(), null)).statusCode, 401)
  t.equal((await decide(app, ask(), 'sk_wrong')).statusCode, 401)
})

t.test('stateless: no quota consumed, nothing on record, whatever the answer', async (t) => {
  const app = await build(t)
  t.equal((await call(app, 'PUT', '/api/v1/accounts/shop', { limits: { messages_per_day: 1 } })).statusCode, 201)
  const snapshot = async () => JSON.stringify([
    (await call(app, 'GET', '/api/v1/quota/status')).json(),
    (await call(app, 'GET', '/api/v1/quota/status?account=shop')).json(),
    (await call(app, 'GET', '/api/v1/audit?account=default')).json(),
    (await call(app, 'GET', '/api/v1/audit?account=shop')).json()
  ])
  const before = await snapshot()
  t.match(before, /account_changed/, 'the snapshot holds the audit records')
  const answers = []
  for (let i = 0; i < 3; i++) {
    for (const body of [
      ask(), ask({ account: 'shop' }), ask({ is_active_hours: false }), ask({ quotas_available: false }),
      ask({ incoming_message: 'je vais porter plainte', account: 'shop' }), ask({ sentiment_detected: 'threat' }),
      ask({ conversation_state: 'Browsing' }), ask({ quotas_available: 'yes' })
    ]) answers.push((await decide(app, body)).statusCode)
  }
  t.strictSame(answers.filter((s) => s === 200).length, 18, 'the valid calls were answered')
  t.equal(await snapshot(), before, 'counters and audit are unchanged')
  t.equal((await call(app, 'GET', '/api/v1/quota/status?account=shop')).json().messages_today, 0)
})
