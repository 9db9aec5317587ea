import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { build, call, PG_URL, pgSchema, pgSkip } from '../helper.js'

const ERROR_SHAPE = { statusCode: Number, error: String, message: String }

/** A shop as an owner would paste it: `n` products with descriptions, keywords, objections and media. */
function shop (n: number) {
  return {
    business_name: 'Karité & Co',
    products: Array.from({ length: n }, (_, i) => ({
      id: `produit-${i}`,
      name: `Produit numéro ${i}`,
      short_description: 'Crème hydratante au beurre de karité pur, fabriquée à la main au Burkina Faso.',
      long_description: 'Appliquer matin et soir sur une peau propre. Convient à toute la famille, sans parfum ajouté. '.repeat(3),
      price: `${1000 + i * 250}`,
      currency: 'XOF',
      keywords: [`article${i}`, `reference ${i}`, 'boutique'],
      objections: [{ triggers: ['trop cher'], answer: 'Un pot dure trois mois.' }],
      media: [{ id: 'photo-1', type: 'image', url: `https://shop.example/p/${i}.jpg`, caption: 'Photo du produit' }],
      media_policy: { allow_images: true, allow_video: false },
      active: true
    })),
    faq: [{ id: 'livraison', triggers: ['livraison', 'livrez'], answer: 'Livraison en 48 h à Dakar.' }],
    objections: [{ triggers: ['pas confiance'], answer: 'Paiement à la livraison.' }],
    templates: { greeting: 'Bonjour, ici {business_name} !', price: '{name} : {price} {currency}' }
  }
}

const karite = {
  business_name: 'Karité & Co',
  products: [
    { id: 'creme-karite', name: 'Crème au karité 200 ml', price: '12500', currency: 'XOF', keywords: ['creme', 'karite', 'beurre de karite'], objections: [{ triggers: ['trop cher'], answer: 'Un pot dure trois mois.' }] },
    { id: 'huile-argan', name: 'Huile d\'argan', price: '19.90', currency: 'EUR', keywords: ['huile', 'argan'] }
  ],
  faq: [{ id: 'livraison', triggers: ['livraison'], answer: 'Livraison en 48 h.' }]
}

async function agentKey (app: FastifyInstance, account: string): Promise<string> {
  t.equal((await call(app, 'PUT', `/api/v1/accounts/${account}`, {})).statusCode, 201)
  return (await call(app, 'POST', '/api/v1/keys', { name: 'bot', role: 'agent', account })).json().key
}

t.test('from empty to matching: GET, PUT, GET /products, POST /match', async (t) => {
  const app = await build(t)
  let res = await call(app, 'GET', '/api/v1/knowledge')
  t.equal(res.statusCode, 200)
  t.strictSame(res.json(), { business_name: '', products: [], faq: [], objections: [], templates: {}, version: 0 })

  res = await call(app, 'PUT', '/api/v1/knowledge', karite)
  t.equal(res.statusCode, 200)
  t.match(res.json(), { business_name: 'Karité & Co', version: 1, products: [{ id: 'creme-karite', active: true, media: [] }, { id: 'huile-argan' }] })
  t.strictSame(Object.keys(res.json()), ['business_name', 'products', 'faq', 'objections', 'templates', 'version'])
  t.strictSame((await call(app, 'GET', '/api/v1/knowledge')).json(), res.json(), 'GET answers what PUT stored')
  t.strictSame((await call(app, 'GET', '/api/v1/products')).json().map((p: { id: string }) => p.id), ['creme-karite', 'huile-argan'])

  res = await call(app, 'POST', '/api/v1/knowledge/match', { text: 'Bonjour, combien coûte la crème au karité ?' })
  t.equal(res.statusCode, 200)
  t.strictSame(Object.keys(res.json()), ['event', 'products', 'objection', 'faq', 'alert'])
  t.match(res.json(), { event: 'price_interest', products: [{ id: 'creme-karite', score: 2, keywords: ['creme', 'karite'] }], objection: null, faq: null, alert: null })
  t.equal(res.json().products.length, 1)
  res = await call(app, 'POST', '/api/v1/knowledge/match', { text: 'la crème est trop cher' })
  t.match(res.json(), { event: 'objection_raised', objection: { product: 'creme-karite', answer: 'Un pot dure trois mois.' } })
  res = await call(app, 'POST', '/api/v1/knowledge/match', { text: 'vous faites la livraison ?' })
  t.match(res.json(), { event: 'product_question', faq: { id: 'livraison', answer: 'Livraison en 48 h.' } })

  res = await call(app, 'PUT', '/api/v1/knowledge', { products: [] })
  t.equal(res.json().version, 2)
  res = await call(app, 'POST', '/api/v1/knowledge/match', { text: 'la crème au karité' })
  t.strictSame(res.json().products, [], 'the matcher follows the new version at once')
})

t.test('a 200-product shop pasted as one JSON document in one PUT (more than 64 KiB) loads', async (t) => {
  const app = await build(t)
  const body = JSON.stringify(shop(200))
  t.ok(body.length > 64 * 1024, `${body.length} bytes`)
  let res = await call(app, 'PUT', '/api/v1/knowledge', body)
  t.equal(res.statusCode, 200, res.body.slice(0, 200))
  t.equal(res.json().products.length, 200)
  t.equal((await call(app, 'GET', '/api/v1/products')).json().length, 200)
  res = await call(app, 'POST', '/api/v1/knowledge/match', { text: 'je voudrais la reference 137 svp' })
  t.match(res.json().products, [{ id: 'produit-137', keywords: ['reference 137'] }])
  t.equal((await call(app, 'POST', '/api/v1/quota/check', JSON.stringify({ message_type: 'text', pad: 'x'.repeat(70 * 1024) }))).statusCode, 413, 'other routes keep their 64 KiB limit')
})

t.test('PUT /knowledge: all valid or nothing changes, the first bad path named', async (t) => {
  const app = await build(t)
  t.equal((await call(app, 'PUT', '/api/v1/knowledge', karite)).statusCode, 200)
  const bad = shop(10)
  bad.products[3].price = '12.5.0'
  bad.products[7].price = '-3'
  let res = await call(app, 'PUT', '/api/v1/knowledge', bad)
  t.equal(res.statusCode, 400)
  t.match(res.json(), { ...ERROR_SHAPE, message: /^body\/products\/3\/price must match pattern/ })
  const cases: Array<[string, unknown, RegExp]> = [
    ['a duplicate id', { products: [...shop(3).products, shop(3).products[1]] }, /^body\/products\/3\/id "produit-1" is already the id of body\/products\/1$/],
    ['an unknown placeholder', { products: [], templates: { greeting: 'Bonjour {client}' } }, /^body\/templates\/greeting has the unknown placeholder \{client\}/],
    ['an unknown field', { products: [], owner: 'me' }, /^body\/owner is not an allowed field$/],
    ['a wrong type', { products: {} }, /^body\/products must be array$/],
    ['malformed JSON', '{"products": [', /not valid JSON/],
    ['null', 'null', /^body must be object$/],
    ['no body', undefined, /^body must be object$|body/],
    ['a currency', { products: [{ id: 'a', name: 'A', price: '1', currency: 'eur' }] }, /^body\/products\/0\/currency /],
    ['an unknown query parameter', { products: [] }, /^querystring\/acount is not an allowed field$/]
  ]
  for (const [name, body, message] of cases) {
    res = await call(app, 'PUT', name.includes('query') ? '/api/v1/knowledge?acount=shop' : '/api/v1/knowledge', body)
    t.equal(res.statusCode, 400, name)
    t.match(res.json(), { ...ERROR_SHAPE, message }, name)
  }
  res = await call(app, 'PUT', '/api/v1/knowledge', JSON.stringify({ products: [], business_name: 'x'.repeat(5 * 1024 * 1024) }))
  t.equal(res.statusCode, 413, 'a body past 4 MiB')
  res = await call(app, 'PUT', '/api/v1/knowledge?account=nobody', karite)
  t.equal(res.statusCode, 404)
  t.match(res.json(), { code: 'SELLIFY_UNKNOWN_ACCOUNT' })
  res = await call(app, 'GET', '/api/v1/knowledge')
  t.equal(res.json().version, 1, 'nothing changed')
  t.equal(res.json().products.length, 2)
})

t.test('POST /match: bad input, unknown account, agents on their own account only', async (t) => {
  const app = await build(t)
  const key = await agentKey(app, 'shop-1')
  t.equal((await call(app, 'PUT', '/api/v1/knowledge?account=shop-1', karite)).statusCode, 200)
  let res = await call(app, 'POST', '/api/v1/knowledge/match', { text: 'huile d\'argan' }, key)
  t.equal(res.statusCode, 200)
  t.match(res.json().products, [{ id: 'huile-argan', score: 2 }], 'its own account\'s knowledge base')
  t.equal((await call(app, 'POST', '/api/v1/knowledge/match', { text: 'huile', account: 'default' }, key)).statusCode, 403)
  t.equal((await call(app, 'GET', '/api/v1/knowledge', undefined, key)).json().version, 1, 'agents read theirs')
  t.equal((await call(app, 'GET', '/api/v1/knowledge?account=default', undefined, key)).statusCode, 403)
  t.equal((await call(app, 'PUT', '/api/v1/knowledge', karite, key)).statusCode, 403, 'only admins write')

  const cases: Array<[string, unknown, number, RegExp]> = [
    ['no text', {}, 400, /^body\/text is required$/],
    ['a number', { text: 3 }, 400, /^body\/text must be string$/],
    ['a long text', { text: 'x'.repeat(4097) }, 400, /^body\/text must NOT have more than 4096 characters$/],
    ['an unknown field', { text: 'x', lang: 'fr' }, 400, /^body\/lang is not an allowed field$/],
    ['a bad account', { text: 'x', account: 'a b' }, 400, /^body\/account /],
    ['an unknown account', { text: 'x', account: 'nobody' }, 404, /account "nobody" does not exist/]
  ]
  for (const [name, body, status, message] of cases) {
    res = await call(app, 'POST', '/api/v1/knowledge/match', body)
    t.equal(res.statusCode, status, name)
    t.match(res.json(), { ...ERROR_SHAPE, message }, name)
  }
})

t.test('deleting an account deletes its knowledge base', async (t) => {
  const app = await build(t)
  t.equal((await call(app, 'PUT', '/api/v1/accounts/shop-2', {})).statusCode, 201)
  t.equal((await call(app, 'PUT', '/api/v1/knowledge?account=shop-2', karite)).statusCode, 200)
  t.equal((await call(app, 'POST', '/api/v1/knowledge/match', { text: 'huile', account: 'shop-2' })).json().products.length, 1)
  t.equal((await call(app, 'DELETE', '/api/v1/accounts/shop-2')).statusCode, 204)
  t.equal((await call(app, 'GET', '/api/v1/knowledge?account=shop-2')).statusCode, 404)
  t.equal((await call(app, 'PUT', '/api/v1/accounts/shop-2', {})).statusCode, 201)
  t.equal((await call(app, 'GET', '/api/v1/knowledge?account=shop-2')).json().version, 0, 'a re-created account starts empty')
  t.strictSame((await call(app, 'POST', '/api/v1/knowledge/match', { text: 'huile', account: 'shop-2' })).json().products, [], 'and matches nothing')
})

t.test('the routes are in the OpenAPI document', async (t) => {
  const app = await build(t)
  const doc = (await call(app, 'GET', '/docs/json')).json()
  t.ok(doc.paths['/api/v1/products'].get)
  t.ok(doc.paths['/api/v1/products/{id}'].put.responses['201'])
  t.ok(doc.paths['/api/v1/products/{id}'].delete.responses['204'])
  t.ok(doc.paths['/api/v1/knowledge'].put.requestBody)
  t.ok(doc.paths['/api/v1/knowledge/match'].post.responses['200'])
})

t.test('two instances on one PostgreSQL: a change on one is seen by the other within 5 s', { skip: await pgSkip() }, async (t) => {
  const schema = pgSchema(t)
  const store = { databaseUrl: PG_URL, pgSchema: schema }
  const a = await build(t, { store })
  const b = await build(t, { store })
  t.equal((await call(a, 'PUT', '/api/v1/knowledge', karite)).statusCode, 200)
  const seen = async (app: FastifyInstance, text: string) => (await call(app, 'POST', '/api/v1/knowledge/match', { text })).json().products.map((p: { id: string }) => p.id)
  t.strictSame(await seen(b, 'huile d\'argan'), ['huile-argan'], 'b compiles it')

  t.equal((await call(a, 'PUT', '/api/v1/products/savon-noir', { name: 'Savon noir', price: '2000', currency: 'XOF', keywords: ['savon'] })).statusCode, 201)
  t.strictSame(await seen(a, 'savon'), ['savon-noir'], 'a sees its own change at once')
  const until = Date.now() + 5000
  let products: string[] = []
  while (Date.now() < until) {
    products = await seen(b, 'savon')
    if (products.length > 0) break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.strictSame(products, ['savon-noir'], 'b sees it within 5 s')
  t.equal((await call(b, 'GET', '/api/v1/knowledge')).json().version, 2)
})

t.test('who may call each route: admins everything, agents read their own account', async (t) => {
  const app = await build(t)
  const own = await agentKey(app, 'acme')
  const foreign = await agentKey(app, 'other')
  // [method, url, body, agent of another account, agent of the account, admin]
  const routes: Array<['GET' | 'PUT' | 'POST' | 'DELETE', string, unknown, number, number, number]> = [
    ['PUT', '/api/v1/products/p1?account=acme', { name: 'P', price: '1', currency: 'XOF' }, 403, 403, 201],
    ['GET', '/api/v1/products?account=acme', undefined, 403, 200, 200],
    ['GET', '/api/v1/products/p1?account=acme', undefined, 403, 200, 200],
    ['DELETE', '/api/v1/products/p1?account=acme', undefined, 403, 403, 204],
    ['GET', '/api/v1/knowledge?account=acme', undefined, 403, 200, 200],
    ['PUT', '/api/v1/knowledge?account=acme', { products: [] }, 403, 403, 200],
    ['POST', '/api/v1/knowledge/match', { text: 'prix', account: 'acme' }, 403, 200, 200]
  ]
  for (const [method, url, body, other, mine, admin] of routes) {
    for (const [who, key, status] of [['no key', null, 401], ['wrong key', 'sk_wrong', 401], ['another account', foreign, other], ['the account', own, mine], ['admin', undefined, admin]] as const) {
      t.equal((await call(app, method, url, body, key)).statusCode, status, `${method} ${url} as ${who}`)
    }
  }
})
