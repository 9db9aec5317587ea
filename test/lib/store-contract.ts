/**
 * The Store contract, run against every backend (store-sqlite.test.ts, store-postgres.test.ts) so
 * that both are proven by the same assertions. Not a test file by itself: it has no `.test.` name.
 */
import { createHash, randomBytes } from 'node:crypto'
import type { Test } from 'tap'
import type { Account, Kind, Limits } from '../../lib/types.js'
import type { ConsumeInput, Store } from '../../lib/store/types.js'

export interface StoreHarness {
  /** A new store instance on this test file's database (its own connection or pool), migrated. */
  open (): Promise<Store>
}

const DAY = '2026-01-18'
const WEEK = '2026-W03'
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

const BIG: Limits = { messages_per_day: 1_000_000, messages_per_week: 1_000_000, images_per_day: 1_000_000, videos_per_week: 1_000_000 }

export function makeAccount (id: string, overrides: Partial<Account> = {}): Account {
  return {
    id,
    timezone: 'UTC',
    reset_time: '00:00',
    week_start: 'monday',
    limits: { messages_per_day: 200, messages_per_week: 1000, images_per_day: 50, videos_per_week: 20 },
    delays: { min_seconds: 2, max_seconds: 8, media_seconds: 5 },
    created_at: '2026-01-01T00:00:00.000Z',
    ...overrides
  }
}

/** Account ids unique to one run, so that suites sharing a database never see each other's rows. */
const run = randomBytes(4).toString('hex')
const uid = (name: string): string => `${name}-${run}`

function consumeInput (account: string, kind: Kind, count: number, limits: Partial<Limits> = {}, extra: Partial<ConsumeInput> = {}): ConsumeInput {
  return { account, day: DAY, week: WEEK, kind, count, mode: 'consume', limits: { ...BIG, ...limits }, ...extra }
}

/** A one-text consume of `account` with the SPEC defaults (limit 100 a day), for the backend-specific tests. */
export const input = (account: string, extra: Partial<ConsumeInput> = {}): ConsumeInput => ({
  account,
  day: '2026-01-18',
  week: '2026-W03',
  kind: 'text',
  count: 1,
  mode: 'consume',
  limits: { messages_per_day: 100, messages_per_week: 1000, images_per_day: 50, videos_per_week: 20 },
  ...extra
})

const usage = (messages: number, images = 0, videos = 0): { messages: number, images: number, videos: number } => ({ messages, images, videos })

export function storeContract (t: Test, harness: StoreHarness): void {
  async function open (t: Test): Promise<Store> {
    const store = await harness.open()
    t.teardown(() => store.close())
    return store
  }

  t.test('migrate is idempotent and ping answers', async (t) => {
    const store = await open(t)
    await store.migrate()
    await store.migrate()
    await t.resolves(store.ping())
    const again = await open(t)
    await again.migrate()
    t.equal(await again.getAccount(uid('nobody')), null)
  })

  t.test('accounts: put, ensure, get, list, delete', async (t) => {
    const store = await open(t)
    const id = uid('acct')
    const a = makeAccount(id, { timezone: 'Europe/Paris', week_start: 'sunday', delays: { min_seconds: 1, max_seconds: 3.5, media_seconds: 0 } })

    const first = await store.putAccount(a)
    t.equal(first.created, true)
    t.strictSame(first.account, a)
    t.strictSame(await store.getAccount(id), a)

    const changed = makeAccount(id, { limits: { ...a.limits, messages_per_day: 7 }, created_at: '2030-01-01T00:00:00.000Z' })
    const second = await store.putAccount(changed)
    t.equal(second.created, false)
    t.equal(second.account.limits.messages_per_day, 7)
    t.equal(second.account.timezone, 'UTC', 'the whole configuration is replaced')
    t.equal(second.account.created_at, a.created_at, 'created_at of an existing account is kept')

    const ensured = await store.ensureAccount(makeAccount(id, { limits: { ...a.limits, messages_per_day: 99 } }))
    t.equal(ensured.limits.messages_per_day, 7, 'ensure returns the stored account, unchanged')

    const other = uid('acct-other')
    const created = await store.ensureAccount(makeAccount(other, { created_at: '2026-01-02T03:04:05Z' }))
    t.equal(created.created_at, '2026-01-02T03:04:05.000Z', 'timestamps come back as ISO with milliseconds')
    t.strictSame(await store.getAccount(other), created)

    const listed = (await store.listAccounts()).filter(x => x.id === id || x.id === other)
    t.strictSame(listed.map(x => x.id), [id, other].sort())
    t.equal(await store.getAccount(uid('missing')), null)

    t.equal(await store.deleteAccount(other), true)
    t.equal(await store.deleteAccount(other), false)
    t.equal(await store.getAccount(other), null)
  })

  t.test('deleteAccount removes counters, ledger and resets, and revokes bound keys', async (t) => {
    const store = await open(t)
    const id = uid('doomed')
    const keep = uid('kept')
    await store.putAccount(makeAccount(id))
    await store.putAccount(makeAccount(keep))
    for (const a of [id, keep]) {
      await store.consume(consumeInput(a, 'video', 2))
      await store.recordReset({ account: a, reset_type: 'daily', source: 'catch-up', period: DAY, timestamp: '2026-01-18T00:00:01.000Z' })
    }
    const digest = createHash('sha256').update(uid('doomed-key')).digest()
    await store.createKey({ id: uid('k-doomed'), name: 'agent', role: 'agent', account: id, digest, created_at: '2026-01-01T00:00:00.000Z' })

    t.equal(await store.deleteAccount(id, '2026-01-18T10:00:00.000Z'), true)
    t.strictSame(await store.getUsage(id, DAY, WEEK), { day: usage(0), week: usage(0) })
    t.equal(await store.hasReset(id, 'daily', DAY), false)
    t.strictSame(await store.listResets({ account: id, limit: 10 }), [])
    t.strictSame(await store.dayHistory(id, '2026-01-01', '2026-01-31'), [])
    const key = await store.findKeyByDigest(digest)
    t.equal(key?.revoked_at, '2026-01-18T10:00:00.000Z')

    t.strictSame(await store.getUsage(keep, DAY, WEEK), { day: usage(2, 0, 2), week: usage(2, 0, 2) }, 'other accounts untouched')
    t.equal(await store.hasReset(keep, 'daily', DAY), true)
  })

  t.test('consume counts each kind on the day and the week row', async (t) => {
    const store = await open(t)
    const id = uid('kinds')
    const text = await store.consume(consumeInput(id, 'text', 3))
    t.strictSame(text, { ok: true, before: { day: usage(0), week: usage(0) }, after: { day: usage(3), week: usage(3) } })
    const image = await store.consume(consumeInput(id, 'image', 2))
    t.strictSame(image, { ok: true, before: { day: usage(3), week: usage(3) }, after: { day: usage(5, 2), week: usage(5, 2) } })
    const video = await store.consume(consumeInput(id, 'video', 1))
    t.strictSame(video, { ok: true, before: { day: usage(5, 2), week: usage(5, 2) }, after: { day: usage(6, 2, 1), week: usage(6, 2, 1) } })

    // The next day is a new day row; the week row keeps counting.
    const next = await store.consume(consumeInput(id, 'video', 1, {}, { day: '2026-01-19' }))
    t.strictSame(next, { ok: true, before: { day: usage(0), week: usage(6, 2, 1) }, after: { day: usage(1, 0, 1), week: usage(7, 2, 2) } })
    t.strictSame(await store.getUsage(id, DAY, WEEK), { day: usage(6, 2, 1), week: usage(7, 2, 2) })
    t.strictSame(await store.getUsage(id, '2026-01-19', WEEK), { day: usage(1, 0, 1), week: usage(7, 2, 2) })
    t.strictSame(await store.getUsage(id, '2026-01-20', '2026-W04'), { day: usage(0), week: usage(0) })
  })

  t.test('consume refuses with the first failing limit and changes nothing', async (t) => {
    const store = await open(t)
    const id = uid('limits')
    await store.consume(consumeInput(id, 'image', 4, {}, { mode: 'record' }))
    await store.consume(consumeInput(id, 'video', 4, {}, { mode: 'record' }))
    // Now: day and week rows are messages 8, images 4, videos 4.
    const state = { day: usage(8, 4, 4), week: usage(8, 4, 4) }
    const cases: Array<[Kind, number, Partial<Limits>, string]> = [
      ['text', 1, { messages_per_day: 8, messages_per_week: 8 }, 'messages_per_day'],
      ['video', 1, { messages_per_day: 8, messages_per_week: 8, images_per_day: 0, videos_per_week: 0 }, 'messages_per_day'],
      ['image', 1, { messages_per_week: 8, images_per_day: 4 }, 'messages_per_week'],
      ['image', 1, { images_per_day: 4, videos_per_week: 0 }, 'images_per_day'],
      ['image', 1, { images_per_day: 0 }, 'images_per_day'],
      ['video', 2, { images_per_day: 0, videos_per_week: 5 }, 'videos_per_week'],
      ['text', 3, { messages_per_day: 10 }, 'messages_per_day']
    ]
    for (const [kind, count, limits, limit] of cases) {
      const r = await store.consume(consumeInput(id, kind, count, limits))
      t.strictSame(r, { ok: false, limit, usage: state }, `${kind} x${count} ${JSON.stringify(limits)} -> ${limit}`)
    }
    t.strictSame(await store.getUsage(id, DAY, WEEK), state, 'denials changed nothing')

    // Only the limits the kind touches can fail, even when another counter is already over.
    const text = await store.consume(consumeInput(id, 'text', 1, { images_per_day: 0, videos_per_week: 0 }))
    t.equal(text.ok, true, 'a text does not fail on images or videos')
    const image = await store.consume(consumeInput(id, 'image', 1, { videos_per_week: 0 }))
    t.equal(image.ok, true, 'an image does not fail on videos')
    const video = await store.consume(consumeInput(id, 'video', 1, { images_per_day: 0 }))
    t.equal(video.ok, true, 'a video does not fail on images')

    // Exactly at the limit is allowed.
    const fresh = uid('edge')
    t.equal((await store.consume(consumeInput(fresh, 'image', 5, { messages_per_day: 5, images_per_day: 5 }))).ok, true)
    t.match(await store.consume(consumeInput(fresh, 'image', 1, { messages_per_day: 6, images_per_day: 5 })), { ok: false, limit: 'images_per_day' })
  })

  t.test('a denied first consume leaves no row behind', async (t) => {
    const store = await open(t)
    const id = uid('zero')
    const r = await store.consume(consumeInput(id, 'text', 1, { messages_per_day: 0 }))
    t.strictSame(r, { ok: false, limit: 'messages_per_day', usage: { day: usage(0), week: usage(0) } })
    const w = await store.consume(consumeInput(id, 'video', 1, { videos_per_week: 0 }))
    t.strictSame(w, { ok: false, limit: 'videos_per_week', usage: { day: usage(0), week: usage(0) } })
    t.strictSame(await store.dayHistory(id, '2026-01-01', '2026-12-31'), [])
  })

  t.test('record always counts, past the limits too', async (t) => {
    const store = await open(t)
    const id = uid('record')
    const limits = { messages_per_day: 1, messages_per_week: 1, images_per_day: 0, videos_per_week: 0 }
    const a = await store.consume(consumeInput(id, 'image', 3, limits, { mode: 'record' }))
    t.strictSame(a, { ok: true, before: { day: usage(0), week: usage(0) }, after: { day: usage(3, 3), week: usage(3, 3) } })
    const b = await store.consume(consumeInput(id, 'video', 2, limits, { mode: 'record' }))
    t.equal(b.ok, true)
    t.strictSame(await store.getUsage(id, DAY, WEEK), { day: usage(5, 3, 2), week: usage(5, 3, 2) })
    t.match(await store.consume(consumeInput(id, 'text', 1, limits)), { ok: false, limit: 'messages_per_day' })
  })

  t.test('invalid input rejects and changes nothing', async (t) => {
    const store = await open(t)
    const id = uid('invalid')
    const bad: Array<Partial<ConsumeInput>> = [
      { count: 0 }, { count: -1 }, { count: 1.5 }, { count: Number.NaN },
      { day: '2026-W03' }, { week: '2026-01-18' }, { day: '' },
      { kind: 'audio' as Kind }, { mode: 'maybe' as 'consume' },
      { limits: { ...BIG, messages_per_day: -1 } }, { account: '' }
    ]
    for (const b of bad) await t.rejects(store.consume({ ...consumeInput(id, 'text', 1), ...b }), JSON.stringify(b))
    await t.rejects(store.getUsage(id, WEEK, DAY))
    await t.rejects(store.dayHistory(id, '2026-01-01', WEEK))
    await t.rejects(store.recordReset({ account: id, reset_type: 'daily', source: 'manual', period: WEEK, timestamp: '2026-01-18T00:00:00.000Z' }))
    await t.rejects(store.recordReset({ account: id, reset_type: 'weekly', source: 'schedule', period: WEEK, previous_period: DAY, timestamp: '2026-01-18T00:00:00.000Z' }))
    await t.rejects(store.recordReset({ account: id, reset_type: 'daily', source: 'manual', period: DAY, timestamp: 'yesterday' }))
    t.strictSame(await store.getUsage(id, DAY, WEEK), { day: usage(0), week: usage(0) })
  })

  t.test('1000 concurrent consumes against a limit of 100 grant exactly 100 (one instance)', async (t) => {
    const store = await open(t)
    const id = uid('race-one')
    const results = await Promise.all(Array.from({ length: 1000 }, () => store.consume(consumeInput(id, 'text', 1, { messages_per_day: 100 }))))
    t.equal(results.filter(r => r.ok).length, 100)
    t.equal(results.filter(r => !r.ok && r.limit === 'messages_per_day').length, 900)
    const afters = results.flatMap(r => r.ok ? [r.after.day.messages] : []).sort((a, b) => a - b)
    t.strictSame(afters, Array.from({ length: 100 }, (_, i) => i + 1), 'each grant saw its own count')
    t.strictSame(await store.getUsage(id, DAY, WEEK), { day: usage(100), week: usage(100) })
  })

  t.test('1000 concurrent consumes from two instances grant exactly 100', async (t) => {
    const a = await open(t)
    const b = await open(t)
    const id = uid('race-two')
    const input = consumeInput(id, 'image', 1, { messages_per_week: 100 })
    const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => (i % 2 === 0 ? a : b).consume(input)))
    t.equal(results.filter(r => r.ok).length, 100)
    t.equal(results.filter(r => !r.ok && r.limit === 'messages_per_week').length, 900)
    t.strictSame(await a.getUsage(id, DAY, WEEK), { day: usage(100, 100), week: usage(100, 100) })
    t.strictSame(await b.getUsage(id, DAY, WEEK), { day: usage(100, 100), week: usage(100, 100) })
  })

  t.test('one send, several counters: the tighter limit binds both rows', async (t) => {
    const a = await open(t)
    const b = await open(t)
    const id = uid('two-limits')
    // SPEC §12: separate updates granted 70 sends but left the day counter at 100.
    const limits = { messages_per_day: 100, messages_per_week: 70 }
    const results = await Promise.all(Array.from({ length: 300 }, (_, i) => (i % 2 === 0 ? a : b).consume(consumeInput(id, 'video', 1, limits))))
    t.equal(results.filter(r => r.ok).length, 70)
    t.ok(results.every(r => r.ok || r.limit === 'messages_per_week'))
    t.strictSame(await a.getUsage(id, DAY, WEEK), { day: usage(70, 0, 70), week: usage(70, 0, 70) })
  })

  t.test('schedule and catch-up resets are recorded exactly once', async (t) => {
    const a = await open(t)
    const b = await open(t)
    const id = uid('once')
    await a.consume(consumeInput(id, 'image', 3, {}, { day: '2026-01-17' }))
    const attempt = (s: Store, source: 'schedule' | 'catch-up'): ReturnType<Store['recordReset']> =>
      s.recordReset({ account: id, reset_type: 'daily', source, period: DAY, previous_period: '2026-01-17', timestamp: '2026-01-18T00:00:00.000Z' })
    const results = await Promise.all([attempt(a, 'schedule'), attempt(b, 'schedule'), attempt(a, 'catch-up'), attempt(b, 'schedule'), attempt(a, 'schedule')])
    const recorded = results.filter(r => r !== null)
    t.equal(recorded.length, 1, 'one of five racing attempts records')
    t.match(recorded[0], { account: id, reset_type: 'daily', period: DAY, timestamp: '2026-01-18T00:00:00.000Z', before: usage(3, 3) })
    t.equal(typeof recorded[0]?.id, 'number')
    t.equal(await a.hasReset(id, 'daily', DAY), true)
    t.equal(await a.hasReset(id, 'weekly', WEEK), false)
    t.equal(await a.hasReset(id, 'daily', '2026-01-19'), false)
    t.equal((await a.listResets({ account: id, limit: 10 })).length, 1)
    t.equal(await attempt(b, 'catch-up'), null, 'later attempts record nothing')

    // No previous period (or an empty one): before is zeros. The week's counters are untouched.
    const weekly = await a.recordReset({ account: id, reset_type: 'weekly', source: 'catch-up', period: WEEK, timestamp: '2026-01-18T00:00:02.000Z' })
    t.strictSame(weekly?.before, usage(0))
    t.strictSame(await a.getUsage(id, '2026-01-17', '2026-W03'), { day: usage(3, 3), week: usage(3, 3) }, 'periodic resets clear nothing')
  })

  t.test('manual reset clears only its period, records before, and always records', async (t) => {
    const store = await open(t)
    const id = uid('manual')
    await store.consume(consumeInput(id, 'video', 4))
    await store.consume(consumeInput(id, 'image', 2, {}, { day: '2026-01-17' }))
    const daily = await store.recordReset({ account: id, reset_type: 'daily', source: 'manual', period: DAY, timestamp: '2026-01-18T09:00:00.000Z' })
    t.match(daily, { account: id, reset_type: 'daily', source: 'manual', period: DAY, timestamp: '2026-01-18T09:00:00.000Z', before: usage(4, 0, 4) })
    t.strictSame(await store.getUsage(id, DAY, WEEK), { day: usage(0), week: usage(6, 2, 4) }, 'the day is cleared, the week kept')
    t.strictSame(await store.getUsage(id, '2026-01-17', WEEK), { day: usage(2, 2), week: usage(6, 2, 4) }, 'other days kept')
    t.equal(await store.hasReset(id, 'daily', DAY), true, 'a manual reset counts for the period')
    t.equal(await store.recordReset({ account: id, reset_type: 'daily', source: 'schedule', period: DAY, timestamp: '2026-01-18T09:00:01.000Z' }), null)

    const again = await store.recordReset({ account: id, reset_type: 'daily', source: 'manual', period: DAY, timestamp: '2026-01-18T09:30:00.000Z' })
    t.strictSame(again?.before, usage(0), 'a second manual reset records again')

    const weekly = await store.recordReset({ account: id, reset_type: 'weekly', source: 'manual', period: WEEK, timestamp: '2026-01-18T10:00:00.000Z' })
    t.strictSame(weekly?.before, usage(6, 2, 4))
    t.strictSame(await store.getUsage(id, '2026-01-17', WEEK), { day: usage(2, 2), week: usage(0) }, 'the week is cleared, the days kept')

    // The counters restart from zero after a manual reset.
    const r = await store.consume(consumeInput(id, 'text', 1, { messages_per_day: 1 }))
    t.match(r, { ok: true, after: { day: usage(1), week: usage(1) } })

    const none = await store.recordReset({ account: uid('manual-empty'), reset_type: 'daily', source: 'manual', period: DAY, timestamp: '2026-01-18T10:00:00.000Z' })
    t.strictSame(none?.before, usage(0), 'a manual reset of an account without counters records zeros')
  })

  t.test('listResets filters newest first with a cursor; lastResets gives the newest of each type', async (t) => {
    const store = await open(t)
    const a = uid('hist-a')
    const b = uid('hist-b')
    t.strictSame(await store.lastResets(a), { daily: null, weekly: null })
    const days = ['2026-01-12', '2026-01-13', '2026-01-14', '2026-01-15', '2026-01-16']
    for (const [i, day] of days.entries()) {
      await store.recordReset({ account: a, reset_type: 'daily', source: 'schedule', period: day, timestamp: `${day}T00:00:00.000Z` })
      await store.recordReset({ account: b, reset_type: 'daily', source: 'catch-up', period: day, timestamp: `${day}T00:00:00.000Z` })
      if (i === 1) await store.recordReset({ account: a, reset_type: 'weekly', source: 'schedule', period: '2026-W03', timestamp: `${day}T00:00:00.000Z` })
    }
    await store.recordReset({ account: a, reset_type: 'daily', source: 'manual', period: '2026-01-16', timestamp: '2026-01-16T12:00:00.000Z' })

    const all = await store.listResets({ account: a, limit: 50 })
    t.equal(all.length, 7)
    t.ok(all.every((r, i) => i === 0 || r.id < all[i - 1].id), 'newest first')
    t.ok(all.every(r => r.account === a && ISO.test(r.timestamp)))
    t.equal(all[0].source, 'manual')

    const daily = await store.listResets({ account: a, reset_type: 'daily', limit: 50 })
    t.equal(daily.length, 6)
    t.ok(daily.every(r => r.reset_type === 'daily'))

    const page1 = await store.listResets({ account: a, limit: 3 })
    const page2 = await store.listResets({ account: a, limit: 3, before: page1[2].id })
    const page3 = await store.listResets({ account: a, limit: 3, before: page2[2].id })
    t.strictSame([...page1, ...page2, ...page3].map(r => r.id), all.map(r => r.id))
    t.equal(page3.length, 1)
    t.strictSame(await store.listResets({ account: a, limit: 0 }), [])

    const weekly = await store.listResets({ reset_type: 'weekly', limit: 1000 })
    t.ok(weekly.some(r => r.account === a) && weekly.every(r => r.reset_type === 'weekly'), 'filter by type across accounts')
    const everyone = await store.listResets({ limit: 1000 })
    t.ok(everyone.some(r => r.account === a) && everyone.some(r => r.account === b))

    const last = await store.lastResets(a)
    t.equal(last.daily?.id, all[0].id)
    t.equal(last.daily?.source, 'manual')
    t.equal(last.weekly?.period, '2026-W03')
    t.strictSame((await store.lastResets(b)).weekly, null)
  })

  t.test('dayHistory returns day rows in range, ascending, never week rows', async (t) => {
    const store = await open(t)
    const id = uid('history')
    // Week 2026-W49 sorts between 2026-12-01 and 2027-01-31; it must not show up as a day.
    for (const [day, week] of [['2026-11-30', '2026-W49'], ['2026-12-01', '2026-W49'], ['2026-12-31', '2026-W53'], ['2027-01-01', '2026-W53'], ['2027-02-01', '2027-W05']]) {
      await store.consume(consumeInput(id, 'video', 1, {}, { day, week }))
    }
    await store.consume(consumeInput(id, 'image', 2, {}, { day: '2026-12-01', week: '2026-W49' }))
    const rows = await store.dayHistory(id, '2026-12-01', '2027-01-31')
    t.strictSame(rows, [
      { day: '2026-12-01', messages: 3, images: 2, videos: 1 },
      { day: '2026-12-31', messages: 1, images: 0, videos: 1 },
      { day: '2027-01-01', messages: 1, images: 0, videos: 1 }
    ])
    t.strictSame(await store.dayHistory(id, '2026-12-02', '2026-12-30'), [])
    t.strictSame(await store.dayHistory(uid('history-none'), '2026-01-01', '2027-12-31'), [])
  })

  t.test('api keys: create, find by digest, list without secrets, touch, revoke', async (t) => {
    const store = await open(t)
    const account = uid('keys-acct')
    const admin = { id: uid('key-admin'), name: 'ops', role: 'admin' as const, account: null, digest: createHash('sha256').update(uid('secret-1')).digest(), created_at: '2026-01-01T00:00:00Z' }
    const agent = { id: uid('key-agent'), name: 'bot', role: 'agent' as const, account, digest: createHash('sha256').update(uid('secret-2')).digest(), created_at: '2026-01-02T00:00:00.000Z' }
    await store.createKey(admin)
    await store.createKey(agent)
    await t.rejects(store.createKey({ ...agent, id: uid('key-dup') }), 'a digest is unique')
    await t.rejects(store.createKey({ ...agent, digest: createHash('sha256').update(uid('other')).digest() }), 'an id is unique')

    const found = await store.findKeyByDigest(agent.digest)
    t.strictSame(found, { id: agent.id, name: 'bot', role: 'agent', account, created_at: agent.created_at, last_used_at: null, digest: agent.digest, revoked_at: null })
    t.ok(Buffer.isBuffer(found?.digest))
    t.equal(await store.findKeyByDigest(createHash('sha256').update('nope').digest()), null)

    const listed = (await store.listKeys()).filter(k => k.id === admin.id || k.id === agent.id)
    t.strictSame(listed, [
      { id: admin.id, name: 'ops', role: 'admin', account: null, created_at: '2026-01-01T00:00:00.000Z', last_used_at: null },
      { id: agent.id, name: 'bot', role: 'agent', account, created_at: agent.created_at, last_used_at: null }
    ])
    t.ok(listed.every(k => !('digest' in k) && !('revoked_at' in k)), 'no digest in the list')

    await store.touchKey(agent.id, '2026-01-18T12:00:00.000Z')
    t.equal((await store.findKeyByDigest(agent.digest))?.last_used_at, '2026-01-18T12:00:00.000Z')

    t.equal(await store.revokeKey(agent.id, '2026-01-18T13:00:00.000Z'), true)
    t.equal(await store.revokeKey(agent.id, '2026-01-18T14:00:00.000Z'), false, 'already revoked')
    t.equal(await store.revokeKey(uid('key-unknown'), '2026-01-18T14:00:00.000Z'), false, 'unknown')
    t.equal((await store.findKeyByDigest(agent.digest))?.revoked_at, '2026-01-18T13:00:00.000Z', 'found even when revoked')
    t.notOk((await store.listKeys()).some(k => k.id === agent.id), 'revoked keys leave the list')
  })

  t.test('a closed store rejects every call (fail closed)', async (t) => {
    const store = await harness.open()
    const id = uid('closed')
    await store.close()
    await store.close()
    await t.rejects(store.consume(consumeInput(id, 'text', 1)))
    await t.rejects(store.consume(consumeInput(id, 'text', 1, {}, { mode: 'record' })))
    await t.rejects(store.getUsage(id, DAY, WEEK))
    await t.rejects(store.ping())
    await t.rejects(store.recordReset({ account: id, reset_type: 'daily', source: 'manual', period: DAY, timestamp: '2026-01-18T00:00:00.000Z' }))
    await t.rejects(store.putAccount(makeAccount(id)))
  })
}
