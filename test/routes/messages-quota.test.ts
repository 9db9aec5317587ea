import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { build, call, DEV_KEY, fixedClock, type TapTest } from '../helper.js'
import { karite } from './decision-fixtures.js'

/*
 * What the incoming-message pipeline takes from the quota (README, "How quotas work" and "Deciding every message", rule 8), the reports after a send
 * (sent / failed) and the idempotency of decisions, on the SQLite store. random() is 0: pacing is the centre
 * of [delays.min_seconds, delays.max_seconds] ((2 + 8) / 2 = 5) times the fill factor, plus 5 for media, plus
 * typing at 12 characters a second.
 */

const CONTACT = '+33612345678'
const KB = {
  business_name: 'Karité & Co',
  products: [
    karite({
      short_description: 'Crème hydratante au beurre de karité pur.',
      media: [{ id: 'photo-1', type: 'image', url: 'https://shop.example/k.jpg' }],
      media_policy: { allow_images: true, allow_video: false }
    }),
    {
      id: 'savon-noir',
      name: 'Savon noir 250 g',
      price: '3000',
      currency: 'XOF',
      keywords: ['savon'],
      media: [{ id: 'video-1', type: 'video', url: 'https://shop.example/savon.mp4' }],
      media_policy: { allow_images: true, allow_video: true }
    }
  ]
}
const GREETING = 'Bonjour et bienvenue chez Karité & Co ! Que recherchez-vous aujourd\'hui ?'
const PRICE = 'Crème au karité 200 ml coûte 12500 XOF.'
const PURCHASE = 'Parfait ! Pour commander Crème au karité 200 ml (12500 XOF), envoyez-nous votre nom, votre adresse de livraison et la quantité souhaitée.'

type Json = Record<string, any>

// Each test's sends of a day fall in one hour of it, so the hour counts what the day counts unless told otherwise.
const u = (messages: number, images = 0, week = messages, videos = 0, hour = messages) =>
  ({ messages_today: messages, messages_this_week: week, images_today: images, videos_this_week: videos, messages_this_hour: hour })

async function setup (t: TapTest, app: FastifyInstance, settings: Json = {}, account = 'default'): Promise<void> {
  const res = await call(app, 'PUT', `/api/v1/accounts/${account}`, { active_hours: 'always', ...settings })
  t.ok(res.statusCode === 200 || res.statusCode === 201, res.body)
  t.equal((await call(app, 'PUT', `/api/v1/knowledge?account=${account}`, KB)).statusCode, 200)
}

async function say (t: TapTest, app: FastifyInstance, text: string, extra: Json = {}, contact = CONTACT): Promise<Json> {
  const res = await call(app, 'POST', '/api/v1/messages/incoming', { contact, text, ...extra })
  t.equal(res.statusCode, 200, res.body)
  return res.json()
}

async function usage (app: FastifyInstance, account = 'default'): Promise<Json> {
  const s = (await call(app, 'GET', `/api/v1/quota/status?account=${account}`)).json()
  return { messages_today: s.messages_today, messages_this_week: s.messages_this_week, images_today: s.images_today, videos_this_week: s.videos_this_week, messages_this_hour: s.messages_this_hour }
}

async function records (app: FastifyInstance, type: string, account = 'default'): Promise<Json[]> {
  return (await call(app, 'GET', `/api/v1/audit?type=${type}&limit=500&account=${account}`)).json().records.reverse()
}

const report = async (app: FastifyInstance, id: string, what: 'sent' | 'failed', body: Json = {}, key?: string) =>
  await call(app, 'POST', `/api/v1/messages/${id}/${what}`, body, key)

t.test('images_per_day 0: a reply with media falls back to text only; videos_per_week 0 likewise', async (t) => {
  const clock = fixedClock('2026-01-14T12:00:00Z') // a Wednesday
  const app = await build(t, { now: clock.now })
  await setup(t, app, { limits: { images_per_day: 0, videos_per_week: 0 } })

  const price = await say(t, app, 'Combien coûte la crème au karité ?')
  t.match(price, {
    action: 'respond_text',
    rule: 'respond',
    delay_seconds: 5 + 4,
    typing_seconds: 4,
    quota: { allowed: true, kind: 'text', usage: u(1), remaining: { images_today: 0, messages_today: 199 } },
    conversation: { state: 'interest' }
  }, 'no media pause: nothing but text is sent')
  t.strictSame(price.reply, { text: PRICE, media: [], source: 'template' })
  const video = await say(t, app, 'Et le savon ?', {}, '+221770000009')
  t.match(video, { action: 'respond_text', quota: { kind: 'text', usage: u(2) }, reply: { media: [], source: 'template' } })
  t.strictSame(await usage(app), u(2))

  const conv = (await call(app, 'GET', `/api/v1/conversations/${CONTACT}`)).json()
  t.match(conv.messages.at(-1), { direction: 'out', sender: 'bot', text: PRICE, media_type: null })
  const [record] = await records(app, 'decision')
  t.match(record, { rule: 'respond', action: 'respond_text', sent_message: PRICE, quotas_before: u(0), quotas_after: u(1) })

  await setup(t, app, { limits: { images_per_day: 5 } })
  const again = await say(t, app, 'Et quel est le prix de la crème ?')
  t.match(again, { action: 'respond_with_media', quota: { kind: 'image', usage: u(3, 1) }, delay_seconds: 5 + 5 + 4 }, 'the photo was never sent in this session, so it goes once images are allowed')
  t.match(again.reply.media, [{ id: 'photo-1', type: 'image', product: 'creme-karite' }])
})

t.test('the day\'s or the week\'s messages used up: delay with reason and retry_after_seconds, nothing consumed', async (t) => {
  const clock = fixedClock('2026-01-14T12:00:00Z') // a Wednesday
  const app = await build(t, { now: clock.now })
  await setup(t, app, { limits: { messages_per_day: 2 }, alert_numbers: ['+221770000001'], escalation: { max_misunderstandings: 3, sensitive_keywords: [], reply: 'holding' } })
  await say(t, app, 'Bonjour')
  await say(t, app, 'Combien coûte la crème ?', {}, '+221770000009')
  t.strictSame(await usage(app), u(2, 1))

  const refused = await say(t, app, 'Je prends la crème')
  t.strictSame({ ...refused, decision_id: undefined }, {
    decision_id: undefined,
    action: 'delay',
    rule: 'quota',
    reason: 'quota:messages_per_day',
    reply: null,
    delay_seconds: 0,
    typing_seconds: 0,
    retry_after_seconds: 12 * 3600,
    conversation: { contact: CONTACT, state: 'intent', previous_state: 'discovery', event: 'purchase_intent', paused_until: null, misunderstandings: 0 },
    matched: { products: [{ id: 'creme-karite', name: 'Crème au karité 200 ml', score: 1 }], objection: null, faq: null },
    quota: {
      allowed: false,
      kind: 'text',
      usage: u(2, 1),
      remaining: { messages_today: 0, messages_this_week: 998, images_today: 49, videos_this_week: 20, messages_this_hour: 999_998 }
    },
    validation: null,
    alert: null,
    notifications: []
  }, 'the image was refused first, then the text: retry at midnight')
  t.strictSame(await usage(app), u(2, 1), 'a decision without a reply consumes nothing')
  const conv = (await call(app, 'GET', `/api/v1/conversations/${CONTACT}`)).json()
  t.match(conv.messages.at(-1), { direction: 'in', text: 'Je prends la crème', decision_id: refused.decision_id }, 'the message is kept, with no reply')
  const decisions = await records(app, 'decision')
  t.match(decisions.at(-1), { rule: 'quota', action: 'delay', reason: 'quota:messages_per_day', state_before: 'discovery', state_after: 'intent', quotas_before: u(2, 1), quotas_after: u(2, 1) })
  t.notOk('sent_message' in (decisions.at(-1) as Json))
  t.equal((await report(app, refused.decision_id, 'sent')).statusCode, 409, 'a delay has nothing to send')

  const angry = await say(t, app, 'Bande d\'escrocs', {}, '+221770000010')
  t.match(angry, { action: 'alert_human', rule: 'alert', reply: null, quota: { allowed: false }, notifications: [{ to: '+221770000001' }] }, 'no quota for the holding message: the alert still goes, in silence')
  t.strictSame(await usage(app), u(2, 1))

  clock.set('2026-01-15T00:00:00Z')
  const retried = await say(t, app, 'Je prends la crème')
  t.match(retried, { action: 'respond_with_media', rule: 'respond', reply: { text: PURCHASE }, quota: { allowed: true, kind: 'image', usage: u(1, 1, 3) } }, 'the retry after the reset is answered')

  await setup(t, app, { limits: { messages_per_day: 50, messages_per_week: 3 } })
  const week = await say(t, app, 'Bonjour', {}, '+221770000011')
  t.match(week, { action: 'delay', rule: 'quota', reason: 'quota:messages_per_week', retry_after_seconds: 4 * 24 * 3600, quota: { allowed: false, usage: u(1, 1, 3) } }, 'Thursday 00:00 to Monday 00:00')
})

t.test('pacing slows as the day fills: ×2 from 50 %, ×3 from 80 % of messages_per_day', async (t) => {
  const app = await build(t)
  await setup(t, app, { limits: { messages_per_day: 10 } })
  const delays: number[] = []
  for (let i = 0; i < 9; i++) {
    const d = await say(t, app, 'Bonjour', {}, `+22177000010${i}`)
    t.equal(d.reply.text, GREETING)
    delays.push(d.delay_seconds)
  }
  // The greeting is 73 characters: 7 seconds of typing after the pacing.
  t.strictSame(delays, [5 + 7, 5 + 7, 5 + 7, 5 + 7, 5 + 7, 5 * 2 + 7, 5 * 2 + 7, 5 * 2 + 7, 5 * 3 + 7])
})

t.test('sent and failed: idempotent, failed gives the quota back, each a conflict after the other', async (t) => {
  const clock = fixedClock('2026-01-14T12:00:00Z')
  const app = await build(t, { now: clock.now })
  await setup(t, app)
  const text = await say(t, app, 'Bonjour')
  const media = await say(t, app, 'Combien coûte la crème ?')
  const stop = await say(t, app, 'Stop', {}, '+221770000009')
  t.strictSame(await usage(app), u(2, 1))

  t.strictSame((await report(app, text.decision_id, 'sent', { message_id: 'wamid.SENT-1' })).json(), { status: 'sent' })
  const again = await report(app, text.decision_id, 'sent')
  t.equal(again.statusCode, 200)
  t.strictSame(again.json(), { status: 'sent' }, 'sent again: the same answer')
  const late = await report(app, text.decision_id, 'failed', { error: 'timeout' })
  t.equal(late.statusCode, 409, 'failed after sent')
  t.match(late.json(), { error: 'Conflict', message: /already reported sent/ })
  t.strictSame(await usage(app), u(2, 1), 'a sent reply keeps its consume')

  const failed = await report(app, media.decision_id, 'failed', { error: 'media upload failed' })
  t.equal(failed.statusCode, 200)
  t.strictSame(failed.json(), { status: 'failed', released: true, usage: u(1, 0) }, 'the message and the image are given back')
  t.strictSame(await usage(app), u(1, 0))
  t.strictSame((await report(app, media.decision_id, 'failed')).json(), { status: 'failed', released: true, usage: u(1, 0) }, 'failed again: the same answer, nothing given back twice')
  t.strictSame(await usage(app), u(1, 0))
  t.equal((await report(app, media.decision_id, 'sent')).statusCode, 409, 'sent after failed')

  for (const what of ['sent', 'failed'] as const) {
    t.equal((await report(app, stop.decision_id, what)).statusCode, 409, `${what}: an ignore has no reply`)
    const unknown = await report(app, 'dcs_00000000-0000-7000-8000-000000000000', what)
    t.equal(unknown.statusCode, 404, `${what}: an unknown decision`)
    t.match(unknown.json(), { message: /decision dcs_00000000-0000-7000-8000-000000000000 does not exist/ })
  }
  t.equal((await report(app, text.decision_id, 'sent', { colour: 'red' })).statusCode, 400)

  await setup(t, app, {}, 'shop-2')
  const agent = (await call(app, 'POST', '/api/v1/keys', { name: 'bot', role: 'agent', account: 'shop-2' })).json().key as string
  t.equal((await report(app, media.decision_id, 'sent', {}, agent)).statusCode, 404, 'another account\'s decision is not found')
  t.equal((await report(app, text.decision_id, 'failed', { account: 'default' }, agent)).statusCode, 403)

  const sent = await records(app, 'sent')
  t.equal(sent.length, 1, 'one record per report, however often it is repeated')
  t.match(sent[0], { details: { decision_id: text.decision_id } })
  t.ok(typeof sent[0].details.sent_message_id === 'string' && sent[0].details.sent_message_id !== 'wamid.SENT-1', 'the sent message id as a keyed hash')
  t.equal(sent[0].contact, CONTACT, 'the report names its contact (encrypted at rest)')
  const ofContact = (await call(app, 'GET', `/api/v1/audit?contact=${encodeURIComponent(CONTACT)}&type=sent`)).json().records as Json[]
  t.strictSame(ofContact.map((r) => r.id), [sent[0].id], 'found among the contact\'s records')
  const failures = await records(app, 'failed')
  t.strictSame(failures.map((r) => r.details), [{ decision_id: media.decision_id, released: true }])
  t.notOk(JSON.stringify(failures).includes('media upload failed'), 'the gateway\'s error is not stored')
  t.match((await call(app, 'GET', '/api/v1/audit/verify?account=default')).json(), { valid: true })
})

t.test('a failed send reported after the reset does not free the new period\'s quota', async (t) => {
  const clock = fixedClock('2026-01-18T12:00:00Z') // a Sunday: Monday starts a new day and a new week
  const app = await build(t, { now: clock.now })
  await setup(t, app)
  const sunday = await say(t, app, 'Bonjour')
  const sundayToo = await say(t, app, 'Bonjour', {}, '+221770000009')
  t.strictSame((await report(app, sundayToo.decision_id, 'failed')).json(), { status: 'failed', released: true, usage: u(1) })

  clock.set('2026-01-19T00:00:01Z')
  await say(t, app, 'Bonjour', {}, '+221770000010')
  t.strictSame(await usage(app), u(1))
  const late = await report(app, sunday.decision_id, 'failed')
  t.equal(late.statusCode, 200)
  t.strictSame(late.json(), { status: 'failed', released: false, usage: u(1) }, 'yesterday\'s failure leaves today\'s counter alone')
  t.strictSame(await usage(app), u(1))
  t.strictSame((await report(app, sunday.decision_id, 'failed')).json(), { status: 'failed', released: false, usage: u(1) }, 'idempotent')
  t.strictSame((await records(app, 'failed')).map((r) => r.details.released), [true, false])

  const repeated = await report(app, sundayToo.decision_id, 'failed')
  t.strictSame(repeated.json(), { status: 'failed', released: true, usage: u(1) }, 'a report repeated after the reset answers as it was first answered: its quota was given back')

  // Within the week, a day later: the week's counter is given back, the day's and the hour's are not.
  clock.set('2026-01-20T12:00:00Z') // Tuesday
  const tuesday = await say(t, app, 'Bonjour', {}, '+221770000011')
  clock.set('2026-01-21T12:00:00Z')
  await say(t, app, 'Bonjour', {}, '+221770000012')
  t.strictSame(await usage(app), u(1, 0, 3))
  t.match((await report(app, tuesday.decision_id, 'failed')).json(), { status: 'failed', usage: u(1, 0, 2) }, 'the week still running gets its message back; today keeps its own')
  t.strictSame(await usage(app), u(1, 0, 2))
})

t.test('idempotency: one decision per (account, message_id) for 24 hours', async (t) => {
  const clock = fixedClock('2026-01-14T12:00:00Z')
  const app = await build(t, { now: clock.now })
  await setup(t, app, { alert_numbers: ['+221770000001'] })
  await setup(t, app, {}, 'shop-2')
  const message = { contact: CONTACT, message_id: '3EB0A1B2C3', text: 'Combien coûte la crème au karité ?' }

  const first = await call(app, 'POST', '/api/v1/messages/incoming', message)
  const second = await call(app, 'POST', '/api/v1/messages/incoming', message)
  t.equal(second.statusCode, 200)
  t.strictSame(second.json(), first.json(), 'a gateway retry gets the first decision unchanged')
  t.match(first.json(), { action: 'respond_with_media', quota: { usage: u(1, 1) } })
  t.strictSame(await usage(app), u(1, 1), 'one consume')
  t.equal((await records(app, 'decision')).length, 1, 'one decision record')
  t.equal((await call(app, 'GET', `/api/v1/conversations/${CONTACT}`)).json().messages.length, 2, 'one message in, one out')
  const otherText = await call(app, 'POST', '/api/v1/messages/incoming', { ...message, text: 'Stop' })
  t.strictSame(otherText.json(), first.json(), 'the id decides, not the text')

  const angry = { contact: '+221770000009', message_id: 'wamid-angry', text: 'Bande d\'escrocs' }
  const alerted = await call(app, 'POST', '/api/v1/messages/incoming', angry)
  t.match(alerted.json(), { action: 'alert_human', notifications: [{ to: '+221770000001' }] })
  const replayed = await call(app, 'POST', '/api/v1/messages/incoming', angry)
  t.strictSame(replayed.json(), alerted.json(), 'a retried alert is the same answer: not "ignore, escalated", and no second alert')
  const alerts = await call(app, 'GET', '/api/v1/alerts')
  t.equal(alerts.statusCode, 200)
  t.equal(alerts.json().alerts.length, 1, 'one alert stored')

  const crowd = { contact: '+221770000010', message_id: 'wamid-crowd', text: 'Je prends la crème' }
  const answers = await Promise.all(Array.from({ length: 50 }, async () => await app.inject({
    method: 'POST', url: '/api/v1/messages/incoming', headers: { 'x-api-key': DEV_KEY, 'content-type': 'application/json' }, payload: JSON.stringify(crowd)
  })))
  t.strictSame([...new Set(answers.map((r) => r.statusCode))], [200], '50 at once: every one answered')
  t.equal(new Set(answers.map((r) => r.json().decision_id)).size, 1, 'one decision_id')
  t.ok(answers.every((r) => r.body === answers[0].body), 'the same answer, byte for byte')
  t.strictSame(await usage(app), u(2, 2), 'consumed once')
  t.equal((await records(app, 'decision')).filter((r) => r.contact === '+221770000010').length, 1, 'one audit record')
  t.equal((await call(app, 'GET', '/api/v1/conversations/%2B221770000010')).json().messages.length, 2)

  const elsewhere = await call(app, 'POST', '/api/v1/messages/incoming', { ...message, account: 'shop-2' })
  t.equal(elsewhere.statusCode, 200)
  t.not(elsewhere.json().decision_id, first.json().decision_id, 'the same message id on another account is another message')
  t.strictSame(await usage(app, 'shop-2'), u(1, 1))
  t.strictSame(await usage(app), u(2, 2))

  const anonymous = { contact: '+221770000011', text: 'Bonjour' }
  const a = (await call(app, 'POST', '/api/v1/messages/incoming', anonymous)).json()
  const b = (await call(app, 'POST', '/api/v1/messages/incoming', anonymous)).json()
  t.not(a.decision_id, b.decision_id, 'without a message_id, every call is a new message')
  t.strictSame(await usage(app), u(4, 2))

  clock.advance(24 * 3600_000 - 1000)
  t.strictSame((await call(app, 'POST', '/api/v1/messages/incoming', message)).json(), first.json(), 'still the first decision just before 24 hours')
  clock.advance(2000)
  const fresh = (await call(app, 'POST', '/api/v1/messages/incoming', message)).json()
  t.not(fresh.decision_id, first.json().decision_id, 'after 24 hours the id is a new message')
  t.match(fresh, { rule: 'respond', quota: { usage: { messages_today: 1 } } })
  t.match((await call(app, 'GET', '/api/v1/audit/verify?account=default')).json(), { valid: true })
})
