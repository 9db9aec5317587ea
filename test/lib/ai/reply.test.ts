import t from 'tap'
import { createAiGateway } from '../../../lib/ai/gateway.js'
import { startFakeAi, type FakeScript } from '../../../lib/ai/fake-server.js'
import { buildPrompt } from '../../../lib/ai/prompt.js'
import { reaskText, writeReply, type ReplyInput } from '../../../lib/ai/reply.js'
import { compileValidator } from '../../../lib/validation/rules.js'
import type { KnowledgeBase } from '../../../lib/knowledge/types.js'
import { fixedClock, type TapTest } from '../../helper.js'

const kb: KnowledgeBase = {
  business_name: 'Karité & Co',
  products: [{
    id: 'creme',
    name: 'Crème au karité',
    short_description: 'Crème hydratante au beurre de karité pur.',
    long_description: '',
    price: '12500',
    currency: 'XOF',
    keywords: ['creme', 'karite'],
    objections: [],
    media: [],
    media_policy: { allow_images: true, allow_video: false },
    active: true
  }],
  faq: [],
  objections: [],
  templates: {}
}
const validator = compileValidator(kb, 1, { language: 'fr', max_length: 500, forbidden_words: [], allowed_domains: [] })
const TEMPLATE = 'Crème au karité : crème hydratante au beurre de karité pur. Prix : 12 500 FCFA.'
const FALLBACK = 'Désolé, je n\'ai pas bien compris votre demande. Pouvez-vous préciser ?'

async function setUp (t: TapTest, script: FakeScript | null, over: Partial<ReplyInput> = {}) {
  const fake = await startFakeAi({ script: script ?? ['good'] })
  t.teardown(() => fake.close())
  const gateway = createAiGateway({ provider: 'openai', model: 'fake', baseUrl: `${fake.url}/v1`, apiKey: 'k', timeoutMs: 2000, now: fixedClock('2026-01-18T12:00:00Z').now, random: () => 0 })
  t.teardown(() => gateway.close())
  const input: ReplyInput = {
    prompt: buildPrompt({ language: 'fr', tone: 'chaleureux', max_length: 500, objective: 'interest', knowledge: kb, match: { products: [], objection: null, faq: null }, history: [{ from: 'customer', text: 'Combien coûte la crème ?' }] }),
    settings: { temperature: 0.3, max_length: 500, reask: 1 },
    complete: script === null ? null : gateway.complete,
    validate: (text) => validator.validate(text, { matched_products: ['creme'] }),
    template: TEMPLATE,
    fallback: FALLBACK,
    reaskText: (v) => reaskText('fr', v),
    ...over
  }
  return { fake, input }
}

t.test('a text that passes is sent as the AI wrote it', async (t) => {
  const { fake, input } = await setUp(t, [{ kind: 'text', text: 'Notre crème au karité est à 12 500 FCFA, elle hydrate en profondeur.' }])
  const reply = await writeReply(input)
  t.match(reply, { source: 'ai', text: 'Notre crème au karité est à 12 500 FCFA, elle hydrate en profondeur.', validation: { valid: true, violations: [], attempts: 1 } })
  t.equal(fake.requests.length, 1)
  t.ok(reply.ai_prompt?.system.includes('Karité & Co'), 'the prompt sent is kept for the audit record')
})

t.test('an invented price is asked for once more, naming it; the corrected text is sent', async (t) => {
  const { fake, input } = await setUp(t, ['invented_price', { kind: 'text', text: 'La crème au karité coûte 12 500 FCFA.' }])
  const reply = await writeReply(input)
  t.match(reply, { source: 'ai', text: 'La crème au karité coûte 12 500 FCFA.', validation: { valid: false, attempts: 2 } })
  t.same(reply.validation.violations.map((v) => v.rule), ['unknown_price'])
  const reask = fake.requests[1].last_user_text
  t.match(reask, /unknown_price: 9 990 FCFA/, 'the re-ask names the violation')
  t.match(JSON.stringify(fake.requests[1].body), /9 990 FCFA cette semaine/, 'after what the AI had answered')
})

t.test('an AI that keeps breaking the rules never reaches the customer: the template answers', async (t) => {
  const { fake, input } = await setUp(t, ['ai_disclosure', 'unknown_link'])
  const reply = await writeReply(input)
  t.match(reply, { source: 'template', text: TEMPLATE, validation: { valid: false, attempts: 3 } })
  t.same(reply.validation.violations.map((v) => v.rule), ['forbidden_word', 'unknown_link'])
  t.equal(fake.requests.length, 2, 'one re-ask (ai.reask = 1), no more')
  t.notMatch(reply.text, /IA|promo-express/)
})

t.test('reask 0, an AI failure, no AI at all, and a template that does not pass either', async (t) => {
  const zero = await setUp(t, ['ai_disclosure'], { settings: { temperature: 0.3, max_length: 500, reask: 0 } })
  t.match(await writeReply(zero.input), { source: 'template', validation: { attempts: 2 } })
  t.equal(zero.fake.requests.length, 1)

  const failing = await setUp(t, ['server_error'])
  const down = await writeReply(failing.input)
  t.match(down, { source: 'template', text: TEMPLATE })
  t.match(down.attempts[0], { source: 'ai', text: null, failure: 'server_error' })

  const none = await setUp(t, null)
  t.match(await writeReply(none.input), { source: 'template', ai_prompt: null, validation: { valid: true, attempts: 1 } })

  const bad = await setUp(t, ['ai_disclosure'], { template: 'Livraison gratuite offerte pour 5 000 FCFA !' })
  const fallback = await writeReply(bad.input)
  t.match(fallback, { source: 'fallback', text: FALLBACK })
  t.same(fallback.attempts.map((a) => a.source), ['ai', 'ai', 'template'])

  const noTemplate = await setUp(t, ['ai_disclosure'], { template: null })
  t.match(await writeReply(noTemplate.input), { source: 'fallback', text: FALLBACK })
})

t.test('the re-ask is in the account\'s language', async (t) => {
  const v = [{ rule: 'forbidden_word', detail: 'robot' }]
  t.match(reaskText('fr', v), /^Ta réponse ne respecte pas les règles \(forbidden_word: robot\)/)
  t.match(reaskText('en', v), /^Your reply breaks the rules/)
  t.match(reaskText('es', v), /^Tu respuesta/)
  t.match(reaskText('pt', v), /^A sua resposta/)
})
