import type { AccountService } from '../accounts/service.js'
import { DEFAULT_ACCOUNT, type Account } from '../accounts/types.js'
import type { Clock, Random } from '../shared/clock.js'
import { createEvents } from '../shared/events.js'
import { lastDays, periodsAt, type Periods } from '../periods/periods.js'
import type { ResetReads } from '../resets/store.js'
import type { ResetRecord } from '../resets/types.js'
import { InvalidCount } from './errors.js'
import { firstExceeded, pacingDelay, remainingView, usageView } from './rules.js'
import { consumeOp, type QuotaStore } from './store.js'
import { LIMITS, type Kind, type LimitName, type Limits, type PeriodUsage, type UsagePair, type UsageView } from './types.js'

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
}

export type ConsumeView =
  | { allowed: true, delay_seconds: number, usage: UsageView, remaining: UsageView }
  | { allowed: false, reason: LimitName, retry_after_seconds: number, usage: UsageView, remaining: UsageView }

export interface CheckView {
  can_send: boolean
  delay_seconds: number | null
  reason?: LimitName
  retry_after_seconds?: number
}

/** What the engine tells observers (metrics) after the fact. */
export interface ConsumeEvent { kind: Kind, count: number, allowed: boolean, reason?: LimitName }

/** Seconds until `end`, at least 1 so a client never retries in a busy loop. */
function secondsUntil (end: Date, now: Date): number {
  return Math.max(1, Math.ceil((end.getTime() - now.getTime()) / 1000))
}

function retryAfter (limit: LimitName, p: Periods, at: Date): number {
  return secondsUntil(LIMITS[limit].period === 'day' ? p.dayEnd : p.weekEnd, at)
}

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

  function sendAccount (req: SendRequest): Promise<Account> {
    return req.createMissing === true ? accounts.ensure(req.account ?? DEFAULT_ACCOUNT) : accounts.get(req.account)
  }

  async function status (id = DEFAULT_ACCOUNT): Promise<StatusView> {
    const account = await accounts.get(id)
    const at = now()
    const p = periodsAt(at, account)
    const [usage, last] = await Promise.all([store.getUsage(account.id, p.day, p.week), store.lastResets(account.id)])
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
      remaining: remainingView(usage, account.limits),
      last_daily_reset: lastDaily,
      last_weekly_reset: lastWeekly,
      next_daily_reset: p.dayEnd.toISOString(),
      next_weekly_reset: p.weekEnd.toISOString()
    }
  }

  async function check (req: SendRequest): Promise<CheckView> {
    const count = countOf(req)
    const account = await sendAccount({ ...req, createMissing: false })
    const at = now()
    const p = periodsAt(at, account)
    const usage = await store.getUsage(account.id, p.day, p.week)
    const limit = firstExceeded(usage, req.message_type, count, account.limits)
    if (limit !== null) return { can_send: false, delay_seconds: null, reason: limit, retry_after_seconds: retryAfter(limit, p, at) }
    return { can_send: true, delay_seconds: pacingDelay(account.delays, req.message_type, usage.day.messages, account.limits.messages_per_day, random) }
  }

  async function consume (req: SendRequest): Promise<ConsumeView> {
    const count = countOf(req)
    const account = await sendAccount(req)
    const at = now()
    const p = periodsAt(at, account)
    const [result] = await store.commit([consumeOp({
      account: account.id, day: p.day, week: p.week, kind: req.message_type, count, mode: 'consume', limits: account.limits
    })])
    events.emit({ kind: req.message_type, count, allowed: result.ok, ...(result.ok ? {} : { reason: result.limit }) })
    if (!result.ok) {
      return {
        allowed: false,
        reason: result.limit,
        retry_after_seconds: retryAfter(result.limit, p, at),
        usage: usageView(result.usage),
        remaining: remainingView(result.usage, account.limits)
      }
    }
    return {
      allowed: true,
      delay_seconds: pacingDelay(account.delays, req.message_type, result.before.day.messages, account.limits.messages_per_day, random),
      usage: usageView(result.after),
      remaining: remainingView(result.after, account.limits)
    }
  }

  async function record (req: SendRequest): Promise<{ recorded: true, usage: UsageView }> {
    const count = countOf(req)
    const account = await sendAccount(req)
    const p = periodsAt(now(), account)
    const [result] = await store.commit([consumeOp({
      account: account.id, day: p.day, week: p.week, kind: req.message_type, count, mode: 'record', limits: account.limits
    })])
    // A record never refuses; a store that says otherwise is broken.
    if (!result.ok) throw new Error('store: a record was refused')
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
    /** Today's and this week's counters, for metrics. */
    async usageOf (account: Account): Promise<UsagePair> {
      const p = periodsAt(now(), account)
      return await store.getUsage(account.id, p.day, p.week)
    },
    /** Be told of every consume and record decision (metrics). */
    observe: events.observe
  }
}

export type QuotaService = ReturnType<typeof createQuotaService>
