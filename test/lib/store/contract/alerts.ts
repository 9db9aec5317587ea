/** The alerts engine's store contract (alerts and their webhook outbox), run against every backend. */
import type { Test } from 'tap'
import {
  ackAlertOp, attemptedOp, claimDeliveriesOp, createAlertOp,
  type AttemptedOp, type StoredAlert, type StoredDelivery
} from '../../../../lib/alerts/store.js'
import { createIdGenerator } from '../../../../lib/audit/id.js'
import type { AuditActor } from '../../../../lib/audit/types.js'
import type { StoreOp } from '../../../../lib/store/contract.js'
import { makeAccount, uid, type ContractContext, type TestStore } from './fixtures.js'

// Time-ordered, like the service's: an alert made later has a greater id.
const nextId = createIdGenerator(() => new Date(), Math.random)
const alertId = (): string => `alr_${nextId()}`
const deliveryId = (): string => `dlv_${nextId()}`

const AT = '2026-01-18T09:00:00.000Z'
const AWA: AuditActor = { id: 'key_admin_1', name: 'Awa « support » 💬' }

const alert = (account: string, extra: Partial<StoredAlert> = {}): StoredAlert => ({
  id: alertId(),
  account,
  key_id: 'dk_contact_1',
  contact: 'v1.dk_contact_1.sealed-contact',
  trigger: 'threat',
  severity: 'critical',
  state: 'interest',
  message: 'v1.dk_contact_1.sealed-message',
  decision_id: 'dcs_0001',
  dedupe: null,
  created_at: AT,
  acknowledged_at: null,
  acknowledged_by: null,
  ...extra
})

const delivery = (a: StoredAlert, extra: Partial<StoredDelivery> = {}): StoredDelivery => ({
  id: deliveryId(),
  alert_id: a.id,
  account: a.account,
  url: 'https://hooks.example/sellify',
  status: 'pending',
  attempts: 0,
  next_attempt_at: a.created_at,
  claim: null,
  claimed_until: null,
  last_status: null,
  last_error: null,
  created_at: a.created_at,
  delivered_at: null,
  ...extra
})

type Outcome = AttemptedOp['outcome']

const byId = <T extends { id: string }>(rows: T[]): T[] => [...rows].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
const ids = (rows: Array<{ id: string }>): string[] => rows.map((r) => r.id)

/** A store and accounts made for the test, deleted after it (their outbox rows with them: claims see every account). */
async function setup (t: Test, open: ContractContext['open'], ...names: string[]): Promise<{ store: TestStore, accounts: string[] }> {
  const store = await open(t)
  const accounts = names.map(uid)
  for (const id of accounts) await store.putAccount(makeAccount(id))
  // Registered after open's close: run before it.
  t.teardown(async () => { for (const id of accounts) await store.deleteAccount(id) })
  return { store, accounts }
}

async function create (store: TestStore, a: StoredAlert, deliveries: StoredDelivery[] = []): Promise<boolean> {
  const [created] = await store.commit([createAlertOp(a, deliveries)])
  return created
}

async function deliveryOf (store: TestStore, d: StoredDelivery): Promise<StoredDelivery | undefined> {
  return (await store.alertDeliveries(d.alert_id)).find((r) => r.id === d.id)
}

export function alertsContract (t: Test, { open }: ContractContext): void {
  t.test('alerts.create stores the alert and its deliveries; every field reads back exactly', async (t) => {
    const { store, accounts: [account] } = await setup(t, open, 'alr-create')
    const full = alert(account, { message: 'v1.dk_contact_1.« Je vais porter plainte » 😡' })
    const first = delivery(full, { url: 'https://hooks.example/a' })
    const second = delivery(full, { url: 'https://hooks.example/b?token=x&y=1' })
    t.equal(await create(store, full, [second, first]), true)
    t.strictSame(await store.getAlert(full.id), full, 'every field of the alert')
    t.strictSame(await store.alertDeliveries(full.id), [first, second], 'every field of each delivery, in id order')

    const nothing = { key_id: null, contact: null, state: null, message: null, decision_id: null }
    const quota = alert(account, { ...nothing, trigger: 'quota_near_limit', severity: 'warning', dedupe: 'quota_near_limit:2026-01-18:messages_per_day', created_at: '2026-01-18T09:30:00.123Z' })
    t.equal(await create(store, quota), true, 'an alert about the account, with no webhook')
    t.strictSame(await store.getAlert(quota.id), quota, 'its nulls read back as nulls')
    t.strictSame(await store.alertDeliveries(quota.id), [])

    const byPerson = alert(account, { trigger: 'legal_situation', severity: 'high', acknowledged_at: '2026-01-18T09:45:00.000Z', acknowledged_by: AWA })
    const bySystem = alert(account, { trigger: 'account_paused', severity: 'high', acknowledged_at: '2026-01-18T09:46:00.000Z', acknowledged_by: 'system' })
    const done = delivery(byPerson, { status: 'delivered', attempts: 2, next_attempt_at: null, last_status: 204, last_error: null, delivered_at: '2026-01-18T09:01:30.000Z' })
    const oldClaim = { claim: 'clm_old', claimed_until: '2026-01-18T09:02:00.000Z' }
    const failed = delivery(byPerson, { ...oldClaim, url: 'https://hooks.example/down', status: 'failed', attempts: 8, next_attempt_at: null, last_error: 'connect ECONNREFUSED' })
    const gone = delivery(bySystem, { status: 'gone', attempts: 1, next_attempt_at: null, last_status: 410, last_error: 'HTTP 410' })
    t.equal(await create(store, byPerson, [done, failed]), true)
    t.equal(await create(store, bySystem, [gone]), true)
    t.strictSame(await store.getAlert(byPerson.id), byPerson, 'acknowledged by a person: the actor object')
    t.strictSame(await store.alertDeliveries(byPerson.id), [done, failed], 'outcome and claim fields read back')
    t.strictSame(await store.getAlert(bySystem.id), bySystem, 'acknowledged by the system: the string')
    t.strictSame(await store.alertDeliveries(bySystem.id), [gone])

    const offset = alert(account, { created_at: '2026-01-18T10:00:00+01:00' })
    const late = delivery(offset, { created_at: '2026-01-18T10:00:00+01:00', next_attempt_at: '2026-01-18T10:05:00+01:00' })
    t.equal(await create(store, offset, [late]), true)
    t.equal((await store.getAlert(offset.id))?.created_at, '2026-01-18T09:00:00.000Z', 'times are stored as UTC ISO')
    t.match(await store.alertDeliveries(offset.id), [{ created_at: '2026-01-18T09:00:00.000Z', next_attempt_at: '2026-01-18T09:05:00.000Z' }])

    const other = alert(account)
    const made = delivery(other)
    const earlier = delivery(other, { created_at: '2026-01-18T08:59:00.000Z' })
    t.equal(await create(store, other, [made, earlier]), true)
    t.strictSame(await store.alertDeliveries(other.id), [earlier, made], 'the oldest delivery first, whatever its id')

    t.equal(await store.getAlert('alr_none'), null, 'an unknown alert: null')
    t.strictSame(await store.alertDeliveries('alr_none'), [])
  })

  t.test('alerts.create: an alert with a dedupe key is stored once per account', async (t) => {
    const { store, accounts: [account, other] } = await setup(t, open, 'alr-dedupe', 'alr-dedupe-other')
    const key = 'quota_near_limit:2026-01-18:messages_per_day'
    const pending = await store.pendingDeliveries()
    const original = alert(account, { trigger: 'quota_near_limit', severity: 'warning', dedupe: key })
    const kept = delivery(original)
    t.equal(await create(store, original, [kept]), true)

    const again = alert(account, { trigger: 'quota_near_limit', severity: 'high', dedupe: key, created_at: '2026-01-18T11:00:00.000Z' })
    t.equal(await create(store, again, [delivery(again), delivery(again, { url: 'https://hooks.example/2' })]), false, 'the second is refused')
    t.equal(await store.getAlert(again.id), null, 'no second alert')
    t.strictSame(await store.alertDeliveries(again.id), [], 'and none of its deliveries')
    t.strictSame(await store.getAlert(original.id), original, 'the first is unchanged')
    t.strictSame(await store.alertDeliveries(original.id), [kept])
    t.strictSame(ids(await store.listAlerts({ account, limit: 50 })), [original.id])
    t.equal(await store.pendingDeliveries(), pending + 1, 'only the first one\'s delivery is in the outbox')

    const inPlan = alert(account, { dedupe: `${key}:plan` })
    const twin = alert(account, { dedupe: `${key}:plan` })
    t.strictSame(await store.commit([createAlertOp(inPlan, [delivery(inPlan)]), createAlertOp(twin, [delivery(twin)])]), [true, false], 'in one plan as well')
    t.equal(await store.getAlert(twin.id), null)

    const elsewhere = alert(other, { trigger: 'quota_near_limit', severity: 'warning', dedupe: key })
    t.equal(await create(store, elsewhere, [delivery(elsewhere)]), true, 'another account has its own keys')

    const plain = [alert(account), alert(account), alert(account)]
    for (const a of plain) t.equal(await create(store, a, [delivery(a)]), true, 'a null dedupe never conflicts')
    t.equal(await create(store, alert(account, { dedupe: 'quota_near_limit:2026-01-19:messages_per_day' })), true, 'another key is another alert')
    t.equal((await store.listAlerts({ account, limit: 50 })).length, 6)
    t.equal(await store.pendingDeliveries(), pending + 6)

    const second = await open(t)
    const racing = Array.from({ length: 10 }, () => alert(account, { dedupe: 'raced' }))
    const results = await Promise.all(racing.map((a, i) => create(i % 2 === 0 ? store : second, a, [delivery(a)])))
    t.equal(results.filter((r) => r).length, 1, 'of concurrent creates with one key, from two stores, exactly one is stored')
    const winner = racing[results.indexOf(true)]
    t.strictSame((await store.listAlerts({ account, limit: 50 })).filter((a) => a.dedupe === 'raced').map((a) => a.id), [winner.id])
    for (const a of racing) t.equal((await store.alertDeliveries(a.id)).length, a === winner ? 1 : 0)
  })

  t.test('alerts.ack acknowledges once; the first time and actor are kept', async (t) => {
    const { store, accounts: [account] } = await setup(t, open, 'alr-ack')
    const a = alert(account)
    await create(store, a, [delivery(a)])
    t.strictSame(await store.commit([ackAlertOp(a.id, '2026-01-18T10:00:00.000Z', AWA)]), [true])
    const acked = { ...a, acknowledged_at: '2026-01-18T10:00:00.000Z', acknowledged_by: AWA }
    t.strictSame(await store.getAlert(a.id), acked, 'time and actor written, nothing else changed')
    t.strictSame(await store.commit([ackAlertOp(a.id, '2026-01-18T11:00:00.000Z', 'system')]), [false], 'a second ack does nothing')
    t.strictSame(await store.getAlert(a.id), acked, 'the first one\'s time and actor are kept')

    const b = alert(account)
    await create(store, b)
    t.strictSame(await store.commit([ackAlertOp(b.id, '2026-01-18T10:00:00+02:00', 'system')]), [true])
    t.strictSame(await store.getAlert(b.id), { ...b, acknowledged_at: '2026-01-18T08:00:00.000Z', acknowledged_by: 'system' }, 'by the system')

    t.strictSame(await store.commit([ackAlertOp('alr_none', '2026-01-18T10:00:00.000Z', AWA)]), [false], 'an unknown alert')

    const second = await open(t)
    const c = alert(account)
    await create(store, c)
    const actors: AuditActor[] = Array.from({ length: 8 }, (_, i) => ({ id: `key_${i}`, name: `n${i}` }))
    const results = await Promise.all(actors.map((by, i) => (i % 2 === 0 ? store : second).commit([ackAlertOp(c.id, `2026-01-18T10:00:0${i}.000Z`, by)])))
    const won = results.findIndex(([r]) => r)
    t.equal(results.filter(([r]) => r).length, 1, 'of concurrent acks from two stores, exactly one acknowledges')
    t.match(await store.getAlert(c.id), { acknowledged_at: `2026-01-18T10:00:0${won}.000Z`, acknowledged_by: actors[won] }, 'the winner\'s time and actor')
  })

  t.test('listAlerts: newest first by id, filtered by status and severity, paged by before, per account', async (t) => {
    const { store, accounts: [account, other, empty] } = await setup(t, open, 'alr-list', 'alr-list-other', 'alr-list-empty')
    const severities = ['critical', 'high', 'warning'] as const
    const made = Array.from({ length: 13 }, (_, i) => alert(account, {
      severity: severities[i % 3],
      created_at: `2026-01-18T09:${String(i).padStart(2, '0')}:00.000Z`,
      ...(i % 4 === 0 ? { acknowledged_at: '2026-01-18T12:00:00.000Z', acknowledged_by: AWA } : {})
    }))
    const theirs = Array.from({ length: 3 }, () => alert(other))
    // Stored out of order: the order read is the ids', not the inserts'.
    for (const i of [5, 0, 12, 3, 8, 1, 10, 2, 7, 11, 4, 9, 6]) await create(store, made[i])
    for (const a of theirs) await create(store, a)
    const newest = [...made].reverse()

    t.strictSame(await store.listAlerts({ account, limit: 100 }), newest, 'every alert, whole, newest first')
    t.strictSame(ids(await store.listAlerts({ account, limit: 4 })), ids(newest.slice(0, 4)), 'at most limit')
    t.strictSame(ids(await store.listAlerts({ account, status: 'open', limit: 100 })), ids(newest.filter((a) => a.acknowledged_at === null)))
    t.strictSame(ids(await store.listAlerts({ account, status: 'acknowledged', limit: 100 })), ids(newest.filter((a) => a.acknowledged_at !== null)))
    for (const severity of severities) {
      t.strictSame(ids(await store.listAlerts({ account, severity, limit: 100 })), ids(newest.filter((a) => a.severity === severity)), severity)
    }
    t.strictSame(ids(await store.listAlerts({ account, status: 'open', severity: 'critical', limit: 100 })),
      ids(newest.filter((a) => a.severity === 'critical' && a.acknowledged_at === null)), 'status and severity together')
    t.strictSame(ids(await store.listAlerts({ account, before: made[6].id, limit: 100 })), ids(newest.filter((a) => a.id < made[6].id)), 'before is exclusive')

    const pages: string[][] = []
    let before: string | undefined
    for (;;) {
      const page = await store.listAlerts({ account, limit: 5, ...(before === undefined ? {} : { before }) })
      if (page.length === 0) break
      pages.push(ids(page))
      before = page[page.length - 1].id
    }
    t.strictSame(pages.map((p) => p.length), [5, 5, 3])
    t.strictSame(pages.flat(), ids(newest), 'paging with before gives every alert once, in order')

    const opened: string[] = []
    before = undefined
    for (;;) {
      const page = await store.listAlerts({ account, status: 'open', limit: 2, ...(before === undefined ? {} : { before }) })
      if (page.length === 0) break
      opened.push(...ids(page))
      before = page[page.length - 1].id
    }
    t.strictSame(opened, ids(newest.filter((a) => a.acknowledged_at === null)), 'paging a filtered list')

    t.strictSame(await store.listAlerts({ account: other, limit: 100 }), [...theirs].reverse(), 'another account sees only its own')
    t.strictSame(await store.listAlerts({ account: other, before: made[12].id, limit: 100 }), [...theirs].reverse().filter((a) => a.id < made[12].id))
    t.strictSame(await store.listAlerts({ account: empty, limit: 100 }), [], 'an account with none')
  })

  t.test('alerts.claim takes the due pending deliveries not held by a live claim', async (t) => {
    const { store, accounts: [account, other] } = await setup(t, open, 'alr-claim', 'alr-claim-other')
    const a = alert(account)
    const b = alert(other)
    const d = {
      early: delivery(a, { next_attempt_at: '2026-01-18T09:00:00.000Z' }),
      retry: delivery(a, { attempts: 3, last_status: 503, last_error: 'HTTP 503', next_attempt_at: '2026-01-18T09:59:59.999Z' }),
      atNow: delivery(a, { next_attempt_at: '2026-01-18T10:00:00.000Z' }),
      expired: delivery(a, { claim: 'clm_crashed', claimed_until: '2026-01-18T09:59:00.000Z', attempts: 1, next_attempt_at: '2026-01-18T09:30:00.000Z' }),
      future: delivery(a, { next_attempt_at: '2026-01-18T10:00:00.001Z' }),
      held: delivery(a, { claim: 'clm_other', claimed_until: '2026-01-18T10:05:00.000Z', next_attempt_at: '2026-01-18T09:00:00.000Z' }),
      delivered: delivery(a, { status: 'delivered', attempts: 1, next_attempt_at: null, last_status: 200, delivered_at: '2026-01-18T09:00:01.000Z' }),
      failed: delivery(a, { status: 'failed', attempts: 8, next_attempt_at: null, last_error: 'timeout' }),
      gone: delivery(a, { status: 'gone', attempts: 1, next_attempt_at: null, last_status: 410 }),
      elsewhere: delivery(b, { next_attempt_at: '2026-01-18T09:10:00.000Z' })
    }
    await create(store, a, [d.early, d.retry, d.atNow, d.expired, d.future, d.held, d.delivered, d.failed, d.gone])
    await create(store, b, [d.elsewhere])
    const claimed = (x: StoredDelivery, claim: string, until: string): StoredDelivery => ({ ...x, claim, claimed_until: until })

    const until = '2026-01-18T10:01:00.000Z'
    const [first] = await store.commit([claimDeliveriesOp('2026-01-18T10:00:00.000Z', until, 'clm_a', 100)])
    t.strictSame(byId(first), byId([d.early, d.retry, d.atNow, d.expired, d.elsewhere].map((x) => claimed(x, 'clm_a', until))),
      'due (at or before now), pending, unclaimed or with a passed claim, of every account; returned with the claim')
    t.strictSame(await deliveryOf(store, d.early), claimed(d.early, 'clm_a', until), 'the claim is stored')
    t.strictSame(await deliveryOf(store, d.held), d.held, 'a live claim of another is not taken')
    for (const x of [d.future, d.delivered, d.failed, d.gone]) t.strictSame(await deliveryOf(store, x), x, 'not due, or not pending: untouched')

    t.strictSame(await store.commit([claimDeliveriesOp('2026-01-18T10:00:00.000Z', '2026-01-18T10:10:00.000Z', 'clm_b', 100)]), [[]],
      'while the claims are live, another claim gets nothing')

    const later = '2026-01-18T10:20:00.000Z'
    const [retaken] = await store.commit([claimDeliveriesOp('2026-01-18T10:01:00.001Z', later, 'clm_b', 100)])
    t.strictSame(byId(retaken), byId([d.early, d.retry, d.atNow, d.expired, d.elsewhere, d.future].map((x) => claimed(x, 'clm_b', later))),
      'once clm_a\'s claim passed, another claim id retakes its deliveries, with those now due')
    t.strictSame(await deliveryOf(store, d.held), d.held)

    const [last] = await store.commit([claimDeliveriesOp('2026-01-18T10:05:00.001Z', later, 'clm_c', 100)])
    t.strictSame(last, [claimed(d.held, 'clm_c', later)], 'the held one once its claim passed')
    t.strictSame(await store.commit([claimDeliveriesOp('2026-01-18T10:06:00.000Z', later, 'clm_d', 100)]), [[]])
    for (const x of [d.delivered, d.failed, d.gone]) t.strictSame(await deliveryOf(store, x), x, 'never taken')
  })

  t.test('alerts.claim takes at most limit, the earliest due first', async (t) => {
    const { store, accounts: [account] } = await setup(t, open, 'alr-limit')
    const a = alert(account)
    // Due times in the reverse of the ids' order.
    const all = Array.from({ length: 10 }, (_, i) => delivery(a, { next_attempt_at: `2026-01-18T09:${String(50 - i).padStart(2, '0')}:00.000Z` }))
    await create(store, a, all)
    const dueOrder = [...all].reverse()
    const taken: string[][] = []
    for (let i = 0; i < 5; i++) {
      const [rows] = await store.commit([claimDeliveriesOp('2026-01-18T10:00:00.000Z', '2026-01-18T10:05:00.000Z', `clm_${i}`, 3)])
      taken.push(byId(rows).map((r) => r.id))
    }
    t.strictSame(taken.map((ts) => ts.length), [3, 3, 3, 1, 0])
    t.strictSame(taken, [0, 3, 6, 9, 12].map((from) => byId(dueOrder.slice(from, from + 3)).map((x) => x.id)), 'each claim the earliest due ones left')
    for (const [i, ts] of taken.entries()) {
      for (const id of ts) t.equal((await store.alertDeliveries(a.id)).find((x) => x.id === id)?.claim, `clm_${i}`)
    }
  })

  t.test('alerts.attempted writes the outcome and clears the claim while the claim holds, and only then', async (t) => {
    const { store, accounts: [account] } = await setup(t, open, 'alr-attempted')
    const a = alert(account)
    const [ok, retry, wrong, stale, gone, free] = Array.from({ length: 6 }, () => delivery(a, { next_attempt_at: '2026-01-18T09:00:00.000Z' }))
    await create(store, a, [ok, retry, wrong, stale, gone])
    const b = alert(account)
    const unclaimed = { ...free, alert_id: b.id, next_attempt_at: '2026-01-18T11:00:00.000Z' }
    await create(store, b, [unclaimed])
    const until = '2026-01-18T10:01:00.000Z'
    const [claimedA] = await store.commit([claimDeliveriesOp('2026-01-18T10:00:00.000Z', until, 'clm_a', 10)])
    t.equal(claimedA.length, 5)
    const attempted = async (x: StoredDelivery, claim: string, outcome: Outcome): Promise<boolean> => (await store.commit([attemptedOp(x.id, claim, outcome)]))[0]
    const after = (x: StoredDelivery, o: Outcome): StoredDelivery => ({ ...x, ...o, claim: null, claimed_until: null })

    const delivered: Outcome = { status: 'delivered', attempts: 1, next_attempt_at: null, last_status: 200, last_error: null, delivered_at: '2026-01-18T10:00:01.000Z' }
    t.equal(await attempted(ok, 'clm_a', delivered), true)
    t.strictSame(await deliveryOf(store, ok), after(ok, delivered), 'delivered: the outcome written, the claim cleared, the rest kept')
    t.equal(await attempted(ok, 'clm_a', { ...delivered, attempts: 2 }), false, 'once written, the claim no longer holds it')
    t.strictSame(await deliveryOf(store, ok), after(ok, delivered))

    const again: Outcome = { status: 'pending', attempts: 1, next_attempt_at: '2026-01-18T10:03:00.000Z', last_status: 503, last_error: 'HTTP 503', delivered_at: null }
    t.equal(await attempted(retry, 'clm_a', again), true)
    t.strictSame(await deliveryOf(store, retry), after(retry, again), 'a retry: pending again, due later, unclaimed')

    const goneOutcome: Outcome = { status: 'gone', attempts: 1, next_attempt_at: null, last_status: 410, last_error: 'HTTP 410', delivered_at: null }
    t.equal(await attempted(gone, 'clm_a', goneOutcome), true)
    t.strictSame(await deliveryOf(store, gone), after(gone, goneOutcome))

    const claimedWrong = await deliveryOf(store, wrong)
    t.equal(await attempted(wrong, 'clm_wrong', delivered), false, 'another claim id')
    t.strictSame(await deliveryOf(store, wrong), claimedWrong, 'nothing changed')
    t.equal(claimedWrong?.claim, 'clm_a')
    t.equal(await attempted(unclaimed, 'clm_a', delivered), false, 'a delivery no claim holds')
    t.strictSame(await deliveryOf(store, unclaimed), unclaimed)
    t.equal(await attempted({ ...ok, id: 'dlv_none' }, 'clm_a', delivered), false, 'an unknown delivery')

    // clm_a's claim passed; clm_b retakes what is due: the stale claim can no longer write.
    const [claimedB] = await store.commit([claimDeliveriesOp('2026-01-18T10:02:00.000Z', '2026-01-18T10:10:00.000Z', 'clm_b', 10)])
    t.strictSame(byId(claimedB).map((x) => x.id), byId([wrong, stale]).map((x) => x.id), 'the retry is not due yet; the ones left are retaken')
    const held = await deliveryOf(store, stale)
    t.equal(await attempted(stale, 'clm_a', delivered), false, 'a stale claim')
    t.strictSame(await deliveryOf(store, stale), held, 'nothing changed: still clm_b\'s')
    const failed: Outcome = { status: 'failed', attempts: 8, next_attempt_at: null, last_status: null, last_error: 'timeout after 10000 ms', delivered_at: null }
    t.equal(await attempted(stale, 'clm_b', failed), true, 'the claim that holds it writes')
    t.strictSame(await deliveryOf(store, stale), after(stale, failed))

    const [due] = await store.commit([claimDeliveriesOp('2026-01-18T10:03:00.000Z', '2026-01-18T10:20:00.000Z', 'clm_c', 10)])
    t.strictSame(due, [{ ...after(retry, again), claim: 'clm_c', claimed_until: '2026-01-18T10:20:00.000Z' }], 'the retry, once due, is claimed again')
  })

  t.test('pendingDeliveries counts the pending deliveries of every account, only those', async (t) => {
    const { store, accounts: [account, other] } = await setup(t, open, 'alr-pending', 'alr-pending-other')
    const base = await store.pendingDeliveries()
    const a = alert(account)
    const waiting = delivery(a)
    await create(store, a, [
      waiting,
      delivery(a, { claim: 'clm_x', claimed_until: '2026-01-18T09:05:00.000Z' }),
      delivery(a, { next_attempt_at: '2030-01-01T00:00:00.000Z' }),
      delivery(a, { status: 'delivered', next_attempt_at: null, delivered_at: AT }),
      delivery(a, { status: 'failed', next_attempt_at: null }),
      delivery(a, { status: 'gone', next_attempt_at: null })
    ])
    t.equal(await store.pendingDeliveries(), base + 3, 'pending ones, claimed or not, due or not')
    const b = alert(other)
    await create(store, b, [delivery(b), delivery(b)])
    t.equal(await store.pendingDeliveries(), base + 5, 'over every account')
    await store.commit([claimDeliveriesOp('2026-01-18T09:00:00.000Z', '2026-01-18T09:01:00.000Z', 'clm_p', 1)])
    t.equal(await store.pendingDeliveries(), base + 5, 'a claim leaves them pending')
    const [[taken]] = await store.commit([claimDeliveriesOp('2026-01-18T09:00:30.000Z', '2026-01-18T09:01:00.000Z', 'clm_q', 1)])
    await store.commit([attemptedOp(taken.id, 'clm_q', { status: 'delivered', attempts: 1, next_attempt_at: null, last_status: 200, last_error: null, delivered_at: AT })])
    t.equal(await store.pendingDeliveries(), base + 4, 'a delivered one no longer counts')
    t.equal(await store.deleteAccount(other), true)
    t.equal(await store.pendingDeliveries(), base + 4 - (taken.account === other ? 1 : 2), 'a deleted account\'s no longer count')
  })

  t.test('invalid operations are refused before anything of their plan is applied', async (t) => {
    const { store, accounts: [account] } = await setup(t, open, 'alr-invalid')
    const existing = alert(account)
    const held = delivery(existing)
    await create(store, existing, [held])
    const [[claimed]] = await store.commit([claimDeliveriesOp('2026-01-18T09:00:00.000Z', '2026-01-18T09:05:00.000Z', 'clm_v', 5)])
    t.equal(claimed.id, held.id)
    const heldNow = await deliveryOf(store, held)
    const delivered: Outcome = { status: 'delivered', attempts: 1, next_attempt_at: null, last_status: 200, last_error: null, delivered_at: AT }
    const bad = (o: Record<string, unknown>): StoreOp => attemptedOp(held.id, 'clm_v', { ...delivered, ...o } as Outcome)
    const a = alert(account)
    const invalid: Array<[string, StoreOp]> = [
      ['a pending outcome without next_attempt_at', bad({ status: 'pending', next_attempt_at: null, delivered_at: null })],
      ['a delivered outcome with a next_attempt_at', bad({ next_attempt_at: '2026-01-18T09:10:00.000Z' })],
      ['a failed outcome with a next_attempt_at', bad({ status: 'failed', next_attempt_at: '2026-01-18T09:10:00.000Z', delivered_at: null })],
      ['an unknown delivery status', bad({ status: 'lost' })],
      ['negative attempts', bad({ attempts: -1 })],
      ['an invalid next_attempt_at', bad({ status: 'pending', next_attempt_at: 'soon', delivered_at: null })],
      ['an unknown trigger', createAlertOp(alert(account, { trigger: 'rage' as never }), [])],
      ['an unknown severity', createAlertOp(alert(account, { severity: 'low' as never }), [])],
      ['an alert without an account', createAlertOp(alert(''), [])],
      ['an invalid created_at', createAlertOp(alert(account, { created_at: 'yesterday' }), [])],
      ['a delivery with an unknown status', createAlertOp(a, [delivery(a, { status: 'queued' as never })])],
      ['a pending delivery without next_attempt_at', createAlertOp(a, [delivery(a, { next_attempt_at: null })])],
      ['a delivered delivery with next_attempt_at', createAlertOp(a, [delivery(a, { status: 'delivered', delivered_at: AT })])],
      ['a delivery of another alert', createAlertOp(a, [delivery(existing)])],
      ['a delivery without a url', createAlertOp(a, [delivery(a, { url: '' })])],
      ['an ack with an invalid time', ackAlertOp(existing.id, 'later', AWA)],
      ['a claim of 0', claimDeliveriesOp('2026-01-18T09:10:00.000Z', '2026-01-18T09:20:00.000Z', 'clm_w', 0)],
      ['a claim without a claim id', claimDeliveriesOp('2026-01-18T09:10:00.000Z', '2026-01-18T09:20:00.000Z', '', 5)]
    ]
    const fresh = alert(account)
    for (const [what, op] of invalid) {
      await t.rejects(store.commit([
        createAlertOp(fresh, [delivery(fresh)]),
        ackAlertOp(existing.id, '2026-01-18T09:01:00.000Z', AWA),
        attemptedOp(held.id, 'clm_v', delivered),
        op
      ]), TypeError, what)
      await t.rejects(store.commit([op]), TypeError, `${what}, alone`)
    }
    t.equal(await store.getAlert(fresh.id), null, 'no create before them was applied')
    t.equal(await store.getAlert(a.id), null)
    t.strictSame(await store.getAlert(existing.id), existing, 'no ack was applied')
    t.strictSame(await deliveryOf(store, held), heldNow, 'no outcome was written: still claimed and pending')
    t.strictSame(await store.commit([claimDeliveriesOp('2026-01-18T09:01:00.000Z', '2026-01-18T09:20:00.000Z', 'clm_w', 5)]), [[]], 'no claim was applied')
    t.strictSame(ids(await store.listAlerts({ account, limit: 10 })), [existing.id])
  })

  t.test('deleting an account removes its alerts and deliveries, and no other account\'s', async (t) => {
    const { store, accounts: [account, kept] } = await setup(t, open, 'alr-gone', 'alr-kept')
    const base = await store.pendingDeliveries()
    const mine = [alert(account, { dedupe: 'quota_near_limit:2026-01-18:messages_per_day' }), alert(account)]
    const theirs = alert(kept)
    const theirDeliveries = [delivery(theirs), delivery(theirs, { url: 'https://hooks.example/2' })]
    await create(store, mine[0], [delivery(mine[0]), delivery(mine[0], { status: 'delivered', next_attempt_at: null, delivered_at: AT })])
    await create(store, mine[1], [delivery(mine[1], { claim: 'clm_x', claimed_until: '2026-01-18T09:05:00.000Z' })])
    await create(store, theirs, theirDeliveries)
    t.equal(await store.pendingDeliveries(), base + 4)

    t.equal(await store.deleteAccount(account), true)
    for (const a of mine) {
      t.equal(await store.getAlert(a.id), null, 'its alerts are gone')
      t.strictSame(await store.alertDeliveries(a.id), [], 'and their deliveries')
    }
    t.strictSame(await store.listAlerts({ account, limit: 10 }), [])
    t.equal(await store.pendingDeliveries(), base + 2, 'its deliveries left the outbox')
    const [taken] = await store.commit([claimDeliveriesOp('2026-01-18T10:00:00.000Z', '2026-01-18T10:05:00.000Z', 'clm_after', 100)])
    t.strictSame(byId(taken).map((d) => d.id), byId(theirDeliveries).map((d) => d.id), 'a claim finds only the other account\'s')
    t.strictSame(await store.getAlert(theirs.id), theirs, 'the other account keeps its alerts')

    await store.putAccount(makeAccount(account))
    t.strictSame(await store.listAlerts({ account, limit: 10 }), [], 'a re-created account starts with none')
    const again = alert(account, { dedupe: 'quota_near_limit:2026-01-18:messages_per_day' })
    t.equal(await create(store, again), true, 'and its dedupe keys are free again')
  })

  t.test('100 due deliveries claimed by two stores at once: each exactly once', async (t) => {
    const { store, accounts: [account, other] } = await setup(t, open, 'alr-race', 'alr-race-other')
    const second = await open(t)
    const all: StoredDelivery[] = []
    for (let i = 0; i < 25; i++) {
      const a = alert(i % 2 === 0 ? account : other)
      const ds = Array.from({ length: 4 }, (_, j) => delivery(a, { url: `https://hooks.example/${j}`, next_attempt_at: `2026-01-18T09:${String(i).padStart(2, '0')}:00.000Z` }))
      await create(store, a, ds)
      all.push(...ds)
    }
    t.equal(all.length, 100)
    const now = '2026-01-18T10:00:00.000Z'
    const until = '2026-01-18T11:00:00.000Z'
    const oversized: string[] = []
    // Two claimers on each store, each its own claim id, all claiming until a claim finds nothing.
    const workers = [store, store, second, second].map(async (s, w) => {
      const claim = `clm_w${w}`
      const mine: StoredDelivery[] = []
      for (;;) {
        const [rows] = await s.commit([claimDeliveriesOp(now, until, claim, 7)])
        if (rows.length > 7) oversized.push(`${claim}: ${rows.length}`)
        if (rows.length === 0) return { claim, mine }
        mine.push(...rows)
      }
    })
    const results = await Promise.all(workers)
    t.strictSame(oversized, [], 'no claim took more than its limit')
    for (const r of results) t.comment(`${r.claim} took ${r.mine.length}`)
    const taken = results.flatMap((r) => ids(r.mine))
    t.equal(taken.length, 100, 'as many claimed as there were')
    t.equal(new Set(taken).size, 100, 'none claimed twice')
    t.strictSame([...taken].sort(), ids(all).sort(), 'none missing')
    const owner = new Map(results.flatMap((r) => r.mine.map((d) => [d.id, r.claim] as const)))
    for (const r of results) t.ok(r.mine.every((d) => d.claim === r.claim && d.claimed_until === until), `${r.claim}'s rows came back with its claim`)

    const stored = (await Promise.all([...new Set(all.map((d) => d.alert_id))].map((id) => store.alertDeliveries(id)))).flat()
    t.strictSame(stored.filter((d) => d.claim !== owner.get(d.id)).map((d) => d.id), [], 'each row stored with the claim that got it')
    t.strictSame(await second.commit([claimDeliveriesOp(now, until, 'clm_late', 7)]), [[]], 'nothing is left')

    // Every claimer reports an outcome for every delivery at once: only the holder's is written.
    const outcome = (claim: string): Outcome => ({ status: 'delivered', attempts: 1, next_attempt_at: null, last_status: 200, last_error: claim, delivered_at: until })
    const writes = await Promise.all(results.flatMap((r, w) => all.map(async (d) => {
      const [ok] = await (w < 2 ? store : second).commit([attemptedOp(d.id, r.claim, outcome(r.claim))])
      return { id: d.id, claim: r.claim, ok }
    })))
    const written = writes.filter((x) => x.ok)
    t.equal(written.length, 100, 'one outcome written per delivery')
    t.ok(written.every((x) => owner.get(x.id) === x.claim), 'each by the claim that held it')
    const final = (await Promise.all([...new Set(all.map((d) => d.alert_id))].map((id) => store.alertDeliveries(id)))).flat()
    t.strictSame(final.filter((d) => d.status !== 'delivered' || d.last_error !== owner.get(d.id) || d.claim !== null).map((d) => d.id), [],
      'each stored with its holder\'s outcome, unclaimed')
  })
}
