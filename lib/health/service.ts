import type { AccountService } from '../accounts/service.js'
import type { Account } from '../accounts/types.js'
import type { AlertView, RaiseInput } from '../alerts/service.js'
import type { AuditService } from '../audit/service.js'
import type { AuditActor } from '../audit/types.js'
import type { Place } from '../crypto/index.js'
import type { EncryptionService } from '../encryption/service.js'
import { pausedUntil } from '../quota/rules.js'
import type { QuotaReads } from '../quota/store.js'
import type { Clock } from '../shared/clock.js'
import { createEvents } from '../shared/events.js'
import { thenOp, type UnitOfWork } from '../shared/unit-of-work.js'
import type { CreateAlertOp } from '../alerts/store.js'
import type { StoreOp } from '../store/contract.js'
import { advice, healthScore } from './rules.js'
import { pauseOp, signalOp, type HealthReads, type SignalResult } from './store.js'
import { PAUSE_MS, SIGNAL_WINDOW_MS, type SignalType, type StoredSignal } from './types.js'

/** Recent signals a health view lists. */
const LISTED = 20

export const signalPlace = (id: string): Place => ({ table: 'account_signals', column: 'detail', row: id })

export interface SignalView { id: string, type: SignalType, at: string, detail: string | null }

export interface HealthView {
  account: string
  score: number
  paused_until: string | null
  pause_reason: string | null
  /** Until when pacing is doubled (the score fell below 60 and has not recovered yet), or null. */
  slowed_until: string | null
  signals: SignalView[]
  advice: string
}

export interface SignalEvent { type: SignalType, paused: boolean }

export interface HealthServiceOptions {
  store: HealthReads & Pick<QuotaReads, 'getState'> & UnitOfWork<StoreOp>
  accounts: AccountService
  encryption: Pick<EncryptionService, 'seal' | 'openOrFail'>
  audit: Pick<AuditService, 'entry'>
  /** Builds the `account_paused` alert a pause by the score raises (lib/alerts). */
  raise: (input: RaiseInput) => { op: CreateAlertOp, view: AlertView }
  ids: () => string
  now: Clock
}

const iso = (ms: number | null): string | null => ms === null ? null : new Date(ms).toISOString()

/**
 * The account's health (README, "How quotas work"): the signals a gateway reports, the score they leave, the
 * slow-down and the pause they cause, and the pause by hand. The consume and the decisions read the pause
 * and the slow-down from the state this writes.
 */
export function createHealthService (options: HealthServiceOptions) {
  const { store, accounts, encryption, audit, raise, ids, now } = options
  const signalEvents = createEvents<SignalEvent>()
  const pausedEvents = createEvents<AlertView>()

  async function view (account: Account, at: number): Promise<HealthView> {
    const [state, rows] = await Promise.all([store.getState(account.id), store.listSignals(account.id, at - SIGNAL_WINDOW_MS, 1000)])
    const score = healthScore(rows, at)
    const until = pausedUntil(state, at)
    const signals: SignalView[] = []
    for (const s of rows.slice(0, LISTED)) {
      signals.push({ id: s.id, type: s.type, at: new Date(s.at).toISOString(), detail: s.detail === null ? null : await encryption.openOrFail(s.detail, signalPlace(s.id)) })
    }
    return {
      account: account.id,
      score,
      paused_until: iso(until),
      pause_reason: until === null ? null : state.pause_reason,
      slowed_until: state.slow_until !== null && state.slow_until > at ? iso(state.slow_until) : null,
      signals,
      advice: advice(score, until !== null)
    }
  }

  return {
    async health (id: string): Promise<HealthView> {
      return await view(await accounts.get(id), now().getTime())
    },

    /**
     * Store what the gateway saw. When the score falls below the pause threshold the account is paused for an
     * hour and an `account_paused` alert is raised, in the same transaction as the signal.
     */
    async signal (id: string, input: { type: SignalType, detail?: string }, actor: AuditActor): Promise<HealthView & { signal_id: string }> {
      const account = await accounts.get(id)
      const at = now()
      const signalId = `sig_${ids()}`
      const sealed = input.detail === undefined || input.detail === '' ? null : await encryption.seal(account.id, null, input.detail, signalPlace(signalId))
      const signal: StoredSignal = { id: signalId, account: account.id, type: input.type, at: at.getTime(), key_id: sealed?.data_key ?? null, detail: sealed?.value ?? null }
      const recorded = await audit.entry({ account: account.id, actor, type: 'account_signal', details: { signal_id: signalId, signal: input.type } })
      const pausedRecord = await audit.entry({ account: account.id, actor: 'system', type: 'account_paused', details: { reason: 'health', signal_id: signalId, minutes: PAUSE_MS / 60_000 } })
      const alert = raise({
        account, key: null, contact: null, trigger: 'account_paused', severity: 'critical', state: null, message: null, decision_id: null, at
      })
      const [result] = await store.commit([
        signalOp(signal),
        thenOp<StoreOp>((r) => (r[0] as SignalResult).paused ? [alert.op, pausedRecord] : []),
        recorded
      ])
      const outcome = result as SignalResult
      signalEvents.emit({ type: input.type, paused: outcome.paused })
      if (outcome.paused) pausedEvents.emit(alert.view)
      return { signal_id: signalId, ...await view(account, at.getTime()) }
    },

    /** Pause by hand for `minutes` (an hour unless told): every consume refused, every decision `stop_automation`. */
    async pause (id: string, minutes: number | undefined, actor: AuditActor): Promise<HealthView> {
      const account = await accounts.get(id)
      const at = now().getTime()
      const until = at + (minutes ?? PAUSE_MS / 60_000) * 60_000
      await store.commit([
        pauseOp(account.id, until, 'manual'),
        await audit.entry({ account: account.id, actor, type: 'account_paused', details: { reason: 'manual', until: new Date(until).toISOString() } })
      ])
      return await view(account, at)
    },

    /** Lift a pause, by hand or by the score; the score itself is what the signals left. */
    async resume (id: string, actor: AuditActor): Promise<HealthView> {
      const account = await accounts.get(id)
      const at = now().getTime()
      await store.commit([pauseOp(account.id, null, null), await audit.entry({ account: account.id, actor, type: 'account_resumed', details: {} })])
      return await view(account, at)
    },

    /** Be told of every stored signal (metrics). */
    observeSignals: signalEvents.observe,
    /** Be told of every `account_paused` alert a signal raised, once committed (its webhooks are due). */
    observePauses: pausedEvents.observe
  }
}

export type HealthService = ReturnType<typeof createHealthService>
