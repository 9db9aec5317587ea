import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { startFakeAi, type FakeAi, type FakeScript } from '../../lib/ai/fake-server.js'
import { build, call, type TapTest } from '../helper.js'
import { karite } from './decision-fixtures.js'

/*
 * The AI in the incoming-message pipeline (README, "Deciding every message", rule 9, and "AI replies"), through the project's fake provider over a
 * real socket: what the AI writes is sent only when it passes validation; otherwise it is asked again, then
 * the template answers. The knowledge base's own answers never go through the AI.
 */

const CONTACT = '+33612345678'
const KEY = 'sk-fake-ai-key-7c1d2e3f4a5b6c7d8e9f'
const KB = {
  business_name: 'Karité & Co',
  products: [karite({
    short_description: 'Crème hydratante au beurre de karité pur.',
    media: [{ id: 'photo-1', type: 'image', url: 'https://shop.example/k.jpg' }],
    media_policy: { allow_images: true, allow_video: false }
  })],
  faq: [{ id: 'livraison', triggers: ['livraison'], answer: 'Livraison en 48 h à Dakar.' }],
  objections: [{ triggers: ['trop cher'], answer: 'Un pot dure trois mois : moins de 140 XOF par jour.' }]
}
const PRICE = 'Crème au karité 200 ml coûte 12500 XOF.'
const GOOD_GREETING = 'Bonjour et merci pour votre message ! Que recherchez-vous aujourd\'hui ?'
const GOOD_PRICE = 'Notre Crème au karité 200 ml coûte 12 500 FCFA : une crème hydratante au beurre de karité pur.'

type Json = Record<string, any>

async function withAi (t: TapTest, script?: FakeScript, env: Record<string, string> = {}, settings: Json = {}): Promise<{ app: FastifyInstance, fake: FakeAi }> {
  const fake = await startFakeAi({ apiKey: KEY, ...(script === undefined ? {} : { script }) })
  t.teardown(() => fake.close())
  const app = await build(t, {
    env: { SELLIFY_AI_PROVIDER: 'openai', SELLIFY_AI_BASE_URL: `${fake.url}/v1`, SELLIFY_AI_MODEL: 'llama3.2', SELLIFY_AI_API_KEY: KEY, ...env }
  })
  t.ok([200, 201].includes((await call(app, 'PUT', '/api/v1/accounts/default', { active_hours: 'always', ...settings })).statusCode))
  t.equal((await call(app, 'PUT', '/api/v1/knowledge', KB)).statusCode, 200)
  return { app, fake }
}

async function say (t: TapTest, app: FastifyInstance, text: string, contact = CONTACT): Promise<Json> {
  const res = await call(app, 'POST', '/api/v1/messages/incoming', { contact, text })
  t.equal(res.statusCode, 200, res.body)
  return res.json()
}

async function decisions (app: FastifyInstance): Promise<Json[]> {
  return (await call(app, 'GET', '/api/v1/audit?type=decision&limit=500')).json().records.reverse()
}

const system = (fake: FakeAi, i: number): string => (fake.requests[i].body.messages as Array<{ role: string, content: string }>)[0].content

t.test('a valid AI text is sent, in each state whose objective the AI writes', async (t) => {
  const { app, fake } = await withAi(t, ['good', { kind: 'text', text: GOOD_PRICE }, { kind: 'text', text: '  Pour commander, envoyez-nous votre nom et votre adresse.  ' }])

  const hello = await say(t, app, 'Bonjour')
  // The pacing under random 0 is the centre of the default 2–8 s (README, "How quotas work"), then the typing.
  t.match(hello, { action: 'respond_text', rule: 'respond', conversation: { state: 'discovery' }, typing_seconds: 6, delay_seconds: 5 + 6 })
  t.strictSame(hello.reply, { text: GOOD_GREETING, media: [], source: 'ai' })
  t.strictSame(hello.validation, { valid: true, violations: [], attempts: 1 })
  t.match(system(fake, 0), 'Objectif : saluez le client et demandez-lui ce qu\'il recherche.')

  const price = await say(t, app, 'Combien coûte la crème au karité ?')
  t.match(price, { action: 'respond_with_media', conversation: { state: 'interest' }, quota: { kind: 'image' } })
  t.strictSame(price.reply, { text: GOOD_PRICE, media: [{ id: 'photo-1', type: 'image', url: 'https://shop.example/k.jpg', product: 'creme-karite' }], source: 'ai' }, 'the AI\'s text goes with the product\'s photo')
  t.strictSame(price.validation, { valid: true, violations: [], attempts: 1 })
  t.match(system(fake, 1), 'Objectif : présentez le produit.')
  t.match(system(fake, 1), '- Produit : Crème au karité 200 ml\n  Description : Crème hydratante au beurre de karité pur.\n  Prix : 12500 XOF')

  const order = await say(t, app, 'Je prends la crème')
  t.match(order, { conversation: { state: 'intent' }, reply: { text: 'Pour commander, envoyez-nous votre nom et votre adresse.', source: 'ai' } }, 'trimmed')
  t.match(system(fake, 2), 'Objectif : expliquez comment commander.')

  t.equal(fake.requests.length, 3)
  t.match(fake.requests[0], { api: 'openai', headers: { authorization: `Bearer ${KEY}` }, body: { model: 'llama3.2', temperature: 0.3, max_tokens: 500 } })

  const records = await decisions(app)
  t.match(records[1], { rule: 'respond', action: 'respond_with_media', reply_source: 'ai', sent_message: GOOD_PRICE, ai_response: GOOD_PRICE, validation: { valid: true, violations: [], attempts: 1 } })
  const prompt = JSON.parse(records[1].ai_prompt as string)
  t.strictSame(prompt, { system: system(fake, 1), messages: (fake.requests[1].body.messages as unknown[]).slice(1), temperature: 0.3, max_tokens: 500 }, 'the audit record holds the request as sent, decrypted for the owner')
  t.notOk(JSON.stringify(records).includes(KEY), 'the API key is on no record')
  t.match((await call(app, 'GET', '/api/v1/audit/verify')).json(), { valid: true })
})

t.test('an AI text with a wrong price is rejected and re-asked, then the template answers', async (t) => {
  const { app, fake } = await withAi(t, ['invented_price', 'invented_price'])
  await say(t, app, 'Bonjour', '+1000')
  fake.requests.length = 0
  const price = await say(t, app, 'Combien coûte la crème au karité ?')
  t.strictSame(price.reply, { text: PRICE, media: [{ id: 'photo-1', type: 'image', url: 'https://shop.example/k.jpg', product: 'creme-karite' }], source: 'template' })
  t.strictSame(price.validation, {
    valid: false,
    violations: [{ rule: 'unknown_price', detail: '9 990 FCFA' }, { rule: 'unknown_price', detail: '9 990 FCFA' }],
    attempts: 3
  }, 'two AI answers refused, the template passed')
  t.equal(fake.requests.length, 2, 'asked once more (ai.reask 1)')
  const reask = fake.requests[1].body.messages as Array<{ role: string, content: string }>
  t.match(reask.at(-2), { role: 'assistant', content: 'Bonne nouvelle : ce produit est à 9 990 FCFA cette semaine.' })
  t.match(reask.at(-1), { role: 'user', content: /^Ta réponse ne respecte pas les règles \(unknown_price: 9 990 FCFA\)/ })

  const [record] = (await decisions(app)).slice(-1)
  t.match(record, {
    reply_source: 'template',
    sent_message: PRICE,
    ai_response: 'Bonne nouvelle : ce produit est à 9 990 FCFA cette semaine.',
    validation: { valid: false, attempts: 3, violations: [{ rule: 'unknown_price' }, { rule: 'unknown_price' }] }
  })
  t.match(JSON.parse(record.ai_prompt as string).messages.at(-1).content, /unknown_price: 9 990 FCFA/, 'the last request, the re-ask, is on record')
})

t.test('a re-ask that passes is sent', async (t) => {
  const { app, fake } = await withAi(t, ['ai_disclosure', { kind: 'text', text: GOOD_PRICE }])
  const price = await say(t, app, 'Combien coûte la crème au karité ?')
  t.match(price.reply, { text: GOOD_PRICE, source: 'ai' })
  t.strictSame(price.validation, { valid: false, violations: [{ rule: 'forbidden_word', detail: 'ia' }], attempts: 2 })
  t.equal(fake.requests.length, 2)
})

t.test('the AI down: HTTP 500 (retried once), a timeout or malformed JSON → the template', async (t) => {
  for (const [name, script, env] of [
    ['500', ['server_error'], {}],
    ['timeout', ['slow'], { SELLIFY_AI_TIMEOUT_MS: '300' }],
    ['malformed', ['malformed'], {}]
  ] as const) {
    await t.test(name, async (t) => {
      const { app, fake } = await withAi(t, [...script], env)
      const price = await say(t, app, 'Combien coûte la crème au karité ?')
      t.match(price, { action: 'respond_with_media', rule: 'respond', quota: { allowed: true, kind: 'image' } })
      t.match(price.reply, { text: PRICE, source: 'template' })
      t.strictSame(price.validation, { valid: false, violations: [], attempts: 2 }, 'the AI gave no text; the template passed')
      t.equal(fake.requests.length, name === '500' ? 2 : 1)
      const [record] = await decisions(app)
      t.match(record, { reply_source: 'template', sent_message: PRICE, ai_prompt: String })
      t.notOk('ai_response' in record, 'no answer to record')
    })
  }
})

t.test('an objection or FAQ match is answered from the knowledge base without calling the AI', async (t) => {
  const { app, fake } = await withAi(t, ['invented_price'])
  const objection = await say(t, app, 'C\'est trop cher')
  t.strictSame(objection.reply, { text: 'Un pot dure trois mois : moins de 140 XOF par jour.', media: [], source: 'knowledge_base' })
  t.equal(objection.validation, null)
  const faq = await say(t, app, 'Et la livraison ?')
  t.strictSame(faq.reply, { text: 'Livraison en 48 h à Dakar.', media: [], source: 'knowledge_base' })
  t.equal(fake.requests.length, 0, 'the AI was never called')
  const records = await decisions(app)
  t.ok(records.every((r) => r.reply_source === 'knowledge_base' && !('ai_prompt' in r) && !('ai_response' in r)))
})

t.test('ai.enabled false: templates only, the AI is not called', async (t) => {
  const { app, fake } = await withAi(t, ['invented_price'], {}, { ai: { enabled: false } })
  const price = await say(t, app, 'Combien coûte la crème au karité ?')
  t.match(price, { reply: { text: PRICE, source: 'template' }, validation: null })
  t.equal(fake.requests.length, 0)
})

t.test('a reply that is not written (ignore, alert) never calls the AI', async (t) => {
  const { app, fake } = await withAi(t, ['good'], {}, { alert_numbers: ['+221770000001'] })
  t.match(await say(t, app, 'Stop'), { action: 'ignore', rule: 'negative' })
  t.match(await say(t, app, 'Bande d\'escrocs', '+1001'), { action: 'alert_human', reply: null })
  t.equal(fake.requests.length, 0)
})

t.test('the AI is shown the message it answers, within the last 6 messages (README, "AI replies")', async (t) => {
  const { app, fake } = await withAi(t)
  await say(t, app, 'Bonjour')
  await say(t, app, 'Vous vendez des crèmes ?')
  await say(t, app, 'Et combien coûte la crème au karité ?')
  const last = fake.requests.at(-1)?.last_user_text ?? ''
  t.match(last, 'Client : Et combien coûte la crème au karité ?', 'the customer\'s question is in the prompt')
  const transcript = last.split('\n').filter((l) => /^(Client|Vous) : /.test(l))
  t.equal(transcript.length, 5, 'two exchanges before it, and the question')
  t.equal(transcript.at(-1), 'Client : Et combien coûte la crème au karité ?', 'the question is the newest line')

  // README: "A customer message containing [fake:invented_price] … gets that reply": the marker must be seen.
  const marked = await say(t, app, 'Et la crème ? [fake:invented_price]', '+1002')
  // The invented price is refused; the re-ask (which carries no marker) is answered well and sent.
  t.match(marked.validation, { valid: false, violations: [{ rule: 'unknown_price' }], attempts: 2 }, 'the marked message got the invented price, and it was refused')
  t.match(marked.reply, { source: 'ai' }, 'the re-asked text passed')
  t.notMatch(marked.reply?.text ?? '', /9 990/, 'the invented price never leaves')
})
