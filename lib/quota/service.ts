import type { AccountService } from '../accounts/service.js'
import { UnknownAccount } from '../accounts/errors.js'
import { DEFAULT_ACCOUNT, type Account } from '../accounts/types.js'
import type { Clock, Random } from '../shared/clock.js'
import { createEvents } from '../shared/events.js'
import { lastDays, periodsAt } from '../periods/periods.js'
import type { Periods } from '../periods/types.js'
import type { ResetReads } from '../resets/store.js'
import type { ResetRecord } from '../resets/types.js'
import { InvalidCount } from './errors.js'
import { consumeStateOf, effectiveLimits, grantedDelay, refusalOf, refusalRetry, remainingView, usageView } from './rules.js'
import { consumeAt, keysOf, type QuotaStore } from './store.js'
import type { Kind, Limits, PeriodUsage, Refusal, UsagePair, UsageView } from './types.js'

export interface QuotaServiceOptions {
  store: QuotaStore & Pick<ResetReads, 'lastResets'>
  accounts: AccountService
  now: Clock
  random: Random
}

export interface SendRequest {
  account?: string
  message_type: Kind
  count?: number
  /** Create the account with the defaults when it does not exist (admin keys); otherwise 404. */
  createMissing?: boolean
}

export interface StatusView extends UsageView {
  last_reset: string
  needs_daily_reset: boolean
  needs_weekly_reset: boolean
  account: string
  timezone: string
  limits: Limits
  remaining: UsageView
  last_daily_reset: string | null
  last_weekly_reset: string | null
  next_daily_reset: string
  next_weekly_reset: string
  next_hourly_reset: string
  /** The limits as they bind today: the warm-up lowers the daily one. */
  effective_limits: Limits
  /** The warm-up's day (1 on its first), or null when the account does not warm up. */
  warmup_day: number | null
  /** Until when the account is paused (ISO 8601), or null. */
  paused_until: string | null
}

export type ConsumeView =
  | { allowed: true, delay_seconds: number, usage: UsageView, remaining: UsageView }
  | { allowed: false, reason: Refusal, retry_after_seconds: number, usage: UsageView, remaining: UsageView }

export interface CheckView {
  can_send: boolean
  delay_seconds: number | null
  reason?: Refusal
  retry_after_seconds?: number
}

/** What the engine tells observers (metrics) after the fact. */
export interface ConsumeEvent { kind: Kind, count: number, allowed: boolean, reason?: Refusal }

/** A consume that was granted: the counters before and after it, under these limits (the near-limit alerts). */
export interface GrantEvent { account: Account, periods: Periods, before: UsagePair, after: UsagePair, limits: Limits }

/**
 * An account's counters as the store answered them (after a consume, a refusal or a record), with the
 * instants its day and week end: from then on they are a past period's, which reads 0.
 */
export interface UsageSnapshot { account: string, usage: UsagePair, dayEnd: Date, weekEnd: Date }

const snapshotOf = (account: string, p: Periods, usage: UsagePair): UsageSnapshot => ({ account, usage, dayEnd: p.dayEnd, weekEnd: p.weekEnd })

/** Period settings changing under a send again and again is a broken store, not a race. */
const SEND_ATTEMPTS = 3

function countOf (req: SendRequest): number {
  const count = req.count ?? 1
  if (!Number.isInteger(count) || count < 1) throw InvalidCount()
  return count
}

/**
 * The quota engine: atomic check-and-consume, record, status and history of an account's sends.
 * Time comes only from `now`, randomness only from `random`.
 */
export function createQuotaService (options: QuotaServiceOptions) {
  const { store, accounts, now, random } = options
  const events = createEvents<ConsumeEvent>()
  const usageEvents = createEvents<UsageSnapshot>()
  const grantEvents = createEvents<GrantEvent>()

  function sendAccount (req: SendRequest): Promise<Account> {
    return req.createMissing === true ? accounts.ensure(req.account ?? DEFAULT_ACCOUNT) : accounts.get(req.account)
  }

  async function status (id = DEFAULT_ACCOUNT): Promise<StatusView> {
    const account = await accounts.get(id)
    const at = now()
    const p = periodsAt(at, account)
    const [usage, last, state] = await Promise.all([store.getUsage(account.id, keysOf(p)), store.lastResets(account.id), store.getState(account.id)])
    const st = consumeStateOf(account, state, p.day, at.getTime())
    const effective = effectiveLimits(account.limits, st.warmup_cap)
    const created = Date.parse(account.created_at)
    // An account's creation opens the period it is created in: that period needs no reset.
    const needs = (r: ResetRecord | null, period: string, start: Date): boolean =>
      !(r !== null && r.period === period) && created < start.getTime()
    const lastDaily = last.daily?.timestamp ?? null
    const lastWeekly = last.weekly?.timestamp ?? null
    const newest = [lastDaily, lastWeekly].filter((x): x is string => x !== null).sort().pop()
    return {
      ...usageView(usage),
      last_reset: newest ?? account.created_at,
      needs_daily_reset: needs(last.daily, p.day, p.dayStart),
      needs_weekly_reset: needs(last.weekly, p.week, p.weekStart),
      account: account.id,
      timezone: account.timezone,
      limits: account.limits,
      remaining: remainingView(usage, effective),
      last_daily_reset: lastDaily,
      last_weekly_reset: lastWeekly,
      next_daily_reset: p.dayEnd.toISOString(),
      next_weekly_reset: p.weekEnd.toISOString(),
      next_hourly_reset: p.hourEnd.toISOString(),
      effective_limits: effective,
      warmup_day: account.warmup.enabled ? st.warmup_day : null,
      paused_until: st.paused_until === null ? null : new Date(st.paused_until).toISOString()
    }
  }

  async function check (req: SendRequest): Promise<CheckView> {
    const count = countOf(req)
    const account = await sendAccount({ ...req, createMissing: false })
    const at = now()
    const p = periodsAt(at, account)
    const [usage, stored] = await Promise.all([store.getUsage(account.id, keysOf(p)), store.getState(account.id)])
    const state = consumeStateOf(account, stored, p.day, at.getTime())
    const limit = refusalOf(usage, req.message_type, count, account.limits, state)
    if (limit !== null) return { can_send: false, delay_seconds: null, reason: limit, retry_after_seconds: refusalRetry(limit, state, p, at) }
    return { can_send: true, delay_seconds: grantedDelay(account, req.message_type, usage, account.limits, state, random) }
  }

  /**
   * One guarded write, decided by the account as committed at that moment (the copy read here only makes
   * the period keys): gone meanwhile, it is created again for a key that may create it, else 404; its
   * period settings changed meanwhile, the keys are made again from the committed ones.
   */
  async function send (req: SendRequest, count: number, mode: 'consume' | 'record') {
    let account = await sendAccount(req)
    for (let attempt = 0; ; attempt++) {
      const at = now()
      const p = periodsAt(at, account)
      const [result] = await store.commit([consumeAt(account, p, at, req.message_type, count, mode)])
      if ('limits' in result) return { account, at, p, result }
      if (attempt >= SEND_ATTEMPTS) throw new Error(`store: account ${JSON.stringify(account.id)} kept changing during a ${mode}`)
      if (result.account === 'missing') {
        if (req.createMissing !== true) throw UnknownAccount(account.id)
        account = await accounts.ensure(account.id)
      } else {
        account = { ...account, ...result.zone }
      }
    }
  }

  async function consume (req: SendRequest): Promise<ConsumeView> {
    const count = countOf(req)
    const { account: read, at, p, result } = await send(req, count, 'consume')
    const account = { ...read, limits: result.limits }
    events.emit({ kind: req.message_type, count, allowed: result.ok, ...(result.ok ? {} : { reason: result.limit }) })
    usageEvents.emit(snapshotOf(account.id, p, result.ok ? result.after : result.usage))
    if (result.ok) grantEvents.emit({ account, periods: p, before: result.before, after: result.after, limits: result.limits })
    const effective = effectiveLimits(result.limits, result.state.warmup_cap)
    if (!result.ok) {
      return {
        allowed: false,
        reason: result.limit,
        retry_after_seconds: refusalRetry(result.limit, result.state, p, at),
        usage: usageView(result.usage),
        remaining: remainingView(result.usage, effective)
      }
    }
    return {
      allowed: true,
      delay_seconds: grantedDelay(account, req.message_type, result.before, result.limits, result.state, random),
      usage: usageView(result.after),
      remaining: remainingView(result.after, effective)
    }
  }

  async function record (req: SendRequest): Promise<{ recorded: true, usage: UsageView }> {
    const count = countOf(req)
    const { account, p, result } = await send(req, count, 'record')
    // A record never refuses; a store that says otherwise is broken.
    if (!result.ok) throw new Error('store: a record was refused')
    usageEvents.emit(snapshotOf(account.id, p, result.after))
    return { recorded: true, usage: usageView(result.after) }
  }

  async function history (id: string | undefined, days: number): Promise<{ days: Array<{ day: string } & PeriodUsage> }> {
    const account = await accounts.get(id)
    const keys = lastDays(periodsAt(now(), account).day, days)
    const rows = await store.dayHistory(account.id, keys[0], keys[keys.length - 1])
    const byDay = new Map(rows.map((r) => [r.day, r]))
    return {
      days: keys.map((day) => {
        const r = byDay.get(day)
        return { day, messages: r?.messages ?? 0, images: r?.images ?? 0, videos: r?.videos ?? 0 }
      })
    }
  }

  return {
    status,
    check,
    consume,
    record,
    history,
    /** Today's and this week's counters, for metrics: read once per account, events keep them current. */
    async usageOf (account: Account): Promise<UsageSnapshot> {
      const p = periodsAt(now(), account)
      return snapshotOf(account.id, p, await store.getUsage(account.id, keysOf(p)))
    },
    /** A consume or record another engine made in its own plan (a decision), told to the same observers once committed. */
    report (account: Account, p: Periods, usage: UsagePair, consume: ConsumeEvent | null, grant?: { before: UsagePair, limits: Limits }): void {
      if (consume !== null) events.emit(consume)
      usageEvents.emit(snapshotOf(account.id, p, usage))
      if (grant !== undefined) grantEvents.emit({ account, periods: p, before: grant.before, after: usage, limits: grant.limits })
    },
    /** Be told of every granted consume, with the counters before and after (near-limit alerts). */
    observeGrants: grantEvents.observe,
    /** Be told of every consume decision (metrics). */
    observe: events.observe,
    /** Be told of an account's counters after every consume and record (metrics' usage gauges). */
    observeUsage: usageEvents.observe
  }
}

export type QuotaService = ReturnType<typeof createQuotaService>
