/**
 * What both backends do with a plan before applying it: every operation known, every input one a store can
 * apply exactly (the checks are the same for both backends, so they live here, once).
 */
import type { OpName, OpOf, StoreOp } from '../contract.js'
import { checkAuditEntry, checkIndexes } from './audit.js'
import { checkAlert, checkOutcome } from './alerts.js'
import { checkPauseOp, checkSignalOp } from './health.js'
import { checkConsumed, checkConversation, checkKeyIds, checkMessage, checkStatuses } from './conversations.js'
import { accountValues, checkConsumeInput, checkNewKey, checkResetInput, isDayKey, isHourKey, isWeekKey, toIso } from './rows.js'

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
    checkAccount(op.account)
    if (op.knowledge === null || typeof op.knowledge !== 'object' || !Array.isArray(op.knowledge.products)) throw new TypeError('store: knowledge.put needs a knowledge base')
  },
  'knowledge.putProduct': (op) => {
    checkAccount(op.account)
    if (typeof op.product?.id !== 'string' || op.product.id === '') throw new TypeError('store: knowledge.putProduct needs a product with an id')
  },
  'dataKeys.ensure': (op) => {
    checkIndexes(op.indexes)
    const k = op.key
    if (typeof k?.id !== 'string' || typeof k.account !== 'string' || k.account === '' || typeof k.wrapped !== 'string' || typeof k.kid !== 'string') {
      throw new TypeError('store: dataKeys.ensure needs a key with an id, an account, a wrapping and its key id')
    }
    if (!op.indexes.includes(k.contact_index)) throw new TypeError('store: dataKeys.ensure: the key\'s index must be one of the indexes looked up')
    toIso(k.created_at)
  },
  'dataKeys.rewrap': (op) => {
    if (typeof op.id !== 'string' || typeof op.from !== 'string' || typeof op.to?.wrapped !== 'string' || typeof op.to.kid !== 'string') {
      throw new TypeError('store: dataKeys.rewrap needs an id, the current wrapping and the new one')
    }
  },
  'dataKeys.erase': (op) => {
    checkAccount(op.account)
    checkIndexes(op.indexes)
  },
  'audit.append': (op) => {
    checkAuditEntry(op.entry)
    if (op.data_key !== null && typeof op.data_key !== 'string') throw new TypeError('store: audit.append: data_key is a string or null')
  },
  'audit.prune': (op) => {
    checkAccount(op.account)
    toIso(op.before)
    if (!Number.isSafeInteger(op.max) || op.max < 1) throw new TypeError('store: audit.prune: max must be a positive integer')
  },
  'quota.release': (op) => {
    const i = op.input
    checkAccount(i?.account)
    if (!Array.isArray(i.periods) || i.periods.length === 0 || i.periods.some((p) => !isHourKey(p) && !isDayKey(p) && !isWeekKey(p))) throw new TypeError('store: quota.release needs the hour, day or week keys to lower')
    if (!['text', 'image', 'video'].includes(i.kind) || !Number.isSafeInteger(i.count) || i.count < 1) throw new TypeError('store: quota.release needs a kind and a positive count')
  },
  'conversations.save': (op) => { checkConversation(op.conversation, op.expected) },
  'conversations.messages': (op) => {
    if (!Array.isArray(op.messages)) throw new TypeError('store: conversations.messages needs a list of messages')
    for (const m of op.messages) checkMessage(m)
  },
  'conversations.erase': (op) => {
    checkAccount(op.account)
    checkKeyIds(op.key_ids)
  },
  'decisions.claim': (op) => {
    const d = op.decision
    if (typeof d?.id !== 'string' || d.id === '' || typeof d.key_id !== 'string' || d.key_id === '') throw new TypeError('store: decisions.claim needs a decision id and a data key id')
    checkAccount(d.account)
    if (d.message_key !== null && (typeof d.message_key !== 'string' || d.message_key === '')) throw new TypeError('store: message_key is a non-empty string or null')
    toIso(d.created_at)
    toIso(op.since)
  },
  'decisions.record': (op) => {
    if (typeof op.id !== 'string' || (op.status !== 'pending' && op.status !== 'done') || typeof op.answer !== 'string') {
      throw new TypeError('store: decisions.record needs an id, pending or done, and the answer')
    }
    checkConsumed(op.consumed)
  },
  'decisions.mark': (op) => {
    if (typeof op.id !== 'string' || (op.to !== 'sent' && op.to !== 'failed')) throw new TypeError('store: decisions.mark needs an id and sent or failed')
    checkStatuses(op.from)
  },
  'alerts.create': (op) => { checkAlert(op.alert, op.deliveries) },
  'alerts.ack': (op) => {
    if (typeof op.id !== 'string' || op.id === '' || op.by === undefined) throw new TypeError('store: alerts.ack needs an id and who acknowledged')
    toIso(op.at)
  },
  'alerts.claim': (op) => {
    toIso(op.now)
    toIso(op.until)
    if (typeof op.claim !== 'string' || op.claim === '' || !Number.isSafeInteger(op.limit) || op.limit < 1) throw new TypeError('store: alerts.claim needs a claim id and a positive limit')
  },
  'alerts.attempted': (op) => {
    if (typeof op.id !== 'string' || typeof op.claim !== 'string') throw new TypeError('store: alerts.attempted needs the delivery and its claim')
    checkOutcome(op.outcome)
  },
  'health.signal': checkSignalOp,
  'health.pause': checkPauseOp,
  'plan.then': (op) => {
    if (typeof op.build !== 'function') throw new TypeError('store: plan.then needs a build function')
  },
  'knowledge.deleteProduct': (op) => {
    checkAccount(op.account)
    if (typeof op.id !== 'string' || op.id === '') throw new TypeError('store: knowledge.deleteProduct needs a product id')
  }
}

function checkAccount (account: unknown): void {
  if (typeof account !== 'string' || account === '') throw new TypeError('store: this operation needs an account id')
}

/** Each operation's applier, in plan order; throws (nothing applied) on an empty plan, an unknown or an invalid operation. */
export function prepare<A> (plan: readonly StoreOp[], appliers: { [K in OpName]: A }): A[] {
  if (!Array.isArray(plan) || plan.length === 0) throw new TypeError('store: a plan is a non-empty array of operations')
  return plan.map((op: StoreOp) => {
    const name = op?.op
    if (typeof name !== 'string' || !Object.hasOwn(CHECKS, name)) throw new TypeError(`store: unknown operation ${JSON.stringify(name)}`)
    ;(CHECKS[name] as (op: StoreOp) => void)(op)
    if (op.when !== undefined && typeof op.when !== 'function') throw new TypeError('store: when is a function of the previous result')
    return appliers[name]
  })
}
