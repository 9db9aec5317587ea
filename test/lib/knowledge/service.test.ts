import t, { type Test } from 'tap'
import { createAccountService } from '../../../lib/accounts/service.js'
import { SellifyError } from '../../../lib/shared/errors.js'
import { createKnowledgeService } from '../../../lib/knowledge/service.js'
import { createSqliteStore } from '../../../lib/store/sqlite/index.js'
import type { Store } from '../../../lib/store/contract.js'
import { loadConfig } from '../../../lib/config/config.js'

async function setup (trustMs?: number) {
  const store: Store = createSqliteStore({ path: ':memory:' })
  await store.migrate()
  t.teardown(() => store.close())
  const accounts = createAccountService({ store, defaults: loadConfig({}, {}).defaults, now: () => new Date('2026-01-18T12:00:00.000Z') })
  const service = createKnowledgeService({ store, accounts, ...(trustMs === undefined ? {} : { trustMs }) })
  return { store, accounts, service }
}

/** The 400 a bad input answers: its message, or a failure when it was accepted. */
async function refusal (t: Test, promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (err) {
    t.ok(err instanceof SellifyError && err.statusCode === 400, `a 400: ${String((err as Error).message)}`)
    return (err as Error).message
  }
  t.fail('accepted')
  return ''
}

const input = (id: string, extra: Record<string, unknown> = {}) => ({ id, name: `Produit ${id}`, price: '100', currency: 'XOF', ...extra })

t.test('an account never written has an empty knowledge base; an unknown account is a 404', async (t) => {
  const { service } = await setup()
  t.strictSame(await service.get(), { business_name: '', products: [], faq: [], objections: [], templates: {}, version: 0 })
  t.strictSame(await service.products(), [])
  await t.rejects(service.get('nobody'), { statusCode: 404, code: 'SELLIFY_UNKNOWN_ACCOUNT' })
  await t.rejects(service.put('nobody', { products: [] }), { statusCode: 404, code: 'SELLIFY_UNKNOWN_ACCOUNT' })
  await t.rejects(service.putProduct('nobody', 'a', input('a')), { statusCode: 404, code: 'SELLIFY_UNKNOWN_ACCOUNT' })
})

t.test('put fills the defaults, answers the new version, and the store keeps exactly that', async (t) => {
  const { service } = await setup()
  const kb = await service.put(undefined, { business_name: 'Karité & Co', products: [input('a'), input('b', { keywords: ['huile'], active: false })] })
  t.equal(kb.version, 1)
  t.strictSame(kb.products[0], {
    id: 'a',
    name: 'Produit a',
    price: '100',
    currency: 'XOF',
    short_description: '',
    long_description: '',
    keywords: [],
    objections: [],
    media: [],
    media_policy: { allow_images: true, allow_video: false },
    active: true
  })
  t.equal(kb.products[1].active, false)
  t.strictSame(await service.get('default'), kb)
  t.equal((await service.put('default', { products: [] })).version, 2)
})

t.test('every bad input is a 400 naming its path, and nothing changes', async (t) => {
  const { service } = await setup()
  await service.put(undefined, { products: [input('keep')] })
  const many = (n: number, make: (i: number) => unknown) => Array.from({ length: n }, (_, i) => make(i))
  const cases: Array<[string, unknown, RegExp]> = [
    ['a product id with a space', { products: [input('a b')] }, /^body\/products\/0\/id must match pattern/],
    ['price 12.5.0', { products: [input('a', { price: '12.5.0' })] }, /^body\/products\/0\/price must match pattern/],
    ['price -3', { products: [input('a', { price: '-3' })] }, /^body\/products\/0\/price /],
    ['price 1e3', { products: [input('a', { price: '1e3' })] }, /^body\/products\/0\/price /],
    ['price 012', { products: [input('a', { price: '012' })] }, /^body\/products\/0\/price /],
    ['price as a number', { products: [input('a', { price: 12500 })] }, /^body\/products\/0\/price must be string/],
    ['a lower-case currency', { products: [input('a', { currency: 'xof' })] }, /^body\/products\/0\/currency /],
    ['a four-letter currency', { products: [input('a', { currency: 'EURO' })] }, /^body\/products\/0\/currency /],
    ['an ftp media url', { products: [input('a', { media: [{ id: 'm', type: 'image', url: 'ftp://x.example/a.jpg' }] })] }, /^body\/products\/0\/media\/0\/url /],
    ['a javascript: media url', { products: [input('a', { media: [{ id: 'm', type: 'image', url: 'javascript:alert(1)' }] })] }, /^body\/products\/0\/media\/0\/url /],
    ['an http url without a host', { products: [input('a', { media: [{ id: 'm', type: 'image', url: 'http://' }] })] }, /^body\/products\/0\/media\/0\/url must be an http or https URL/],
    ['a media type', { products: [input('a', { media: [{ id: 'm', type: 'audio', url: 'https://x.example/a' }] })] }, /^body\/products\/0\/media\/0\/type must be one of image, video/],
    ['two media with one id', { products: [input('a', { media: [{ id: 'm', type: 'image', url: 'https://x.example/a' }, { id: 'm', type: 'video', url: 'https://x.example/b' }] })] }, /^body\/products\/0\/media\/1\/id "m" is already the id of body\/products\/0\/media\/0/],
    ['two products with one id', { products: [input('a'), input('b'), input('a')] }, /^body\/products\/2\/id "a" is already the id of body\/products\/0$/],
    ['two faq with one id', { products: [], faq: [{ id: 'f', triggers: ['x'], answer: 'y' }, { id: 'f', triggers: ['z'], answer: 'w' }] }, /^body\/faq\/1\/id /],
    ['an unknown field', { products: [input('a', { colour: 'red' })] }, /^body\/products\/0\/colour is not an allowed field$/],
    ['an unknown top-level field', { products: [], version: 3 }, /^body\/version is not an allowed field$/],
    ['no products', { business_name: 'x' }, /^body\/products is required$/],
    ['a missing name', { products: [{ id: 'a', price: '1', currency: 'XOF' }] }, /^body\/products\/0\/name is required$/],
    ['an unknown template', { products: [], templates: { goodbye: 'x' } }, /^body\/templates\/goodbye is not an allowed field$/],
    ['an unknown placeholder', { products: [], templates: { product: '{name} à {prix}' } }, /^body\/templates\/product has the unknown placeholder \{prix\}/],
    ['U+0000 in a text', { products: [input('a', { short_description: 'a\u0000b' })] }, /^body\/products\/0\/short_description must not contain the character U\+0000$/],
    ['1 001 products', { products: many(1001, (i) => input(`p${i}`)) }, /^body\/products must NOT have more than 1000 items$/],
    ['51 keywords', { products: [input('a', { keywords: many(51, (i) => `k${i}`) })] }, /^body\/products\/0\/keywords must NOT have more than 50 items$/],
    ['a 2001-character description', { products: [input('a', { long_description: 'x'.repeat(2001) })] }, /^body\/products\/0\/long_description must NOT have more than 2000 characters$/],
    ['a 201-character business name', { products: [], business_name: 'x'.repeat(201) }, /^body\/business_name must NOT have more than 200 characters$/],
    ['not an object', [], /^body must be object$/],
    ['null', null, /^body must be object$/]
  ]
  for (const [name, body, expected] of cases) {
    t.match(await refusal(t, service.put(undefined, body)), expected, name)
  }
  t.match(await refusal(t, service.put(undefined, { products: [input('a'), input('b'), input('c'), input('d', { price: '1,5' }), input('e', { price: 'x' })] })),
    /^body\/products\/3\/price /, 'the first bad path is named')
  const after = await service.get()
  t.equal(after.version, 1, 'nothing was written')
  t.strictSame(after.products.map((p) => p.id), ['keep'])
})

t.test('putProduct creates last or replaces in place; the body id must be the path\'s', async (t) => {
  const { service } = await setup()
  t.match(await service.putProduct(undefined, 'a', { name: 'A', price: '1', currency: 'XOF' }), { created: true, version: 1, product: { id: 'a', active: true } })
  t.match(await service.putProduct(undefined, 'b', input('b')), { created: true, version: 2 })
  t.match(await service.putProduct(undefined, 'a', { ...input('a'), price: '2.5' }), { created: false, version: 3, product: { price: '2.5' } })
  t.strictSame((await service.products()).map((p) => [p.id, p.price]), [['a', '2.5'], ['b', '100']])
  t.match((await service.product(undefined, 'b')).name, 'Produit b')
  await t.rejects(service.product(undefined, 'zz'), { statusCode: 404, code: 'SELLIFY_UNKNOWN_PRODUCT' })

  t.match(await refusal(t, service.putProduct(undefined, 'a', input('other'))), /^body\/id must be the path's id "a" or omitted$/)
  t.match(await refusal(t, service.putProduct(undefined, 'a', { name: 'A', price: '1.', currency: 'XOF' })), /^body\/price /)
  t.equal((await service.get()).version, 3, 'refusals change nothing')

  await service.deleteProduct(undefined, 'a')
  await t.rejects(service.deleteProduct(undefined, 'a'), { statusCode: 404, code: 'SELLIFY_UNKNOWN_PRODUCT' })
  t.strictSame((await service.products()).map((p) => p.id), ['b'])
})

t.test('compiled: one matcher per version, rebuilt by a change, and a change by another store seen after trustMs', async (t) => {
  const { store, accounts, service } = await setup(50)
  await service.put(undefined, { products: [input('karite', { keywords: ['creme', 'karite'] })] })
  const first = await service.compiled()
  t.equal(first.version, 1)
  t.equal(await service.compiled(), first, 'the same version: the same matcher')
  t.match(first.analyse('la crème au karité').products, [{ id: 'karite', score: 2 }])

  await service.putProduct(undefined, 'argan', input('argan', { keywords: ['argan'] }))
  const second = await service.compiled()
  t.equal(second.version, 2, 'this service\'s own change: at once')
  t.match(second.analyse('huile d\'argan').products, [{ id: 'argan' }])

  // Another instance writes through its own service on the same store.
  const other = createKnowledgeService({ store, accounts })
  await other.putProduct(undefined, 'neem', input('neem', { keywords: ['neem'] }))
  t.equal(await service.compiled(), second, 'trusted for trustMs')
  await new Promise((resolve) => setTimeout(resolve, 60))
  const third = await service.compiled()
  t.equal(third.version, 3, 'then the stored version is read again')
  t.match(third.analyse('savon au neem').products, [{ id: 'neem' }])
})

t.test('a generated 1 000-product knowledge base loads and matches', async (t) => {
  const { service } = await setup()
  const products: Array<Record<string, unknown>> = Array.from({ length: 1000 }, (_, i) => input(`prod-${i}`, {
    keywords: Array.from({ length: 10 }, (_, k) => `mot${i}x${k}`),
    short_description: 'Un produit de la boutique.',
    objections: [{ triggers: [`cher${i}`], answer: 'Il dure longtemps.' }]
  }))
  products[737] = { ...products[737], keywords: ['savon noir', 'beurre de karite'] }
  const kb = await service.put(undefined, { business_name: 'Grand Marché', products })
  t.equal(kb.products.length, 1000)
  t.equal((await service.get()).products.length, 1000)
  const analysis = (await service.compiled()).analyse('Bonjour, avez-vous du savon noir au beurre de karité ? Et mot999x3 aussi')
  t.strictSame(analysis.products.map((p) => p.id), ['prod-737', 'prod-999'])
  t.match(analysis.products[0], { score: 5, keywords: ['savon noir', 'beurre de karite'] })
})
