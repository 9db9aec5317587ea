/**
 * README, "Several instances on PostgreSQL": two instances on one schema deciding for the same
 * contact at the same time. Bursts of messages of one contact (a customer typing several short messages, the
 * gateway delivering them in parallel) are split across both instances, for a new contact (its conversation and
 * data key created in the race) and for several contacts at once. Whatever the interleaving: one conversation
 * per contact, every message stored once with its reply, each decision made from the state the one before it
 * left (no update lost, no fork), every decision on record, the chain verifying, the quota counting each reply
 * once. A message refused by the version check (`409 SELLIFY_CONVERSATION_CHANGED`) is retried as a gateway
 * would, with its message_id, and must then have left nothing behind from its refused attempt.
 */
import t from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { build, call, PG_URL, pgSchema, pgSkip, type TapTest } from './helper.js'
import { karite } from './routes/decision-fixtures.js'

type Json = Record<string, any>

const KEY = '5c'.repeat(32)
const KB = {
  business_name: 'Karité & Co',
  products: [karite({ objections: [{ triggers: ['trop cher'], answer: 'Un pot dure trois mois.' }] })],
  faq: [{ id: 'livraison', triggers: ['livraison'], answer: 'Livraison en 48 h à Abidjan.' }]
}
const TEXTS = ['Bonjour', 'Combien coûte la crème au karité ?', 'Vous faites la livraison ?', 'La crème au karité, c\'est trop cher', 'Je prends la crème au karité', 'Et la livraison à Yopougon ?']
/** A gateway's retries of one message refused by the version check, at most. */
const RETRIES = 30

const skip = await pgSkip()

async function get (app: FastifyInstance, url: string): Promise<Json> {
  const res = await call(app, 'GET', url)
  if (res.statusCode !== 200) throw new Error(`GET ${url}: ${res.statusCode} ${res.body}`)
  return res.json()
}

const changed = (res: LightMyRequestResponse): boolean => res.statusCode === 409 && res.json().code === 'SELLIFY_CONVERSATION_CHANGED'

/** Two instances on a fresh schema, the account and catalogue written through the first before the second starts. */
async function pair (t: TapTest): Promise<FastifyInstance[]> {
  const schema = pgSchema(t)
  // One clock for both instances that never stands still (1 ms a reading), as a wall clock between decisions:
  // a fixed one would stamp every message alike and leave their order to their ids.
  let tick = Date.parse('2026-01-18T12:00:00.000Z')
  const now = (): Date => new Date(tick++)
  const instance = async (): Promise<FastifyInstance> => await build(t, { now, scheduler: false, env: { SELLIFY_ENCRYPTION_KEY: KEY }, store: { databaseUrl: PG_URL, pgSchema: schema } })
  const a = await instance()
  t.ok([200, 201].includes((await call(a, 'PUT', '/api/v1/accounts/default', { active_hours: 'always' })).statusCode), 'account configured')
  t.equal((await call(a, 'PUT', '/api/v1/knowledge', KB)).statusCode, 200, 'knowledge base stored')
  return [a, await instance()]
}

interface Sent { contact: string, message_id: string, text: string }
interface Outcome { sent: Sent, first: number, tries: number, answer: Json }

/**
 * Every message at once, message i on apps[i % 2]; one refused by the version check is sent again (same body,
 * the other instance) as a gateway retries, after the whole burst was answered once.
 */
async function burst (apps: FastifyInstance[], messages: Sent[]): Promise<{ outcomes: Outcome[], refusedFirst: Sent[] }> {
  const send = async (m: Sent, i: number): Promise<LightMyRequestResponse> => await call(apps[i % apps.length], 'POST', '/api/v1/messages/incoming', m)
  const firsts = await Promise.all(messages.map(send))
  const unexpected = firsts.filter((r) => r.statusCode !== 200 && !changed(r))
  if (unexpected.length > 0) throw new Error(`answered neither 200 nor 409 changed: ${unexpected.map((r) => `${r.statusCode} ${r.body}`).join('; ')}`)
  const refusedFirst = messages.filter((_, i) => changed(firsts[i]))
  const outcomes = await Promise.all(messages.map(async (m, i): Promise<Outcome> => {
    let res = firsts[i]
    let tries = 1
    while (changed(res) && tries < RETRIES) res = await send(m, i + tries++)
    if (res.statusCode !== 200) throw new Error(`${m.message_id}: ${res.statusCode} ${res.body} after ${tries} tries`)
    return { sent: m, first: firsts[i].statusCode, tries, answer: res.json() }
  }))
  return { outcomes, refusedFirst }
}

/** What the trail, the conversation and both instances say about one contact, checked against the answers. */
async function consistent (t: TapTest, apps: FastifyInstance[], contact: string, outcomes: Outcome[]): Promise<void> {
  const mine = outcomes.filter((o) => o.sent.contact === contact)
  const ids = mine.map((o) => o.answer.decision_id as string)
  t.equal(new Set(ids).size, mine.length, `${contact}: one decision per message`)

  // The decisions in the order they committed (the chain's), each made from the state the one before left.
  const trail = (await get(apps[0], `/api/v1/audit?limit=500&type=decision&contact=${encodeURIComponent(contact)}`)).records.reverse() as Json[]
  t.strictSame(trail.map((r) => r.details.decision_id).sort(), [...ids].sort(), `${contact}: every decision on record, once, and no other`)
  const breaks = trail.slice(1).filter((r, i) => r.state_before !== trail[i].state_after).map((r) => `${String(r.details.decision_id)}: from ${String(r.state_before)}, the one before left ${String(trail[trail.indexOf(r) - 1].state_after)}`)
  t.strictSame(breaks, [], `${contact}: each decision made from the state the previous one left`)
  t.equal(trail[0].state_before, 'discovery', `${contact}: the first decided from a new conversation`)
  const byId = new Map(mine.map((o) => [o.answer.decision_id as string, o]))
  t.strictSame(trail.map((r) => r.state_after), trail.map((r) => byId.get(r.details.decision_id)?.answer.conversation.state), `${contact}: each record's state is what its answer said`)

  // One conversation, the same on both instances: every message once, each reply once and after its message.
  const details = await Promise.all(apps.map(async (app) => await get(app, `/api/v1/conversations/${encodeURIComponent(contact)}`)))
  t.strictSame(details[1], details[0], `${contact}: both instances read the same conversation`)
  const [detail] = details
  t.equal(detail.state, trail[trail.length - 1].state_after, `${contact}: its state is the last decision's`)
  const inbound = (detail.messages as Json[]).filter((m) => m.direction === 'in')
  t.strictSame(inbound.map((m) => `${String(m.decision_id)} ${String(m.text)}`).sort(), mine.map((o) => `${String(o.answer.decision_id)} ${o.sent.text}`).sort(), `${contact}: each message stored once, with its decision`)
  const replies = mine.filter((o) => o.answer.reply !== null)
  const outbound = (detail.messages as Json[]).filter((m) => m.direction === 'out')
  t.strictSame(outbound.map((m) => `${String(m.decision_id)} ${String(m.text)}`).sort(), replies.map((o) => `${String(o.answer.decision_id)} ${String(o.answer.reply.text)}`).sort(), `${contact}: each reply stored once`)
  const position = new Map((detail.messages as Json[]).map((m, i) => [`${m.direction as string} ${String(m.decision_id)}`, i]))
  t.strictSame(replies.filter((o) => (position.get(`in ${String(o.answer.decision_id)}`) ?? Infinity) > (position.get(`out ${String(o.answer.decision_id)}`) ?? -1)).map((o) => o.answer.decision_id), [],
    `${contact}: each reply after its message`)
  t.strictSame(inbound.map((m) => m.decision_id), trail.map((r) => r.details.decision_id), `${contact}: the messages in the order their decisions committed`)
}

if (skip !== false) {
  t.comment(`SKIPPING the contact races on PostgreSQL: ${skip}`)
  t.test('contact races on PostgreSQL', { skip }, async () => {})
} else {
  t.test('a new contact\'s burst split across two instances: one conversation, one data key, no update lost, every decision on record', async (t) => {
    const apps = await pair(t)
    const contact = '+22507000201'
    const keysBefore = Object.values((await get(apps[0], '/api/v1/encryption')).by_key as Record<string, number>).reduce((n, c) => n + c, 0)
    const chain = await get(apps[1], '/api/v1/audit/verify?account=default')
    const usage = await get(apps[0], '/api/v1/quota/status')

    // Four at once, no more than the decision retries: each is decided without the gateway's help.
    const small = await burst(apps, TEXTS.slice(0, 4).map((text, i) => ({ contact, text, message_id: `small-${i}` })))
    t.strictSame(small.refusedFirst, [], 'four messages at once on two instances: every one answered 200 at once')

    // A longer burst: what the version check refused, retried with its message_id, is decided once.
    const messages = Array.from({ length: 12 }, (_, i) => ({ contact, text: TEXTS[i % TEXTS.length], message_id: `burst-${i}` }))
    const inbound = async (): Promise<number> => ((await get(apps[0], `/api/v1/conversations/${encodeURIComponent(contact)}`)).messages as Json[]).filter((m) => m.direction === 'in').length
    const records = async (): Promise<number> => (await get(apps[1], `/api/v1/audit?limit=500&type=decision&contact=${encodeURIComponent(contact)}`)).records.length
    const [inBefore, recordsBefore] = [await inbound(), await records()]
    const first = await Promise.all(messages.map(async (m, i) => await call(apps[i % 2], 'POST', '/api/v1/messages/incoming', m)))
    const refused = messages.filter((_, i) => changed(first[i]))
    t.comment(`twelve at once: ${12 - refused.length} answered 200, ${refused.length} refused 409 by the version check`)
    t.strictSame(first.filter((r) => r.statusCode !== 200 && !changed(r)).map((r) => r.body), [], 'every message answered 200, or 409 by the version check')
    // A refused message left nothing: no record, no stored message.
    t.equal(await records() - recordsBefore, 12 - refused.length, 'one record per message answered 200, none for a refused one')
    t.equal(await inbound() - inBefore, 12 - refused.length, 'one stored message per message answered 200, none for a refused one')
    t.strictSame(refused.map((m) => m.message_id), [], 'twelve messages at once: none refused by the version check')
    const retried = await burst(apps, messages)
    const firstAnswers = new Map(first.map((r, i) => [messages[i].message_id, r.statusCode === 200 ? r.json().decision_id : null]))
    t.strictSame(retried.outcomes.filter((o) => firstAnswers.get(o.sent.message_id) !== null && firstAnswers.get(o.sent.message_id) !== o.answer.decision_id).map((o) => o.sent.message_id), [],
      'sent again, a message answered 200 answers the same decision')
    t.strictSame(retried.outcomes.filter((o) => firstAnswers.get(o.sent.message_id) !== null && o.first !== 200).map((o) => o.sent.message_id), [], 'at once')

    const outcomes = [...small.outcomes, ...retried.outcomes]
    await consistent(t, apps, contact, outcomes)
    const listed = (await get(apps[1], '/api/v1/conversations?limit=500')).conversations as Json[]
    t.strictSame(listed.map((c) => c.contact), [contact], 'one conversation listed, on either instance')
    const keysAfter = Object.values((await get(apps[1], '/api/v1/encryption')).by_key as Record<string, number>).reduce((n, c) => n + c, 0)
    t.equal(keysAfter, keysBefore + 1, 'one data key for the contact, though both instances met it at once')
    const replies = outcomes.filter((o) => o.answer.reply !== null).length
    t.equal((await get(apps[1], '/api/v1/quota/status')).messages_today, usage.messages_today + replies, `the quota counted each of the ${replies} replies once`)
    t.strictSame(await get(apps[0], '/api/v1/audit/verify?account=default'), { valid: true, records: chain.records + outcomes.length, first_invalid_id: null }, 'the chain verifies, one record per decision')
  })

  t.test('several contacts, each with a burst split across two instances: every conversation consistent, the chain whole', async (t) => {
    const apps = await pair(t)
    const contacts = Array.from({ length: 6 }, (_, i) => `2250700030${i}@s.whatsapp.net`)
    const chain = await get(apps[0], '/api/v1/audit/verify?account=default')
    const messages = contacts.flatMap((contact, c) => TEXTS.slice(0, 4).map((text, i) => ({ contact, text, message_id: `c${c}-m${i}` })))
    // Interleaved: each contact's messages go to both instances, all 24 at once.
    const { outcomes, refusedFirst } = await burst(apps, messages)
    t.comment(`${messages.length} at once: ${refusedFirst.length} refused by the version check first, then decided`)
    for (const contact of contacts) await consistent(t, apps, contact, outcomes)
    const listed = (await get(apps[1], '/api/v1/conversations?limit=500')).conversations as Json[]
    t.strictSame(listed.map((c) => c.contact).sort(), [...contacts].sort(), 'one conversation per contact')
    t.strictSame(await get(apps[1], '/api/v1/audit/verify?account=default'), { valid: true, records: chain.records + messages.length, first_invalid_id: null }, 'the chain verifies, one record per decision')
  })
}
