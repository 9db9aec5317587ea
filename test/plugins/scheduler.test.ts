import t from 'tap'
import { join } from 'node:path'
import { JobStatus } from 'toad-scheduler'
import { build, call, fixedClock } from '../helper.js'
import { buildLogged, consume, crossBoundary, installClock, putAccount, resets, runLines, status, summary } from './scheduler-helper.js'

const HOUR = 3_600_000

t.test('one daily and one weekly job per (time zone, reset time, week start), re-planned as accounts change', async (t) => {
  installClock(t, '2026-01-14T10:00:00Z')
  const { app } = await buildLogged(t)
  const ids = () => app.sellify.resetJobs.jobs().map((j) => j.id)

  t.same(app.sellify.resetJobs.jobs(), [
    { id: 'reset-daily:UTC|00:00|monday', type: 'daily', timezone: 'UTC', next: '2026-01-15T00:00:00.000Z' },
    { id: 'reset-weekly:UTC|00:00|monday', type: 'weekly', timezone: 'UTC', next: '2026-01-19T00:00:00.000Z' }
  ], 'the default account\'s group')
  t.same(app.scheduler.getAllJobs().map((j) => j.id).sort(), ['reset-daily:UTC|00:00|monday', 'reset-weekly:UTC|00:00|monday', 'sellify-alert-outbox', 'sellify-replan'],
    'registered with toad-scheduler under explicit ids')

  await putAccount(app, 'a', { timezone: 'Asia/Tokyo' })
  await app.sellify.resetJobs.idle()
  t.same(ids(), ['reset-daily:Asia/Tokyo|00:00|monday', 'reset-daily:UTC|00:00|monday', 'reset-weekly:Asia/Tokyo|00:00|monday', 'reset-weekly:UTC|00:00|monday'])
  t.match(app.sellify.resetJobs.jobs()[0], { timezone: 'Asia/Tokyo', next: '2026-01-14T15:00:00.000Z' }, 'Tokyo\'s midnight')

  await putAccount(app, 'b', { timezone: 'Asia/Tokyo' })
  await putAccount(app, 'c', { timezone: 'Asia/Tokyo', reset_time: '06:00', week_start: 'sunday' })
  await app.sellify.resetJobs.idle()
  t.same(ids(), [
    'reset-daily:Asia/Tokyo|00:00|monday', 'reset-daily:Asia/Tokyo|06:00|sunday', 'reset-daily:UTC|00:00|monday',
    'reset-weekly:Asia/Tokyo|00:00|monday', 'reset-weekly:Asia/Tokyo|06:00|sunday', 'reset-weekly:UTC|00:00|monday'
  ], 'a second account in a group adds nothing; other settings are another group')
  t.match(app.sellify.resetJobs.jobs().find((j) => j.id === 'reset-weekly:Asia/Tokyo|06:00|sunday'), { next: '2026-01-17T21:00:00.000Z' }, 'Sunday 06:00 in Tokyo')

  const tokyo = app.scheduler.getById('reset-daily:Asia/Tokyo|00:00|monday')
  const utc = app.scheduler.getById('reset-daily:UTC|00:00|monday')
  await putAccount(app, 'a', { timezone: 'Europe/Paris' })
  await call(app, 'DELETE', '/api/v1/accounts/b')
  await call(app, 'DELETE', '/api/v1/accounts/c')
  await app.sellify.resetJobs.idle()
  t.same(ids(), ['reset-daily:Europe/Paris|00:00|monday', 'reset-daily:UTC|00:00|monday', 'reset-weekly:Europe/Paris|00:00|monday', 'reset-weekly:UTC|00:00|monday'],
    'moving or deleting the last account of a group removes its jobs')
  t.equal(tokyo.getStatus(), JobStatus.STOPPED, 'a removed job is stopped')
  t.notOk(app.scheduler.existsById('reset-daily:Asia/Tokyo|00:00|monday'))
  t.equal(app.scheduler.getById('reset-daily:UTC|00:00|monday'), utc, 'a job that stays is the same job, not a new one')

  await Promise.all([app.sellify.resetJobs.replan(), app.sellify.resetJobs.replan(), putAccount(app, 'a', { timezone: 'Europe/Paris' })])
  await app.sellify.resetJobs.idle()
  t.equal(app.scheduler.getAllJobsByStatus(JobStatus.RUNNING).length, 6, 'four reset jobs, the re-plan job and the alert outbox\'s, each running')

  const invalid = await call(app, 'PUT', '/api/v1/accounts/d', { timezone: 'Europe/Berln' })
  t.equal(invalid.statusCode, 400, 'an unknown time zone never reaches the planner')
})

t.test('scheduler off: no jobs, no resets recorded, and counters still follow the periods', async (t) => {
  const clock = fixedClock('2026-01-19T10:00:00Z') // Monday
  const app = await build(t, { now: clock.now, scheduler: false })
  t.same(app.sellify.resetJobs.jobs(), [])
  t.same(app.scheduler.getAllJobs(), [], 'nothing handed to toad-scheduler')
  await putAccount(app, 'a')
  await consume(app, 'a', 'text', 3)
  await app.sellify.resetJobs.idle()
  t.same(app.sellify.resetJobs.jobs(), [], 'account changes plan nothing')

  clock.set('2026-01-20T10:00:00Z')
  t.match(await status(app, 'a'), { messages_today: 0, messages_this_week: 3, needs_daily_reset: true, needs_weekly_reset: false })
  await consume(app, 'a', 'text', 2)
  clock.set('2026-01-26T10:00:00Z')
  t.match(await status(app, 'a'), { messages_today: 0, messages_this_week: 0, needs_daily_reset: true, needs_weekly_reset: true })
  t.same(await resets(app), [], 'no job, no catch-up')
})

t.test('fake timers at 23:59:59: past midnight the daily job runs once for the new day, on Monday the weekly one too', async (t) => {
  const clock = installClock(t, '2026-01-18T23:59:59Z') // Sunday
  const { app, logs } = await buildLogged(t)
  await putAccount(app, 'a')
  await putAccount(app, 'b', { limits: { messages_per_day: 10 } })
  await consume(app, 'a', 'text', 3)
  await consume(app, 'b', 'image', 2)
  // Re-planning again and again must not start a job twice (a second copy would run twice).
  await Promise.all([app.sellify.resetJobs.replan(), app.sellify.resetJobs.replan(), putAccount(app, 'a'), putAccount(app, 'a')])
  await app.sellify.resetJobs.idle()
  t.same(await resets(app), [], 'accounts created this day and week: nothing to reset yet')

  await clock.tickAsync(2000)
  await app.sellify.resetJobs.idle()
  const first = await resets(app)
  t.same(summary(first), [
    'a daily 2026-01-19 schedule', 'a weekly 2026-W04 schedule',
    'b daily 2026-01-19 schedule', 'b weekly 2026-W04 schedule',
    'default daily 2026-01-19 schedule', 'default weekly 2026-W04 schedule'
  ])
  t.ok(first.every((r) => r.timestamp === '2026-01-19T00:00:00.000Z'), 'recorded at the boundary')
  t.same(first.find((r) => r.account === 'b' && r.reset_type === 'daily')?.before, { messages: 2, images: 2, videos: 0 }, 'before: the day that ended')
  t.same(first.find((r) => r.account === 'a' && r.reset_type === 'weekly')?.before, { messages: 3, images: 0, videos: 0 }, 'before: the week that ended')
  t.equal(runLines(logs, 'schedule', 'daily').length, 1, 'one daily run')
  t.equal(runLines(logs, 'schedule', 'weekly').length, 1, 'one weekly run')
  t.match(runLines(logs, 'schedule', 'daily')[0], { level: 30, msg: 'schedule daily reset: 3 account(s)', reset_type: 'daily', source: 'schedule', recorded: 3, timezone: 'UTC' })
  t.match(await status(app, 'a'), {
    messages_today: 0,
    messages_this_week: 0,
    needs_daily_reset: false,
    needs_weekly_reset: false,
    last_daily_reset: '2026-01-19T00:00:00.000Z',
    last_weekly_reset: '2026-01-19T00:00:00.000Z',
    next_daily_reset: '2026-01-20T00:00:00.000Z'
  })
  t.same(app.sellify.resetJobs.jobs().map((j) => j.next), ['2026-01-20T00:00:00.000Z', '2026-01-26T00:00:00.000Z'], 'each job waits for its next boundary')

  await consume(app, 'a', 'text', 4)
  await clock.tickAsync(HOUR)
  await crossBoundary(clock, '2026-01-20T00:00:00Z')
  await app.sellify.resetJobs.idle()
  t.same(summary((await resets(app)).slice(first.length)), [
    'a daily 2026-01-20 schedule', 'b daily 2026-01-20 schedule', 'default daily 2026-01-20 schedule'
  ], 'Tuesday: daily only')
  t.match(await status(app, 'a'), { messages_today: 0, messages_this_week: 4, needs_daily_reset: false, needs_weekly_reset: false })
  t.equal(runLines(logs, 'schedule', 'daily').length, 2, 'no run between the boundaries')
  t.equal(runLines(logs, 'schedule', 'weekly').length, 1)
  t.equal(logs.filter((l) => l.level >= 50).length, 0, 'no error logged')
})

t.test('Europe/Paris DST days: one run per boundary, also for a reset time inside the change', async (t) => {
  for (const [name, start, steps] of [
    ['spring forward, 2026-03-29', '2026-03-28T22:59:59Z', [
      // [boundary, the resets it records]
      ['2026-03-28T23:00:00Z', ['default daily 2026-03-29', 'p daily 2026-03-29']],
      // 02:30 does not exist that night: the day of the 02:30 group begins at 03:00 CEST.
      ['2026-03-29T01:00:00Z', ['q daily 2026-03-29']],
      ['2026-03-29T22:00:00Z', ['default daily 2026-03-30', 'default weekly 2026-W14', 'p daily 2026-03-30', 'p weekly 2026-W14']],
      ['2026-03-30T00:30:00Z', ['q daily 2026-03-30', 'q weekly 2026-W14']]
    ]],
    ['fall back, 2026-10-25', '2026-10-24T21:59:59Z', [
      ['2026-10-24T22:00:00Z', ['default daily 2026-10-25', 'p daily 2026-10-25']],
      // 02:30 happens twice that night: the day begins at the first, and the second does nothing.
      ['2026-10-25T00:30:00Z', ['q daily 2026-10-25']],
      ['2026-10-25T01:30:00Z', []],
      ['2026-10-25T23:00:00Z', ['default daily 2026-10-26', 'default weekly 2026-W44', 'p daily 2026-10-26', 'p weekly 2026-W44']],
      ['2026-10-26T01:30:00Z', ['q daily 2026-10-26', 'q weekly 2026-W44']]
    ]]
  ] as Array<[string, string, Array<[string, string[]]>]>) {
    await t.test(name, async (t) => {
      const clock = installClock(t, start) // Saturday 23:59:59 in Paris
      const { app, logs } = await buildLogged(t, { defaults: { timezone: 'Europe/Paris' } })
      await putAccount(app, 'p')
      await putAccount(app, 'q', { reset_time: '02:30' })
      await app.sellify.resetJobs.idle()
      let seen = 0
      for (const [i, [boundary, expected]] of steps.entries()) {
        if (i === 0) await clock.tickAsync(2000)
        else await crossBoundary(clock, boundary)
        await app.sellify.resetJobs.idle()
        const all = await resets(app)
        const added = all.slice(seen)
        seen = all.length
        t.same(summary(added), expected.map((e) => `${e} schedule`).sort(), `at ${boundary}`)
        t.ok(added.every((r) => r.timestamp === new Date(boundary).toISOString()), 'recorded at the boundary')
      }
      t.equal(runLines(logs, 'schedule', 'daily').length, 4, 'one daily run per group and day, no second one at a repeated 02:30')
      t.equal(runLines(logs, 'schedule', 'weekly').length, 2)
    })
  }
})

t.test('America/Santiago 2024-09-08 has no midnight: the daily job runs when the day begins, at 01:00', async (t) => {
  const clock = installClock(t, '2024-09-08T03:59:59Z') // Saturday 23:59:59 -04
  const { app, logs } = await buildLogged(t, { defaults: { timezone: 'America/Santiago' } })
  await putAccount(app, 's')
  t.match(await status(app, 's'), { next_daily_reset: '2024-09-08T04:00:00.000Z' })
  await clock.tickAsync(2000)
  await app.sellify.resetJobs.idle()
  const first = await resets(app)
  t.same(summary(first), ['default daily 2024-09-08 schedule', 's daily 2024-09-08 schedule'])
  t.equal(first[0].timestamp, '2024-09-08T04:00:00.000Z', '01:00 -03')

  await crossBoundary(clock, '2024-09-09T03:00:00Z') // Monday 00:00 -03, a 23-hour day later
  await app.sellify.resetJobs.idle()
  t.same(summary((await resets(app)).slice(first.length)), [
    'default daily 2024-09-09 schedule', 'default weekly 2024-W37 schedule', 's daily 2024-09-09 schedule', 's weekly 2024-W37 schedule'
  ])
  t.equal(runLines(logs, 'schedule', 'daily').length, 2)
  t.equal(runLines(logs, 'schedule', 'weekly').length, 1)
})

t.test('a failing run is logged through fastify.log and counted, never console.error, and the job carries on', async (t) => {
  const clock = installClock(t, '2026-01-18T23:59:59Z')
  const { app, logs } = await buildLogged(t)
  const printed: unknown[] = []
  const consoleError = console.error
  console.error = (...args: unknown[]) => { printed.push(args) }
  t.teardown(() => { console.error = consoleError })
  const periodicReset = app.sellify.resets.periodic
  app.sellify.resets.periodic = async () => { throw new Error('store exploded') }

  await clock.tickAsync(2000)
  await app.sellify.resetJobs.idle()
  const errors = logs.filter((l) => l.level === 50)
  t.same(errors.map((l) => [l.msg, l.job]).sort(), [['reset job failed', 'reset-daily:UTC|00:00|monday'], ['reset job failed', 'reset-weekly:UTC|00:00|monday']])
  t.match(errors[0], { err: { message: 'store exploded' } })
  t.same(printed, [], 'nothing on console.error')
  const metrics = (await call(app, 'GET', '/metrics')).body
  t.match(metrics, 'sellify_scheduler_errors_total{job="reset-daily:UTC|00:00|monday"} 1\n')
  t.match(metrics, 'sellify_scheduler_errors_total{job="reset-weekly:UTC|00:00|monday"} 1\n')
  t.same(app.sellify.resetJobs.jobs().map((j) => j.next), ['2026-01-20T00:00:00.000Z', '2026-01-26T00:00:00.000Z'], 'armed for the next boundary all the same')

  app.sellify.resets.periodic = periodicReset
  await crossBoundary(clock, '2026-01-20T00:00:00Z')
  await app.sellify.resetJobs.idle()
  t.same(summary(await resets(app)), ['default daily 2026-01-20 schedule'], 'the next day\'s run works')
})

t.test('close() waits for a run in progress before the store closes', async (t) => {
  const clock = fixedClock('2026-01-14T10:00:00Z')
  const sqlitePath = join(t.testdir(), 'close.db')
  const { app, logs } = await buildLogged(t, { now: clock.now, store: { sqlitePath } })
  const n = 300
  await Promise.all(Array.from({ length: n }, (_, i) => app.sellify.accounts.put(`acc-${i}`, {})))
  await app.sellify.resetJobs.idle()

  clock.set('2026-01-15T10:00:00Z')
  let settled = false
  const run = app.sellify.resetJobs.run('daily')
  run.then(() => { settled = true }, () => { settled = true })
  const closed = app.close()
  t.notOk(settled, 'the run was still going when close() was called')
  await closed
  t.ok(settled, 'close() returned after the run')
  t.equal((await run).length, n + 1, 'every account, default included')
  t.same(logs.filter((l) => l.level >= 50), [], 'no error logged')

  const reopened = await build(t, { now: clock.now, scheduler: false, store: { sqlitePath } })
  const daily = await resets(reopened, '&reset_type=daily')
  t.equal(daily.length, n + 1, 'all of them on disk')
  t.ok(daily.every((r) => r.period === '2026-01-15' && r.source === 'schedule'))
})

t.test('close() stops and removes every job; no timer is left behind', async (t) => {
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length
  const baseline = timers()
  const app = await build(t, { now: () => new Date() })
  await putAccount(app, 'a', { timezone: 'Asia/Tokyo' })
  await app.sellify.resetJobs.idle()
  const jobs = app.scheduler.getAllJobs()
  t.equal(jobs.length, 6, 'four reset jobs, the re-plan job and the alert outbox\'s')
  t.equal(app.scheduler.getAllJobsByStatus(JobStatus.RUNNING).length, 6)
  await app.close()
  t.ok(jobs.every((j) => j.getStatus() === JobStatus.STOPPED), 'every job stopped')
  t.same(app.scheduler.getAllJobs(), [], 'and removed')
  t.same(app.sellify.resetJobs.jobs(), [])
  t.ok(timers() <= baseline, 'no timer keeps the process alive')
})

t.test('a re-plan still reading the accounts when close() begins starts no job', async (t) => {
  const { app } = await buildLogged(t)
  const list = app.sellify.accounts.list
  let release: () => void = () => {}
  const gate = new Promise<void>((resolve) => { release = resolve })
  app.sellify.accounts.list = async () => {
    await gate
    const accounts = await list()
    return [...accounts, { ...accounts[0], id: 'elsewhere', timezone: 'Asia/Tokyo' }]
  }
  const replan = app.sellify.resetJobs.replan()
  const closed = app.close()
  await new Promise((resolve) => setImmediate(resolve))
  release()
  await closed
  await replan
  t.same(app.scheduler.getAllJobs(), [], 'nothing was added after close() removed the jobs')
  t.same(app.sellify.resetJobs.jobs(), [])
})

t.test('an account change re-plans its own group only: no account list is read, however many accounts there are', async (t) => {
  installClock(t, '2026-01-14T10:00:00Z')
  const { app } = await buildLogged(t)
  const ids = () => app.sellify.resetJobs.jobs().map((j) => j.id)
  const list = app.sellify.accounts.list
  let lists = 0
  app.sellify.accounts.list = async () => { lists++; return await list() }
  const listAccounts = app.sellify.store.listAccounts
  app.sellify.store.listAccounts = async () => { lists++; return await listAccounts() }

  const tokyo = ['reset-daily:Asia/Tokyo|00:00|monday', 'reset-weekly:Asia/Tokyo|00:00|monday']
  const utc = ['reset-daily:UTC|00:00|monday', 'reset-weekly:UTC|00:00|monday']
  const n = 200
  for (let i = 0; i < n; i++) await putAccount(app, `acc-${i}`, i % 2 === 0 ? {} : { timezone: 'Asia/Tokyo' })
  await consume(app, 'implicit-1')
  await app.sellify.resetJobs.idle()
  t.equal(lists, 0, `${n} creations read no list of accounts`)
  t.same(ids(), [tokyo[0], utc[0], tokyo[1], utc[1]].sort())

  for (let i = 1; i < n - 1; i += 2) await call(app, 'DELETE', `/api/v1/accounts/acc-${i}`)
  await app.sellify.resetJobs.idle()
  t.same(ids(), [tokyo[0], utc[0], tokyo[1], utc[1]].sort(), 'the group keeps its jobs while it has an account')
  await putAccount(app, `acc-${n - 1}`, { timezone: 'Asia/Tokyo', reset_time: '06:00' })
  await app.sellify.resetJobs.idle()
  t.same(ids(), ['reset-daily:Asia/Tokyo|06:00|monday', ...utc, 'reset-weekly:Asia/Tokyo|06:00|monday'].sort(), 'its last account moved: the group\'s jobs go, the new group\'s come')
  await call(app, 'DELETE', `/api/v1/accounts/acc-${n - 1}`)
  await app.sellify.resetJobs.idle()
  t.same(ids(), utc, 'its last account deleted: the group\'s jobs go')
  t.equal(lists, 0, 'changes and deletions read no list either')
  t.same(app.scheduler.getAllJobs().map((j) => j.id).sort(), [...utc, 'sellify-alert-outbox', 'sellify-replan'], 'toad-scheduler holds exactly the planned jobs')

  await app.sellify.resetJobs.replan()
  t.equal(lists, 2, 'the periodic full re-plan (for other instances\' changes) reads the list once')
  t.same(ids(), utc)
})

t.test('a full re-plan does not undo the account changes made while it read the list', async (t) => {
  installClock(t, '2026-01-14T10:00:00Z')
  const { app } = await buildLogged(t)
  const ids = () => app.sellify.resetJobs.jobs().map((j) => j.id)
  await putAccount(app, 'old', { timezone: 'Europe/Paris' })
  await putAccount(app, 'moving', { timezone: 'America/Sao_Paulo' })
  const list = app.sellify.accounts.list
  let release: () => void = () => {}
  const gate = new Promise<void>((resolve) => { release = resolve })
  let read: () => void = () => {}
  const wasRead = new Promise<void>((resolve) => { read = resolve })
  app.sellify.accounts.list = async () => {
    const accounts = await list()
    read()
    await gate
    return accounts
  }
  const replan = app.sellify.resetJobs.replan()
  await wasRead
  await putAccount(app, 'new', { timezone: 'Asia/Tokyo' })
  await putAccount(app, 'moving', { timezone: 'UTC' })
  await call(app, 'DELETE', '/api/v1/accounts/old')
  release()
  await replan
  await app.sellify.resetJobs.idle()
  t.same(ids(), ['reset-daily:Asia/Tokyo|00:00|monday', 'reset-daily:UTC|00:00|monday', 'reset-weekly:Asia/Tokyo|00:00|monday', 'reset-weekly:UTC|00:00|monday'])
  app.sellify.accounts.list = list
  await app.sellify.resetJobs.replan()
  t.same(ids(), ['reset-daily:Asia/Tokyo|00:00|monday', 'reset-daily:UTC|00:00|monday', 'reset-weekly:Asia/Tokyo|00:00|monday', 'reset-weekly:UTC|00:00|monday'], 'and the next one agrees')
})
