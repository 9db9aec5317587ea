/** What the decision engine needs of a store: each decision, claimed once per (account, gateway message). */
import type { Kind } from '../quota/types.js'
import type { UnitOfWork, WriteOp } from '../shared/unit-of-work.js'

/**
 * `deciding`: claimed, in the transaction that decides it (never seen committed). `pending`: a reply to send;
 * `done`: nothing to send; then `sent` or `failed` as the gateway reports.
 */
export const DECISION_STATUSES = ['deciding', 'pending', 'done', 'sent', 'failed'] as const
export type DecisionStatus = typeof DECISION_STATUSES[number]

/** What a decision took from the quota, so a failed send gives back exactly that, in the same period only. */
export interface Consumed {
  kind: Kind
  count: number
  /** Absent in decisions made before the hourly cap. */
  hour?: string
  day: string
  week: string
}

export interface StoredDecision {
  id: string
  account: string
  key_id: string
  /** A keyed hash of the gateway's message id; null when none was given (no idempotency then). */
  message_key: string | null
  status: DecisionStatus
  created_at: string
  /** The whole answer as JSON, encrypted under the contact's data key. */
  answer: string | null
  consumed: Consumed | null
  /** For a failed decision: whether what it consumed was given back (null otherwise). */
  released: boolean | null
}

export type ClaimResult = { claimed: true } | { claimed: false, id: string }

/**
 * Claim (account, message_key) for a new decision: claimed, or the id of the decision that holds it. A claim
 * older than `since` (ISO 8601) is released first: idempotency lasts 24 hours. Two claims at once on
 * PostgreSQL: the second waits for the first's commit and reads its id.
 */
export interface ClaimDecisionOp extends WriteOp<'decisions.claim', ClaimResult> {
  readonly decision: Pick<StoredDecision, 'id' | 'account' | 'key_id' | 'message_key' | 'created_at'>
  readonly since: string
}

/** What a claimed decision became. */
export interface RecordDecisionOp extends WriteOp<'decisions.record', boolean> {
  readonly id: string
  readonly status: 'pending' | 'done'
  readonly answer: string
  readonly consumed: Consumed | null
}

/** Move a decision to `to`, only from one of `from`: whether it moved. */
export interface MarkDecisionOp extends WriteOp<'decisions.mark', boolean> {
  readonly id: string
  readonly from: readonly DecisionStatus[]
  readonly to: 'sent' | 'failed'
  /** For `failed`: whether its consume is given back in the same plan. */
  readonly released: boolean | null
}

export type DecisionOp = ClaimDecisionOp | RecordDecisionOp | MarkDecisionOp

export const claimDecisionOp = (decision: ClaimDecisionOp['decision'], since: string): ClaimDecisionOp => ({ op: 'decisions.claim', decision, since })
export const recordDecisionOp = (id: string, status: 'pending' | 'done', answer: string, consumed: Consumed | null): RecordDecisionOp =>
  ({ op: 'decisions.record', id, status, answer, consumed })
export const markDecisionOp = (id: string, from: readonly DecisionStatus[], to: 'sent' | 'failed', when?: (previous: unknown) => boolean, released: boolean | null = null): MarkDecisionOp =>
  when === undefined ? { op: 'decisions.mark', id, from, to, released } : { op: 'decisions.mark', id, from, to, released, when }

/** How many decisions of one status were made in one hour (UTC, `YYYY-MM-DDTHH`). */
export interface HourlyDecisions {
  hour: string
  status: Exclude<DecisionStatus, 'deciding'>
  count: number
}

export interface DecisionReads {
  /** One account's decisions made at or after `since` (ISO 8601), counted per UTC hour and status, oldest first. */
  decisionsPerHour: (account: string, since: string) => Promise<HourlyDecisions[]>
  getDecision: (id: string) => Promise<StoredDecision | null>
  /** The decision holding the claim of (account, message_key), when it was made at or after `since`. */
  decisionByKey: (account: string, messageKey: string, since: string) => Promise<StoredDecision | null>
}

export type DecisionStore = DecisionReads & UnitOfWork<DecisionOp>
