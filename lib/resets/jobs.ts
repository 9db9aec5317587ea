/**
 * The reset jobs, without Fastify: a daily and a weekly toad-scheduler CronJob per distinct (time zone,
 * reset time, week start), a periodic re-plan, and a catch-up pass on start. Each job is set to the next
 * instant its period begins (see plan.ts for why not a recurring pattern), moved to the following one each
 * time it fires. Exactly-once across instances is the store's ledger's job, so runs are idempotent and a late
 * or repeated run records nothing twice.
 *
 * The plan follows this instance's account changes one account at a time: each account's group is kept, a
 * group's jobs are added when its first account joins and removed when its last leaves, so a change costs
 * the same with 10 accounts or 100 000. Only the periodic re-plan, for changes made by other instances on
 * the same database, reads the whole list.
 */
import { performance } from 'node:perf_hooks'
import { AsyncTask, CronJob, SimpleIntervalJob, type ToadScheduler } from 'toad-scheduler'
import type { AccountEvent, AccountService } from '../accounts/service.js'
import type { Clock } from '../shared/clock.js'
import { groupJobs, groupKey, nextBoundary, type GroupSettings, type PlannedJob } from './plan.js'
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
  /** Each known account's group, and each group's accounts: what the jobs are planned from. */
  const groupOf = new Map<string, string>()
  const groups = new Map<string, { jobs: PlannedJob[], size: number }>()
  /** While a full re-plan reads the list: the accounts changed meanwhile, whose events are newer than the list. */
  let changedDuringRead: Set<string> | null = null
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

  function join (group: string, settings: GroupSettings): void {
    let g = groups.get(group)
    if (g === undefined) {
      g = { jobs: groupJobs(settings), size: 0 }
      groups.set(group, g)
      if (!closing) for (const job of g.jobs) add(job)
    }
    g.size++
  }

  function leave (group: string): void {
    const g = groups.get(group)
    if (g === undefined || --g.size > 0) return
    groups.delete(group)
    for (const { id } of g.jobs) {
      if (!planned.has(id)) continue
      toad.removeById(id)
      planned.delete(id)
    }
  }

  /** Puts the account in the group of `settings` (none: it is gone). Same group: nothing to do. */
  function place (id: string, settings: GroupSettings | null): void {
    const before = groupOf.get(id)
    const after = settings === null ? undefined : groupKey(settings)
    if (before === after) return
    if (settings === null || after === undefined) {
      groupOf.delete(id)
    } else {
      groupOf.set(id, after)
      join(after, settings)
    }
    if (before !== undefined) leave(before)
  }

  function onAccount (event: AccountEvent): void {
    if (closing) return
    changedDuringRead?.add(event.account)
    // Told after the account's commit: a failure here is the scheduler's to report, not the request's.
    try {
      place(event.account, event.type === 'deleted' ? null : event.current)
    } catch (err) {
      onError(REPLAN_JOB_ID)(err)
    }
  }

  /** Reads every account and puts each in its group: on start, and for other instances' changes. */
  async function applyPlan (): Promise<void> {
    if (!enabled || closing) return
    const changed = new Set<string>()
    changedDuringRead = changed
    let list
    try {
      list = await accounts.list()
    } finally {
      changedDuringRead = null
    }
    // stop() may have begun while the accounts were read: a job started now would outlive the store.
    if (closing) return
    const listed = new Set<string>()
    for (const account of list) {
      listed.add(account.id)
      if (!changed.has(account.id)) place(account.id, account)
    }
    for (const id of [...groupOf.keys()]) if (!listed.has(id) && !changed.has(id)) place(id, null)
  }

  // One full re-plan at a time: two interleaved ones could apply an older list of accounts after a newer one.
  let replanning: Promise<void> = Promise.resolve()
  function replan (): Promise<void> {
    const next = replanning.then(applyPlan)
    replanning = next.catch(() => {})
    return track(next)
  }

  if (enabled) accounts.observe(onAccount)

  return {
    /** The reset jobs now planned, by id, with the instant each fires next. */
    jobs: () => [...planned.values()]
      .map((j) => ({ id: j.id, type: j.type, timezone: j.timezone, next: j.next.toISOString() }))
      .sort((a, b) => a.id.localeCompare(b.id)),
    /** Re-read every account and add or remove jobs to match (what the periodic re-plan does). */
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
