/**
 * kill -9 during an incoming-message load, then a restart: every decision is all or nothing (README, "Deciding
 * every message", "Once, and all or nothing"). A decision answered 200 before the kill has, after the restart,
 * its claim (the same message_id answers the same decision, with no second consume), its consume, its messages
 * in the conversation, its alert and its audit record; a decision that was in flight at the kill has either all
 * of them or none, and retried it is decided once. Run on a SQLite file and on PostgreSQL, through the real
 * `node dist/server.js` killed with SIGKILL.
 */
import t from 'tap'
import { DEV_KEY, PG_URL, pgSchema, pgSkip, type TapTest } from './helper.js'
import { startServer, type RunningServer } from './server-process.js'

type Json = Record<string, any>

const ACCOUNT = 'boutique'
/** A fixed master key, so the restarted process reads what the killed one encrypted. */
const ENCRYPTION_KEY = '5e11f7c0'.repeat(8)
const CONTACTS = 300
const TOTAL = 3000
const IN_FLIGHT = 50
/** The kill comes once this many answers have come back. */
const KILL_AFTER = 800

const KB = {
  business_name: 'Karité & Co',
  products: [{
    id: 'creme-karite',
    name: 'Crème au karité 200 ml',
    price: '12500',
    currency: 'XOF',
    keywords: ['creme', 'karite'],
    media: [{ id: 'photo-1', type: 'image', url: 'https://shop.example/k.jpg', caption: 'Crème au karité' }],
    media_policy: { allow_images: true, allow_video: false }
  }],
  faq: [{ id: 'livraison', triggers: ['livraison'], answer: 'Livraison en 48 h à Dakar.' }],
  objections: [{ triggers: ['trop cher'], answer: 'Un pot dure trois mois : moins de 140 XOF par jour.' }]
}

interface Incoming { contact: string, message_id: string, text: string }

/**
 * Message i goes to contact i % CONTACTS: the price (a reply with the photo the first time), the delivery FAQ
 * (or, for one contact in ten, a complaint: an alert with the holding reply, then `ignore` without a reply once
 * escalated), a purchase, an objection.
 */
function message (i: number): Incoming {
  const c = i % CONTACTS
  const round = Math.floor(i / CONTACTS)
  const texts = [
    'Bonjour, combien coûte la crème au karité ?',
    c % 10 === 3 ? 'Je vais porter plainte au tribunal' : 'La livraison à Dakar prend combien de temps ?',
    'Je veux commander la crème',
    'C\'est trop cher pour moi'
  ]
  return { contact: `+2217700${String(c).padStart(5, '0')}`, message_id: `wamid.CRASH-${String(i).padStart(5, '0')}`, text: texts[round % texts.length] }
}

async function api (server: RunningServer, method: string, path: string, body?: unknown): Promise<{ status: number, body: Json }> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { 'x-api-key': DEV_KEY, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  const text = await res.text()
  return { status: res.status, body: text === '' ? {} : JSON.parse(text) }
}

async function decide (server: RunningServer, m: Incoming): Promise<{ status: number, body: Json }> {
  return await api(server, 'POST', '/api/v1/messages/incoming', { account: ACCOUNT, ...m })
}

/** fn over every item, `width` at a time. */
async function pooled<T, R> (items: T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i])
    }
  }))
  return out
}

/** Every page of a list route (`before` / `next_before`). */
async function all (server: RunningServer, path: string, field: string): Promise<Json[]> {
  const rows: Json[] = []
  let before: string | null = null
  for (;;) {
    const page = await api(server, 'GET', `${path}&limit=500${before === null ? '' : `&before=${encodeURIComponent(before)}`}`)
    if (page.status !== 200) throw new Error(`GET ${path}: ${page.status} ${JSON.stringify(page.body)}`)
    rows.push(...page.body[field])
    before = page.body.next_before
    if (before === null) return rows
  }
}

/**
 * What the account has sent, over its last two days: the server's clock is the real one, and a run that
 * crosses midnight splits its sends between two days (the history counts each day's sends).
 */
async function usage (server: RunningServer): Promise<{ messages: number, images: number }> {
  const res = await api(server, 'GET', `/api/v1/quota/history?account=${ACCOUNT}&days=2`)
  if (res.status !== 200) throw new Error(`quota history: ${res.status} ${JSON.stringify(res.body)}`)
  const days = res.body.days as Array<{ messages: number, images: number }>
  return { messages: days.reduce((n, d) => n + d.messages, 0), images: days.reduce((n, d) => n + d.images, 0) }
}

/** The decision ids of the account's `decision` audit records, as listed. */
async function auditedDecisions (server: RunningServer): Promise<string[]> {
  return (await all(server, `/api/v1/audit?account=${ACCOUNT}&type=decision`, 'records')).map((r) => r.details?.decision_id as string)
}

const replies = (answers: Json[]): number => answers.filter((a) => a.reply !== null).length
const images = (answers: Json[]): number => answers.filter((a) => a.reply !== null && a.reply.media.length > 0).length
const sorted = (ids: Iterable<string>): string[] => [...ids].sort()

async function incomingCrash (t: TapTest, store: Record<string, string>): Promise<void> {
  const env = {
    ...store,
    SELLIFY_ENCRYPTION_KEY: ENCRYPTION_KEY,
    SELLIFY_SCHEDULER: 'off',
    SELLIFY_RATE_LIMIT_MAX: '10000000',
    SELLIFY_MESSAGES_PER_HOUR: '1000000',
    SELLIFY_MESSAGES_PER_DAY: '1000000',
    SELLIFY_MESSAGES_PER_WEEK: '1000000',
    SELLIFY_IMAGES_PER_DAY: '1000000',
    SELLIFY_WARMUP: 'off'
  }
  const first = await startServer(env)
  t.teardown(() => { first.child.kill('SIGKILL') })
  const put = await api(first, 'PUT', `/api/v1/accounts/${ACCOUNT}`, { active_hours: 'always', escalation: { reply: 'holding' } })
  t.ok(put.status === 200 || put.status === 201, `account configured: ${put.status}`)
  t.equal((await api(first, 'PUT', `/api/v1/knowledge?account=${ACCOUNT}`, KB)).status, 200, 'knowledge base stored')

  // The load: IN_FLIGHT requests at a time, each message once, until the kill.
  const plan = Array.from({ length: TOTAL }, (_, i) => message(i))
  const byId = new Map(plan.map((m) => [m.message_id, m]))
  const acked = new Map<string, Json>()
  const refused = new Map<string, { status: number, body: Json }>()
  const lost = new Set<string>()
  // Held in an object: the workers and the watcher see each other's updates.
  const load = { next: 0, inFlight: 0, killed: false }
  const worker = async (): Promise<void> => {
    while (!load.killed && load.next < TOTAL) {
      const m = plan[load.next++]
      load.inFlight++
      try {
        const res = await decide(first, m)
        if (res.status === 200) acked.set(m.message_id, res.body)
        else refused.set(m.message_id, res)
      } catch {
        // The connection died with the server: the client does not know this message's fate.
        lost.add(m.message_id)
      } finally {
        load.inFlight--
      }
    }
  }
  const workers = Array.from({ length: IN_FLIGHT }, worker)
  while (acked.size < KILL_AFTER && load.next < TOTAL) await new Promise((resolve) => setTimeout(resolve, 2))
  first.child.kill('SIGKILL')
  load.killed = true
  const inFlightAtKill = load.inFlight
  const ackedAtKill = acked.size
  await Promise.all(workers)
  t.equal((await first.exited).signal, 'SIGKILL', 'the server was killed')
  const sent = load.next
  t.ok(sent < TOTAL, `killed mid-load: ${sent} of ${TOTAL} messages sent`)
  t.strictSame([...refused.values()], [], 'no message was refused during the load')
  const unacked = plan.slice(0, sent).filter((m) => !acked.has(m.message_id))
  t.equal(unacked.length, lost.size + refused.size, 'every message sent was answered, refused or lost with the connection')
  t.comment(`sent ${sent}, acknowledged ${acked.size} (${acked.size - ackedAtKill} of them read after the signal), in flight at the kill ${inFlightAtKill}, lost with the connection ${lost.size}`)

  const again = await startServer(env)
  t.teardown(() => { again.child.kill('SIGKILL') })

  // At restart: what the store holds, before any retry.
  const atRestart = await usage(again)
  const stored = new Set(await auditedDecisions(again))
  const ackedIds = new Set([...acked.values()].map((a) => a.decision_id as string))
  t.equal(ackedIds.size, acked.size, 'one decision id per acknowledged message')
  t.strictSame(sorted([...ackedIds].filter((id) => !stored.has(id))), [], 'every acknowledged decision has its audit record after the crash')
  const storedUnacked = [...stored].filter((id) => !ackedIds.has(id))
  t.ok(storedUnacked.length <= lost.size, `only messages in flight may have committed unanswered: ${storedUnacked.length} <= ${lost.size}`)

  // Every acknowledged message_id, sent again: the same decision, unchanged, and nothing counted again.
  const replayed = await pooled([...acked.keys()], IN_FLIGHT, async (id) => ({ id, res: await decide(again, byId.get(id) as Incoming) }))
  const changed = replayed.filter(({ id, res }) => res.status !== 200 || JSON.stringify(res.body) !== JSON.stringify(acked.get(id)))
  t.strictSame(changed.map(({ id, res }) => ({ id, status: res.status, decision_id: res.body.decision_id, was: acked.get(id)?.decision_id })), [],
    'each acknowledged message_id answers its first decision unchanged after the restart')
  t.strictSame(await usage(again), atRestart, 'replaying the acknowledged decisions consumes nothing')

  // The unanswered ones, retried: the decision that committed before the kill, or a fresh one; never both.
  const retried = await pooled(unacked, IN_FLIGHT, async (m) => ({ m, res: await decide(again, m) }))
  t.strictSame(retried.filter(({ res }) => res.status !== 200).map(({ m, res }) => ({ id: m.message_id, ...res })), [], 'every unanswered message is decided when retried')
  const retriedAnswers = retried.map(({ res }) => res.body)
  const fromStore = retriedAnswers.filter((a) => stored.has(a.decision_id))
  const fresh = retriedAnswers.filter((a) => !stored.has(a.decision_id))
  t.strictSame(sorted(fromStore.map((a) => a.decision_id)), sorted(storedUnacked), 'each decision committed unanswered belongs to one message in flight, whose retry answers it')
  t.comment(`retried ${unacked.length}: ${fromStore.length} had committed before the kill, ${fresh.length} decided afresh`)

  // The counters at restart were exactly the committed decisions' replies: none lost, none invented.
  const committed = [...acked.values(), ...fromStore]
  t.strictSame(atRestart, { messages: replies(committed), images: images(committed) },
    `the counters at restart are the replies of the committed decisions (${acked.size} acknowledged + ${fromStore.length} unanswered)`)
  const afterRetries = await usage(again)
  t.strictSame(afterRetries, { messages: atRestart.messages + replies(fresh), images: atRestart.images + images(fresh) },
    'the retries consumed once for each fresh decision with a reply, and nothing for a stored one')

  // Retried once more, every message answers as the first retry did.
  const twice = await pooled(unacked, IN_FLIGHT, async (m) => (await decide(again, m)).body.decision_id as string)
  t.strictSame(twice, retriedAnswers.map((a) => a.decision_id), 'a second retry answers the same decisions')
  t.strictSame(await usage(again), afterRetries, 'and consumes nothing')

  // All or nothing over the whole load: one decision per message sent, and exactly its traces.
  const answers = new Map<string, Json>(acked)
  retried.forEach(({ m, res }) => answers.set(m.message_id, res.body))
  const decisions = [...answers.values()]
  t.equal(answers.size, sent, 'one decision per message sent')
  t.equal(new Set(decisions.map((a) => a.decision_id)).size, sent, 'no two messages share a decision')
  t.strictSame(await usage(again), { messages: replies(decisions), images: images(decisions) }, 'the day\'s count is one per decision with a reply')
  t.comment(`${sent} decisions, ${replies(decisions)} with a reply (${images(decisions)} with the photo), ${decisions.filter((a) => a.alert !== null).length} alerts`)

  const audited = await auditedDecisions(again)
  t.equal(audited.length, sent, 'one decision audit record per decision')
  t.strictSame(sorted(audited), sorted(decisions.map((a) => a.decision_id)), 'the audit records are exactly the decisions answered')
  const verify = await api(again, 'GET', `/api/v1/audit/verify?account=${ACCOUNT}`)
  t.match(verify.body, { valid: true, first_invalid_id: null }, 'the audit chain verifies after the crash')
  t.equal(verify.body.records, (await all(again, `/api/v1/audit?account=${ACCOUNT}`, 'records')).length, 'the chain holds every record listed')

  const alerts = await all(again, `/api/v1/alerts?account=${ACCOUNT}`, 'alerts')
  t.strictSame(
    sorted(alerts.map((a) => `${String(a.decision_id)} ${String(a.id)}`)),
    sorted(decisions.filter((a) => a.alert !== null).map((a) => `${String(a.decision_id)} ${String(a.alert.id)}`)),
    'one stored alert per decision that raised one, and no other'
  )

  const byContact = new Map<string, Incoming[]>()
  for (const m of plan.slice(0, sent)) byContact.set(m.contact, [...(byContact.get(m.contact) ?? []), m])
  const listed = await all(again, `/api/v1/conversations?account=${ACCOUNT}`, 'conversations')
  t.strictSame(sorted(listed.map((c) => c.contact as string)), sorted(byContact.keys()), 'one conversation per contact written to, and no other')
  const wrong: Json[] = []
  await pooled([...byContact], IN_FLIGHT, async ([contact, sentTo]) => {
    const res = await api(again, 'GET', `/api/v1/conversations/${encodeURIComponent(contact)}?account=${ACCOUNT}`)
    const messages = (res.body.messages ?? []) as Json[]
    const expected = sentTo.flatMap((m) => {
      const a = answers.get(m.message_id) as Json
      return [`in ${String(a.decision_id)} ${m.text}`, ...(a.reply === null ? [] : [`out ${String(a.decision_id)} ${String(a.reply.text)}`])]
    })
    const seen = messages.map((x) => `${String(x.direction)} ${String(x.decision_id)} ${String(x.text)}`)
    if (res.status !== 200 || JSON.stringify(sorted(seen)) !== JSON.stringify(sorted(expected))) wrong.push({ contact, status: res.status, seen: sorted(seen), expected: sorted(expected) })
  })
  t.strictSame(wrong, [], 'each conversation holds one incoming message per decision and one reply per decision that sent one, decrypted, nothing else')

  again.child.kill('SIGTERM')
  t.equal((await again.exited).code, 0, 'the restarted server closes gracefully')
}

t.test('kill -9 during an incoming load: SQLite keeps every decision whole or not at all', async (t) => {
  await incomingCrash(t, { SELLIFY_DB_PATH: `${t.testdir()}/crash.db` })
})

t.test('kill -9 during an incoming load: PostgreSQL keeps every decision whole or not at all', { skip: await pgSkip() }, async (t) => {
  await incomingCrash(t, { DATABASE_URL: PG_URL, SELLIFY_PG_SCHEMA: pgSchema(t) })
})
