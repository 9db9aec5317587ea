import type { AccountService } from '../accounts/service.js'
import { assertAccountId } from '../accounts/rules.js'
import type { Account } from '../accounts/types.js'
import { auditOps, type AuditActor, type AuditRecorder } from '../audit/recorder.js'
import type { AppendAuditOp } from '../audit/store.js'
import type { Clock } from '../shared/clock.js'
import type { UnitOfWork } from '../shared/unit-of-work.js'
import { createEvents } from '../shared/events.js'
import { periodsAt } from '../periods/periods.js'
import type { Periods } from '../periods/types.js'
import { recordResetOp, type RecordResetOp, type ResetQuery, type ResetReads } from './store.js'
import type { ResetRecord, ResetSource, ResetType, ResetView } from './types.js'

/** Accounts whose periodic resets are written together. */
const RESET_SLICE = 256

export interface ResetEvent { reset_type: ResetType, source: ResetSource, account: string }

export interface PeriodicResetOptions {
  /** Only these accounts (a job's group). */
  filter?: (a: Account) => boolean
  /**
   * A timer may fire a hair before the boundary it was set for: look this far ahead so the run belongs to
   * the period it was meant to open (never far enough to reach the next one).
   */
  lookaheadMs?: number
}

/** Resets: manual ones that clear counters, and the scheduled and catch-up ones recorded exactly once. */
export function createResetService (options: { store: ResetReads & UnitOfWork<RecordResetOp | AppendAuditOp>, accounts: AccountService, now: Clock, audit?: AuditRecorder }) {
  const { store, accounts, now, audit } = options
  /** The reset on record, only when the ledger recorded it (a periodic one another instance did is not). */
  const recordOf = async (account: string, type: ResetType, source: ResetSource, period: string, actor: AuditActor): Promise<AppendAuditOp[]> =>
    await auditOps(audit, { account, actor, type: 'reset', action: `${type}:${source}`, details: { reset_type: type, source, period } }, (r) => r !== null)
  const events = createEvents<ResetEvent>()

  async function targets (id: string | undefined): Promise<Account[]> {
    return id === undefined ? await accounts.list() : [await accounts.get(id)]
  }

  /** Manual reset: clears the current period's counters of one account, or of every account. */
  async function manual (type: ResetType, id: string | undefined, actor: AuditActor): Promise<ResetView> {
    const list = await targets(id)
    const at = now()
    const timestamp = at.toISOString()
    for (const account of list) {
      const p = periodsAt(at, account)
      const period = type === 'daily' ? p.day : p.week
      await store.commit([
        recordResetOp({ account: account.id, reset_type: type, source: 'manual', period, timestamp }),
        ...await recordOf(account.id, type, 'manual', period, actor)
      ])
      events.emit({ reset_type: type, source: 'manual', account: account.id })
    }
    return { reset_type: type, timestamp, accounts: list.map((a) => a.id) }
  }

  /**
   * Record a `schedule` or `catch-up` reset for each account whose current period has none yet.
   * Exactly once per (account, type, period) even across instances: the store's ledger decides.
   */
  async function periodic (type: ResetType, source: Exclude<ResetSource, 'manual'>, options: PeriodicResetOptions = {}): Promise<ResetRecord[]> {
    const { filter, lookaheadMs = 0 } = options
    const list = (await accounts.list()).filter((a) => filter === undefined || filter(a))
    const at = now()
    const periodsFor = (a: Account): Periods => periodsAt(new Date(at.getTime() + lookaheadMs), a)
    const recorded: ResetRecord[] = []
    const one = async (account: Account): Promise<void> => {
      const p = periodsFor(account)
      const [period, previous, start] = type === 'daily' ? [p.day, p.previousDay, p.dayStart] : [p.week, p.previousWeek, p.weekStart]
      // The period an account was created in began with the account; it has nothing to reset.
      if (Date.parse(account.created_at) >= start.getTime()) return
      const [r] = await store.commit([
        recordResetOp({ account: account.id, reset_type: type, source, period, previous_period: previous, timestamp: at.toISOString() }),
        ...await recordOf(account.id, type, source, period, 'system')
      ])
      if (r !== null) {
        recorded.push(r)
        events.emit({ reset_type: type, source, account: account.id })
      }
    }
    // In slices rather than one by one: the stores commit a slice's writes together (one fsync, one
    // round trip), so a catch-up over 10 000 accounts does not hold up `ready` for seconds.
    for (let i = 0; i < list.length; i += RESET_SLICE) {
      await Promise.all(list.slice(i, i + RESET_SLICE).map(one))
    }
    return recorded
  }

  return {
    resetDaily: (account?: string, actor: AuditActor = 'system') => manual('daily', account, actor),
    resetWeekly: (account?: string, actor: AuditActor = 'system') => manual('weekly', account, actor),
    periodic,
    async list (query: ResetQuery): Promise<ResetRecord[]> {
      if (query.account !== undefined) assertAccountId(query.account)
      return await store.listResets(query)
    },
    /** Be told of every reset recorded (metrics). */
    observe: events.observe
  }
}

export type ResetService = ReturnType<typeof createResetService>
