import type pg from 'pg'
import type { WeekStart } from '../../accounts/types.js'
import type { ConsumeInput, ConsumeResult, ConsumeState, UsageKeys } from '../../quota/store.js'
import { increments, subUsage } from '../../quota/rules.js'
import { LIMIT_NAMES, REFUSALS, type Limits, type PeriodUsage, type Refusal } from '../../quota/types.js'
import { checkDayRange, checkUsageKeys, closedError, rowToState, rowToUsage, type Row } from '../sql/rows.js'
import { dialect, SHARED_SQL } from '../sql/statements.js'
import type { PostgresAppliers, PostgresConn, Queryable } from './index.js'

/** Bounds one consume batch: its arrays, its statement time and the row locks it holds. */
const CONSUME_BATCH_MAX = 256
/** Batches in flight at once: while they run, the next consumes gather into a larger batch. */
const CONSUME_BATCHES_IN_FLIGHT = 2
/**
 * A batch rolled back whole is retried this often: a deadlock (only possible against other writers of the
 * same rows), or a consume that raced its account's delete (23503: the retry finds the account missing).
 */
const CONSUME_RETRIES = 2
const RETRIED_CODES = new Set(['40P01', '40001', '23503'])
/** A consume whose usage rows another transaction holds waits alone, retried after 1, 2, 4 … ms, at most this long apart. */
const BUSY_RETRY_MAX_MS = 50

const SQL = {
  consumeBatch: `SELECT * FROM sellify_consume_batch($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
    $8::bigint[], $9::bigint[], $10::bigint[], $11::boolean[], $12::bigint[], $13::boolean)`,
  getUsage: 'SELECT period, messages, images, videos FROM usage WHERE account = $1 AND period IN ($2, $3, $4)',
  release: `UPDATE usage SET messages = greatest(messages - $1, 0), images = greatest(images - $2, 0), videos = greatest(videos - $3, 0)
    WHERE account = $4 AND period = ANY($5::text[])`
} as const

interface PendingConsume {
  input: ConsumeInput
  inc: PeriodUsage
  /** How often its rows were found held by another transaction. */
  busy: number
  /** When they were first found held (epoch ms). */
  busySince: number
  resolve: (result: ConsumeResult) => void
  reject: (err: unknown) => void
}

/** The batch function's arguments: one array per column, one element per consume. */
function batchValues (items: Array<{ input: ConsumeInput, inc: PeriodUsage }>, skipLocked: boolean): unknown[] {
  const column = <T>(pick: (p: { input: ConsumeInput, inc: PeriodUsage }) => T): T[] => items.map(pick)
  return [
    column((p) => p.input.account), column((p) => p.input.hour), column((p) => p.input.day), column((p) => p.input.week),
    column((p) => p.input.zone.timezone), column((p) => p.input.zone.reset_time), column((p) => p.input.zone.week_start),
    column((p) => p.inc.messages), column((p) => p.inc.images), column((p) => p.inc.videos),
    column((p) => p.input.mode === 'record'),
    column((p) => p.input.at),
    skipLocked
  ]
}

/** One row of the batch function: a result, 'busy' (retry it later), or an Error. */
function consumeResult (r: Row, inc: PeriodUsage): ConsumeResult | 'busy' | Error {
  if (r.outcome === 'busy') return 'busy'
  if (r.outcome === 'missing') return { ok: false, limit: null, account: 'missing' }
  if (r.outcome === 'changed') {
    return { ok: false, limit: null, account: 'changed', zone: { timezone: String(r.timezone), reset_time: String(r.reset_time), week_start: r.week_start as WeekStart } }
  }
  const limits = Object.fromEntries(LIMIT_NAMES.map((name) => [name, Number(r[name])])) as Limits
  const counters = (prefix: string): PeriodUsage => ({ messages: Number(r[`${prefix}_messages`]), images: Number(r[`${prefix}_images`]), videos: Number(r[`${prefix}_videos`]) })
  const hour = counters('hour')
  const day = counters('day')
  const week = counters('week')
  const state: ConsumeState = {
    warmup_day: Number(r.warmup_day),
    warmup_cap: r.warmup_cap === null ? null : Number(r.warmup_cap),
    paused_until: r.paused_until === null ? null : Number(r.paused_until),
    slow: r.slow === true
  }
  if (r.outcome === 'granted') {
    return { ok: true, before: { hour: subUsage(hour, inc), day: subUsage(day, inc), week: subUsage(week, inc) }, after: { hour, day, week }, limits, state }
  }
  const limit = r.failed_limit
  if (r.outcome !== 'refused' || !(REFUSALS as readonly unknown[]).includes(limit)) {
    return new Error(`store: sellify_consume_batch returned ${String(r.outcome)} with the limit ${String(limit)}`)
  }
  return { ok: false, limit: limit as Refusal, usage: { hour, day, week }, limits, state }
}

/** `waitMs`: how long a consume waits for rows another transaction holds, as a statement would (statement_timeout). */
export function postgresQuota (c: PostgresConn, pool: pg.Pool, waitMs: number) {
  /** An account found gone or changed is forgotten here, so the caller's next read of it sees it as it is. */
  function settled (input: ConsumeInput, result: ConsumeResult): ConsumeResult {
    if (!('limits' in result)) c.accounts.forget(input.account)
    return result
  }

  let pending: PendingConsume[] = []
  let flushScheduled = false
  const batchesInFlight = new Set<Promise<void>>()
  /** Consumes waiting to be retried because another transaction held their rows. */
  const waiting = new Map<NodeJS.Timeout, PendingConsume>()

  /** A lone consume: queued for this turn's batch. */
  function batched (input: ConsumeInput): Promise<ConsumeResult> {
    return new Promise<ConsumeResult>((resolve, reject) => {
      pending.push({ input, inc: increments(input.kind, input.count), busy: 0, busySince: 0, resolve, reject })
      scheduleConsumes()
    })
  }

  /** Its rows are held: it waits on its own, so the consumes of every other account go on. */
  function retryLater (p: PendingConsume): void {
    const now = Date.now()
    if (p.busy === 0) p.busySince = now
    else if (now - p.busySince >= waitMs) {
      p.reject(new Error(`store: the usage rows of a consume were held by another transaction for over ${waitMs} ms`))
      return
    }
    p.busy++
    const timer = setTimeout(() => {
      waiting.delete(timer)
      pending.push(p)
      scheduleConsumes()
    }, Math.min(BUSY_RETRY_MAX_MS, 2 ** (p.busy - 1)))
    waiting.set(timer, p)
  }

  function scheduleConsumes (): void {
    if (flushScheduled || pending.length === 0) return
    flushScheduled = true
    setImmediate(flushConsumes)
  }

  function flushConsumes (): void {
    flushScheduled = false
    // Once closing, everything queued goes at once; close() ends the pool after these batches.
    const inFlightMax = c.closed() ? Number.POSITIVE_INFINITY : CONSUME_BATCHES_IN_FLIGHT
    while (pending.length > 0 && batchesInFlight.size < inFlightMax) {
      const batch = pending.length <= CONSUME_BATCH_MAX ? pending : pending.slice(0, CONSUME_BATCH_MAX)
      pending = batch === pending ? [] : pending.slice(batch.length)
      // runConsumes settles every consume of its batch itself; the catch is for the unforeseen.
      const running: Promise<void> = runConsumes(batch).catch((err: unknown) => {
        for (const p of batch) p.reject(err)
      }).finally(() => {
        batchesInFlight.delete(running)
        scheduleConsumes()
      })
      batchesInFlight.add(running)
    }
  }

  async function runConsumes (batch: PendingConsume[]): Promise<void> {
    // Once closing, nothing is put off: a held row is waited for, within the statement timeout.
    const values = batchValues(batch, !c.closed())
    let rows: Row[]
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          rows = (await pool.query({ name: 'sellify_consume_batch', text: SQL.consumeBatch, values })).rows as Row[]
          break
        } catch (err) {
          // Deadlock or serialization failure: the whole batch was rolled back, nothing of it counted.
          const code = (err as { code?: unknown }).code
          if (attempt >= CONSUME_RETRIES || typeof code !== 'string' || !RETRIED_CODES.has(code)) throw err
        }
      }
    } catch (err) {
      for (const p of batch) p.reject(err)
      return
    }
    const results: Array<ConsumeResult | 'busy' | Error> = new Array(batch.length)
    for (const r of rows) {
      const i = Number(r.idx) - 1
      if (i >= 0 && i < batch.length) results[i] = consumeResult(r, batch[i].inc)
    }
    for (let i = 0; i < batch.length; i++) {
      const result = results[i] ?? new Error('store: sellify_consume_batch returned no row for a consume')
      if (result === 'busy') retryLater(batch[i])
      else if (result instanceof Error) batch[i].reject(result)
      else batch[i].resolve(settled(batch[i].input, result))
    }
  }

  /** A consume inside a larger plan's transaction: the same function, a batch of one, on the plan's client. */
  async function inTransaction (q: Queryable, input: ConsumeInput): Promise<ConsumeResult> {
    const inc = increments(input.kind, input.count)
    const rows = await q.query(SQL.consumeBatch, batchValues([{ input, inc }], false))
    const result = rows.length === 1 ? consumeResult(rows[0], inc) : new Error('store: sellify_consume_batch returned no row for a consume')
    if (result instanceof Error) throw result
    if (result === 'busy') throw new Error('store: a consume that waits for its rows was answered busy')
    return settled(input, result)
  }

  const appliers: Pick<PostgresAppliers, 'quota.consume' | 'quota.release'> = {
    'quota.consume': { run: (q, op) => inTransaction(q, op.input) },
    'quota.release': {
      async run (q, { input }) {
        const inc = increments(input.kind, input.count)
        return (await q.result(SQL.release, [inc.messages, inc.images, inc.videos, input.account, [...input.periods]])).rowCount ?? 0
      }
    }
  }

  return {
    reads: {
      async getUsage (account: string, keys: UsageKeys) {
        checkUsageKeys(account, keys)
        const rows = await c.pool.query(SQL.getUsage, [account, keys.hour, keys.day, keys.week])
        const of = (period: string): PeriodUsage => rowToUsage(rows.find(r => r.period === period))
        return { hour: of(keys.hour), day: of(keys.day), week: of(keys.week) }
      },
      async getState (account: string) {
        return rowToState((await c.pool.query(dialect.pg(SHARED_SQL.getState), [account]))[0])
      },
      async dayHistory (account: string, from: string, to: string) {
        checkDayRange(account, from, to)
        return (await c.pool.query(dialect.pg(SHARED_SQL.dayHistory), [account, from, to, account, from, to])).map(r => ({ day: String(r.day), ...rowToUsage(r) }))
      }
    },
    appliers,
    batched: (input: ConsumeInput): Promise<ConsumeResult> => c.closed() ? Promise.reject(closedError('postgres')) : batched(input),
    /** Send what is queued and wait for every batch in flight (close). */
    async drain (): Promise<void> {
      for (const [timer, p] of waiting) {
        clearTimeout(timer)
        pending.push(p)
      }
      waiting.clear()
      flushConsumes()
      while (batchesInFlight.size > 0) await Promise.all(batchesInFlight)
    }
  }
}
