import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { build, call, DEV_KEY, fixedClock, type TapTest } from '../helper.js'
import { alert, configure, type Json, openAlert, START } from './decision-fixtures.js'

/*
 * Alerts as a bot, an owner and an agent see them over HTTP (README, "Alerts"; the decisions that raise them, "Deciding every message";
 * the audit of README, "Data protection"), on the SQLite store. `scheduler: false`: no outbox job runs; a decision that raises an
 * alert kicks one pass at once, which the tests wait for by reading the alert until its deliveries moved.
 */

const CONTACT = '+33612345678'
const NUMBERS = ['+221770000001', '+221770000002']
const SECRET = 'whsec-0123456789abcdef'
/** Nothing listens on port 1: an attempt fails at once with ECONNREFUSED. */
const CLOSED_HOOK = 'http://127.0.0.1:1/sellify'
const HOLDING_EN = 'Thank you for your message. We will get back to you very soon.'

const frText = (contact: string, state: string, message: string): string =>
  `🚨 Intervention requise\nClient : ${contact}\nÉtat : ${state}\nDernier message : "${message}"`
const enText = (contact: string, state: string, message: string): string =>
  `🚨 Action needed\nCustomer: ${contact}\nState: ${state}\nLast message: "${message}"`

async function say (t: TapTest, app: FastifyInstance, contact: string, text: string | null, extra: Json = {}, key: string = DEV_KEY): Promise<Json> {
  const res = await call(app, 'POST', '/api/v1/messages/incoming', { contact, text, ...extra }, key)
  t.equal(res.statusCode, 200, res.body)
  return res.json()
}

async function alerts (app: FastifyInstance, query = ''): Promise<Json> {
  const res = await call(app, 'GET', `/api/v1/alerts${query}`)
  if (res.statusCode !== 200) throw new Error(`GET /api/v1/alerts${query}: ${res.statusCode} ${res.body}`)
  return res.json()
}

/** The alert once each of its deliveries was attempted at least `attempts` times (the kick runs after the answer). */
async function attempted (app: FastifyInstance, id: string, attempts = 1): Promise<Json> {
  for (let i = 0; i < 500; i++) {
    const a = await alert(app, id)
    if (a.deliveries.every((d: Json) => d.attempts >= attempts)) return a
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error(`the deliveries of ${id} were never attempted ${attempts} time(s)`)
}

async function agentKey (t: TapTest, app: FastifyInstance, account: string, name = 'bot'): Promise<{ id: string, key: string }> {
  const res = await call(app, 'POST', '/api/v1/keys', { name, role: 'agent', account })
  t.equal(res.statusCode, 201, res.body)
  return res.json()
}

async function verified (t: TapTest, app: FastifyInstance, account = 'default'): Promise<void> {
  t.match((await call(app, 'GET', `/api/v1/audit/verify?account=${account}`)).json(), { valid: true, first_invalid_id: null }, `the audit chain of ${account} verifies`)
}

t.test('an angry customer in French: alert_human, the alert and the WhatsApp notifications in the answer, silence for the customer', async (t) => {
  const clock = fixedClock(START)
  const app = await build(t, { now: clock.now, allowPrivateWebhooks: true, scheduler: false })
  await configure(t, app, { alert_numbers: NUMBERS })

  t.match(await say(t, app, CONTACT, 'Bonjour'), { action: 'respond_text', alert: null, notifications: [] }, 'a greeting raises nothing')
  t.match(await say(t, app, CONTACT, 'Quel est le prix ?'), { conversation: { state: 'interest' }, alert: null, notifications: [] })
  t.same((await alerts(app)).alerts, [], 'no alert yet')

  const angry = await say(t, app, CONTACT, 'Vous êtes des escrocs !', { message_id: 'wamid-angry' })
  t.match(angry.alert?.id, /^alr_[0-9a-f-]{36}$/, 'the answer names the stored alert')
  t.strictSame({ ...angry, decision_id: undefined }, {
    decision_id: undefined,
    action: 'alert_human',
    rule: 'alert',
    reason: 'anger',
    reply: null,
    delay_seconds: 0,
    typing_seconds: 0,
    retry_after_seconds: null,
    conversation: { contact: CONTACT, state: 'escalated', previous_state: 'interest', event: null, paused_until: null, misunderstandings: 0 },
    matched: { products: [], objection: null, faq: null },
    quota: null,
    validation: null,
    alert: { id: angry.alert.id, trigger: 'anger', severity: 'high' },
    notifications: NUMBERS.map((to) => ({ to, text: frText(CONTACT, 'interest', 'Vous êtes des escrocs !') }))
  }, 'escalation.reply none: no reply (nothing consumed), one text per alert number in the fr template')

  const listed = await alerts(app)
  t.strictSame(listed, { alerts: [openAlert(angry, CONTACT, 'Vous êtes des escrocs !', 'interest')], next_before: null }, 'listed open, contact and message decrypted')

  const conversation = (await call(app, 'GET', `/api/v1/conversations/${encodeURIComponent(CONTACT)}`)).json()
  t.equal(conversation.state, 'escalated')
  const out = conversation.messages.filter((m: Json) => m.direction === 'out')
  t.equal(out.length, 2, 'only the two earlier replies went out: the alert sent the customer nothing')
  t.notOk(conversation.messages.some((m: Json) => m.direction === 'out' && /escroc|alerte|humain|conseiller|intervention/i.test(String(m.text))), 'nothing the customer got mentions the alert')

  const later = await say(t, app, CONTACT, 'Espèce d\'abruti, répondez !')
  t.match(later, { action: 'ignore', rule: 'escalated', reply: null, alert: null, notifications: [] }, 'the escalated conversation is a person\'s now: more anger raises no second alert')
  t.equal((await alerts(app)).alerts.length, 1)
})

t.test('an English account with the holding reply: the en template, and the customer only gets the neutral holding message', async (t) => {
  const app = await build(t, { allowPrivateWebhooks: true, scheduler: false })
  await configure(t, app, { language: 'en', alert_numbers: NUMBERS.slice(0, 1), escalation: { reply: 'holding' } }, 'shop-en')

  const legal = await say(t, app, '+15550100', 'I will call my lawyer about this order', { account: 'shop-en' })
  t.match(legal, {
    action: 'alert_human',
    rule: 'alert',
    reason: 'legal_situation',
    reply: { text: HOLDING_EN, media: [], source: 'template' },
    alert: { id: /^alr_/, trigger: 'legal_situation', severity: 'critical' },
    conversation: { state: 'escalated', previous_state: 'discovery' }
  })
  t.strictSame(legal.notifications, [{ to: NUMBERS[0], text: enText('+15550100', 'discovery', 'I will call my lawyer about this order') }])
  t.notMatch(legal.reply.text, /lawyer|alert|human|agent|transfer|escalat|robot|bot/i, 'the holding message says nothing of what happened')

  const listed = await alerts(app, '?account=shop-en')
  t.strictSame(listed.alerts, [{ ...openAlert(legal, '+15550100', 'I will call my lawyer about this order', 'discovery'), account: 'shop-en' }])
  t.same((await alerts(app)).alerts, [], 'the default account has none')

  const threat = await say(t, app, '+15550101', 'ok', { account: 'shop-en', hints: { sentiment: 'threat' } })
  t.match(threat, { action: 'alert_human', reason: 'threat', alert: { trigger: 'threat', severity: 'critical' }, reply: { text: HOLDING_EN } }, 'hints.sentiment raises it too')
  t.strictSame(threat.notifications, [{ to: NUMBERS[0], text: enText('+15550101', 'discovery', 'ok') }])
  t.equal((await alerts(app, '?account=shop-en')).alerts.length, 2)
})

t.test('GET /api/v1/alerts: newest first, filters by status and severity, pages with limit and before', async (t) => {
  const clock = fixedClock(START)
  const app = await build(t, { now: clock.now, allowPrivateWebhooks: true, scheduler: false })
  await configure(t, app)

  const legal = await say(t, app, '+221771110001', 'Je vais porter plainte')
  clock.advance(1000)
  const anger = await say(t, app, '+221771110002', 'Bande d\'escrocs')
  clock.advance(1000)
  const threat = await say(t, app, '+221771110003', 'ok', { hints: { sentiment: 'threat' } })
  t.same([legal.alert.trigger, anger.alert.trigger, threat.alert.trigger], ['legal_situation', 'anger', 'threat'])
  t.same([legal.alert.severity, anger.alert.severity, threat.alert.severity], ['critical', 'high', 'critical'])

  const L = openAlert(legal, '+221771110001', 'Je vais porter plainte', 'discovery')
  const A = openAlert(anger, '+221771110002', 'Bande d\'escrocs', 'discovery', '2026-01-18T12:00:01.000Z')
  const T = openAlert(threat, '+221771110003', 'ok', 'discovery', '2026-01-18T12:00:02.000Z')
  t.strictSame(await alerts(app), { alerts: [T, A, L], next_before: null }, 'newest first')
  t.strictSame((await alerts(app, '?severity=critical')).alerts, [T, L])
  t.strictSame((await alerts(app, '?severity=high')).alerts, [A])
  t.strictSame((await alerts(app, '?severity=warning')).alerts, [])
  t.strictSame((await alerts(app, '?status=open')).alerts, [T, A, L])
  t.strictSame((await alerts(app, '?status=acknowledged')).alerts, [])

  t.equal((await call(app, 'POST', `/api/v1/alerts/${anger.alert.id as string}/ack`)).statusCode, 200)
  t.same((await alerts(app, '?status=open')).alerts.map((a: Json) => a.id), [T.id, L.id])
  t.same((await alerts(app, '?status=acknowledged')).alerts.map((a: Json) => a.id), [A.id])
  t.same((await alerts(app, '?status=acknowledged&severity=critical')).alerts, [], 'both filters at once')

  const first = await alerts(app, '?limit=2')
  t.same(first.alerts.map((a: Json) => a.id), [T.id, A.id])
  t.equal(first.next_before, A.id, 'a full page names where the next one starts')
  const second = await alerts(app, `?limit=2&before=${first.next_before as string}`)
  t.strictSame(second, { alerts: [L], next_before: null }, 'the last page')
  t.same((await alerts(app, `?before=${L.id}`)).alerts, [], 'nothing before the oldest')
  t.same((await alerts(app, `?severity=critical&limit=1&before=${T.id}`)).alerts.map((a: Json) => a.id), [L.id], 'paging within a filter')

  for (const query of ['?before=nope', `?before=${legal.decision_id as string}`, '?before=alr_zz', '?limit=0', '?limit=501', '?status=closed', '?severity=low', '?other=1']) {
    const res = await call(app, 'GET', `/api/v1/alerts${query}`)
    t.equal(res.statusCode, 400, `${query} is refused`)
    t.match(res.json(), { statusCode: 400, error: 'Bad Request', message: /^querystring/ }, `${query}: ${res.json().message as string}`)
  }
  t.match((await call(app, 'GET', '/api/v1/alerts?before=nope')).json().message, /querystring\/before/, 'the bad cursor is named')
})

t.test('GET /api/v1/alerts/:id: the alert with its deliveries; unknown or another account\'s is a 404, naming another account a 403', async (t) => {
  const clock = fixedClock(START)
  const app = await build(t, { now: clock.now, allowPrivateWebhooks: true, scheduler: false })
  await configure(t, app, { alert_webhooks: [{ url: CLOSED_HOOK, secret: SECRET }] })
  await configure(t, app, {}, 'shop')

  const angry = await say(t, app, CONTACT, 'Bande d\'escrocs')
  const id = angry.alert.id as string
  const detail = await attempted(app, id)
  t.strictSame({ ...detail, deliveries: undefined }, { ...openAlert(angry, CONTACT, 'Bande d\'escrocs', 'discovery'), deliveries: undefined })
  t.equal(detail.deliveries.length, 1, 'one delivery per webhook of the account')
  t.match(detail.deliveries[0].id, /^dlv_[0-9a-f-]{36}$/)
  t.strictSame({ ...detail.deliveries[0], id: undefined }, {
    id: undefined,
    url: CLOSED_HOOK,
    status: 'pending',
    attempts: 1,
    next_attempt_at: '2026-01-18T12:00:10.000Z',
    last_status: null,
    last_error: 'network_error: ECONNREFUSED',
    created_at: START,
    delivered_at: null
  }, 'attempted once at once, due again in 10 s')
  t.notMatch(JSON.stringify(detail), SECRET, 'the webhook secret is not in the answer')

  const unknown = await call(app, 'GET', '/api/v1/alerts/alr_01900000-0000-7000-8000-000000000000')
  t.equal(unknown.statusCode, 404)
  t.match(unknown.json(), { statusCode: 404, code: 'SELLIFY_UNKNOWN_ALERT', message: 'alert alr_01900000-0000-7000-8000-000000000000 does not exist' })
  t.equal((await call(app, 'POST', '/api/v1/alerts/alr_01900000-0000-7000-8000-000000000000/ack')).statusCode, 404, 'nor can it be acknowledged')
  t.equal((await call(app, 'GET', '/api/v1/alerts/nope')).statusCode, 400, 'not an alert id at all')

  t.equal((await call(app, 'GET', `/api/v1/alerts/${id}?account=shop`)).statusCode, 404, 'an admin looking in another account does not find it')
  const agent = await agentKey(t, app, 'shop')
  const own = await call(app, 'GET', `/api/v1/alerts/${id}`, undefined, agent.key)
  t.equal(own.statusCode, 404, 'an agent of another account: it does not exist for them')
  t.match(own.json(), { code: 'SELLIFY_UNKNOWN_ALERT' })
  const named = await call(app, 'GET', `/api/v1/alerts/${id}?account=default`, undefined, agent.key)
  t.equal(named.statusCode, 403, 'naming the other account is refused')
  t.equal((await call(app, 'GET', '/api/v1/alerts?account=default', undefined, agent.key)).statusCode, 403)
  t.same((await call(app, 'GET', '/api/v1/alerts', undefined, agent.key)).json(), { alerts: [], next_before: null }, 'its own account has none')
  t.equal((await call(app, 'POST', `/api/v1/alerts/${id}/ack`, {}, agent.key)).statusCode, 404)
  t.equal((await call(app, 'POST', `/api/v1/alerts/${id}/ack`, { account: 'default' }, agent.key)).statusCode, 403)
  t.equal((await alert(app, id)).status, 'open', 'and it stays open')
  t.same((await call(app, 'GET', '/api/v1/audit?type=alert_acknowledged&account=default')).json().records, [], 'with no acknowledgement on record')
})

t.test('POST /:id/ack: acknowledged by the key that did it, once; again keeps the first; audited once; the chain verifies', async (t) => {
  const clock = fixedClock(START)
  const app = await build(t, { now: clock.now, allowPrivateWebhooks: true, scheduler: false })
  await configure(t, app)
  const bot = await agentKey(t, app, 'default', 'night-shift')

  const angry = await say(t, app, CONTACT, 'Je vais vous tuer', {}, bot.key)
  t.match(angry.alert, { trigger: 'threat', severity: 'critical' })
  const id = angry.alert.id as string

  clock.advance(90_000)
  const acked = await call(app, 'POST', `/api/v1/alerts/${id}/ack`, {}, bot.key)
  t.equal(acked.statusCode, 200, acked.body)
  const expected = {
    ...openAlert(angry, CONTACT, 'Je vais vous tuer', 'discovery'),
    status: 'acknowledged',
    acknowledged_at: '2026-01-18T12:01:30.000Z',
    acknowledged_by: { id: bot.id, name: 'night-shift' }
  }
  t.strictSame(acked.json(), expected, 'acknowledged now, by the key\'s id and name')

  clock.advance(3_600_000)
  const again = await call(app, 'POST', `/api/v1/alerts/${id}/ack`)
  t.equal(again.statusCode, 200)
  t.strictSame(again.json(), expected, 'a second acknowledgement (another key, an hour later) keeps the first time and actor')
  const noBody = await app.inject({ method: 'POST', url: `/api/v1/alerts/${id}/ack`, headers: { 'x-api-key': DEV_KEY } })
  t.equal(noBody.statusCode, 200, 'a body is optional')
  t.strictSame(noBody.json(), expected)
  t.strictSame({ ...(await alert(app, id)), deliveries: undefined }, { ...expected, deliveries: undefined }, 'GET shows the same')

  const records = (await call(app, 'GET', '/api/v1/audit?type=alert_acknowledged')).json().records
  t.equal(records.length, 1, 'one record for three acknowledgements')
  t.match(records[0], { type: 'alert_acknowledged', account: 'default', actor: { id: bot.id, name: 'night-shift' }, timestamp: '2026-01-18T12:01:30.000Z', details: { alert_id: id } })
  const decision = (await call(app, 'GET', '/api/v1/audit?type=decision')).json().records
  t.match(decision[0], { rule: 'alert', action: 'alert_human', reason: 'threat', details: { decision_id: angry.decision_id, alert_id: id } }, 'the decision\'s record names the alert')
  await verified(t, app)
})

t.test('repeated misunderstanding: the third message understood as nothing raises repeated_misunderstanding', async (t) => {
  const app = await build(t, { allowPrivateWebhooks: true, scheduler: false })
  await configure(t, app, { alert_numbers: NUMBERS.slice(0, 1) })

  t.match(await say(t, app, CONTACT, 'Bonjour'), { rule: 'respond', conversation: { misunderstandings: 0 } })
  t.match(await say(t, app, CONTACT, 'xqzw'), { rule: 'respond', alert: null, conversation: { misunderstandings: 1 } })
  t.match(await say(t, app, CONTACT, 'plop plop'), { rule: 'respond', alert: null, conversation: { misunderstandings: 2 } })
  const third = await say(t, app, CONTACT, 'bla bla bla')
  t.match(third, {
    action: 'alert_human',
    rule: 'misunderstood',
    reason: 'repeated_misunderstanding',
    reply: null,
    quota: null,
    alert: { id: /^alr_/, trigger: 'repeated_misunderstanding', severity: 'high' },
    conversation: { state: 'escalated', previous_state: 'discovery', misunderstandings: 3 }
  })
  t.strictSame(third.notifications, [{ to: NUMBERS[0], text: frText(CONTACT, 'discovery', 'bla bla bla') }])
  t.strictSame((await alerts(app)).alerts, [openAlert(third, CONTACT, 'bla bla bla', 'discovery')])
})

t.test('a gateway retry of the same message_id: the first decision again, one alert, one delivery', async (t) => {
  const app = await build(t, { allowPrivateWebhooks: true, scheduler: false })
  await configure(t, app, { alert_numbers: NUMBERS, alert_webhooks: [{ url: CLOSED_HOOK, secret: SECRET }] })

  const first = await say(t, app, CONTACT, 'Bande d\'escrocs', { message_id: 'wamid-retried' })
  await attempted(app, first.alert.id)
  const retried = await say(t, app, CONTACT, 'Bande d\'escrocs', { message_id: 'wamid-retried' })
  t.strictSame(retried, first, 'the same answer, the same alert id and notifications')
  const listed = (await alerts(app)).alerts
  t.same(listed.map((a: Json) => a.id), [first.alert.id], 'one alert')
  t.equal((await alert(app, first.alert.id)).deliveries.length, 1, 'one delivery')

  // Fifty deliveries of one gateway message at once (API.md, "Conventions"): one decision, at most one alert.
  const burst = await Promise.all(Array.from({ length: 50 }, async () =>
    await call(app, 'POST', '/api/v1/messages/incoming', { contact: '+221779990000', text: 'Je vais porter plainte', message_id: 'wamid-burst' })))
  t.ok(burst.every((r) => r.statusCode === 200), 'every copy answered')
  const ids = new Set(burst.map((r) => r.json().alert?.id))
  t.equal(ids.size, 1, 'every copy names the same alert')
  const all = (await alerts(app)).alerts
  t.equal(all.length, 2, 'one more alert for the burst')
  t.equal(all[0].id, [...ids][0])
  await attempted(app, all[0].id)
  t.equal((await alert(app, all[0].id)).deliveries.length, 1, 'with one delivery')

  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body
  t.match(metrics, /^sellify_alerts_total\{trigger="anger",severity="high"\} 1$/m, 'counted once despite the retry')
  t.match(metrics, /^sellify_alerts_total\{trigger="legal_situation",severity="critical"\} 1$/m, 'counted once despite the burst')
  await verified(t, app)
})

t.test('webhook URLs: refused with a 400 naming the field unless private webhooks are allowed, and nothing changes', async (t) => {
  const app = await build(t, { allowPrivateWebhooks: false, scheduler: false })
  const good = { url: 'https://hooks.example.com/sellify', secret: SECRET }
  await configure(t, app, { alert_webhooks: [good] })
  const before = (await call(app, 'GET', '/api/v1/accounts/default')).json()
  const trail = (await call(app, 'GET', '/api/v1/audit?limit=500')).json().records.length

  const refused = [
    'http://user:pass@hooks.example.com/sellify',
    'https://token@hooks.example.com/sellify',
    'ftp://hooks.example.com/sellify',
    'http://127.0.0.1/sellify',
    'http://127.0.0.1:8080/sellify',
    'http://2130706433/sellify',
    'http://localhost/sellify',
    'http://localhost./sellify',
    'http://api.localhost/sellify',
    'http://[::1]/sellify',
    'http://[::ffff:127.0.0.1]/sellify',
    'http://169.254.169.254/latest/meta-data',
    'http://10.0.0.5/sellify',
    'http://192.168.1.1/sellify',
    'http://0.0.0.0/sellify'
  ]
  for (const url of refused) {
    const patched = await call(app, 'PATCH', '/api/v1/accounts/default', { alert_webhooks: [{ url, secret: SECRET }] })
    t.equal(patched.statusCode, 400, `PATCH ${url}`)
    t.match(patched.json(), { statusCode: 400, error: 'Bad Request', message: /^body\/alert_webhooks\/0\/url / }, `PATCH ${url}: ${patched.json().message as string}`)
    const put = await call(app, 'PUT', '/api/v1/accounts/default', { active_hours: 'always', alert_webhooks: [good, { url, secret: SECRET }] })
    t.equal(put.statusCode, 400, `PUT ${url}`)
    t.match(put.json().message, /^body\/alert_webhooks\/1\/url /, 'the second entry is named')
  }
  const short = await call(app, 'PATCH', '/api/v1/accounts/default', { alert_webhooks: [{ url: good.url, secret: 'short' }] })
  t.equal(short.statusCode, 400)
  t.match(short.json().message, /^body\/alert_webhooks\/0\/secret /, 'a secret under 16 characters')

  t.strictSame((await call(app, 'GET', '/api/v1/accounts/default')).json(), before, 'the account is as it was')
  t.strictSame(before.alert_webhooks, [{ url: good.url, secret: '••••' }], 'its secret shown masked')
  t.equal((await call(app, 'GET', '/api/v1/audit?limit=500')).json().records.length, trail, 'no change on record')

  const open = await build(t, { allowPrivateWebhooks: true, scheduler: false })
  const local = await call(open, 'PATCH', '/api/v1/accounts/default', { alert_webhooks: [{ url: 'http://127.0.0.1:8080/sellify', secret: SECRET }, { url: 'http://localhost:8080/x', secret: SECRET }] })
  t.equal(local.statusCode, 200, 'SELLIFY_ALLOW_PRIVATE_WEBHOOKS=true: loopback is allowed')
  for (const url of ['http://user:pass@127.0.0.1/sellify', 'ftp://127.0.0.1/sellify']) {
    const res = await call(open, 'PATCH', '/api/v1/accounts/default', { alert_webhooks: [{ url, secret: SECRET }] })
    t.equal(res.statusCode, 400, `${url} stays refused`)
    t.match(res.json().message, /^body\/alert_webhooks\/0\/url /)
  }
})

t.test('the contact erased (README, "Data protection"): the alert stays on record without the contact or the text', async (t) => {
  const app = await build(t, { allowPrivateWebhooks: true, scheduler: false })
  await configure(t, app)
  const angry = await say(t, app, CONTACT, 'Bande d\'escrocs')
  const other = await say(t, app, '+221770004444', 'Je vais porter plainte')
  t.equal((await call(app, 'DELETE', `/api/v1/conversations/${encodeURIComponent(CONTACT)}`)).statusCode, 204)

  const erased = await alert(app, angry.alert.id)
  t.strictSame({ ...erased, deliveries: undefined }, { ...openAlert(angry, CONTACT, '', 'discovery'), contact: null, message: null, deliveries: undefined }, 'what it was about remains, not who or what was said')
  t.strictSame((await alerts(app)).alerts.map((a: Json) => [a.id, a.contact, a.message]), [
    [other.alert.id, '+221770004444', 'Je vais porter plainte'],
    [angry.alert.id, null, null]
  ], 'another contact\'s alert is untouched')
  t.equal((await call(app, 'POST', `/api/v1/alerts/${angry.alert.id as string}/ack`)).statusCode, 200, 'and it can still be acknowledged')
  await verified(t, app)
})
