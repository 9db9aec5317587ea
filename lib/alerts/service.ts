/**
 * Alerts: a person is told that a conversation needs them. Each alert is stored in the transaction of what
 * raised it (a decision), with one outbox row per webhook of the account; `deliverDue` claims the due rows and
 * posts them, signed, retried on the schedule of webhook.ts, until delivered, gone (410) or failed. The customer
 * is never told.
 */
import type { Account } from '../accounts/types.js'
import type { AuditActor, AuditInput } from '../audit/recorder.js'
import type { AppendAuditOp } from '../audit/store.js'
import type { Place } from '../crypto/index.js'
import type { ContactKey } from '../encryption/service.js'
import type { AlertSeverity, AlertTrigger } from '../knowledge/types.js'
import { LIMIT_NAMES, LIMITS, type LimitName, type Limits, type UsagePair } from '../quota/types.js'
import type { Clock } from '../shared/clock.js'
import { BadRequest, defineError } from '../shared/errors.js'
import { createEvents } from '../shared/events.js'
import type { UnitOfWork } from '../shared/unit-of-work.js'
import { ackAlertOp, attemptedOp, claimDeliveriesOp, createAlertOp, type AlertOp, type AlertReads, type CreateAlertOp, type StoredAlert, type StoredDelivery } from './store.js'
import { DELIVERY_TIMEOUT_MS, deliver as send, nextAttempt, retryable, sign, type DeliveryResult } from './webhook.js'

export const UnknownAlert = defineError('SELLIFY_UNKNOWN_ALERT', 404, (id: string) => `alert ${id} does not exist`)

/** How long a claimed delivery is held by its instance: far above one attempt, so no other instance retakes it. */
const LEASE_MS = 60_000
/** Deliveries claimed per pass, and posted at once. */
const CLAIM_LIMIT = 20
/** The share of a limit at which `quota_near_limit` is raised. */
const NEAR_LIMIT = 0.8

export interface AlertView {
  id: string
  account: string
  /** Decrypted; null for an alert about the account, or once the contact was erased. */
  contact: string | null
  trigger: AlertTrigger
  severity: AlertSeverity
  status: 'open' | 'acknowledged'
  state: string | null
  message: string | null
  decision_id: string | null
  /** For `quota_near_limit`: the limit crossed and its period (`2026-01-18`, `2026-W03`); null otherwise. */
  limit: string | null
  period: string | null
  created_at: string
  acknowledged_at: string | null
  acknowledged_by: AuditActor | null
}

export type DeliveryView = Pick<StoredDelivery, 'id' | 'url' | 'status' | 'attempts' | 'next_attempt_at' | 'last_status' | 'last_error' | 'created_at' | 'delivered_at'>

export interface RaiseInput {
  account: Pick<Account, 'id' | 'alert_webhooks'>
  /** The contact's data key (its texts are sealed under it); null for an alert about the account. */
  key: ContactKey | null
  contact: string | null
  trigger: AlertTrigger
  severity: AlertSeverity
  state: string | null
  message: string | null
  decision_id: string | null
  dedupe?: string | null
  at: Date
}

export interface NearLimitInput {
  account: Pick<Account, 'id' | 'alert_webhooks'>
  periods: { day: string, week: string }
  before: UsagePair
  after: UsagePair
  limits: Limits
  decision_id: string | null
  at: Date
}

export interface AlertEvent { type: 'created', trigger: AlertTrigger, severity: AlertSeverity }
export interface DeliveryEvent { result: 'delivered' | 'retry' | 'failed' | 'gone' }

export interface AlertServiceOptions {
  store: AlertReads & UnitOfWork<AlertOp | AppendAuditOp>
  accounts: {
    get: (id?: string) => Promise<Account>
    webhookSecrets: (id: string) => Promise<Array<{ url: string, secret: string }>>
  }
  encryption: { keyHandle: (id: string) => Promise<ContactKey | null> }
  audit: { entry: (input: AuditInput) => Promise<AppendAuditOp> }
  ids: () => string
  now: Clock
  /** Loopback and private webhook addresses allowed (SELLIFY_ALLOW_PRIVATE_WEBHOOKS). */
  allowPrivate: boolean
  /** Told of each failed attempt (never with the secret or a customer's text). */
  onAttemptFailed?: (info: { delivery: string, alert: string, url: string, attempts: number, status: number | null, error: string | null, next_attempt_at: string | null }) => void
}

function originOf (url: string): string {
  try {
    return new URL(url).origin
  } catch {
    return '[invalid url]'
  }
}

/** What a `quota_near_limit` alert is about, read from its dedupe key (`quota_near_limit:<limit>:<period>`). */
function quotaOf (a: StoredAlert): { limit: string | null, period: string | null } {
  const [trigger, limit, period] = (a.dedupe ?? '').split(':')
  return trigger === 'quota_near_limit' && limit !== undefined && period !== undefined ? { limit, period } : { limit: null, period: null }
}

const contactPlace = (id: string): Place => ({ table: 'alerts', column: 'contact', row: id })
const messagePlace = (id: string): Place => ({ table: 'alerts', column: 'message', row: id })

/** The limits whose counter this consume took from below NEAR_LIMIT of the limit to at or above it. */
export function limitsCrossed (before: UsagePair, after: UsagePair, limits: Limits): LimitName[] {
  return LIMIT_NAMES.filter((name) => {
    const { period, counter } = LIMITS[name]
    const limit = limits[name]
    if (limit <= 0) return false
    const threshold = Math.ceil(limit * NEAR_LIMIT)
    return before[period][counter] < threshold && after[period][counter] >= threshold
  })
}

export function createAlertService (options: AlertServiceOptions) {
  const { store, accounts, encryption, audit, ids, now, allowPrivate } = options
  const created = createEvents<AlertEvent>()
  const delivered = createEvents<DeliveryEvent>()
  /** This instance's claims: a random id per process. */
  const claimId = `clm_${ids()}`

  /** The operation that stores an alert and its outbox rows, built synchronously (inside a decision's plan). */
  function raise (input: RaiseInput): { op: CreateAlertOp, view: AlertView } {
    const id = `alr_${ids()}`
    const iso = input.at.toISOString()
    const alert: StoredAlert = {
      id,
      account: input.account.id,
      key_id: input.key?.id ?? null,
      contact: input.key === null || input.contact === null ? null : input.key.seal(input.contact, contactPlace(id)),
      trigger: input.trigger,
      severity: input.severity,
      state: input.state,
      message: input.key === null || input.message === null ? null : input.key.seal(input.message, messagePlace(id)),
      decision_id: input.decision_id,
      dedupe: input.dedupe ?? null,
      created_at: iso,
      acknowledged_at: null,
      acknowledged_by: null
    }
    const deliveries: StoredDelivery[] = input.account.alert_webhooks.map(({ url }) => ({
      id: `dlv_${ids()}`,
      alert_id: id,
      account: input.account.id,
      url,
      status: 'pending',
      attempts: 0,
      next_attempt_at: iso,
      claim: null,
      claimed_until: null,
      last_status: null,
      last_error: null,
      created_at: iso,
      delivered_at: null
    }))
    const view: AlertView = {
      id,
      account: alert.account,
      contact: input.contact,
      trigger: alert.trigger,
      severity: alert.severity,
      status: 'open',
      state: alert.state,
      message: input.message,
      decision_id: alert.decision_id,
      ...quotaOf(alert),
      created_at: iso,
      acknowledged_at: null,
      acknowledged_by: null
    }
    return { op: createAlertOp(alert, deliveries), view }
  }

  async function view (a: StoredAlert): Promise<AlertView> {
    const key = a.key_id === null ? null : await encryption.keyHandle(a.key_id)
    return {
      id: a.id,
      account: a.account,
      contact: key === null || a.contact === null ? null : key.open(a.contact, contactPlace(a.id)),
      trigger: a.trigger,
      severity: a.severity,
      status: a.acknowledged_at === null ? 'open' : 'acknowledged',
      state: a.state,
      message: key === null || a.message === null ? null : key.open(a.message, messagePlace(a.id)),
      decision_id: a.decision_id,
      ...quotaOf(a),
      created_at: a.created_at,
      acknowledged_at: a.acknowledged_at,
      acknowledged_by: a.acknowledged_by
    }
  }

  const deliveryView = (d: StoredDelivery): DeliveryView => ({
    id: d.id,
    url: d.url,
    status: d.status,
    attempts: d.attempts,
    next_attempt_at: d.next_attempt_at,
    last_status: d.last_status,
    last_error: d.last_error,
    created_at: d.created_at,
    delivered_at: d.delivered_at
  })

  async function owned (id: string, account: string): Promise<StoredAlert> {
    const alert = await store.getAlert(id)
    if (alert === null || alert.account !== account) throw UnknownAlert(id)
    return alert
  }

  /** POST one body, signed with the webhook's secret. */
  async function post (url: string, secret: string, event: string, deliveryId: string, payload: unknown): Promise<DeliveryResult> {
    const body = JSON.stringify(payload)
    const headers = {
      'x-sellify-event': event,
      'x-sellify-delivery': deliveryId,
      'x-sellify-signature': sign(secret, body, Math.floor(now().getTime() / 1000))
    }
    return await send({ url, body, headers, timeoutMs: DELIVERY_TIMEOUT_MS }, { allowPrivate })
  }

  /** One attempt of a claimed delivery, and its outcome written while the claim holds. */
  async function attempt (d: StoredDelivery): Promise<void> {
    let result: DeliveryResult
    const alert = await store.getAlert(d.alert_id)
    const secret = alert === null ? undefined : (await accounts.webhookSecrets(d.account).catch(() => [])).find((w) => w.url === d.url)?.secret
    if (alert === null || secret === undefined) {
      // The alert or the webhook is gone from the account's settings: nothing to send it with.
      result = { ok: false, status: null, error: alert === null ? 'alert_gone' : 'webhook_removed', duration_ms: 0, address: null }
    } else {
      result = await post(d.url, secret, 'alert.created', d.id, { type: 'alert.created', alert: await view(alert) })
    }
    const at = now()
    const attempts = d.attempts + 1
    // A refused address is the account's configuration (or its DNS) pointing at a private network: not retried.
    const stop = result.error === 'alert_gone' || result.error === 'webhook_removed' || (result.error?.startsWith('refused_address') ?? false)
    const next = stop || !retryable(result) ? null : nextAttempt(attempts, at)
    const status = result.ok ? 'delivered' : result.status === 410 ? 'gone' : next === null ? 'failed' : 'pending'
    await store.commit([attemptedOp(d.id, claimId, {
      status,
      attempts,
      next_attempt_at: next === null ? null : next.toISOString(),
      last_status: result.status,
      last_error: result.error,
      delivered_at: result.ok ? at.toISOString() : null
    })])
    delivered.emit({ result: status === 'pending' ? 'retry' : status })
    if (!result.ok) {
      options.onAttemptFailed?.({
        // The origin only: a hook URL's path or query may carry a token.
        delivery: d.id, alert: d.alert_id, url: originOf(d.url), attempts, status: result.status, error: result.error, next_attempt_at: next === null ? null : next.toISOString()
      })
    }
  }

  /**
   * The `quota_near_limit` alerts of the limits a consume took across 80 %: once per period and limit (their
   * dedupe key makes a second one, on any instance, store nothing).
   */
  function nearLimit (input: NearLimitInput): Array<{ op: CreateAlertOp, view: AlertView }> {
    return limitsCrossed(input.before, input.after, input.limits).map((name) => raise({
      account: input.account,
      key: null,
      contact: null,
      trigger: 'quota_near_limit',
      severity: 'warning',
      state: null,
      message: null,
      decision_id: input.decision_id,
      dedupe: `quota_near_limit:${name}:${LIMITS[name].period === 'day' ? input.periods.day : input.periods.week}`,
      at: input.at
    }))
  }

  return {
    raise,

    /**
     * `quota_near_limit` for each limit this consume crossed, once per period and limit (a second crossing of
     * the same period, on any instance, stores nothing). Committed after the consume, on its own.
     */
    nearLimit,

    /**
     * `quota_near_limit` for each limit a consume crossed, committed after the consume, on its own (a decision
     * puts `nearLimit`'s operations into its own plan instead). The number stored.
     */
    async quotaCrossed (account: Account, p: { day: string, week: string }, before: UsagePair, after: UsagePair, limits: Limits): Promise<number> {
      let raised = 0
      for (const { op, view } of nearLimit({ account, periods: p, before, after, limits, decision_id: null, at: now() })) {
        const [stored] = await store.commit([op])
        if (stored) {
          raised++
          created.emit({ type: 'created', trigger: view.trigger, severity: view.severity })
        }
      }
      return raised
    },

    /** Tell observers of alerts a committed plan stored. */
    told (view: Pick<AlertView, 'trigger' | 'severity'>): void {
      created.emit({ type: 'created', trigger: view.trigger, severity: view.severity })
    },

    async list (query: { account?: string, status?: 'open' | 'acknowledged', severity?: AlertSeverity, before?: string, limit: number }): Promise<{ alerts: AlertView[], next_before: string | null }> {
      const account = await accounts.get(query.account)
      if (query.before !== undefined && !/^alr_/.test(query.before)) throw BadRequest(`querystring/before ${JSON.stringify(query.before)} is not an alert id`)
      const rows = await store.listAlerts({ account: account.id, status: query.status, severity: query.severity, before: query.before, limit: query.limit })
      const alerts: AlertView[] = []
      for (const row of rows) alerts.push(await view(row))
      return { alerts, next_before: rows.length === query.limit && rows.length > 0 ? rows[rows.length - 1].id : null }
    },

    async get (id: string, accountId?: string): Promise<AlertView & { deliveries: DeliveryView[] }> {
      const account = await accounts.get(accountId)
      const alert = await owned(id, account.id)
      return { ...await view(alert), deliveries: (await store.alertDeliveries(id)).map(deliveryView) }
    },

    /** Acknowledged once, with who; again answers the first acknowledgement. Audited. */
    async ack (id: string, accountId: string | undefined, actor: AuditActor): Promise<AlertView> {
      const account = await accounts.get(accountId)
      await owned(id, account.id)
      const at = now().toISOString()
      await store.commit([
        ackAlertOp(id, at, actor),
        { ...await audit.entry({ account: account.id, actor, type: 'alert_acknowledged', details: { alert_id: id } }), when: (moved: unknown) => moved === true }
      ])
      return await view(await owned(id, account.id))
    },

    /** A test delivery to each of the account's webhooks, now, answered with its result (no outbox, no retry). */
    async test (accountId?: string): Promise<{ deliveries: Array<{ url: string, ok: boolean, status: number | null, error: string | null, duration_ms: number }> }> {
      const account = await accounts.get(accountId)
      const hooks = await accounts.webhookSecrets(account.id)
      const at = now().toISOString()
      const deliveries = await Promise.all(hooks.map(async ({ url, secret }) => {
        const id = `dlv_${ids()}`
        const result = await post(url, secret, 'alert.test', id, {
          type: 'alert.test',
          alert: { id: `alr_test_${id.slice(4)}`, account: account.id, contact: null, trigger: 'sensitive_word', severity: 'high', status: 'open', state: null, message: null, decision_id: null, limit: null, period: null, created_at: at, acknowledged_at: null, acknowledged_by: null }
        })
        return { url, ok: result.ok, status: result.status, error: result.error, duration_ms: Math.round(result.duration_ms) }
      }))
      return { deliveries }
    },

    /** One pass over the outbox: claim what is due and attempt each (at most CLAIM_LIMIT at once). The number attempted. */
    async deliverDue (): Promise<number> {
      const at = now()
      const [claimed] = await store.commit([claimDeliveriesOp(at.toISOString(), new Date(at.getTime() + LEASE_MS).toISOString(), claimId, CLAIM_LIMIT)])
      await Promise.all(claimed.map(attempt))
      return claimed.length
    },

    pending: () => store.pendingDeliveries(),
    observe: created.observe,
    observeDeliveries: delivered.observe
  }
}

export type AlertService = ReturnType<typeof createAlertService>
