/**
 * The reset jobs, without Fastify: a daily and a weekly toad-scheduler CronJob per distinct (time zone,
 * reset time, week start), a periodic re-plan, and a catch-up pass on start. Each job is set to the next
 * instant its period begins (see plan.ts for why not a recurring pattern), moved to the following one each
 * time it fires. Exactly-once across instances is the store's ledger's job, so runs are idempotent and a late
 * or repeated run records nothing twice.
 */
import { performance } from 'node:perf_hooks'
import { AsyncTask, CronJob, SimpleIntervalJob, type ToadScheduler } from 'toad-scheduler'
import type { AccountService } from '../accounts/service.js'
import type { Clock } from '../shared/clock.js'
import { groupKey, nextBoundary, planJobs, type PlannedJob } from './plan.js'
import type { ResetService } from './service.js'
import type { ResetRecord, ResetType } from './types.js'

/** Accounts changed by another instance on the same PostgreSQL are picked up this often. */
const REPLAN_EVERY_S = 60
const REPLAN_JOB_ID = 'sellify-replan'

export type RunSource = 'schedule' | 'catch-up'

/** A job or a pass failed (for the log and the metrics). */
export interface JobError {
  job: string
  err: unknown
}

/** The part of a pino logger the jobs write to. */
export interface JobLog {
  info: (obj: object, msg: string) => void
  error: (obj: object, msg: string) => void
}

interface ArmedJob extends PlannedJob {
  /**
   * Handed to the CronJob, which keeps it and reads it on every start(): moved to the next boundary before
   * each restart, so one CronJob serves the group for good.
   */
  schedule: { cronExpression: string, timezone: string }
  /** The boundary the job waits for. */
  next: Date
}

export interface ResetJobsOptions {
  toad: ToadScheduler
  resets: ResetService
  accounts: AccountService
  now: Clock
  log: JobLog
  /** False: no jobs, no catch-up (resets stay correct: counters are kept per period). */
  enabled: boolean
}

export function createResetJobs (options: ResetJobsOptions) {
  const { toad, resets, accounts, now, log, enabled } = options
  const running = new Set<Promise<unknown>>()
  const planned = new Map<string, ArmedJob>()
  const errorListeners: Array<(event: JobError) => void> = []
  let closing = false

  /** Every run goes through here, so stop() can wait for it. */
  function track<T> (work: Promise<T>): Promise<T> {
    running.add(work)
    work.finally(() => running.delete(work)).catch(() => {})
    return work
  }

  async function idle (): Promise<void> {
    while (running.size > 0) await Promise.allSettled([...running])
  }

  /** Task errors go to the log and the listeners (toad-scheduler's default is console.error). */
  function onError (job: string) {
    return (err: unknown): void => {
      log.error({ err, job }, 'reset job failed')
      for (const listener of errorListeners) listener({ job, err })
    }
  }

  async function run (type: ResetType, source: RunSource, job?: ArmedJob, boundary?: Date): Promise<ResetRecord[]> {
    if (closing) return []
    const started = performance.now()
    const recorded = await resets.periodic(type, source, {
      ...(job === undefined ? {} : { filter: (a) => groupKey(a) === job.group }),
      // croner reads Date, the service its injected clock, which may trail it: the run belongs to the
      // period the job was set for, never to the one before.
      lookaheadMs: boundary === undefined ? 0 : Math.max(0, boundary.getTime() - now().getTime())
    })
    log.info({
      reset_type: type,
      source,
      ...(job === undefined ? {} : { timezone: job.settings.timezone, reset_time: job.settings.reset_time, week_start: job.settings.week_start }),
      recorded: recorded.length,
      ms: Math.round(performance.now() - started)
    }, `${source} ${type} reset: ${recorded.length} account(s)`)
    return recorded
  }

  /** Points the job at its next boundary: after the one it fired for, and after now (a run may come late). */
  function arm (job: ArmedJob, after: Date): void {
    job.next = nextBoundary(job, new Date(Math.max(after.getTime(), now().getTime())))
    job.schedule.cronExpression = job.next.toISOString()
  }

  async function fire (job: ArmedJob): Promise<void> {
    if (closing || planned.get(job.id) !== job) return
    const boundary = job.next
    // Re-armed before the run, so that a failed run cannot unschedule the job. Stopped first: starting a
    // running CronJob would leave a copy of it that stop() can no longer reach.
    toad.stopById(job.id)
    arm(job, boundary)
    toad.startById(job.id)
    await track(run(job.type, 'schedule', job, boundary))
  }

  function add (plan: PlannedJob): void {
    const job: ArmedJob = { ...plan, schedule: { cronExpression: '', timezone: plan.timezone }, next: new Date(0) }
    arm(job, now())
    toad.addCronJob(new CronJob(job.schedule, new AsyncTask(job.id, () => fire(job), onError(job.id)), { id: job.id, preventOverrun: true, unref: true }))
    planned.set(job.id, job)
  }

  async function applyPlan (): Promise<void> {
    if (!enabled || closing) return
    const list = await accounts.list()
    // stop() may have begun while the accounts were read: a job started now would outlive the store.
    if (closing) return
    const wanted = new Map(planJobs(list).map((j) => [j.id, j]))
    for (const id of [...planned.keys()]) {
      if (!wanted.has(id)) {
        toad.removeById(id)
        planned.delete(id)
      }
    }
    // Same id, same settings: an existing job is left alone.
    for (const [id, plan] of wanted) if (!planned.has(id)) add(plan)
  }

  // One re-plan at a time: two interleaved ones could apply an older list of accounts after a newer one.
  let replanning: Promise<void> = Promise.resolve()
  function replan (): Promise<void> {
    const next = replanning.then(applyPlan)
    replanning = next.catch(() => {})
    return track(next)
  }

  let queued = false
  /** Account changes come in bursts (an import, a test's setup): one re-plan after the burst. */
  function queueReplan (): void {
    if (queued || !enabled || closing) return
    queued = true
    track(new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      queued = false
      return replan()
    })).catch(onError(REPLAN_JOB_ID))
  }

  if (enabled) accounts.observe(() => { queueReplan() })

  return {
    /** The reset jobs now planned, by id, with the instant each fires next. */
    jobs: () => [...planned.values()]
      .map((j) => ({ id: j.id, type: j.type, timezone: j.timezone, next: j.next.toISOString() }))
      .sort((a, b) => a.id.localeCompare(b.id)),
    /** Re-read the accounts and add or remove jobs to match. */
    replan,
    /** Run a reset pass over every account now (what the jobs and the catch-up do), tracked so stop() waits for it. */
    run: (type: ResetType, source: RunSource = 'schedule') => track(run(type, source)),
    /** Resolves when no run or re-plan is in progress. */
    idle,
    /** Be told of every failed run or re-plan (metrics). */
    onError: (listener: (event: JobError) => void): void => { errorListeners.push(listener) },

    /** Plan the jobs, then record what a server that was down at a boundary missed, once (the ledger decides). */
    async start (): Promise<void> {
      if (!enabled) return
      await replan()
      toad.addSimpleIntervalJob(new SimpleIntervalJob(
        { seconds: REPLAN_EVERY_S },
        new AsyncTask(REPLAN_JOB_ID, () => replan(), onError(REPLAN_JOB_ID)),
        { id: REPLAN_JOB_ID, preventOverrun: true, unref: true }
      ))
      await track((async () => {
        await run('daily', 'catch-up')
        await run('weekly', 'catch-up')
      })()).catch(onError('catch-up'))
    },

    /** Stop every job, then wait for the runs in progress to finish. */
    async stop (): Promise<void> {
      closing = true
      for (const id of planned.keys()) toad.removeById(id)
      planned.clear()
      if (toad.existsById(REPLAN_JOB_ID)) toad.removeById(REPLAN_JOB_ID)
      await idle()
    }
  }
}

export type ResetJobs = ReturnType<typeof createResetJobs>
