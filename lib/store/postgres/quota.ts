import type pg from 'pg'
import type { ConsumeInput, ConsumeResult } from '../../quota/store.js'
import { increments, subUsage } from '../../quota/rules.js'
import { LIMIT_NAMES, type LimitName, type PeriodUsage } from '../../quota/types.js'
import { checkDayRange, checkUsageKeys, closedError, rowToUsage, type Row } from '../sql/rows.js'
import { dialect, SHARED_SQL } from '../sql/statements.js'
import type { PostgresAppliers, PostgresConn, Queryable } from './index.js'

/** Bounds one consume batch: its arrays, its statement time and the row locks it holds. */
const CONSUME_BATCH_MAX = 256
/** Batches in flight at once: while they run, the next consumes gather into a larger batch. */
const CONSUME_BATCHES_IN_FLIGHT = 2
/** A batch that deadlocked (only possible against other writers of the same rows) is rolled back whole: retried this often. */
const CONSUME_RETRIES = 2

const SQL = {
  consumeBatch: `SELECT * FROM sellify_consume_batch($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[],
    $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::boolean[])`,
  getUsage: 'SELECT period, messages, images, videos FROM usage WHERE account = $1 AND period IN ($2, $3)'
} as const

interface PendingConsume {
  input: ConsumeInput
  inc: PeriodUsage
  resolve: (result: ConsumeResult) => void
  reject: (err: unknown) => void
}

/** The batch function's arguments: one array per column, one element per consume. */
function batchValues (items: Array<{ input: ConsumeInput, inc: PeriodUsage }>): unknown[] {
  const column = <T>(pick: (p: { input: ConsumeInput, inc: PeriodUsage }) => T): T[] => items.map(pick)
  return [
    column((p) => p.input.account), column((p) => p.input.day), column((p) => p.input.week),
    column((p) => p.inc.messages), column((p) => p.inc.images), column((p) => p.inc.videos),
    ...LIMIT_NAMES.map((name) => column((p) => p.input.limits[name])),
    column((p) => p.input.mode === 'record')
  ]
}

function consumeResult (r: Row, inc: PeriodUsage): ConsumeResult | Error {
  const day: PeriodUsage = { messages: Number(r.day_messages), images: Number(r.day_images), videos: Number(r.day_videos) }
  const week: PeriodUsage = { messages: Number(r.week_messages), images: Number(r.week_images), videos: Number(r.week_videos) }
  if (r.allowed === true) return { ok: true, before: { day: subUsage(day, inc), week: subUsage(week, inc) }, after: { day, week } }
  const limit = r.failed_limit
  if (!(LIMIT_NAMES as readonly unknown[]).includes(limit)) {
    return new Error(`store: sellify_consume_batch returned an unknown limit ${String(limit)}`)
  }
  return { ok: false, limit: limit as LimitName, usage: { day, week } }
}

export function postgresQuota (c: PostgresConn, pool: pg.Pool) {
  let pending: PendingConsume[] = []
  let flushScheduled = false
  const batchesInFlight = new Set<Promise<void>>()

  /** A lone consume: queued for this turn's batch. */
  function batched (input: ConsumeInput): Promise<ConsumeResult> {
    return new Promise<ConsumeResult>((resolve, reject) => {
      pending.push({ input, inc: increments(input.kind, input.count), resolve, reject })
      scheduleConsumes()
    })
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
    const values = batchValues(batch)
    let rows: Row[]
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          rows = (await pool.query({ name: 'sellify_consume_batch', text: SQL.consumeBatch, values })).rows as Row[]
          break
        } catch (err) {
          // Deadlock or serialization failure: the whole batch was rolled back, nothing of it counted.
          const code = (err as { code?: unknown }).code
          if (attempt >= CONSUME_RETRIES || (code !== '40P01' && code !== '40001')) throw err
        }
      }
    } catch (err) {
      for (const p of batch) p.reject(err)
      return
    }
    const results: Array<ConsumeResult | Error> = new Array(batch.length)
    for (const r of rows) {
      const i = Number(r.idx) - 1
      if (i >= 0 && i < batch.length) results[i] = consumeResult(r, batch[i].inc)
    }
    for (let i = 0; i < batch.length; i++) {
      const result = results[i] ?? new Error('store: sellify_consume_batch returned no row for a consume')
      if (result instanceof Error) batch[i].reject(result)
      else batch[i].resolve(result)
    }
  }

  /** A consume inside a larger plan's transaction: the same function, a batch of one, on the plan's client. */
  async function inTransaction (q: Queryable, input: ConsumeInput): Promise<ConsumeResult> {
    const inc = increments(input.kind, input.count)
    const rows = await q.query(SQL.consumeBatch, batchValues([{ input, inc }]))
    const result = rows.length === 1 ? consumeResult(rows[0], inc) : new Error('store: sellify_consume_batch returned no row for a consume')
    if (result instanceof Error) throw result
    return result
  }

  const appliers: Pick<PostgresAppliers, 'quota.consume'> = {
    'quota.consume': { run: (q, op) => inTransaction(q, op.input) }
  }

  return {
    reads: {
      async getUsage (account: string, day: string, week: string) {
        checkUsageKeys(account, day, week)
        const rows = await c.pool.query(SQL.getUsage, [account, day, week])
        return { day: rowToUsage(rows.find(r => r.period === day)), week: rowToUsage(rows.find(r => r.period === week)) }
      },
      async dayHistory (account: string, from: string, to: string) {
        checkDayRange(account, from, to)
        return (await c.pool.query(dialect.pg(SHARED_SQL.dayHistory), [account, from, to])).map(r => ({ day: String(r.day), ...rowToUsage(r) }))
      }
    },
    appliers,
    batched: (input: ConsumeInput): Promise<ConsumeResult> => c.closed() ? Promise.reject(closedError('postgres')) : batched(input),
    /** Send what is queued and wait for every batch in flight (close). */
    async drain (): Promise<void> {
      flushConsumes()
      await Promise.all(batchesInFlight)
    }
  }
}
