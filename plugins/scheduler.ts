import fp from 'fastify-plugin'
import schedule from '@fastify/schedule'
import { AsyncTask, CronJob, SimpleIntervalJob } from 'toad-scheduler'
import { groupKey, planJobs, type PlannedJob } from '../lib/reset-plan.js'
import type { ResetRecord, ResetType } from '../lib/types.js'

/** How early a timer may fire and still count for the boundary it was set for. */
const LOOKAHEAD_MS = 5000
/** Accounts changed by another instance on the same PostgreSQL are picked up this often. */
const REPLAN_EVERY_S = 60

export type SchedulerEvent =
  | { kind: 'run', type: ResetType, source: 'schedule' | 'catch-up', recorded: ResetRecord[] }
  | { kind: 'error', job: string }

declare module 'fastify' {
  interface FastifyInstance {
    sellifyScheduler: {
      /** Ids of the reset jobs now planned. */
      jobs: () => string[]
      /** Re-read the accounts and add or remove jobs to match. */
      replan: () => Promise<void>
      /** Resolves when no reset run is in progress. */
      idle: () => Promise<void>
      /** Told of every run and every failed run (metrics). */
      observe: (listener: (event: SchedulerEvent) => void) => void
    }
  }
}

/**
 * @see https://github.com/fastify/fastify-schedule
 * Daily and weekly reset jobs per distinct (time zone, reset time, week start), and a catch-up pass on ready.
 * Exactly-once across instances is the store's ledger's job (SPEC §12), so runs are idempotent.
 */
export default fp(async function scheduler (fastify) {
  const { scheduler: enabled } = fastify.sellifyConfig
  const quota = fastify.quota
  if (!fastify.hasDecorator('scheduler')) await fastify.register(schedule)
  const toad = fastify.scheduler
  const running = new Set<Promise<unknown>>()
  const planned = new Map<string, PlannedJob>()
  const listeners: Array<(event: SchedulerEvent) => void> = []
  let closing = false

  /** Every run goes through here, so close() can wait for it and errors reach the log, not console.error. */
  function track<T> (work: Promise<T>): Promise<T> {
    running.add(work)
    work.finally(() => running.delete(work)).catch(() => {})
    return work
  }

  async function run (type: ResetType, source: 'schedule' | 'catch-up', group?: string): Promise<void> {
    if (closing) return
    const started = Date.now()
    const recorded = await quota.periodicReset(type, source, {
      ...(group === undefined ? {} : { filter: (a) => groupKey(a) === group }),
      lookaheadMs: source === 'schedule' ? LOOKAHEAD_MS : 0
    })
    fastify.log.info({ reset_type: type, source, group, recorded: recorded.length, ms: Date.now() - started }, `${source} ${type} reset: ${recorded.length} account(s)`)
    for (const listener of listeners) listener({ kind: 'run', type, source, recorded })
  }

  /** Task errors go to the log and the metrics (toad-scheduler's default is console.error). */
  function onError (job: string) {
    return (err: Error): void => {
      fastify.log.error({ err, job }, 'reset job failed')
      for (const listener of listeners) listener({ kind: 'error', job })
    }
  }

  async function replan (): Promise<void> {
    if (!enabled || closing) return
    const wanted = planJobs(await fastify.quota.accounts.list())
    const ids = new Set(wanted.map((j) => j.id))
    for (const id of [...planned.keys()]) {
      if (!ids.has(id)) {
        toad.removeById(id)
        planned.delete(id)
      }
    }
    for (const job of wanted) {
      // Same id, same schedule: an existing job is left alone (starting it again would double its runs).
      if (planned.has(job.id)) continue
      const task = new AsyncTask(job.id, () => track(run(job.type, 'schedule', job.group)), onError(job.id))
      toad.addCronJob(new CronJob({ cronExpression: job.cronExpression, timezone: job.timezone }, task, { id: job.id, preventOverrun: true, unref: true }))
      planned.set(job.id, job)
    }
  }

  let replanQueued = false
  function queueReplan (): void {
    if (replanQueued || !enabled) return
    replanQueued = true
    setImmediate(() => {
      replanQueued = false
      track(replan()).catch((err: unknown) => fastify.log.error({ err }, 'could not re-plan reset jobs'))
    })
  }

  fastify.decorate('sellifyScheduler', {
    jobs: () => [...planned.keys()].sort(),
    replan: () => track(replan()),
    idle: async () => { while (running.size > 0) await Promise.allSettled([...running]) },
    observe: (listener) => { listeners.push(listener) }
  })

  if (!enabled) return

  quota.observe((event) => { if (event.type === 'accounts') queueReplan() })

  fastify.addHook('onReady', async () => {
    await track(replan())
    toad.addSimpleIntervalJob(new SimpleIntervalJob({ seconds: REPLAN_EVERY_S }, new AsyncTask('replan', () => track(replan()), onError('replan')), { id: 'sellify-replan', preventOverrun: true, unref: true }))
    // The server may have been down at a boundary: record what it missed, once (the ledger decides).
    await track((async () => {
      await run('daily', 'catch-up')
      await run('weekly', 'catch-up')
    })()).catch(onError('catch-up'))
  })

  // Registered after @fastify/schedule, so it runs before its stop() (onClose runs in reverse order),
  // and before the store closes: stop every job, then wait for the runs in progress.
  fastify.addHook('onClose', async () => {
    closing = true
    for (const id of planned.keys()) toad.removeById(id)
    if (toad.existsById('sellify-replan')) toad.removeById('sellify-replan')
    planned.clear()
    while (running.size > 0) await Promise.allSettled([...running])
  })
}, { name: 'scheduler', dependencies: ['config', 'storage', 'quota'], fastify: '5.x' })
