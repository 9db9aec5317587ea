import { badRequest, conflict, guardStore, notFound, storeUnavailable } from './errors.js'
import { isValidTimeZone, lastDays, parseResetTime, periodsAt, type Periods } from './periods.js'
import { firstExceeded, pacingDelay, remainingView, usageView, type UsageView } from './quota-rules.js'
import type { ResetQuery, Store, UsagePair } from './store/types.js'
import type { Account, AccountConfig, Kind, LimitName, Limits, PeriodUsage, ResetRecord, ResetSource, ResetType } from './types.js'

export const DEFAULT_ACCOUNT = 'default'
export const ACCOUNT_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,127}$'
const ACCOUNT_ID = new RegExp(ACCOUNT_ID_PATTERN)
/** Accounts whose periodic resets are written together. */
const RESET_SLICE = 256

export interface QuotaServiceOptions {
  store: Store
  /** Configuration of accounts created without one (`default`, implicit creation). */
  defaults: AccountConfig
  now: () => Date
  random: () => number
  /**
   * How long an account's configuration is trusted from memory. Several instances on one PostgreSQL
   * see another instance's account change within this time; this instance sees its own at once.
   */
  accountCacheMs?: number
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

export interface ResetView {
  reset_type: ResetType
  timestamp: string
  accounts: string[]
}

/** What the engine tells observers (metrics, the scheduler) after the fact. */
export type QuotaEvent =
  | { type: 'consume', kind: Kind, count: number, allowed: boolean, reason?: LimitName }
  | { type: 'reset', reset_type: ResetType, source: ResetSource, account: string }
  | { type: 'accounts' }

export type AccountInput = Partial<Omit<AccountConfig, 'limits' | 'delays'>> & {
  limits?: Partial<Limits>
  delays?: Partial<AccountConfig['delays']>
}

/** Seconds until `end`, at least 1 so a client never retries in a busy loop. */
function secondsUntil (end: Date, now: Date): number {
  return Math.max(1, Math.ceil((end.getTime() - now.getTime()) / 1000))
}

export function assertAccountId (id: string, field = 'account'): void {
  if (!ACCOUNT_ID.test(id)) throw badRequest(`${field} must match ${ACCOUNT_ID_PATTERN}`)
}

/**
 * The quota engine: accounts, atomic check-and-consume, resets and history, over any Store.
 * Time comes only from `now`, randomness only from `random`.
 */
export function createQuotaService (options: QuotaServiceOptions) {
  const { store, defaults, now, random } = options
  const cacheMs = options.accountCacheMs ?? 5000
  const cache = new Map<string, { account: Account, until: number }>()
  const listeners: Array<(event: QuotaEvent) => void> = []

  function emit (event: QuotaEvent): void {
    for (const listener of listeners) listener(event)
  }

  function remember (account: Account): Account {
    cache.set(account.id, { account, until: Date.now() + cacheMs })
    return account
  }

  async function findAccount (id: string): Promise<Account | null> {
    const hit = cache.get(id)
    // The cache lifetime is wall-clock on purpose: it bounds staleness, not quota time.
    if (hit !== undefined && hit.until > Date.now()) return hit.account
    const account = await guardStore(store.getAccount(id))
    if (account === null) {
      cache.delete(id)
      return null
    }
    return remember(account)
  }

  async function requireAccount (id: string): Promise<Account> {
    assertAccountId(id)
    const account = await findAccount(id)
    if (account === null) throw notFound(`account ${JSON.stringify(id)} does not exist`, 'SELLIFY_UNKNOWN_ACCOUNT')
    return account
  }

  function newAccount (id: string, config: AccountConfig): Account {
    return { id, ...config, created_at: now().toISOString() }
  }

  async function ensureAccount (id: string): Promise<Account> {
    assertAccountId(id)
    const found = await findAccount(id)
    if (found !== null) return found
    const account = remember(await guardStore(store.ensureAccount(newAccount(id, defaults))))
    emit({ type: 'accounts' })
    return account
  }

  function sendAccount (req: SendRequest): Promise<Account> {
    const id = req.account ?? DEFAULT_ACCOUNT
    // `default` always exists (SPEC §4), so it is created on first use whoever asks.
    return req.createMissing === true || id === DEFAULT_ACCOUNT ? ensureAccount(id) : requireAccount(id)
  }

  function countOf (req: SendRequest): number {
    const count = req.count ?? 1
    if (!Number.isInteger(count) || count < 1) throw badRequest('count must be a whole number of at least 1')
    return count
  }

  function retryAfter (limit: LimitName, p: Periods, at: Date): number {
    return secondsUntil(limit.endsWith('_per_day') ? p.dayEnd : p.weekEnd, at)
  }

  async function status (id = DEFAULT_ACCOUNT): Promise<StatusView> {
    const account = id === DEFAULT_ACCOUNT ? await ensureAccount(id) : await requireAccount(id)
    const at = now()
    const p = periodsAt(at, account)
    const [usage, last] = await guardStore(Promise.all([store.getUsage(account.id, p.day, p.week), store.lastResets(account.id)]))
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
    const usage = await guardStore(store.getUsage(account.id, p.day, p.week))
    const limit = firstExceeded(usage, req.message_type, count, account.limits)
    if (limit !== null) return { can_send: false, delay_seconds: null, reason: limit, retry_after_seconds: retryAfter(limit, p, at) }
    return { can_send: true, delay_seconds: pacingDelay(account.delays, req.message_type, usage.day.messages, account.limits.messages_per_day, random) }
  }

  async function consume (req: SendRequest): Promise<ConsumeView> {
    const count = countOf(req)
    const account = await sendAccount(req)
    const at = now()
    const p = periodsAt(at, account)
    const result = await guardStore(store.consume({
      account: account.id, day: p.day, week: p.week, kind: req.message_type, count, mode: 'consume', limits: account.limits
    }))
    emit({ type: 'consume', kind: req.message_type, count, allowed: result.ok, ...(result.ok ? {} : { reason: result.limit }) })
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
    const result = await guardStore(store.consume({
      account: account.id, day: p.day, week: p.week, kind: req.message_type, count, mode: 'record', limits: account.limits
    }))
    // A record never refuses; a store that says otherwise is broken, and failing closed is the safe answer.
    if (!result.ok) throw storeUnavailable(new Error('store refused a record'))
    return { recorded: true, usage: usageView(result.after) }
  }

  async function accountsFor (id: string | undefined): Promise<Account[]> {
    if (id !== undefined) return [id === DEFAULT_ACCOUNT ? await ensureAccount(id) : await requireAccount(id)]
    await ensureAccount(DEFAULT_ACCOUNT)
    return await guardStore(store.listAccounts())
  }

  /** Manual reset: clears the current period's counters of one account, or of every account. */
  async function manualReset (type: ResetType, id?: string): Promise<ResetView> {
    const targets = await accountsFor(id)
    const at = now()
    const timestamp = at.toISOString()
    for (const account of targets) {
      const p = periodsAt(at, account)
      await guardStore(store.recordReset({
        account: account.id, reset_type: type, source: 'manual', period: type === 'daily' ? p.day : p.week, timestamp
      }))
      emit({ type: 'reset', reset_type: type, source: 'manual', account: account.id })
    }
    return { reset_type: type, timestamp, accounts: targets.map((a) => a.id) }
  }

  /**
   * Record a `schedule` or `catch-up` reset for each account whose current period has none yet.
   * Exactly once per (account, type, period) even across instances: the store's ledger decides.
   */
  async function periodicReset (type: ResetType, source: Exclude<ResetSource, 'manual'>, options: { filter?: (a: Account) => boolean, lookaheadMs?: number } = {}): Promise<ResetRecord[]> {
    const { filter, lookaheadMs = 0 } = options
    await ensureAccount(DEFAULT_ACCOUNT)
    const accounts = (await guardStore(store.listAccounts())).filter((a) => filter === undefined || filter(a))
    const at = now()
    // A timer may fire a hair before the boundary it was set for: look a little ahead so the run
    // belongs to the period it was meant to open (never far enough to reach the next one).
    const periodsFor = (a: Account): Periods => periodsAt(new Date(at.getTime() + lookaheadMs), a)
    const recorded: ResetRecord[] = []
    const one = async (account: Account): Promise<void> => {
      const p = periodsFor(account)
      const [period, previous, start] = type === 'daily' ? [p.day, p.previousDay, p.dayStart] : [p.week, p.previousWeek, p.weekStart]
      // The period an account was created in began with the account; it has nothing to reset.
      if (Date.parse(account.created_at) >= start.getTime()) return
      const r = await guardStore(store.recordReset({
        account: account.id, reset_type: type, source, period, previous_period: previous, timestamp: at.toISOString()
      }))
      if (r !== null) {
        recorded.push(r)
        emit({ type: 'reset', reset_type: type, source, account: account.id })
      }
    }
    // In slices rather than one by one: the stores commit a slice's writes together (one fsync, one
    // round trip), so a catch-up over 10 000 accounts does not hold up `ready` for seconds.
    for (let i = 0; i < accounts.length; i += RESET_SLICE) {
      await Promise.all(accounts.slice(i, i + RESET_SLICE).map(one))
    }
    return recorded
  }

  async function history (id: string | undefined, days: number): Promise<{ days: Array<{ day: string } & PeriodUsage> }> {
    const account = id === undefined || id === DEFAULT_ACCOUNT ? await ensureAccount(id ?? DEFAULT_ACCOUNT) : await requireAccount(id)
    const keys = lastDays(periodsAt(now(), account).day, days)
    const rows = await guardStore(store.dayHistory(account.id, keys[0], keys[keys.length - 1]))
    const byDay = new Map(rows.map((r) => [r.day, r]))
    return {
      days: keys.map((day) => {
        const r = byDay.get(day)
        return { day, messages: r?.messages ?? 0, images: r?.images ?? 0, videos: r?.videos ?? 0 }
      })
    }
  }

  async function listResets (query: ResetQuery): Promise<ResetRecord[]> {
    if (query.account !== undefined) assertAccountId(query.account)
    return await guardStore(store.listResets(query))
  }

  function resolveConfig (input: AccountInput, base: AccountConfig): AccountConfig {
    const config: AccountConfig = {
      timezone: input.timezone ?? base.timezone,
      reset_time: input.reset_time ?? base.reset_time,
      week_start: input.week_start ?? base.week_start,
      limits: { ...base.limits, ...input.limits },
      delays: { ...base.delays, ...input.delays }
    }
    if (!isValidTimeZone(config.timezone)) throw badRequest(`timezone ${JSON.stringify(config.timezone)} is not a known IANA time zone`)
    if (parseResetTime(config.reset_time) === null) throw badRequest('reset_time must be HH:MM, from 00:00 to 23:59')
    if (config.delays.min_seconds > config.delays.max_seconds) throw badRequest('delays.min_seconds must not exceed delays.max_seconds')
    return config
  }

  const accounts = {
    async get (id: string): Promise<Account> {
      return id === DEFAULT_ACCOUNT ? await ensureAccount(id) : await requireAccount(id)
    },
    async list (): Promise<Account[]> {
      await ensureAccount(DEFAULT_ACCOUNT)
      return await guardStore(store.listAccounts())
    },
    /** Full configuration: what is omitted takes the defaults (SPEC §5), not the previous values. */
    async put (id: string, input: AccountInput): Promise<{ account: Account, created: boolean }> {
      assertAccountId(id)
      const config = resolveConfig(input, defaults)
      const result = await guardStore(store.putAccount(newAccount(id, config)))
      remember(result.account)
      emit({ type: 'accounts' })
      return result
    },
    async delete (id: string): Promise<void> {
      assertAccountId(id)
      if (id === DEFAULT_ACCOUNT) throw conflict('the default account cannot be deleted', 'SELLIFY_DEFAULT_ACCOUNT')
      cache.delete(id)
      if (!await guardStore(store.deleteAccount(id, now().toISOString()))) throw notFound(`account ${JSON.stringify(id)} does not exist`, 'SELLIFY_UNKNOWN_ACCOUNT')
      emit({ type: 'accounts' })
    }
  }

  return {
    status,
    check,
    consume,
    record,
    resetDaily: (account?: string) => manualReset('daily', account),
    resetWeekly: (account?: string) => manualReset('weekly', account),
    periodicReset,
    history,
    listResets,
    accounts,
    /** Be told of every consume, reset and account change (metrics, the scheduler). */
    observe (listener: (event: QuotaEvent) => void): void {
      listeners.push(listener)
    },
    /** Today's and this week's counters, for metrics. */
    async usageOf (account: Account): Promise<UsagePair> {
      const p = periodsAt(now(), account)
      return await guardStore(store.getUsage(account.id, p.day, p.week))
    }
  }
}

export type QuotaService = ReturnType<typeof createQuotaService>
