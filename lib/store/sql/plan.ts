/**
 * What both backends do with a plan before applying it: every operation known, every input one a store can
 * apply exactly (the checks are the same for both backends, so they live here, once).
 */
import type { OpName, OpOf, StoreOp } from '../contract.js'
import { accountValues, checkConsumeInput, checkNewKey, checkResetInput, toIso } from './rows.js'

type Checks = { [K in OpName]: (op: OpOf<K>) => void }

const CHECKS: Checks = {
  'accounts.put': (op) => { accountValues(op.account) },
  'accounts.ensure': (op) => { accountValues(op.account) },
  'accounts.delete': (op) => { toIso(op.at) },
  'quota.consume': (op) => { checkConsumeInput(op.input) },
  'resets.record': (op) => {
    checkResetInput(op.input)
    toIso(op.input.timestamp)
  },
  'keys.create': (op) => {
    checkNewKey(op.key)
    toIso(op.key.created_at)
  },
  'keys.revoke': (op) => { toIso(op.at) },
  'keys.touch': (op) => { toIso(op.at) },
  'knowledge.put': (op) => {
    checkKnowledgeAccount(op.account)
    if (op.knowledge === null || typeof op.knowledge !== 'object' || !Array.isArray(op.knowledge.products)) throw new TypeError('store: knowledge.put needs a knowledge base')
  },
  'knowledge.putProduct': (op) => {
    checkKnowledgeAccount(op.account)
    if (typeof op.product?.id !== 'string' || op.product.id === '') throw new TypeError('store: knowledge.putProduct needs a product with an id')
  },
  'knowledge.deleteProduct': (op) => {
    checkKnowledgeAccount(op.account)
    if (typeof op.id !== 'string' || op.id === '') throw new TypeError('store: knowledge.deleteProduct needs a product id')
  }
}

function checkKnowledgeAccount (account: unknown): void {
  if (typeof account !== 'string' || account === '') throw new TypeError('store: a knowledge operation needs an account id')
}

/** Each operation's applier, in plan order; throws (nothing applied) on an empty plan, an unknown or an invalid operation. */
export function prepare<A> (plan: readonly StoreOp[], appliers: { [K in OpName]: A }): A[] {
  if (!Array.isArray(plan) || plan.length === 0) throw new TypeError('store: a plan is a non-empty array of operations')
  return plan.map((op: StoreOp) => {
    const name = op?.op
    if (typeof name !== 'string' || !Object.hasOwn(CHECKS, name)) throw new TypeError(`store: unknown operation ${JSON.stringify(name)}`)
    ;(CHECKS[name] as (op: StoreOp) => void)(op)
    return appliers[name]
  })
}
