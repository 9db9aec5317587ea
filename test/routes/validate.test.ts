import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { build, call, DEV_KEY, type LogLine } from '../helper.js'

const ERROR_SHAPE = { statusCode: Number, error: String, message: String }
const FR_FALLBACK = "Désolé, je n'ai pas bien compris votre demande. Pouvez-vous préciser ?"

const karite = {
  business_name: 'Karité & Co',
  products: [
    {
      id: 'creme-karite',
      name: 'Crème au karité 200 ml',
      short_description: 'Crème hydratante, livraison gratuite à Dakar.',
      price: '12500',
      currency: 'XOF',
      keywords: ['creme', 'karite'],
      media: [{ id: 'photo-1', type: 'image', url: 'https://shop.example/k.jpg' }]
    },
    { id: 'huile-argan', name: 'Huile d\'argan', price: '19.90', currency: 'EUR', keywords: ['huile', 'argan'] }
  ],
  faq: [{ id: 'contact', triggers: ['contact'], answer: 'Appelez le +221 77 123 45 67.' }]
}

async function validate (app: FastifyInstance, body: unknown, key: string | null = DEV_KEY) {
  return await call(app, 'POST', '/api/v1/validate', body, key)
}

async function agentKey (app: FastifyInstance, account: string): Promise<string> {
  t.equal((await call(app, 'PUT', `/api/v1/accounts/${account}`, {})).statusCode, 201)
  return (await call(app, 'POST', '/api/v1/keys', { name: 'bot', role: 'agent', account })).json().key
}

t.test('a valid text comes back as validated_text; an invalid one names every violation', async (t) => {
  const app = await build(t)
  t.equal((await call(app, 'PUT', '/api/v1/knowledge', karite)).statusCode, 200)

  const good = 'La crème au karité coûte 12.500 FCFA, livraison gratuite. Photo : https://shop.example/k.jpg'
  let res = await validate(app, { text: good, matched_products: ['creme-karite'] })
  t.equal(res.statusCode, 200)
  t.strictSame(Object.keys(res.json()), ['valid', 'validated_text', 'error', 'violations', 'fallback_text'])
  t.strictSame(res.json(), { valid: true, validated_text: good, error: null, violations: [], fallback_text: FR_FALLBACK })

  res = await validate(app, { text: 'Je suis un robot : la crème coûte 15 000 FCFA, voir https://evil.example/x ou le +221 70 000 00 00.' })
  t.equal(res.statusCode, 200)
  t.strictSame(res.json(), {
    valid: false,
    validated_text: null,
    error: 'the text contains the forbidden word "robot"',
    violations: [
      { rule: 'forbidden_word', detail: 'robot' },
      { rule: 'unknown_price', detail: '15 000 FCFA' },
      { rule: 'unknown_link', detail: 'https://evil.example/x' },
      { rule: 'unknown_link', detail: '+221 70 000 00 00' }
    ],
    fallback_text: FR_FALLBACK
  })

  res = await validate(app, { text: 'Notre huile d\'argan est à 19,90 €.', matched_products: ['creme-karite'] })
  t.strictSame(res.json().violations, [{ rule: 'unknown_product', detail: 'huile-argan' }], 'confusing two products')
  res = await validate(app, { text: 'Notre huile d\'argan est à 19,90 €.' })
  t.equal(res.json().valid, true, 'without matched products, naming one is allowed')
  res = await validate(app, { text: 'Livraison gratuite !', matched_products: ['huile-argan'] })
  t.strictSame(res.json().violations, [{ rule: 'unauthorized_promise', detail: 'livraison gratuite' }], 'a promise the matched facts do not hold')
  res = await validate(app, { text: '   ' })
  t.strictSame(res.json(), { valid: false, validated_text: null, error: 'the text is empty', violations: [{ rule: 'empty', detail: 'empty or only spaces' }], fallback_text: FR_FALLBACK })
  res = await validate(app, { text: 'Un soin pour vous aider à statuer, en toute confiance.' })
  t.equal(res.json().valid, true, '"aider", "statuer" and "confiance" contain no forbidden word')
})

t.test('the account\'s settings and knowledge base apply at once when they change', async (t) => {
  const app = await build(t)
  t.equal((await call(app, 'PUT', '/api/v1/accounts/shop', {
    language: 'en',
    ai: { max_length: 40 },
    forbidden_words: ['jumia'],
    allowed_domains: ['karite.example'],
    fallback_message: 'Please tell me a little more.'
  })).statusCode, 201)
  t.equal((await call(app, 'PUT', '/api/v1/knowledge?account=shop', karite)).statusCode, 200)

  let res = await validate(app, { account: 'shop', text: 'I am a bot. Buy it on Jumia.' })
  t.match(res.json(), {
    valid: false,
    violations: [{ rule: 'forbidden_word', detail: 'bot' }, { rule: 'forbidden_word', detail: 'jumia' }],
    fallback_text: 'Please tell me a little more.'
  })
  res = await validate(app, { account: 'shop', text: 'See https://www.karite.example/a' })
  t.equal(res.json().valid, true, 'an allowed domain')
  res = await validate(app, { account: 'shop', text: 'x'.repeat(41) })
  t.strictSame(res.json().violations, [{ rule: 'max_length', detail: '41 characters, at most 40' }])
  t.equal(res.json().error, 'the text is too long: 41 characters, at most 40')

  const patched = await app.inject({
    method: 'PATCH',
    url: '/api/v1/accounts/shop',
    headers: { 'x-api-key': DEV_KEY, 'content-type': 'application/merge-patch+json' },
    payload: JSON.stringify({ forbidden_words: null, fallback_message: null, ai: { max_length: 500 } })
  })
  t.equal(patched.statusCode, 200)
  res = await validate(app, { account: 'shop', text: 'Buy it on Jumia, ' + 'x'.repeat(41) })
  t.strictSame(res.json(), { valid: true, validated_text: 'Buy it on Jumia, ' + 'x'.repeat(41), error: null, violations: [], fallback_text: 'Sorry, I did not quite understand your request. Could you tell me a little more?' })

  res = await validate(app, { account: 'shop', text: 'It costs 12,500 FCFA.' })
  t.equal(res.json().valid, true)
  t.equal((await call(app, 'PUT', '/api/v1/products/creme-karite?account=shop', { ...karite.products[0], id: undefined, price: '13000' })).statusCode, 200)
  res = await validate(app, { account: 'shop', text: 'It costs 12,500 FCFA.' })
  t.strictSame(res.json().violations, [{ rule: 'unknown_price', detail: '12,500 FCFA' }], 'the new price counts at once')
  t.equal((await validate(app, { account: 'shop', text: 'It costs 13 000 FCFA.' })).json().valid, true)
})

t.test('bad input is a 4xx naming the field', async (t) => {
  const app = await build(t)
  t.equal((await call(app, 'PUT', '/api/v1/knowledge', karite)).statusCode, 200)
  const cases: Array<[string, unknown, number, RegExp]> = [
    ['no text', {}, 400, /^body\/text is required$/],
    ['a number', { text: 3 }, 400, /^body\/text must be string$/],
    ['null', { text: null }, 400, /^body\/text must be string$/],
    ['a huge text', { text: 'x'.repeat(10_001) }, 400, /^body\/text must NOT have more than 10000 characters$/],
    ['an unknown field', { text: 'x', lang: 'fr' }, 400, /^body\/lang is not an allowed field$/],
    ['a bad account', { text: 'x', account: 'a b' }, 400, /^body\/account /],
    ['matched_products not an array', { text: 'x', matched_products: 'creme-karite' }, 400, /^body\/matched_products must be array$/],
    ['a bad product id', { text: 'x', matched_products: ['a b'] }, 400, /^body\/matched_products\/0 must match pattern/],
    ['too many products', { text: 'x', matched_products: Array.from({ length: 101 }, (_, i) => `p${i}`) }, 400, /^body\/matched_products must NOT have more than 100 items$/],
    ['a product the knowledge base lacks', { text: 'x', matched_products: ['creme-karite', 'nope'] }, 400, /^body\/matched_products\/1 "nope" is not a product of the account's knowledge base$/],
    ['an unknown account', { text: 'x', account: 'nobody' }, 404, /account "nobody" does not exist/]
  ]
  for (const [name, body, status, message] of cases) {
    const res = await validate(app, body)
    t.equal(res.statusCode, status, name)
    t.match(res.json(), { ...ERROR_SHAPE, message }, name)
  }
  t.equal((await validate(app, { text: '😀'.repeat(10_000) })).statusCode, 200, '10 000 characters are code points: 10 000 emoji (20 000 UTF-16 units) pass')
  t.equal((await validate(app, { text: '😀'.repeat(10_001) })).statusCode, 400)
  t.equal((await validate(app, { text: 'x' }, null)).statusCode, 401, 'a key is needed')
})

t.test('agents validate against their own account only', async (t) => {
  const app = await build(t)
  const key = await agentKey(app, 'shop-1')
  t.equal((await call(app, 'PUT', '/api/v1/knowledge?account=shop-1', karite)).statusCode, 200)
  let res = await validate(app, { text: 'La crème au karité coûte 12 500 FCFA.' }, key)
  t.equal(res.statusCode, 200)
  t.equal(res.json().valid, true, 'its own knowledge base: the price is known')
  res = await validate(app, { text: 'La crème au karité coûte 12 500 FCFA.' })
  t.strictSame(res.json().violations, [{ rule: 'unknown_price', detail: '12 500 FCFA' }], 'default\'s knowledge base is empty')
  res = await validate(app, { text: 'x', account: 'shop-1' }, key)
  t.equal(res.statusCode, 200, 'naming its own account')
  res = await validate(app, { text: 'x', account: 'default' }, key)
  t.equal(res.statusCode, 403)
  t.match(res.json(), ERROR_SHAPE)
})

t.test('violations are counted by rule; the text is never logged', async (t) => {
  const logs: LogLine[] = []
  const app = await build(t, {}, { logs })
  const secretText = 'Je suis un robot, appelez le +221 70 000 00 00, code zx81-secret'
  t.equal((await validate(app, { text: secretText })).statusCode, 200)
  t.equal((await validate(app, { text: 'Un robot, un bot.' })).statusCode, 200)
  const res = await app.inject({ method: 'GET', url: '/metrics', headers: { 'x-api-key': DEV_KEY } })
  t.equal(res.statusCode, 200)
  t.match(res.body, /^sellify_validation_violations_total\{rule="forbidden_word"\} 3$/m)
  t.match(res.body, /^sellify_validation_violations_total\{rule="unknown_link"\} 1$/m)
  t.match(res.body, /^sellify_validation_violations_total\{rule="unknown_price"\} 0$/m, 'every rule has its series')
  t.notOk(logs.some((line) => JSON.stringify(line).includes('zx81-secret')), 'no log line holds the text')
  t.ok(logs.length > 0, 'requests were logged')
})
