import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { build, call, DEV_KEY } from '../helper.js'

const ERROR_SHAPE = { statusCode: Number, error: String, message: String }
const creme = { name: 'Crème au karité 200 ml', price: '12500', currency: 'XOF', keywords: ['creme', 'karite'] }

async function agentKey (app: FastifyInstance, account: string): Promise<string> {
  t.equal((await call(app, 'PUT', `/api/v1/accounts/${account}`, {})).statusCode, 201)
  const res = await call(app, 'POST', '/api/v1/keys', { name: 'bot', role: 'agent', account })
  return res.json().key
}

t.test('product CRUD on the original\'s paths: a bare array, 201 then 200, 204 then 404', async (t) => {
  const app = await build(t)
  let res = await call(app, 'GET', '/api/v1/products')
  t.equal(res.statusCode, 200)
  t.strictSame(res.json(), [], 'a bare array, empty at first')

  res = await call(app, 'PUT', '/api/v1/products/creme-karite', creme)
  t.equal(res.statusCode, 201)
  t.strictSame(res.json(), {
    id: 'creme-karite',
    ...creme,
    short_description: '',
    long_description: '',
    objections: [],
    media: [],
    media_policy: { allow_images: true, allow_video: false },
    active: true
  })
  t.equal((await call(app, 'PUT', '/api/v1/products/huile', { ...creme, id: 'huile', name: 'Huile' })).statusCode, 201, 'the same id in the body is fine')
  res = await call(app, 'PUT', '/api/v1/products/creme-karite', { ...creme, price: '11000' })
  t.equal(res.statusCode, 200, 'replaced')
  t.equal(res.json().price, '11000')

  res = await call(app, 'GET', '/api/v1/products')
  t.strictSame(res.json().map((p: { id: string }) => p.id), ['creme-karite', 'huile'], 'catalogue order kept')
  t.equal((await call(app, 'GET', '/api/v1/products/huile')).json().name, 'Huile')
  res = await call(app, 'GET', '/api/v1/products/nope')
  t.equal(res.statusCode, 404)
  t.match(res.json(), { ...ERROR_SHAPE, code: 'SELLIFY_UNKNOWN_PRODUCT', message: 'product "nope" does not exist' })

  t.equal((await call(app, 'DELETE', '/api/v1/products/huile')).statusCode, 204)
  t.equal((await call(app, 'DELETE', '/api/v1/products/huile')).statusCode, 404)
  t.equal((await call(app, 'GET', '/api/v1/knowledge')).json().version, 4)
})

t.test('agents read their own account\'s products, never write, never another account', async (t) => {
  const app = await build(t)
  const key = await agentKey(app, 'shop-1')
  t.equal((await call(app, 'PUT', '/api/v1/products/a?account=shop-1', creme)).statusCode, 201)
  t.equal((await call(app, 'PUT', '/api/v1/products/b', creme)).statusCode, 201, 'default\'s')

  let res = await call(app, 'GET', '/api/v1/products', undefined, key)
  t.strictSame(res.json().map((p: { id: string }) => p.id), ['a'], 'no account named: its own')
  t.equal((await call(app, 'GET', '/api/v1/products/a?account=shop-1', undefined, key)).statusCode, 200)
  res = await call(app, 'GET', '/api/v1/products?account=default', undefined, key)
  t.equal(res.statusCode, 403)
  t.equal((await call(app, 'PUT', '/api/v1/products/c', creme, key)).statusCode, 403)
  t.equal((await call(app, 'DELETE', '/api/v1/products/a', undefined, key)).statusCode, 403)
  t.equal((await call(app, 'GET', '/api/v1/products', undefined, null)).statusCode, 401)
  t.equal((await call(app, 'GET', '/api/v1/products', undefined, 'sk_wrong')).statusCode, 401)
  t.strictSame((await call(app, 'GET', '/api/v1/products?account=shop-1')).json().map((p: { id: string }) => p.id), ['a'], 'nothing changed')
})

t.test('bad input: 4xx naming the field, nothing changed', async (t) => {
  const app = await build(t)
  t.equal((await call(app, 'PUT', '/api/v1/products/keep', creme)).statusCode, 201)
  const cases: Array<[string, string, unknown, number, RegExp]> = [
    ['an id with a space', '/api/v1/products/a%20b', creme, 400, /^params\/id must match pattern/],
    ['an id too long', `/api/v1/products/${'a'.repeat(65)}`, creme, 400, /^params\/id /],
    ['a price 12.5.0', '/api/v1/products/a', { ...creme, price: '12.5.0' }, 400, /^body\/price must match pattern/],
    ['a price -3', '/api/v1/products/a', { ...creme, price: '-3' }, 400, /^body\/price /],
    ['a float price', '/api/v1/products/a', { ...creme, price: 12.5 }, 400, /^body\/price must be string/],
    ['a currency', '/api/v1/products/a', { ...creme, currency: 'CFA franc' }, 400, /^body\/currency /],
    ['a media url', '/api/v1/products/a', { ...creme, media: [{ id: 'm', type: 'image', url: 'file:///etc/passwd' }] }, 400, /^body\/media\/0\/url /],
    ['another id in the body', '/api/v1/products/a', { ...creme, id: 'b' }, 400, /^body\/id must be the path's id "a"/],
    ['an unknown field', '/api/v1/products/a', { ...creme, stock: 3 }, 400, /^body\/stock is not an allowed field$/],
    ['a wrong type', '/api/v1/products/a', { ...creme, active: 'yes' }, 400, /^body\/active must be boolean$/],
    ['malformed JSON', '/api/v1/products/a', '{"name": ', 400, /not valid JSON/],
    ['a JSON array', '/api/v1/products/a', [], 400, /^body must be object$/],
    ['no body', '/api/v1/products/a', undefined, 400, /body/],
    ['an unknown query parameter', '/api/v1/products/a?acount=x', creme, 400, /^querystring\/acount is not an allowed field$/],
    ['a bad account', '/api/v1/products/a?account=a%20b', creme, 400, /^querystring\/account /],
    ['an unknown account', '/api/v1/products/a?account=nobody', creme, 404, /account "nobody" does not exist/],
    ['too many keywords', '/api/v1/products/a', { ...creme, keywords: Array.from({ length: 51 }, (_, i) => `k${i}`) }, 400, /^body\/keywords must NOT have more than 50 items$/]
  ]
  for (const [name, url, body, status, message] of cases) {
    const res = await call(app, 'PUT', url, body)
    t.equal(res.statusCode, status, name)
    t.match(res.json(), { ...ERROR_SHAPE, message }, name)
  }
  let res = await app.inject({ method: 'PUT', url: '/api/v1/products/a', headers: { 'x-api-key': DEV_KEY, 'content-type': 'text/plain' }, payload: 'x' })
  t.equal(res.statusCode, 415, 'not JSON')
  res = await call(app, 'GET', '/api/v1/products?account=nobody')
  t.equal(res.statusCode, 404, 'the products of an unknown account')
  t.equal((await call(app, 'GET', '/api/v1/products/a b')).statusCode, 400)
  t.strictSame((await call(app, 'GET', '/api/v1/products')).json().map((p: { id: string }) => p.id), ['keep'])
  t.equal((await call(app, 'GET', '/api/v1/knowledge')).json().version, 1, 'nothing was written')
})
