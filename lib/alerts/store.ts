/**
 * What the alerts engine needs of a store: the alerts (texts encrypted under the contact's data key) and the
 * durable outbox of their webhook deliveries, claimed for one attempt at a time by exactly one instance.
 */
import type { AuditActor } from '../audit/types.js'
import type { AlertSeverity, AlertTrigger } from '../knowledge/types.js'
import type { UnitOfWork, WriteOp } from '../shared/unit-of-work.js'

export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed', 'gone'] as const
export type DeliveryStatus = typeof DELIVERY_STATUSES[number]

export interface StoredAlert {
  /** `alr_<uuidv7>`: time-ordered. */
  id: string
  account: string
  /** The contact's data key id (its texts are under it); null for an alert about the account (a quota). */
  key_id: string | null
  contact: string | null
  trigger: AlertTrigger
  severity: AlertSeverity
  /** The conversation's state when it was raised. */
  state: string | null
  /** The customer's last message, encrypted. */
  message: string | null
  decision_id: string | null
  /** Raised once per key (a quota alert: once per period and limit); null for the others. */
  dedupe: string | null
  created_at: string
  acknowledged_at: string | null
  acknowledged_by: AuditActor | null
}

export interface StoredDelivery {
  /** `dlv_<uuidv7>`: the X-Sellify-Delivery header, the same on every attempt of this delivery. */
  id: string
  alert_id: string
  account: string
  url: string
  status: DeliveryStatus
  attempts: number
  /** When the next attempt is due (null once it is no longer pending). */
  next_attempt_at: string | null
  /** The instance that holds it for an attempt, and until when. */
  claim: string | null
  claimed_until: string | null
  last_status: number | null
  last_error: string | null
  created_at: string
  delivered_at: string | null
}

/** Store the alert and its deliveries; false (nothing stored) when an alert with its dedupe key exists. */
export interface CreateAlertOp extends WriteOp<'alerts.create', boolean> {
  readonly alert: StoredAlert
  readonly deliveries: readonly StoredDelivery[]
}

/** Acknowledge it, unless it already was: whether this one did. */
export interface AckAlertOp extends WriteOp<'alerts.ack', boolean> {
  readonly id: string
  readonly at: string
  readonly by: AuditActor
}

/**
 * Up to `limit` pending deliveries due at `now` and not held by a live claim, taken for `claim` until `until`.
 * Two instances claiming at once never take the same delivery.
 */
export interface ClaimDeliveriesOp extends WriteOp<'alerts.claim', StoredDelivery[]> {
  readonly now: string
  readonly until: string
  readonly claim: string
  readonly limit: number
}

/** What an attempt gave, written only while `claim` still holds the delivery: whether it did. */
export interface AttemptedOp extends WriteOp<'alerts.attempted', boolean> {
  readonly id: string
  readonly claim: string
  readonly outcome: Pick<StoredDelivery, 'status' | 'attempts' | 'next_attempt_at' | 'last_status' | 'last_error' | 'delivered_at'>
}

export type AlertOp = CreateAlertOp | AckAlertOp | ClaimDeliveriesOp | AttemptedOp

export const createAlertOp = (alert: StoredAlert, deliveries: readonly StoredDelivery[]): CreateAlertOp => ({ op: 'alerts.create', alert, deliveries })
export const ackAlertOp = (id: string, at: string, by: AuditActor): AckAlertOp => ({ op: 'alerts.ack', id, at, by })
export const claimDeliveriesOp = (now: string, until: string, claim: string, limit: number): ClaimDeliveriesOp => ({ op: 'alerts.claim', now, until, claim, limit })
export const attemptedOp = (id: string, claim: string, outcome: AttemptedOp['outcome']): AttemptedOp => ({ op: 'alerts.attempted', id, claim, outcome })

export interface AlertQuery {
  account: string
  status?: 'open' | 'acknowledged'
  severity?: AlertSeverity
  /** Newest first, the alerts before this id. */
  before?: string
  limit: number
}

export interface AlertReads {
  listAlerts: (query: AlertQuery) => Promise<StoredAlert[]>
  getAlert: (id: string) => Promise<StoredAlert | null>
  alertDeliveries: (alertId: string) => Promise<StoredDelivery[]>
  /** Deliveries still pending, over every account (the outbox gauge). */
  pendingDeliveries: () => Promise<number>
}

export type AlertStore = AlertReads & UnitOfWork<AlertOp>
