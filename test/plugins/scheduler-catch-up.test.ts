import t from 'tap'
import { join } from 'node:path'
import { fixedClock } from '../helper.js'
import { buildLogged, consume, putAccount, resets, runLines, status, summary } from './scheduler-helper.js'

/**
 * The server is down across boundaries; each session is a new app on the same SQLite file.
 * 2026-01-18 is a Sunday, 2026-01-19 a Monday (week 2026-W04 begins).
 */
t.test('catch-up after downtime: once per account and missed period, none for a period an account was created in', async (t) => {
  const sqlitePath = join(t.testdir(), 'sellify.db')
  const clock = fixedClock('2026-01-18T12:00:00Z')
  async function session (at: string) {
    clock.set(at)
    const { app, logs } = await buildLogged(t, { now: clock.now, store: { sqlitePath } })
    return { app, logs }
  }

  // Sunday: accounts and some sends.
  let { app, logs } = await session('2026-01-18T12:00:00Z')
  await putAccount(app, 'a')
  await putAccount(app, 'tokyo', { timezone: 'Asia/Tokyo' }) // Sunday 21:00 there
  await consume(app, 'a', 'text', 3)
  await consume(app, 'tokyo', 'video', 1)
  t.same(await resets(app), [], 'accounts created today and this week need no reset')
  await app.close()

  // Down across Monday 00:00, back at 10:00: a catch-up per account for the new day and the new week.
  ;({ app, logs } = await session('2026-01-19T10:00:00Z'))
  const monday = await resets(app)
  t.same(summary(monday), [
    'a daily 2026-01-19 catch-up', 'a weekly 2026-W04 catch-up',
    'default daily 2026-01-19 catch-up', 'default weekly 2026-W04 catch-up',
    'tokyo daily 2026-01-19 catch-up', 'tokyo weekly 2026-W04 catch-up'
  ])
  t.ok(monday.every((r) => r.timestamp === '2026-01-19T10:00:00.000Z'), 'recorded when the service came back')
  t.same(monday.find((r) => r.account === 'a' && r.reset_type === 'daily')?.before, { messages: 3, images: 0, videos: 0 }, 'before: the day that was missed')
  t.same(monday.find((r) => r.account === 'tokyo' && r.reset_type === 'weekly')?.before, { messages: 1, images: 0, videos: 1 })
  t.match(runLines(logs, 'catch-up', 'daily'), [{ msg: 'catch-up daily reset: 3 account(s)', recorded: 3 }])
  t.match(runLines(logs, 'catch-up', 'weekly'), [{ msg: 'catch-up weekly reset: 3 account(s)', recorded: 3 }])
  t.match(await status(app, 'a'), { messages_today: 0, messages_this_week: 0, needs_daily_reset: false, needs_weekly_reset: false, last_daily_reset: '2026-01-19T10:00:00.000Z' })
  t.match(await status(app, 'tokyo'), { messages_today: 0, videos_this_week: 0, needs_daily_reset: false, needs_weekly_reset: false })

  clock.set('2026-01-19T11:00:00Z')
  await putAccount(app, 'c') // created during Monday, in week W04
  await consume(app, 'a', 'text', 2)
  await consume(app, 'c', 'image', 1)
  clock.set('2026-01-19T23:00:00Z')
  await app.close()

  // Down across Tuesday 00:00: a daily catch-up per account, no weekly one. The week W04 already has its
  // reset for a, default and tokyo (Monday's catch-up); c was created in W04, and an account's creation
  // opens the period it is created in, so c's week has nothing to reset either.
  ;({ app, logs } = await session('2026-01-20T10:00:00Z'))
  const tuesday = (await resets(app)).slice(monday.length)
  t.same(summary(tuesday), [
    'a daily 2026-01-20 catch-up', 'c daily 2026-01-20 catch-up', 'default daily 2026-01-20 catch-up', 'tokyo daily 2026-01-20 catch-up'
  ])
  t.match(runLines(logs, 'catch-up', 'weekly'), [{ msg: 'catch-up weekly reset: 0 account(s)', recorded: 0 }])
  t.match(await status(app, 'a'), { messages_today: 0, messages_this_week: 2, needs_daily_reset: false, needs_weekly_reset: false }, 'the week survives the day change')
  t.match(await status(app, 'c'), {
    messages_today: 0,
    images_today: 0,
    messages_this_week: 1,
    needs_daily_reset: false,
    needs_weekly_reset: false,
    last_weekly_reset: null
  }, 'c\'s week began with c')
  await app.close()

  // Again the same day (14:00 UTC is 23:00 in Tokyo): nothing more.
  ;({ app, logs } = await session('2026-01-20T14:00:00Z'))
  t.equal((await resets(app)).length, monday.length + tuesday.length, 'nothing new')
  t.match(runLines(logs, 'catch-up', 'daily'), [{ recorded: 0 }])
  t.match(runLines(logs, 'catch-up', 'weekly'), [{ recorded: 0 }])
})

t.test('the catch-up and the jobs agree: a job firing after the catch-up records nothing twice', async (t) => {
  const clock = fixedClock('2026-01-18T12:00:00Z')
  const { app } = await buildLogged(t, { now: clock.now })
  await putAccount(app, 'a')
  clock.set('2026-01-19T00:00:01Z')
  const recorded = await Promise.all([
    app.sellify.resetJobs.run('daily', 'catch-up'),
    app.sellify.resetJobs.run('daily'),
    app.sellify.resetJobs.run('weekly'),
    app.sellify.resetJobs.run('weekly', 'catch-up')
  ])
  t.equal(recorded.flat().length, 4, 'a and default, daily and weekly, once each')
  t.same(summary(await resets(app)).map((s) => s.split(' ').slice(0, 3).join(' ')), [
    'a daily 2026-01-19', 'a weekly 2026-W04', 'default daily 2026-01-19', 'default weekly 2026-W04'
  ])
})
