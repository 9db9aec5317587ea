/** What the knowledge engine needs of a store: one versioned document per account. */
import type { UnitOfWork, WriteOp } from '../shared/unit-of-work.js'
import type { KnowledgeBase, Product, VersionedKnowledge } from './types.js'

/** Replace the whole knowledge base; the result is its new version. */
export interface PutKnowledgeOp extends WriteOp<'knowledge.put', number> {
  readonly account: string
  readonly knowledge: KnowledgeBase
}

/** Insert the product, or replace the one with its id where it stands in the catalogue. */
export interface PutProductOp extends WriteOp<'knowledge.putProduct', { created: boolean, version: number }> {
  readonly account: string
  readonly product: Product
}

/** Remove the product; `existed` false (and the version unchanged) when there was none with this id. */
export interface DeleteProductOp extends WriteOp<'knowledge.deleteProduct', { existed: boolean, version: number }> {
  readonly account: string
  readonly id: string
}

export type KnowledgeOp = PutKnowledgeOp | PutProductOp | DeleteProductOp

export const putKnowledgeOp = (account: string, knowledge: KnowledgeBase): PutKnowledgeOp => ({ op: 'knowledge.put', account, knowledge })
export const putProductOp = (account: string, product: Product): PutProductOp => ({ op: 'knowledge.putProduct', account, product })
export const deleteProductOp = (account: string, id: string): DeleteProductOp => ({ op: 'knowledge.deleteProduct', account, id })

export interface KnowledgeReads {
  /** The account's knowledge base as committed; null when it was never written (empty, version 0). */
  getKnowledge: (account: string) => Promise<VersionedKnowledge | null>
  /** Its version alone (0 when never written): the cheap look that tells whether a compiled matcher is current. */
  knowledgeVersion: (account: string) => Promise<number>
}

export type KnowledgeStore = KnowledgeReads & UnitOfWork<KnowledgeOp>

/** The knowledge base of an account that has none. */
export function emptyKnowledge (): KnowledgeBase {
  return { business_name: '', products: [], faq: [], objections: [], templates: {} }
}

/** The catalogue with `product` in it: replaced in place when its id is there, appended otherwise. */
export function withProduct (kb: KnowledgeBase, product: Product): { knowledge: KnowledgeBase, created: boolean } {
  const at = kb.products.findIndex((p) => p.id === product.id)
  const products = at === -1 ? [...kb.products, product] : kb.products.map((p, i) => i === at ? product : p)
  return { knowledge: { ...kb, products }, created: at === -1 }
}

/** The catalogue without the product of this id, or null when there is none. */
export function withoutProduct (kb: KnowledgeBase, id: string): KnowledgeBase | null {
  const products = kb.products.filter((p) => p.id !== id)
  return products.length === kb.products.length ? null : { ...kb, products }
}
