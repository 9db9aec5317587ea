import t from 'tap'
import { build, call, fixedClock, PG_URL, pgSchema, pgSkip, type TapTest } from '../helper.js'

const limits = { messages_per_day: 5, messages_per_week: 8, images_per_day: 2, videos_per_week: 1 }

t.test('status has the original clients\' fields first, then ours', async (t) => {
  const app = await build(t)
  const res = await call(app, 'GET', '/api/v1/quota/status')
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.same(Object.keys(body).slice(0, 8), ['messages_today', 'messages_this_week', 'images_today', 'videos_this_week', 'last_reset', 'needs_daily_reset', 'needs_weekly_reset', 'messages_this_hour'])
  t.match(body, {
    account: 'default',
    timezone: 'UTC',
    limits: { messages_per_day: 200, messages_per_week: 1000, images_per_day: 50, videos_per_week: 20 },
    remaining: { messages_today: 200, messages_this_week: 1000, images_today: 50, videos_this_week: 20, messages_this_hour: 1_000_000 },
    next_daily_reset: '2026-01-19T00:00:00.000Z',
    next_weekly_reset: '2026-01-19T00:00:00.000Z',
    needs_daily_reset: false,
    needs_weekly_reset: false
  })
  t.equal(body.last_reset, '2026-01-18T12:00:00.000Z', 'creation stands for the last reset until there is one')
})

t.test('consume counts per kind, refuses past a limit and changes nothing then', async (t) => {
  const clock = fixedClock('2026-01-14T10:00:00Z') // a Wednesday
  const app = await build(t, { now: clock.now, defaults: { limits } })
  const consume = async (message_type: string, count?: number) =>
    (await call(app, 'POST', '/api/v1/quota/consume', { message_type, ...(count === undefined ? {} : { count }) })).json()

  t.match(await consume('image'), { allowed: true, usage: { messages_today: 1, images_today: 1, messages_this_week: 1, videos_this_week: 0 } })
  t.match(await consume('image'), { allowed: true, usage: { images_today: 2 }, remaining: { images_today: 0 } })
  const noImage = await consume('image')
  t.match(noImage, { allowed: false, reason: 'images_per_day', retry_after_seconds: 14 * 3600, usage: { messages_today: 2, images_today: 2 } })
  t.notOk('delay_seconds' in noImage)
  t.match(await consume('text'), { allowed: true, usage: { messages_today: 3 } }, 'a text ignores the image limit')
  t.match(await consume('video'), { allowed: true, usage: { messages_today: 4, videos_this_week: 1 } })
  const noVideo = await consume('video')
  t.match(noVideo, { allowed: false, reason: 'videos_per_week' })
  t.equal(noVideo.retry_after_seconds, (4 * 24 + 14) * 3600, 'until Monday 00:00')
  t.match(await consume('text', 2), { allowed: false, reason: 'messages_per_day', usage: { messages_today: 4 } }, 'count is all or nothing')
  t.match(await consume('text', 1), { allowed: true, usage: { messages_today: 5 } })
  t.match(await consume('text'), { allowed: false, reason: 'messages_per_day' })

  clock.set('2026-01-15T10:00:00Z')
  t.match(await consume('text', 3), { allowed: true, usage: { messages_today: 3, messages_this_week: 8 } }, 'the week survives the day change')
  t.match(await consume('text'), { allowed: false, reason: 'messages_per_week', usage: { messages_this_week: 8 } })
  const status = (await call(app, 'GET', '/api/v1/quota/status')).json()
  t.match(status, { messages_today: 3, messages_this_week: 8, images_today: 0, videos_this_week: 1 })
})

t.test('check reads only; record counts even past the limit', async (t) => {
  const app = await build(t, { defaults: { limits } })
  t.same((await call(app, 'POST', '/api/v1/quota/check', { message_type: 'text' })).json(), { can_send: true, delay_seconds: 5 }, 'the centre of the default 2–8 s')
  t.equal((await call(app, 'GET', '/api/v1/quota/status')).json().messages_today, 0, 'check changed nothing')
  const rec = await call(app, 'POST', '/api/v1/quota/record', { message_type: 'image', count: 7 })
  t.same(rec.json(), { recorded: true, usage: { messages_today: 7, messages_this_week: 7, images_today: 7, videos_this_week: 0, messages_this_hour: 7 } })
  t.same((await call(app, 'POST', '/api/v1/quota/check', { message_type: 'text' })).json(),
    { can_send: false, delay_seconds: null, reason: 'messages_per_day', retry_after_seconds: 12 * 3600 })
  t.match((await call(app, 'GET', '/api/v1/quota/status')).json(), { remaining: { messages_today: 0, images_today: 0 } })
})

t.test('pacing comes from the injected RNG', async (t) => {
  // Each delay takes two draws (Box–Muller, README "How quotas work"): u = 0.99 gives |z| ≈ 3.03, v = 0 its sign +,
  // v = 0.5 its sign −, so 5.5 ± 3.03 × 2.25 lands past either end and is clamped; 0, 0 is the centre, round(5.5) = 6.
  const draws = [0.99, 0, 0.99, 0.5]
  const app = await build(t, { random: () => draws.shift() ?? 0, defaults: { limits: { messages_per_day: 10 }, delays: { min_seconds: 1, max_seconds: 10, media_seconds: 30 } } })
  const delay = async (message_type: string) => (await call(app, 'POST', '/api/v1/quota/consume', { message_type })).json().delay_seconds
  const record = async (count: number) => await call(app, 'POST', '/api/v1/quota/record', { message_type: 'text', count })
  t.equal(await delay('text'), 10, 'max of the range')
  t.equal(await delay('text'), 1, 'min of the range')
  await record(3)
  t.equal(await delay('image'), 6 * 2 + 30, '5 of 10 used before: doubled, plus the media pause')
  await record(2)
  t.equal(await delay('text'), 6 * 3, '8 of 10 used before: tripled')
})

t.test('accounts: create, read, replace, list, delete; default is protected', async (t) => {
  const app = await build(t)
  const put = await call(app, 'PUT', '/api/v1/accounts/shop-1', { timezone: 'Europe/Paris', limits: { messages_per_day: 10 }, delays: { min_seconds: 1 } })
  t.equal(put.statusCode, 201)
  t.match(put.json(), {
    id: 'shop-1',
    timezone: 'Europe/Paris',
    reset_time: '00:00',
    week_start: 'monday',
    limits: { messages_per_day: 10, messages_per_week: 1000, images_per_day: 50, videos_per_week: 20 },
    delays: { min_seconds: 1, max_seconds: 8, media_seconds: 5 },
    created_at: '2026-01-18T12:00:00.000Z'
  })
  const again = await call(app, 'PUT', '/api/v1/accounts/shop-1', { timezone: 'America/Sao_Paulo' })
  t.equal(again.statusCode, 200)
  t.match(again.json(), { timezone: 'America/Sao_Paulo', limits: { messages_per_day: 200 } }, 'a PUT is the full configuration')
  t.same((await call(app, 'GET', '/api/v1/accounts/shop-1')).json(), again.json())
  t.same((await call(app, 'GET', '/api/v1/accounts')).json().accounts.map((a: { id: string }) => a.id).sort(), ['default', 'shop-1'])

  t.equal((await call(app, 'POST', '/api/v1/quota/consume', { message_type: 'text', account: 'shop-1' })).statusCode, 200)
  t.equal((await call(app, 'DELETE', '/api/v1/accounts/shop-1')).statusCode, 204)
  t.equal((await call(app, 'GET', '/api/v1/accounts/shop-1')).statusCode, 404)
  t.equal((await call(app, 'DELETE', '/api/v1/accounts/shop-1')).statusCode, 404)
  const def = await call(app, 'DELETE', '/api/v1/accounts/default')
  t.equal(def.statusCode, 409)
  t.match(def.json().message, /default/)
})

t.test('unknown accounts: 404 for status, check and history; an admin consume or record creates them', async (t) => {
  const app = await build(t)
  for (const [method, url, body] of [
    ['GET', '/api/v1/quota/status?account=ghost'],
    ['POST', '/api/v1/quota/check', { message_type: 'text', account: 'ghost' }],
    ['GET', '/api/v1/quota/history?account=ghost']
  ] as const) {
    const res = await call(app, method, url, body)
    t.equal(res.statusCode, 404, url)
    t.match(res.json().message, /ghost/)
  }
  t.equal((await call(app, 'GET', '/api/v1/accounts/ghost')).statusCode, 404)
  t.match((await call(app, 'POST', '/api/v1/quota/record', { message_type: 'text', account: 'new-1' })).json(), { recorded: true })
  t.match((await call(app, 'POST', '/api/v1/quota/consume', { message_type: 'text', account: 'new-2' })).json(), { allowed: true })
  t.equal((await call(app, 'GET', '/api/v1/quota/status?account=new-1')).json().messages_today, 1)
  t.match((await call(app, 'GET', '/api/v1/accounts/new-2')).json(), { limits: { messages_per_day: 200 } }, 'created with the defaults')
})

t.test('manual resets clear the current period of one or every account and are in the history', async (t) => {
  const clock = fixedClock('2026-01-14T10:00:00Z')
  const app = await build(t, { now: clock.now })
  await call(app, 'PUT', '/api/v1/accounts/b', {})
  await call(app, 'POST', '/api/v1/quota/record', { message_type: 'video', count: 3 })
  await call(app, 'POST', '/api/v1/quota/record', { message_type: 'image', count: 2, account: 'b' })
  clock.set('2026-01-14T11:00:00Z')

  const daily = await call(app, 'POST', '/api/v1/quota/reset/daily')
  t.same(daily.json(), { reset_type: 'daily', timestamp: '2026-01-14T11:00:00.000Z', accounts: ['b', 'default'] })
  t.match((await call(app, 'GET', '/api/v1/quota/status')).json(), {
    messages_today: 0, messages_this_week: 3, videos_this_week: 3, last_reset: '2026-01-14T11:00:00.000Z', last_daily_reset: '2026-01-14T11:00:00.000Z', last_weekly_reset: null
  })
  const weekly = await call(app, 'POST', '/api/v1/quota/reset/weekly', { account: 'b' })
  t.same(weekly.json().accounts, ['b'])
  t.match((await call(app, 'GET', '/api/v1/quota/status?account=b')).json(), { messages_this_week: 0, messages_today: 0 })
  t.match((await call(app, 'GET', '/api/v1/quota/status')).json(), { messages_this_week: 3 }, 'the other account keeps its week')

  const resets = (await call(app, 'GET', '/api/v1/quota/resets')).json().resets
  t.same(resets.map((r: { account: string, reset_type: string }) => `${r.account}:${r.reset_type}`), ['b:weekly', 'default:daily', 'b:daily'], 'newest first')
  t.match(resets[0], { source: 'manual', period: '2026-W03', before: { messages: 2, images: 2, videos: 0 } })
  t.match(resets[1], { source: 'manual', period: '2026-01-14', before: { messages: 3, images: 0, videos: 3 } })
  const page = (await call(app, 'GET', `/api/v1/quota/resets?limit=1&before=${resets[0].id}`)).json().resets
  t.same(page.map((r: { id: number }) => r.id), [resets[1].id], 'cursor paging')
  t.equal((await call(app, 'GET', '/api/v1/quota/resets?account=b&reset_type=daily')).json().resets.length, 1)
  t.equal((await call(app, 'POST', '/api/v1/quota/reset/daily', { account: 'ghost' })).statusCode, 404)
})

t.test('needs_daily_reset / needs_weekly_reset follow the periods', async (t) => {
  const clock = fixedClock('2026-01-14T10:00:00Z')
  const app = await build(t, { now: clock.now, scheduler: false })
  t.match((await call(app, 'GET', '/api/v1/quota/status')).json(), { needs_daily_reset: false, needs_weekly_reset: false }, 'created in this period')
  clock.set('2026-01-15T00:00:00Z')
  t.match((await call(app, 'GET', '/api/v1/quota/status')).json(), { needs_daily_reset: true, needs_weekly_reset: false })
  await call(app, 'POST', '/api/v1/quota/reset/daily')
  t.match((await call(app, 'GET', '/api/v1/quota/status')).json(), { needs_daily_reset: false })
  clock.set('2026-01-19T00:00:00Z')
  t.match((await call(app, 'GET', '/api/v1/quota/status')).json(), { needs_daily_reset: true, needs_weekly_reset: true, next_weekly_reset: '2026-01-26T00:00:00.000Z' })
})

t.test('history: sends per day, oldest first, zero-filled', async (t) => {
  const clock = fixedClock('2026-01-16T10:00:00Z')
  const app = await build(t, { now: clock.now })
  await call(app, 'POST', '/api/v1/quota/record', { message_type: 'image', count: 2 })
  clock.set('2026-01-18T10:00:00Z')
  await call(app, 'POST', '/api/v1/quota/record', { message_type: 'video' })
  await call(app, 'POST', '/api/v1/quota/record', { message_type: 'text' })
  const res = await call(app, 'GET', '/api/v1/quota/history?days=4')
  t.same(res.json(), {
    days: [
      { day: '2026-01-15', messages: 0, images: 0, videos: 0 },
      { day: '2026-01-16', messages: 2, images: 2, videos: 0 },
      { day: '2026-01-17', messages: 0, images: 0, videos: 0 },
      { day: '2026-01-18', messages: 2, images: 0, videos: 1 }
    ]
  })
  t.equal((await call(app, 'GET', '/api/v1/quota/history')).json().days.length, 14, '14 days by default')
})

t.test('sends land in the account\'s local periods across DST and the ISO year', async (t) => {
  const clock = fixedClock('2026-03-28T22:59:59Z')
  const app = await build(t, { now: clock.now })
  const send = async (account: string, at: string) => {
    clock.set(at)
    return (await call(app, 'POST', '/api/v1/quota/consume', { message_type: 'text', account })).json()
  }
  const day = async (account: string) => (await call(app, 'GET', `/api/v1/quota/history?account=${account}&days=3`)).json().days

  await call(app, 'PUT', '/api/v1/accounts/paris', { timezone: 'Europe/Paris' })
  await send('paris', '2026-03-28T22:59:59Z') // 23:59:59 CET, Saturday
  await send('paris', '2026-03-28T23:00:00Z') // 00:00 CET, Sunday 2026-03-29 (a 23-hour day)
  await send('paris', '2026-03-29T21:59:59Z') // 23:59:59 CEST, still Sunday
  const s = await send('paris', '2026-03-29T22:00:00Z') // 00:00 CEST Monday: new day and new week
  t.match(s, { usage: { messages_today: 1, messages_this_week: 1 } })
  t.same((await day('paris')).map((d: { messages: number }) => d.messages), [1, 2, 1])

  await call(app, 'PUT', '/api/v1/accounts/sp', { timezone: 'America/Sao_Paulo' })
  // 2018-11-04: clocks jumped from 00:00 to 01:00, so the day began at 03:00Z.
  await send('sp', '2018-11-04T02:59:59Z')
  const first = await send('sp', '2018-11-04T03:00:00Z')
  t.match(first, { usage: { messages_today: 1 } }, 'Sao Paulo\'s gap day starts at 01:00 local')
  t.same((await day('sp')).slice(1).map((d: { day: string, messages: number }) => [d.day, d.messages]), [['2018-11-03', 1], ['2018-11-04', 1]])

  await call(app, 'PUT', '/api/v1/accounts/utc', {})
  await send('utc', '2024-12-29T23:59:59Z')
  const w = await send('utc', '2024-12-30T00:00:00Z')
  t.match(w, { usage: { messages_this_week: 1 } }, '2024-12-30 opens 2025-W01')
  await call(app, 'POST', '/api/v1/quota/reset/weekly', { account: 'utc' })
  t.equal((await call(app, 'GET', '/api/v1/quota/resets?account=utc')).json().resets[0].period, '2025-W01')
  clock.set('2021-01-03T12:00:00Z')
  await call(app, 'POST', '/api/v1/quota/reset/weekly', { account: 'utc' })
  t.equal((await call(app, 'GET', '/api/v1/quota/resets?account=utc')).json().resets[0].period, '2020-W53')
})

/** Every quota and account route fed bad input: a 4xx naming the field, and nothing changes. */
t.test('bad input is refused with a message naming the field and changes nothing', async (t) => {
  const app = await build(t)
  await call(app, 'POST', '/api/v1/quota/record', { message_type: 'text', count: 2 })
  await call(app, 'PUT', '/api/v1/accounts/keep', { limits: { messages_per_day: 7 } })
  const snapshot = async () => JSON.stringify([
    (await call(app, 'GET', '/api/v1/quota/status')).json(),
    (await call(app, 'GET', '/api/v1/accounts')).json(),
    (await call(app, 'GET', '/api/v1/quota/resets')).json()
  ])
  const before = await snapshot()
  const long = 'a'.repeat(129)
  const cases: Array<[string, string, unknown, RegExp]> = []
  for (const url of ['/api/v1/quota/check', '/api/v1/quota/consume', '/api/v1/quota/record']) {
    cases.push(
      [url, 'POST', { message_type: 'sms' }, /body\/message_type must be one of text, image, video/],
      [url, 'POST', { message_type: 'text', count: 0 }, /body\/count must be >= 1/],
      [url, 'POST', { message_type: 'text', count: -5 }, /body\/count/],
      [url, 'POST', { message_type: 'text', count: 1e9 }, /body\/count must be <= 10000/],
      [url, 'POST', { message_type: 'text', count: 1.5 }, /body\/count must be integer/],
      [url, 'POST', { message_type: 'text', count: '3' }, /body\/count must be integer/],
      [url, 'POST', { message_type: 'text', account: 'bad id!' }, /body\/account must match pattern/],
      [url, 'POST', { message_type: 'text', account: long }, /body\/account/],
      [url, 'POST', { message_type: 'text', extra: true }, /body\/extra is not an allowed field/],
      [url, 'POST', [], /body must be object/],
      [url, 'POST', 'null', /body must be object|body\/message_type is required/],
      [url, 'POST', '{"message_type":"text",', /JSON/]
    )
  }
  for (const url of ['/api/v1/quota/reset/daily', '/api/v1/quota/reset/weekly']) {
    cases.push(
      [url, 'POST', { account: '-x' }, /body\/account must match pattern/],
      [url, 'POST', { accounts: ['a'] }, /body\/accounts is not an allowed field/]
    )
  }
  cases.push(
    ['/api/v1/quota/status?account=%20', 'GET', undefined, /querystring\/account must match pattern/],
    ['/api/v1/quota/history?days=0', 'GET', undefined, /querystring\/days must be >= 1/],
    ['/api/v1/quota/history?days=lots', 'GET', undefined, /querystring\/days must be integer/],
    ['/api/v1/quota/history?days=367', 'GET', undefined, /querystring\/days must be <= 366/],
    ['/api/v1/quota/resets?limit=0', 'GET', undefined, /querystring\/limit must be >= 1/],
    ['/api/v1/quota/resets?reset_type=hourly', 'GET', undefined, /querystring\/reset_type must be one of daily, weekly/],
    ['/api/v1/quota/resets?before=-1', 'GET', undefined, /querystring\/before must be >= 1/],
    ['/api/v1/accounts/bad%20id', 'GET', undefined, /params\/account must match pattern/],
    ['/api/v1/accounts/keep', 'PUT', { timezone: 'Europe/Berln' }, /timezone "Europe\/Berln" is not a known IANA time zone/],
    ['/api/v1/accounts/keep', 'PUT', { reset_time: '25:00' }, /body\/reset_time must match pattern/],
    ['/api/v1/accounts/keep', 'PUT', { week_start: 'someday' }, /body\/week_start must be one of monday/],
    ['/api/v1/accounts/keep', 'PUT', { limits: { messages_per_day: -1 } }, /body\/limits\/messages_per_day must be >= 0/],
    ['/api/v1/accounts/keep', 'PUT', { limits: { messages_per_day: '10' } }, /body\/limits\/messages_per_day must be integer/],
    ['/api/v1/accounts/keep', 'PUT', { limits: { sms_per_day: 1 } }, /body\/limits\/sms_per_day is not an allowed field/],
    ['/api/v1/accounts/keep', 'PUT', { delays: { min_seconds: 9, max_seconds: 3 } }, /delays.min_seconds must not exceed delays.max_seconds/],
    ['/api/v1/accounts/keep', 'PUT', { id: 'other' }, /body\/id is not an allowed field/],
    ['/api/v1/accounts/bad%20id', 'PUT', {}, /params\/account must match pattern/],
    ['/api/v1/accounts/bad%20id', 'DELETE', undefined, /params\/account must match pattern/]
  )
  for (const [url, method, body, message] of cases) {
    const res = await call(app, method as 'GET', url, body)
    t.ok(res.statusCode >= 400 && res.statusCode < 500, `${method} ${url} ${JSON.stringify(body)} is a 4xx (${res.statusCode})`)
    t.match(res.json().message, message, `${method} ${url} ${JSON.stringify(body)}: ${res.json().message}`)
  }
  t.equal(await snapshot(), before, 'nothing changed')
})

async function concurrentConsumes (t: TapTest, options: Parameters<typeof build>[1]): Promise<void> {
  const app = await build(t, { ...options, defaults: { limits: { messages_per_day: 100 } } })
  await call(app, 'PUT', '/api/v1/accounts/burst', { limits: { messages_per_day: 100 } })
  const answers = await Promise.all(Array.from({ length: 1000 }, async () =>
    (await call(app, 'POST', '/api/v1/quota/consume', { message_type: 'text', account: 'burst' })).json()))
  t.equal(answers.filter((a) => a.allowed === true).length, 100, 'exactly 100 granted')
  t.equal(answers.filter((a) => a.allowed === false && a.reason === 'messages_per_day').length, 900)
  t.equal((await call(app, 'GET', '/api/v1/quota/status?account=burst')).json().messages_today, 100, 'the counter is exactly the limit')
}

t.test('1000 concurrent consumes against a limit of 100 grant exactly 100: SQLite file', async (t) => {
  await concurrentConsumes(t, { store: { sqlitePath: `${t.testdir()}/burst.db` } })
})

t.test('1000 concurrent consumes against a limit of 100 grant exactly 100: PostgreSQL', { skip: await pgSkip() }, async (t) => {
  await concurrentConsumes(t, { store: { databaseUrl: PG_URL, pgSchema: pgSchema(t) } })
})
