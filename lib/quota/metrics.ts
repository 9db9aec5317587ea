import { Counter, Gauge, type Registry } from 'prom-client'
import { UnknownAccount } from '../accounts/errors.js'
import type { AccountService } from '../accounts/service.js'
import type { Account } from '../accounts/types.js'
import type { ResetService } from '../resets/service.js'
import type { Clock } from '../shared/clock.js'
import { zeroUsage } from './rules.js'
import type { QuotaService, UsageSnapshot } from './service.js'
import type { PeriodUsage } from './types.js'

/** `sellify_quota_usage` lists at most this many accounts (the first by id), so a large fleet cannot blow up a scrape. */
const USAGE_ACCOUNTS_MAX = 1000
/** The listed accounts' counters are read this many at a time on start. */
const START_SLICE = 100

export interface QuotaMetricsOptions {
  quota: QuotaService
  accounts: AccountService
  resets: ResetService
  now: Clock
  log: { warn: (obj: object, msg: string) => void }
  /**
   * List each account's counters (`sellify_quota_usage{account,counter}`). Only where /metrics needs a key:
   * account ids are WhatsApp numbers, which a public endpoint must not show.
   */
  usage: boolean
}

export interface QuotaMetrics {
  /** Read the accounts and the listed ones' counters once; from then on the engines' events keep them current. */
  start: () => Promise<void>
  /** Wait for the reads in progress (before the store closes). */
  stop: () => Promise<void>
  /** Resolves when no read of counters is in progress. */
  idle: () => Promise<void>
}

/** The quota engine's collectors: consume decisions by kind and result, refusals by limit, per-account usage. */
export function registerQuotaMetrics (register: Registry, options: QuotaMetricsOptions): QuotaMetrics {
  const { quota } = options
  const registers = [register]
  const consumes = new Counter({ name: 'sellify_quota_consume_total', help: 'Consume decisions by message kind and result', labelNames: ['kind', 'result'], registers })
  const limitReached = new Counter({ name: 'sellify_quota_limit_reached_total', help: 'Consumes refused, by the limit they would have passed', labelNames: ['limit'], registers })
  quota.observe((event) => {
    consumes.inc({ kind: event.kind, result: event.allowed ? 'allowed' : 'denied' })
    if (event.reason !== undefined) limitReached.inc({ limit: event.reason })
  })
  if (!options.usage) return { start: async () => {}, stop: async () => {}, idle: async () => {} }
  return registerUsageGauges(register, options)
}

/** What the gauge shows of one listed account: its counters as last answered, and when they stop being current. */
interface Held {
  dayEnd: number
  weekEnd: number
  day: PeriodUsage
  week: PeriodUsage
  /** When it was learnt (a sequence number): a read that began before a newer event does not overwrite it. */
  stamp: number
}

const ZERO = zeroUsage()

/**
 * `sellify_quota_usage`, held in memory and kept current by the engines' events: the counters each consume
 * and record answered, the manual resets, the accounts' creations, changes and deletions. A scrape reads
 * nothing of the store; it only drops the counters whose period has ended, so it costs the same with 10
 * accounts or 100 000. The store is read once on start, then one account at a time when one comes onto
 * the list or changes its time zone, reset time or week start.
 *
 * Sends made through another instance on the same database reach these gauges with this instance's next
 * event for the account (each event carries the stored counters, not an increment).
 */
function registerUsageGauges (register: Registry, options: QuotaMetricsOptions): QuotaMetrics {
  const { quota, accounts, resets, now, log } = options
  /** Every account id known here, sorted: the first USAGE_ACCOUNTS_MAX of them are listed. */
  let ids: string[] = []
  /** The listed accounts' counters; a listed account whose counters are being read is absent. */
  const held = new Map<string, Held>()
  const reads = new Set<Promise<void>>()
  /** How many reads of each account are in flight. */
  const reading = new Map<string, number>()
  let stamp = 0
  /** While start() reads the list: the accounts deleted meanwhile, which the list may still hold. */
  let deletedDuringLoad: Set<string> | null = null
  let closing = false

  /** Where `id` is, or would be inserted, in `ids`. */
  function position (id: string): { index: number, found: boolean } {
    let lo = 0
    let hi = ids.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (ids[mid] < id) lo = mid + 1
      else hi = mid
    }
    return { index: lo, found: ids[lo] === id }
  }

  const isListed = (id: string): boolean => {
    const { index, found } = position(id)
    return found && index < USAGE_ACCOUNTS_MAX
  }

  function hold (id: string, snapshot: Pick<UsageSnapshot, 'usage' | 'dayEnd' | 'weekEnd'>, at: number): void {
    if (!isListed(id)) return
    const current = held.get(id)
    if (current !== undefined && current.stamp > at) return
    held.set(id, { dayEnd: snapshot.dayEnd.getTime(), weekEnd: snapshot.weekEnd.getTime(), day: snapshot.usage.day, week: snapshot.usage.week, stamp: at })
  }

  /** Adds the account; true when it is listed. A full list lets its last account go. */
  function insert (id: string): boolean {
    const { index, found } = position(id)
    if (found) return index < USAGE_ACCOUNTS_MAX
    ids.splice(index, 0, id)
    if (index >= USAGE_ACCOUNTS_MAX) return false
    if (ids.length > USAGE_ACCOUNTS_MAX) held.delete(ids[USAGE_ACCOUNTS_MAX])
    return true
  }

  /** Forgets the account; when it was listed, the next one comes onto the list. */
  function remove (id: string): void {
    const { index, found } = position(id)
    if (!found) return
    ids.splice(index, 1)
    held.delete(id)
    if (index < USAGE_ACCOUNTS_MAX && ids.length >= USAGE_ACCOUNTS_MAX) read(ids[USAGE_ACCOUNTS_MAX - 1])
  }

  /** Reads one listed account's counters from the store (never during a scrape). */
  function read (id: string, account?: Account): Promise<void> {
    const at = ++stamp
    reading.set(id, (reading.get(id) ?? 0) + 1)
    const work = (async () => {
      try {
        hold(id, await quota.usageOf(account ?? await accounts.require(id)), at)
      } catch (err) {
        if (UnknownAccount.is(err)) remove(id)
        else if (!closing) log.warn({ err }, 'metrics: could not read the usage of an account')
      } finally {
        const left = (reading.get(id) ?? 1) - 1
        if (left > 0) reading.set(id, left)
        else reading.delete(id)
      }
    })()
    reads.add(work)
    work.finally(() => reads.delete(work)).catch(() => {})
    return work
  }

  async function idle (): Promise<void> {
    while (reads.size > 0) await Promise.allSettled([...reads])
  }

  quota.observeUsage((snapshot) => {
    if (insert(snapshot.account)) hold(snapshot.account, snapshot, ++stamp)
  })

  accounts.observe((event) => {
    if (event.type === 'deleted') {
      deletedDuringLoad?.add(event.account)
      remove(event.account)
      return
    }
    if (!insert(event.account)) return
    // A new account has counted nothing (a deleted one's counters went with it). Held already: a send of
    // the account was seen first, which is newer.
    if (event.type === 'created') {
      if (!held.has(event.account)) hold(event.account, { usage: { hour: ZERO, day: ZERO, week: ZERO }, dayEnd: new Date(0), weekEnd: new Date(0) }, ++stamp)
    } else {
      // Another time zone, reset time or week start may put it in other periods, whose counters it has.
      read(event.account, event.current)
    }
  })

  resets.observe((event) => {
    // Scheduled and catch-up resets open a new period and clear nothing; a manual one clears the current one.
    if (event.source !== 'manual' || !insert(event.account)) return
    const current = held.get(event.account)
    if (current !== undefined) {
      const cleared = event.reset_type === 'daily' ? { day: ZERO } : { week: ZERO }
      held.set(event.account, { ...current, ...cleared, stamp: ++stamp })
    }
    // A read in flight may have seen the counters before the reset, and is dropped as older: read again.
    if (current === undefined || reading.has(event.account)) read(event.account)
  })

  // eslint-disable-next-line no-new
  new Gauge({
    name: 'sellify_quota_usage',
    help: `Current period counters per account (first ${USAGE_ACCOUNTS_MAX} accounts by id)`,
    labelNames: ['account', 'counter'],
    registers: [register],
    collect () {
      const at = now().getTime()
      // Reset and refilled in one synchronous step, so a concurrent scrape never reads it half-filled.
      this.reset()
      for (const [account, h] of held) {
        const day = at < h.dayEnd ? h.day : ZERO
        const week = at < h.weekEnd ? h.week : ZERO
        this.set({ account, counter: 'messages_today' }, day.messages)
        this.set({ account, counter: 'messages_this_week' }, week.messages)
        this.set({ account, counter: 'images_today' }, day.images)
        this.set({ account, counter: 'videos_this_week' }, week.videos)
      }
    }
  })

  return {
    async start (): Promise<void> {
      const gone = new Set<string>()
      deletedDuringLoad = gone
      let list: Account[]
      try {
        list = await accounts.list()
      } catch (err) {
        // The gauges then fill from the events alone: a scrape still answers with everything else.
        log.warn({ err }, 'metrics: could not read the accounts')
        return
      } finally {
        deletedDuringLoad = null
      }
      // One sort rather than one insertion per account; events seen meanwhile have added theirs already.
      ids = [...new Set([...ids, ...list.map((a) => a.id).filter((id) => !gone.has(id))])].sort()
      for (const id of [...held.keys()]) if (!isListed(id)) held.delete(id)
      const byId = new Map(list.map((a) => [a.id, a]))
      const unread = ids.slice(0, USAGE_ACCOUNTS_MAX).filter((id) => !held.has(id))
      for (let i = 0; i < unread.length; i += START_SLICE) {
        if (closing) return
        await Promise.all(unread.slice(i, i + START_SLICE).map((id) => read(id, byId.get(id))))
      }
    },
    async stop (): Promise<void> {
      closing = true
      await idle()
    },
    idle
  }
}
