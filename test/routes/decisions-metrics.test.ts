/**
 * What GET /metrics says of the decision pipeline: `sellify_decisions_total{action,rule}`,
 * `sellify_decision_duration_seconds` and `sellify_conversations{state}`, after known traffic. Counts only:
 * no contact id, message id or customer text ever reaches a label (API.md, "Metrics", README, "Data protection").
 */
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { STATES } from '../../lib/conversations/machine.js'
import { build, call, DEV_KEY, fixedClock } from '../helper.js'
import { karite } from './decision-fixtures.js'

interface Sample { name: string, labels: Record<string, string>, value: number }
type Json = Record<string, any>

/** The Prometheus text format, enough of it for these tests: `name{label="value",…} number` per line. */
function parse (text: string): Sample[] {
  const samples: Sample[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (m === null) throw new Error(`not a sample line: ${line}`)
    const labels: Record<string, string> = {}
    for (const [, key, value] of (m[2] ?? '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[key] = value
    samples.push({ name: m[1], labels, value: m[3] === '+Inf' ? Infinity : Number(m[3]) })
  }
  return samples
}

/** GET /metrics, with the admin key when the app keeps it behind one: the text and its samples. */
async function scrape (app: FastifyInstance): Promise<{ text: string, samples: Sample[] }> {
  const headers = app.sellify.config.metricsPublic ? {} : { 'x-api-key': DEV_KEY }
  const res = await app.inject({ method: 'GET', url: '/metrics', headers })
  if (res.statusCode !== 200) throw new Error(`GET /metrics answered ${res.statusCode}`)
  return { text: res.body, samples: parse(res.body) }
}

const named = (samples: Sample[], name: string): Sample[] => samples.filter((s) => s.name === name)

/** `sellify_decisions_total` as `action rule` → count. */
function decisionCounts (samples: Sample[]): Record<string, number> {
  return Object.fromEntries(named(samples, 'sellify_decisions_total').map((s) => [`${s.labels.action} ${s.labels.rule}`, s.value]))
}

function stateCounts (samples: Sample[]): Record<string, number> {
  return Object.fromEntries(named(samples, 'sellify_conversations').map((s) => [s.labels.state, s.value]))
}

const shop = {
  business_name: 'Karité & Co',
  products: [karite({
    objections: [{ triggers: ['trop cher'], answer: 'Un pot dure trois mois.' }]
  })]
}

async function account (app: FastifyInstance, id: string, settings: Json): Promise<void> {
  const put = await call(app, 'PUT', `/api/v1/accounts/${id}`, { active_hours: 'always', timezone: 'UTC', ...settings })
  if (put.statusCode !== 200 && put.statusCode !== 201) throw new Error(`PUT account ${id}: ${put.body}`)
  const kb = await call(app, 'PUT', `/api/v1/knowledge?account=${id}`, shop)
  if (kb.statusCode !== 200) throw new Error(`PUT knowledge ${id}: ${kb.body}`)
}

t.test('decisions by action and rule, their durations and the conversations in each state, with nothing of a customer', async (t) => {
  const clock = fixedClock('2026-01-18T12:00:00.000Z')
  const app = await build(t, { now: clock.now })
  await account(app, 'default', {})
  await account(app, 'shop-off', { automation: 'off' })
  await account(app, 'shop-night', { active_hours: { start: '01:00', end: '02:00', days: ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] } })
  await account(app, 'shop-small', { limits: { messages_per_day: 1 } })

  const fresh = await scrape(app)
  t.strictSame(stateCounts(fresh.samples), Object.fromEntries(STATES.map((s) => [s, 0])), 'every state, at 0, before any conversation')
  t.strictSame(decisionCounts(fresh.samples), {}, 'no decision yet')
  t.equal(named(fresh.samples, 'sellify_decision_duration_seconds_count')[0]?.value, 0)

  // [account, contact, message_id, text]
  const traffic: Array<[string, string, string, string]> = [
    ['default', '+33610000001', 'wamid.HBgLMzM2MTAwMDAwMDEVAgA', 'Bonjour'],
    ['default', '+33610000002', 'wamid.2', 'Combien coûte la crème au karité ?'],
    ['default', '33610000003@s.whatsapp.net', 'wamid.3', 'Je prends la crème au karité'],
    ['default', '+33610000004', 'wamid.4', 'La crème au karité, c\'est trop cher'],
    ['default', '+33610000005', 'wamid.5', 'Pas intéressé, merci'],
    ['default', '+33610000006', 'wamid.6', 'Je vais porter plainte contre vous'],
    ['default', '+33610000007', 'wamid.7', 'Bonjour, vous êtes ouverts ?'],
    ['shop-off', '+33610000008', 'wamid.8', 'Bonjour depuis Dakar'],
    ['shop-night', '+33610000009', 'wamid.9', 'Bonjour depuis Abidjan'],
    ['shop-small', '+33610000010', 'wamid.10', 'Bonjour depuis Lomé'],
    ['shop-small', '+33610000010', 'wamid.11', 'Bonjour encore, vous répondez ?']
  ]
  const answered: Json[] = []
  for (const [acct, contact, id, text] of traffic) {
    clock.advance(1000)
    const res = await call(app, 'POST', '/api/v1/messages/incoming', { account: acct, contact, message_id: id, text })
    t.equal(res.statusCode, 200, `${acct}: ${text}`)
    answered.push(res.json())
  }
  t.equal((await call(app, 'POST', '/api/v1/conversations/+33610000007/freeze', {})).statusCode, 200)
  for (const text of ['Allô ?', 'Toujours là ?']) answered.push((await call(app, 'POST', '/api/v1/messages/incoming', { contact: '+33610000007', message_id: `wamid.${text}`, text })).json())
  // A webhook retried: the same decision answered again, counted as answered.
  const retry = await call(app, 'POST', '/api/v1/messages/incoming', { contact: traffic[1][1], message_id: traffic[1][2], text: traffic[1][3] })
  t.equal(retry.json().decision_id, answered[1].decision_id, 'a replay')
  answered.push(retry.json())
  // Refused before any decision: not counted.
  t.equal((await call(app, 'POST', '/api/v1/messages/incoming', { contact: '+33610000001' })).statusCode, 400)
  t.equal((await call(app, 'POST', '/api/v1/messages/incoming', { account: 'nobody', contact: '+33610000001', text: 'Bonjour' })).statusCode, 404)
  // Contacts in URLs no route matches, or too long for the router, reach no label either.
  t.equal((await call(app, 'GET', '/api/v1/conversations/+33610000002/messages')).statusCode, 404)
  const long = (await call(app, 'GET', `/api/v1/conversations/33610000003${'0'.repeat(100)}`)).statusCode
  t.ok(long === 404 || long === 414, `a contact id longer than the router's limit: ${long}`)
  t.equal((await call(app, 'GET', '/api/v1/conversations/+33610000004')).statusCode, 200)

  const tally: Record<string, number> = {}
  for (const d of answered) tally[`${d.action as string} ${d.rule as string}`] = (tally[`${d.action as string} ${d.rule as string}`] ?? 0) + 1
  t.strictSame(tally, {
    'respond_text respond': 7,
    'ignore negative': 1,
    'alert_human alert': 1,
    'ignore frozen': 2,
    'stop_automation automation_off': 1,
    'delay outside_active_hours': 1,
    'delay quota': 1
  }, 'the traffic reached these rules')

  // Counted in the store in the background (every 15 s); a test counts now.
  await app.sellify.storeGauges.refresh()
  const m = await scrape(app)
  t.strictSame(decisionCounts(m.samples), tally, 'sellify_decisions_total: one per answer, by action and rule')
  for (const s of named(m.samples, 'sellify_decisions_total')) t.strictSame(Object.keys(s.labels).sort(), ['action', 'rule'], 'labelled by action and rule only')
  const count = named(m.samples, 'sellify_decision_duration_seconds_count')
  t.equal(count.length, 1)
  t.equal(count[0].value, answered.length, 'the histogram observed every answer')
  t.strictSame(count[0].labels, {}, 'no labels')
  t.equal(named(m.samples, 'sellify_decision_duration_seconds_bucket').find((s) => s.labels.le === '+Inf')?.value, answered.length)
  const sum = named(m.samples, 'sellify_decision_duration_seconds_sum')[0].value
  t.ok(Number.isFinite(sum) && sum >= 0, 'a duration sum')

  t.strictSame(stateCounts(m.samples), { discovery: 4, interest: 1, intent: 1, objection: 1, negative: 1, escalated: 1, frozen: 1 }, 'sellify_conversations: every state, over every account')
  const listed: Record<string, number> = Object.fromEntries(STATES.map((s) => [s, 0]))
  for (const acct of ['default', 'shop-off', 'shop-night', 'shop-small']) {
    for (const c of (await call(app, 'GET', `/api/v1/conversations?account=${acct}`)).json().conversations) listed[c.state]++
  }
  t.strictSame(stateCounts(m.samples), listed, 'what the listings say')

  // Nothing of a customer: no contact (in any spelling), message id or text.
  const secrets = traffic.flatMap(([, contact, id, text]) => [contact, contact.replace(/^\+/, '').replace(/@.*/, ''), id, text, text.slice(0, 12)])
  for (const secret of new Set(secrets)) t.notOk(m.text.includes(secret), `the metrics do not hold ${JSON.stringify(secret)}`)
  for (const d of answered) t.notOk(m.text.includes(d.decision_id), 'nor a decision id')

  // An erasure takes its conversation out of the counts; the state stays listed at 0.
  t.equal((await call(app, 'DELETE', '/api/v1/conversations/+33610000005')).statusCode, 204)
  t.equal((await call(app, 'POST', '/api/v1/conversations/+33610000006/resume', {})).statusCode, 200)
  // Counted in the store in the background (every 15 s); a test counts now.
  await app.sellify.storeGauges.refresh()
  const after = await scrape(app)
  t.strictSame(stateCounts(after.samples), { discovery: 5, interest: 1, intent: 1, objection: 1, negative: 0, escalated: 0, frozen: 1 })
  t.strictSame(decisionCounts(after.samples), tally, 'operators\' changes are not decisions')
})

t.test('behind the admin key the same counts are served, and still no customer in them', async (t) => {
  const app = await build(t, { metricsPublic: false })
  await account(app, 'default', {})
  t.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 401, 'a key is needed')
  for (const [i, text] of ['Bonjour', 'Combien coûte la crème au karité ?', 'zzz', 'zzz', 'zzz'].entries()) {
    t.equal((await call(app, 'POST', '/api/v1/messages/incoming', { contact: '+22507000001', message_id: `m-${i}`, text })).statusCode, 200)
  }
  await app.sellify.storeGauges.refresh()
  const m = await scrape(app)
  t.strictSame(decisionCounts(m.samples), { 'respond_text respond': 4, 'alert_human misunderstood': 1 }, 'three misunderstandings in a row alert')
  t.strictSame(stateCounts(m.samples), { discovery: 0, interest: 0, intent: 0, objection: 0, negative: 0, escalated: 1, frozen: 0 })
  t.equal(named(m.samples, 'sellify_decision_duration_seconds_count')[0].value, 5)
  for (const secret of ['+22507000001', '22507000001', 'Combien coûte', 'zzz']) t.notOk(m.text.includes(secret), `no ${secret}`)
})
