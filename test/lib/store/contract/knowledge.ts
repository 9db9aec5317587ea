/** The knowledge engine's store contract, run against every backend. */
import type { Test } from 'tap'
import { deleteProductOp, putKnowledgeOp, putProductOp } from '../../../../lib/knowledge/store.js'
import type { KnowledgeBase, Product } from '../../../../lib/knowledge/types.js'
import { makeAccount, uid, type ContractContext } from './fixtures.js'

export const product = (id: string, extra: Partial<Product> = {}): Product => ({
  id,
  name: `Produit ${id}`,
  short_description: 'Crème hydratante au beurre de karité pur.',
  long_description: '',
  price: '12500',
  currency: 'XOF',
  keywords: ['creme', 'karite'],
  objections: [{ triggers: ['trop cher'], answer: 'Un pot dure trois mois.' }],
  media: [{ id: 'photo-1', type: 'image', url: 'https://shop.example/k.jpg', caption: 'Crème' }],
  media_policy: { allow_images: true, allow_video: false },
  active: true,
  ...extra
})

const kb = (products: Product[], extra: Partial<KnowledgeBase> = {}): KnowledgeBase => ({
  business_name: 'Karité & Co',
  products,
  faq: [{ id: 'delivery', triggers: ['livraison'], answer: 'Livraison en 48 h à Dakar.' }],
  objections: [{ triggers: ['pas confiance'], answer: 'Paiement à la livraison.' }],
  templates: { greeting: 'Bonjour, ici {business_name} !' },
  ...extra
})

export function knowledgeContract (t: Test, { open }: ContractContext): void {
  t.test('knowledge: empty, put whole, read back exactly, version grows by one', async (t) => {
    const store = await open(t)
    const account = uid('kb-put')
    await store.putAccount(makeAccount(account))
    t.equal(await store.getKnowledge(account), null, 'never written: null')
    t.equal(await store.knowledgeVersion(account), 0)

    const first = kb([product('a'), product('b', { price: '19.90', currency: 'EUR', name: 'Huile d\'argan « bio » 💧' })])
    t.strictSame(await store.commit([putKnowledgeOp(account, first)]), [1])
    t.strictSame(await store.getKnowledge(account), { ...first, version: 1 })
    t.equal(await store.knowledgeVersion(account), 1)

    const second = kb([product('c')], { business_name: 'Autre', templates: {} })
    t.strictSame(await store.commit([putKnowledgeOp(account, second)]), [2])
    t.strictSame(await store.getKnowledge(account), { ...second, version: 2 }, 'replaced whole')
  })

  t.test('knowledge: putProduct inserts last or replaces in place; deleteProduct says whether it existed', async (t) => {
    const store = await open(t)
    const account = uid('kb-products')
    await store.putAccount(makeAccount(account))

    t.strictSame(await store.commit([putProductOp(account, product('a'))]), [{ created: true, version: 1 }], 'the first product makes the knowledge base')
    t.strictSame(await store.commit([putProductOp(account, product('b'))]), [{ created: true, version: 2 }])
    t.strictSame(await store.commit([putProductOp(account, product('c'))]), [{ created: true, version: 3 }])
    t.strictSame(await store.commit([putProductOp(account, product('b', { price: '1.5' }))]), [{ created: false, version: 4 }])
    const after = await store.getKnowledge(account)
    t.strictSame(after?.products.map((p) => [p.id, p.price]), [['a', '12500'], ['b', '1.5'], ['c', '12500']], 'replaced where it stood')
    t.strictSame({ ...after, products: [] }, { business_name: '', products: [], faq: [], objections: [], templates: {}, version: 4 })

    t.strictSame(await store.commit([deleteProductOp(account, 'b')]), [{ existed: true, version: 5 }])
    t.strictSame(await store.commit([deleteProductOp(account, 'b')]), [{ existed: false, version: 5 }], 'gone: nothing changes')
    t.strictSame(await store.commit([deleteProductOp(uid('kb-none'), 'b')]), [{ existed: false, version: 0 }], 'no knowledge base at all')
    t.strictSame((await store.getKnowledge(account))?.products.map((p) => p.id), ['a', 'c'])
    t.equal(await store.knowledgeVersion(account), 5)
  })

  t.test('knowledge: concurrent product writes on one account lose none of them', async (t) => {
    const store = await open(t)
    const other = await open(t)
    const account = uid('kb-race')
    await store.putAccount(makeAccount(account))
    const ids = Array.from({ length: 40 }, (_, i) => `p-${i}`)
    const results = await Promise.all(ids.map((id, i) => (i % 2 === 0 ? store : other).commit([putProductOp(account, product(id))])))
    t.strictSame(results.map(([r]) => r.version).sort((a, b) => a - b), ids.map((_, i) => i + 1), 'each write got its own version')
    const stored = await store.getKnowledge(account)
    t.strictSame(stored?.products.map((p) => p.id).sort(), [...ids].sort(), 'every product is there')
    t.equal(stored?.version, 40)
  })

  t.test('knowledge: a plan that fails keeps none of its knowledge writes', async (t) => {
    const store = await open(t)
    const account = uid('kb-atomic')
    await store.putAccount(makeAccount(account))
    await store.commit([putKnowledgeOp(account, kb([product('a')]))])
    await t.rejects(store.commit([putProductOp(account, product('b')), deleteProductOp(account, '')]), 'an invalid operation refuses the plan')
    await t.rejects(store.commit([putProductOp(account, product('b')), { op: 'knowledge.nope' } as never]))
    t.strictSame((await store.getKnowledge(account))?.products.map((p) => p.id), ['a'])
    t.equal(await store.knowledgeVersion(account), 1)
  })

  t.test('knowledge: deleting the account deletes its knowledge base', async (t) => {
    const store = await open(t)
    const account = uid('kb-gone')
    const kept = uid('kb-kept')
    await store.putAccount(makeAccount(account))
    await store.putAccount(makeAccount(kept))
    await store.commit([putKnowledgeOp(account, kb([product('a')]))])
    await store.commit([putKnowledgeOp(kept, kb([product('k')]))])
    t.equal(await store.deleteAccount(account), true)
    t.equal(await store.getKnowledge(account), null)
    t.equal(await store.knowledgeVersion(account), 0)
    t.strictSame((await store.getKnowledge(kept))?.products.map((p) => p.id), ['k'], 'other accounts keep theirs')
    await store.putAccount(makeAccount(account))
    t.equal(await store.getKnowledge(account), null, 'a re-created account starts empty')
  })
}
