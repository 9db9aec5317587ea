/** What the decision, conversation and alert tests share: the shop's product, the account set-up, the alert as answered. */
import type { FastifyInstance } from 'fastify'
import { call, type TapTest } from '../helper.js'

export type Json = Record<string, any>

/** The instant the tests' fixed clocks start at (build()'s default). */
export const START = '2026-01-18T12:00:00.000Z'

/** The shop's cream, as each test's knowledge base starts from (`more` replaces fields). */
export function karite (more: Json = {}): Json {
  return { id: 'creme-karite', name: 'Crème au karité 200 ml', price: '12500', currency: 'XOF', keywords: ['creme', 'karite'], ...more }
}

/** A PUT of the account's whole configuration: always open unless the test says otherwise. */
export async function configure (t: TapTest, app: FastifyInstance, settings: Json = {}, account = 'default'): Promise<void> {
  const res = await call(app, 'PUT', `/api/v1/accounts/${account}`, { active_hours: 'always', ...settings })
  const done = res.statusCode === 200 || res.statusCode === 201
  t.ok(done, done ? `account ${account} configured` : res.body)
}

export async function alert (app: FastifyInstance, id: string): Promise<Json> {
  const res = await call(app, 'GET', `/api/v1/alerts/${id}`)
  if (res.statusCode !== 200) throw new Error(`GET /api/v1/alerts/${id}: ${res.statusCode} ${res.body}`)
  return res.json()
}

/** An open alert a decision raised, as GET answers it and as its webhook body carries it (in that key order). */
export function openAlert (decision: Json, contact: string, message: string, state: string, createdAt = START): Json {
  return {
    id: decision.alert.id,
    account: 'default',
    contact,
    trigger: decision.alert.trigger,
    severity: decision.alert.severity,
    status: 'open',
    state,
    message,
    decision_id: decision.decision_id,
    limit: null,
    period: null,
    created_at: createdAt,
    acknowledged_at: null,
    acknowledged_by: null
  }
}
