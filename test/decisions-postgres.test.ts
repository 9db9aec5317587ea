/**
 * The decision pipeline (README, "Deciding every message") on a real PostgreSQL, with two app instances on one schema: the
 * shopper flow answered as on SQLite, state carried from one instance to the other, one decision for a webhook
 * retried on both at once, sent/failed reports, an erasure (README, "Data protection"), and two messages of one contact decided at
 * the same instant by the two instances (the conversation's version check makes one of them decide again).
 */
import t from 'tap'
import FakeTimers from '@sinonjs/fake-timers'
import type { FastifyInstance } from 'fastify'
import type { StoreOp } from '../lib/store/contract.js'
import { build, call, fixedClock, PG_URL, pgSchema, pgSkip, type TapTest } from './helper.js'
import { karite } from './routes/decision-fixtures.js'

type Json = Record<string, any>
type Clock = ReturnType<typeof fixedClock>

// Both instances (and the SQLite twin) share one master key: they read each other's data keys and blind indexes.
const KEY = '5e'.repeat(32)
const X = '+33612345678'
const Y = '22507080910@s.whatsapp.net'

const KB = {
  business_name: 'Karité & Co',
  products: [karite({
    objections: [{ triggers: ['trop cher'], answer: 'Un pot dure trois mois.' }],
    media: [{ id: 'photo-1', type: 'image', url: 'https://shop.example/creme.jpg', caption: 'Notre crème' }],
    media_policy: { allow_images: true, allow_video: false }
  })],
  faq: [{ id: 'livraison', triggers: ['livraison'], answer: 'Livraison en 48 h à Abidjan.' }]
}
const SHOPPER = ['Bonjour', 'Combien coûte la crème au karité ?', 'Vous faites la livraison ?', 'La crème au karité, c\'est trop cher', 'Je prends la crème au karité']

const skip = await pgSkip()

/** An instance on the test's schema (null: SQLite in memory), on the shared clock and key. */
async function instance (t: TapTest, schema: string | null, clock: Clock): Promise<FastifyInstance> {
  return await build(t, {
    now: clock.now,
    env: { SELLIFY_ENCRYPTION_KEY: KEY },
    scheduler: false,
    ...(schema === null ? {} : { store: { databaseUrl: PG_URL, pgSchema: schema } })
  })
}

/** The account and its catalogue, written before another instance reads them (their caches start fresh). */
async function shop (app: FastifyInstance, settings: Json = {}): Promise<void> {
  const put = await call(app, 'PUT', '/api/v1/accounts/default', { active_hours: 'always', timezone: 'UTC', week_start: 'monday', ...settings })
  if (put.statusCode !== 200 && put.statusCode !== 201) throw new Error(`PUT account: ${put.body}`)
  const kb = await call(app, 'PUT', '/api/v1/knowledge', KB)
  if (kb.statusCode !== 200) throw new Error(`PUT knowledge: ${kb.body}`)
}

/** Two instances on one fresh schema, the account set up through the first before the second starts. */
async function pair (t: TapTest, clock: Clock, settings: Json = {}): Promise<[FastifyInstance, FastifyInstance]> {
  const schema = pgSchema(t)
  const a = await instance(t, schema, clock)
  await shop(a, settings)
  const b = await instance(t, schema, clock)
  return [a, b]
}

async function incoming (app: FastifyInstance, body: Json): Promise<{ status: number, json: Json }> {
  const res = await call(app, 'POST', '/api/v1/messages/incoming', body)
  return { status: res.statusCode, json: res.json() }
}

async function say (app: FastifyInstance, contact: string, text: string, over: Json = {}): Promise<Json> {
  const res = await incoming(app, { contact, text, ...over })
  if (res.status !== 200) throw new Error(`incoming ${JSON.stringify(text)}: ${res.status} ${JSON.stringify(res.json)}`)
  return res.json
}

async function get (app: FastifyInstance, url: string): Promise<Json> {
  const res = await call(app, 'GET', url)
  if (res.statusCode !== 200) throw new Error(`GET ${url}: ${res.statusCode} ${res.body}`)
  return res.json()
}

const usage = async (app: FastifyInstance): Promise<Json> => await get(app, '/api/v1/quota/status')
const trail = async (app: FastifyInstance, query: string): Promise<Json[]> => (await get(app, `/api/v1/audit?limit=500&${query}`)).records
const verify = async (app: FastifyInstance): Promise<Json> => await get(app, '/api/v1/audit/verify?account=default')
const dataKeys = async (app: FastifyInstance): Promise<number> =>
  Object.values((await get(app, '/api/v1/encryption')).by_key as Record<string, number>).reduce((n, c) => n + c, 0)

/** A JSON value with every decision id replaced by its order of appearance: two backends' answers compare equal. */
function normalised (value: unknown, ids = new Map<string, string>()): unknown {
  return JSON.parse(JSON.stringify(value), (_key, v: unknown) => {
    if (typeof v !== 'string' || !v.startsWith('dcs_')) return v
    if (!ids.has(v)) ids.set(v, `decision-${ids.size}`)
    return ids.get(v)
  })
}

/** An audit record without what differs by construction between two stores: its id and chain links. */
function recordShape (r: Json): Json {
  const { id: _id, prev_hash: _prev, hash: _hash, duration_ms: duration, ...rest } = r
  return { ...rest, duration_ms: typeof duration }
}

/**
 * Makes the first commit matching `held` on each app wait until every app has reached its own, then lets
 * them all go at once: each commits what it decided from the same reads. Records how each matching commit
 * ended (`committed` or the error's code). A bound of 20 s opens the gate whatever happens (the test then fails).
 */
function holdFirstCommits (t: TapTest, apps: ReadonlyArray<readonly [string, FastifyInstance]>, held: (plan: readonly StoreOp[]) => boolean) {
  const outcomes: Array<{ app: string, result: string }> = []
  let arrived = 0
  let open: () => void = () => {}
  const gate = new Promise<void>((resolve) => { open = resolve })
  const bound = setTimeout(open, 20_000)
  t.teardown(() => clearTimeout(bound))
  for (const [name, app] of apps) {
    const store = app.sellify.store
    const commit = store.commit.bind(store)
    let first = true
    store.commit = (async (plan: readonly StoreOp[]) => {
      const watched = held(plan)
      if (watched && first) {
        first = false
        if (++arrived === apps.length) open()
        await gate
      }
      try {
        const results = await commit(plan)
        if (watched) outcomes.push({ app: name, result: 'committed' })
        return results
      } catch (err) {
        if (watched) outcomes.push({ app: name, result: (err as { code?: string }).code ?? String(err) })
        throw err
      }
    }) as typeof store.commit
  }
  return { outcomes, arrived: () => arrived }
}

if (skip !== false) {
  t.comment(`SKIPPING the decision pipeline on PostgreSQL: ${skip}`)
  t.test('decision pipeline on PostgreSQL', { skip }, async () => {})
} else {
  t.test('the shopper flow on PostgreSQL is answered exactly as on SQLite', async (t) => {
    const clock = fixedClock('2026-01-18T12:00:00.000Z')
    const sqlite = await instance(t, null, clock)
    const postgres = await instance(t, pgSchema(t), clock)
    await shop(sqlite)
    await shop(postgres)

    const answers: Json[][] = [[], []]
    for (const [i, text] of SHOPPER.entries()) {
      clock.advance(1000)
      for (const [n, app] of [sqlite, postgres].entries()) answers[n].push(await say(app, X, text, { message_id: `wamid-${i}` }))
    }
    const [onSqlite, onPostgres] = answers
    t.strictSame(onSqlite.map((d) => `${d.action as string}/${d.reply?.source as string}/${d.conversation.state as string}`), [
      'respond_text/template/discovery',
      'respond_with_media/template/interest',
      'respond_text/knowledge_base/interest',
      'respond_text/knowledge_base/objection',
      'respond_text/template/intent'
    ], 'greeting, price with its photo, FAQ, objection, purchase')
    t.match(onSqlite[1], { reply: { media: [{ id: 'photo-1', type: 'image', product: 'creme-karite' }] }, quota: { kind: 'image' } })
    t.strictSame(normalised(onPostgres), normalised(onSqlite), 'every answer the same, decision ids aside')
    t.ok(onPostgres.every((d) => /^dcs_/.test(d.decision_id)))

    // A retried webhook, then the reports after the send.
    clock.advance(1000)
    t.strictSame(await say(postgres, X, SHOPPER[1], { message_id: 'wamid-1' }), onPostgres[1], 'a retry is the first decision unchanged')
    for (const [n, app] of [sqlite, postgres].entries()) {
      const [first, , third] = answers[n]
      t.strictSame((await call(app, 'POST', `/api/v1/messages/${first.decision_id as string}/sent`, {})).json(), { status: 'sent' })
      t.match((await call(app, 'POST', `/api/v1/messages/${third.decision_id as string}/failed`, {})).json(), { status: 'failed', released: true })
      t.equal((await call(app, 'POST', '/api/v1/messages/outgoing', { contact: X, text: 'Ici Awa, je prends le relais.', sender: 'human' })).statusCode, 200)
    }

    const reads = async (app: FastifyInstance) => {
      const ids = new Map<string, string>()
      const answered = answers[app === sqlite ? 0 : 1]
      for (const d of answered) normalised(d.decision_id, ids)
      return {
        list: normalised(await get(app, '/api/v1/conversations'), ids),
        detail: normalised(await get(app, `/api/v1/conversations/${X}`), ids) as Json,
        usage: await usage(app),
        records: normalised((await trail(app, `contact=${encodeURIComponent(X)}`)).map(recordShape), ids),
        chain: await verify(app)
      }
    }
    const [s, p] = [await reads(sqlite), await reads(postgres)]
    t.equal(s.detail.messages.length, 5 * 2 + 1, 'each message answered, and the human one')
    t.strictSame(p.list, s.list, 'the listing')
    t.strictSame(p.detail, s.detail, 'the conversation with its decrypted messages')
    t.strictSame(p.usage, s.usage, 'the counters')
    t.strictSame(p.records, s.records, 'the audit records, field by field')
    t.strictSame(p.chain, s.chain, 'the chain: valid, as long')
    t.equal(p.chain.valid, true)
  })

  t.test('two instances on one schema: the next message on the other instance sees the state the first left', async (t) => {
    const clock = fixedClock('2026-01-18T12:00:00.000Z')
    const [a, b] = await pair(t, clock)

    clock.advance(1000)
    t.match(await say(a, X, 'Combien coûte la crème au karité ?', { message_id: 'w1' }), { conversation: { state: 'interest', previous_state: 'discovery' } }, 'A: interest')
    clock.advance(1000)
    const second = await say(b, X, 'Je prends la crème au karité', { message_id: 'w2' })
    t.match(second, { rule: 'respond', reply: { source: 'template', media: [] }, conversation: { state: 'intent', previous_state: 'interest', event: 'purchase_intent' } },
      'B: from the interest A left to intent, and the photo A sent this session is not sent again')
    clock.advance(1000)
    t.match(await say(a, X, 'zzz', { message_id: 'w3' }), { conversation: { state: 'intent', misunderstandings: 1 } }, 'A again: the intent B left')

    const onA = await get(a, `/api/v1/conversations/${X}`)
    const onB = await get(b, `/api/v1/conversations/${X}`)
    t.strictSame(onB, onA, 'both instances read the same conversation')
    t.strictSame(onA.messages.map((m: Json) => `${m.direction as string} ${m.sender as string}`), ['in customer', 'out bot', 'in customer', 'out bot', 'in customer', 'out bot'])
    t.equal(onA.messages[2].text, 'Je prends la crème au karité', 'B\'s message, decrypted by A')
    t.strictSame(await get(b, '/api/v1/conversations'), await get(a, '/api/v1/conversations'))
    t.match(await usage(b), { messages_today: 3, images_today: 1 })

    // Conversations with one last activity, written by both, paged on PostgreSQL's ordering: each once.
    const many = Array.from({ length: 9 }, (_, i) => `+2250700000${i}`)
    await Promise.all(many.map(async (c, i) => await say(i % 2 === 0 ? a : b, c, 'Bonjour')))
    const seen: string[] = []
    let before: string | null = null
    for (let page = 0; page < 20; page++) {
      const got: Json = await get(page % 2 === 0 ? a : b, `/api/v1/conversations?limit=2${before === null ? '' : `&before=${encodeURIComponent(before)}`}`)
      seen.push(...got.conversations.map((c: Json) => c.contact))
      before = got.next_before
      if (before === null) break
    }
    t.strictSame([...seen].sort(), [...many, X].sort(), 'paged across both instances: every conversation once')
    t.strictSame(seen, (await get(a, '/api/v1/conversations')).conversations.map((c: Json) => c.contact), 'in the listing\'s order')

    // An operator's change on one instance is what the other decides with.
    t.equal((await call(b, 'POST', `/api/v1/conversations/${X}/pause`, { minutes: 10 })).statusCode, 200)
    t.match(await say(a, X, 'Allô ?', { message_id: 'w4' }), { action: 'ignore', rule: 'human_takeover' })
    t.equal((await call(a, 'POST', `/api/v1/conversations/${X}/resume`, {})).statusCode, 200)
    t.match(await say(b, X, 'Je prends la crème au karité', { message_id: 'w5' }), { action: 'respond_text', conversation: { state: 'intent' } })
    t.equal((await verify(b)).valid, true)
  })

  t.test('one message_id sent 20 times at once to both instances: one decision, one consume, one record', async (t) => {
    const clock = fixedClock('2026-01-18T12:00:00.000Z')
    const [a, b] = await pair(t, clock)
    await say(a, Y, 'Bonjour', { message_id: 'warm-up' })
    const before = await usage(a)
    const chain = await verify(a)

    const body = { contact: X, message_id: 'wamid.HBgLMzM2MTIzNDU2NzgVAgASGBQzRUIwQTFCMkMz', text: 'Combien coûte la crème au karité ?' }
    const results = await Promise.all(Array.from({ length: 20 }, async (_, i) => await incoming(i % 2 === 0 ? a : b, body)))
    t.strictSame([...new Set(results.map((r) => r.status))], [200], 'every call answered 200')
    t.strictSame([...new Set(results.map((r) => r.json.decision_id))].length, 1, 'one decision_id')
    for (const r of results) t.strictSame(r.json, results[0].json, 'the same answer to each')
    t.match(results[0].json, { action: 'respond_with_media', conversation: { state: 'interest' } })

    const after = await usage(b)
    t.equal(after.messages_today, before.messages_today + 1, 'one message consumed')
    t.equal(after.images_today, before.images_today + 1, 'one image')
    const records = await trail(b, `contact=${encodeURIComponent(X)}`)
    t.strictSame(records.map((r) => [r.type, r.details.decision_id]), [['decision', results[0].json.decision_id]], 'one audit record')
    t.strictSame(await verify(a), { valid: true, records: chain.records + 1, first_invalid_id: null }, 'the chain verifies, one record longer')
    t.strictSame((await get(a, `/api/v1/conversations/${X}`)).messages.map((m: Json) => m.direction), ['in', 'out'], 'the message stored once, its reply once')
  })

  t.test('sent and failed on two instances: idempotent, 409 across, the quota given back once and only the same day', async (t) => {
    const clock = fixedClock('2026-01-18T12:00:00.000Z') // a Sunday: the next day is another week too
    const [a, b] = await pair(t, clock)
    const first = await say(a, X, 'Bonjour', { message_id: 's1' })
    const second = await say(b, X, 'Combien coûte la crème au karité ?', { message_id: 's2' })
    const third = await say(a, Y, 'Bonjour', { message_id: 's3' })
    t.match(await usage(a), { messages_today: 3, images_today: 1 })
    const report = async (app: FastifyInstance, d: Json, what: 'sent' | 'failed') => await call(app, 'POST', `/api/v1/messages/${d.decision_id as string}/${what}`, {})

    t.strictSame((await report(b, first, 'sent')).json(), { status: 'sent' })
    t.strictSame((await report(a, first, 'sent')).json(), { status: 'sent' }, 'again, on the other instance')
    const late = await report(a, first, 'failed')
    t.equal(late.statusCode, 409, 'failed after sent')
    t.match(late.json(), { statusCode: 409, code: 'SELLIFY_DECISION_CONFLICT' })

    const failed = await report(a, second, 'failed')
    t.equal(failed.statusCode, 200)
    t.strictSame(failed.json(), { status: 'failed', released: true, usage: { messages_today: 2, messages_this_week: 2, images_today: 0, videos_this_week: 0, messages_this_hour: 2 } },
      'the message and its image given back')
    t.strictSame((await report(b, second, 'failed')).json(), failed.json(), 'again on the other instance: the same answer, nothing released twice')
    t.match(await usage(b), { messages_today: 2, images_today: 0 })
    t.equal((await report(b, second, 'sent')).statusCode, 409, 'sent after failed')

    // The next day (and week): a failure of yesterday's send frees nothing of today.
    clock.set('2026-01-19T09:00:00.000Z')
    await say(b, Y, 'Combien coûte la crème au karité ?', { message_id: 's4' })
    const yesterday = await report(b, third, 'failed')
    t.strictSame(yesterday.json(), { status: 'failed', released: false, usage: { messages_today: 1, messages_this_week: 1, images_today: 1, videos_this_week: 0, messages_this_hour: 1 } })
    t.match(await usage(a), { messages_today: 1, messages_this_week: 1 })

    t.equal((await call(a, 'POST', '/api/v1/messages/dcs_unknown/sent', {})).statusCode, 404)
    t.strictSame((await trail(a, 'type=sent')).map((r) => r.details.decision_id), [first.decision_id], 'one sent record')
    t.strictSame((await trail(b, 'type=failed')).map((r) => [r.details.decision_id, r.details.released]), [[third.decision_id, false], [second.decision_id, true]], 'one failed record each')
    t.equal((await verify(b)).valid, true)
  })

  t.test('an erasure on one instance: gone on both, records unreadable on both, the contact starts over', async (t) => {
    // Data keys are trusted for a moment of wall-clock time (an erasure elsewhere stops their reads after it):
    // the wall clock stands still until the test moves it past that, so the other instance's cache is warm.
    const wall = FakeTimers.install({ toFake: ['Date'] })
    t.teardown(() => wall.uninstall())
    const clock = fixedClock('2026-01-18T12:00:00.000Z')
    const [a, b] = await pair(t, clock)
    for (const [i, text] of SHOPPER.slice(0, 3).entries()) {
      clock.advance(1000)
      await say(i % 2 === 0 ? a : b, X, text, { message_id: `e${i}` })
    }
    await say(b, Y, 'Bonjour', { message_id: 'ey' })
    const yBefore = await get(a, `/api/v1/conversations/${Y}`)
    const records = await trail(a, `contact=${encodeURIComponent(X)}`)
    t.equal(records.length, 3)
    const keys = await dataKeys(a)
    const chain = await verify(a)

    t.equal((await call(b, 'DELETE', `/api/v1/conversations/${X}`)).statusCode, 204)
    for (const app of [a, b]) {
      t.equal((await call(app, 'GET', `/api/v1/conversations/${X}`)).statusCode, 404, 'gone on both')
      t.strictSame((await get(app, '/api/v1/conversations')).conversations.map((c: Json) => c.contact), [Y])
    }
    t.equal(await dataKeys(a), keys - 1)
    t.strictSame(await verify(a), { valid: true, records: chain.records + 1, first_invalid_id: null })

    // A writes again for the contact while it still trusts the erased key: the write finds it erased and starts over.
    clock.advance(1000)
    const fresh = await say(a, X, 'Combien coûte la crème au karité ?', { message_id: 'e-new' })
    t.match(fresh, { action: 'respond_with_media', conversation: { state: 'interest', previous_state: 'discovery', misunderstandings: 0 } }, 'a new conversation, its photo sent again')
    t.equal(await dataKeys(b), keys, 'under a new data key')
    const detail = await get(b, `/api/v1/conversations/${X}`)
    t.strictSame(detail.messages.map((m: Json) => m.text), ['Combien coûte la crème au karité ?', fresh.reply.text], 'readable on the other instance, none of the old messages')
    t.equal(detail.created_at, clock.now().toISOString())

    wall.setSystemTime(Date.now() + 10 * 60_000)
    for (const app of [a, b]) {
      for (const r of records) {
        const now = await get(app, `/api/v1/audit/${r.id as string}`)
        t.match(now, { erased: true, contact: null, incoming_message: null, sent_message: null, type: 'decision', rule: r.rule, action: r.action, state_after: r.state_after, hash: r.hash })
      }
      t.match(await trail(app, `contact=${encodeURIComponent(X)}`), [{ type: 'decision', erased: false, contact: X, details: { decision_id: fresh.decision_id } }], 'only the new record is the contact\'s')
      const erasures = await trail(app, 'type=conversation_erased')
      t.equal(erasures.length, 1)
      t.notOk(JSON.stringify(erasures[0]).includes('33612345678'), 'the erasure record names no contact')
      t.equal((await verify(app)).valid, true)
      t.strictSame(await get(app, `/api/v1/conversations/${Y}`), yBefore, 'the other contact is untouched')
    }
  })

  t.test('two messages of one contact decided at the same instant on two instances: both answered, one decided again', async (t) => {
    const clock = fixedClock('2026-01-18T12:00:00.000Z')
    const [a, b] = await pair(t, clock)
    await say(a, X, 'Bonjour', { message_id: 'c0' })

    // Each instance's first decision waits at the commit until both have read the conversation, so both
    // commit against the version they read: the store lets one through and refuses the other's save.
    const held = holdFirstCommits(t, [['A', a], ['B', b]], (plan) => plan[0]?.op === 'decisions.claim')
    const { outcomes } = held

    clock.advance(1000)
    const [price, purchase] = await Promise.all([
      incoming(a, { contact: X, message_id: 'c1', text: 'Combien coûte la crème au karité ?' }),
      incoming(b, { contact: X, message_id: 'c2', text: 'Je prends la crème au karité' })
    ])
    t.equal(held.arrived(), 2, 'both instances reached the commit with what they had read')
    t.equal(price.status, 200, JSON.stringify(price.json))
    t.equal(purchase.status, 200, JSON.stringify(purchase.json))
    t.equal(outcomes.filter((o) => o.result === 'committed').length, 2, 'both decisions committed in the end')
    t.strictSame(outcomes.filter((o) => o.result !== 'committed').map((o) => o.result), ['SELLIFY_CONVERSATION_CHANGED'], 'one save refused by the version check, then decided again')

    const detail = await get(a, `/api/v1/conversations/${X}`)
    t.equal(detail.messages.length, 6, 'the greeting, and both messages each with its reply')
    t.strictSame(detail.messages.filter((m: Json) => m.direction === 'in').map((m: Json) => m.text).sort(),
      ['Bonjour', 'Combien coûte la crème au karité ?', 'Je prends la crème au karité'].sort())
    t.equal(detail.state, 'intent', 'price then purchase, or purchase then price: intent either way')
    const decisions = (await trail(b, 'type=decision')).filter((r) => r.details.decision_id !== undefined).slice(0, 2).reverse()
    t.equal(decisions[0].state_before, 'discovery', 'the first committed decided from discovery')
    t.equal(decisions[1].state_before, decisions[0].state_after, 'the second decided from the state the first left: no update lost')
    t.equal(decisions[1].state_after, 'intent')
    t.match(await usage(b), { messages_today: 3 })
    t.equal((await verify(a)).valid, true)
  })

  t.test('many contacts, each with two messages at once on the two instances: every message kept, every state consistent', async (t) => {
    const clock = fixedClock('2026-01-18T12:00:00.000Z')
    const [a, b] = await pair(t, clock)
    const contacts = Array.from({ length: 10 }, (_, i) => `+2250100000${String(i).padStart(2, '0')}`)
    await Promise.all(contacts.map(async (c, i) => await say(i % 2 === 0 ? a : b, c, 'Bonjour', { message_id: `${c}-0` })))
    clock.advance(1000)
    const results = await Promise.all(contacts.flatMap((c) => [
      incoming(a, { contact: c, message_id: `${c}-1`, text: 'Combien coûte la crème au karité ?' }),
      incoming(b, { contact: c, message_id: `${c}-2`, text: 'Je prends la crème au karité' })
    ]))
    t.strictSame([...new Set(results.map((r) => r.status))], [200], 'all answered 200')
    for (const c of contacts) {
      const detail = await get(b, `/api/v1/conversations/${c}`)
      t.equal(detail.messages.length, 6, `${c}: every message with its reply`)
      t.equal(detail.state, 'intent', `${c}: intent`)
    }
    t.match(await usage(a), { messages_today: 30 })
    t.equal((await verify(b)).valid, true)
  })

  t.test('an operator\'s pause on one instance racing a decision on the other: both kept, in one order or the other', async (t) => {
    const clock = fixedClock('2026-01-18T12:00:00.000Z')
    const [a, b] = await pair(t, clock)
    await say(a, X, 'Bonjour', { message_id: 'p0' })
    const chain = await verify(a)
    const held = holdFirstCommits(t, [['A', a], ['B', b]], (plan) => plan[0]?.op === 'decisions.claim' || plan[0]?.op === 'conversations.save')

    clock.advance(1000)
    const [decision, pause] = await Promise.all([
      incoming(a, { contact: X, message_id: 'p1', text: 'Combien coûte la crème au karité ?' }),
      call(b, 'POST', `/api/v1/conversations/${X}/pause`, { minutes: 30 })
    ])
    t.equal(held.arrived(), 2, 'both reached the commit with what they had read')
    t.equal(decision.status, 200, JSON.stringify(decision.json))
    t.equal(pause.statusCode, 200, pause.body)
    t.strictSame(held.outcomes.filter((o) => o.result !== 'committed').map((o) => o.result), ['SELLIFY_CONVERSATION_CHANGED'], 'one refused, then made again')
    t.equal(held.outcomes.filter((o) => o.result === 'committed').length, 2)

    const detail = await get(b, `/api/v1/conversations/${X}`)
    t.equal(detail.paused_until, '2026-01-18T12:30:01.000Z', 'the pause is kept')
    // The one refused is the one that went second.
    const pausedFirst = held.outcomes.find((o) => o.result !== 'committed')?.app === 'A'
    if (pausedFirst) {
      t.match(decision.json, { action: 'ignore', rule: 'human_takeover', conversation: { state: 'discovery' } }, 'decided again, after the pause')
      t.equal(detail.state, 'discovery')
    } else {
      t.match(decision.json, { action: 'respond_with_media', conversation: { state: 'interest' } }, 'decided before the pause')
      t.equal(detail.state, 'interest', 'the pause, made again, kept the decision\'s state')
      t.match(pause.json(), { state: 'interest', paused_until: '2026-01-18T12:30:01.000Z' })
    }
    t.ok(detail.messages.some((m: Json) => m.text === 'Combien coûte la crème au karité ?'), 'the message is stored')
    t.strictSame((await trail(a, 'type=conversation_paused')).length, 1, 'one pause on record')
    t.strictSame(await verify(a), { valid: true, records: chain.records + 2, first_invalid_id: null })
  })
}
