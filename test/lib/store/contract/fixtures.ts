/** Shared by the per-engine store contract suites: fixtures, and the store with its writes as plain calls. */
import type { Test } from 'tap'
import { randomBytes } from 'node:crypto'
import { defaultSettings } from '../../../../lib/accounts/settings.js'
import { deleteAccountOp, ensureAccountOp, putAccountOp } from '../../../../lib/accounts/store.js'
import type { Account } from '../../../../lib/accounts/types.js'
import { createKeyOp, revokeKeyOp, touchKeyOp, type NewApiKey } from '../../../../lib/keys/store.js'
import { consumeOp, type AccountZone, type ConsumeInput, type ConsumeResult, type ConsumeState, type UsageKeys } from '../../../../lib/quota/store.js'
import type { Kind, Limits, Refusal, UsagePair, Warmup } from '../../../../lib/quota/types.js'
import { recordResetOp, type ResetInput } from '../../../../lib/resets/store.js'
import type { ResetType } from '../../../../lib/resets/types.js'
import type { Store } from '../../../../lib/store/contract.js'

export interface StoreHarness {
  /** A new store instance on this test file's database (its own connection or pool), migrated. */
  open (): Promise<Store>
}

/** The store, and each write operation as a one-operation plan: what the suites call. */
export type TestStore = Store & ReturnType<typeof writes>

/**
 * A consume as the suites write it: with the limits (and the warm-up, none unless told) it is decided by.
 * The store reads the limits of the committed account, so `consume` below first makes the account have
 * them (UTC, 00:00, monday).
 */
export type TestConsume = ConsumeInput & { limits: Limits, warmup?: Warmup }

type Decided = Exclude<ConsumeResult, { limit: null }>
/** What the suites compare: the decision without the limits it echoes (the suites set those themselves). */
export type Outcome = { ok: true, before: UsagePair, after: UsagePair, state: ConsumeState } | { ok: false, limit: Refusal, usage: UsagePair, state: ConsumeState }

function writes (store: Store) {
  // Per account, the limits and warm-up this store last gave it (concurrent consumes with the same ones
  // share one write; once it is done, a consume is queued at once, as a caller's would be).
  const given = new Map<string, { limits: string, done: Promise<unknown> | null }>()
  function withLimits (id: string, limits: Limits, warmup: Warmup = NO_WARMUP): Promise<unknown> | null {
    const key = JSON.stringify({ limits, warmup })
    const last = given.get(id)
    if (last !== undefined && last.limits === key) return last.done
    const entry: { limits: string, done: Promise<unknown> | null } = { limits: key, done: null }
    entry.done = store.commit([putAccountOp(makeAccount(id, { limits, warmup }))]).then(() => { entry.done = null })
    given.set(id, entry)
    return entry.done
  }
  const decided = ([r]: [ConsumeResult]): Outcome => {
    if (!('limits' in r)) throw new Error(`the account of the consume was ${r.account}`)
    const { limits: _, ...outcome } = r as Decided
    return outcome
  }
  return {
    /** The raw operation: no account is made, the result is what the store says. */
    consumeAs: async (input: ConsumeInput) => (await store.commit([consumeOp(input)]))[0],
    consume: ({ limits, warmup, ...input }: TestConsume): Promise<Outcome> => {
      const ready = withLimits(input.account, limits, warmup)
      if (ready === null) return store.commit([consumeOp(input)]).then(decided)
      return ready.then(() => store.commit([consumeOp(input)])).then(decided)
    },
    putAccount: async (a: Account) => {
      const [r] = await store.commit([putAccountOp(a)])
      given.set(a.id, { limits: JSON.stringify({ limits: r.account.limits, warmup: r.account.warmup }), done: null })
      return r
    },
    ensureAccount: async (a: Account) => (await store.commit([ensureAccountOp(a)]))[0],
    deleteAccount: async (id: string, at = new Date().toISOString()) => {
      given.delete(id)
      return (await store.commit([deleteAccountOp(id, at)]))[0]
    },
    recordReset: async (input: ResetInput) => (await store.commit([recordResetOp(input)]))[0],
    createKey: async (key: NewApiKey) => { await store.commit([createKeyOp(key)]) },
    revokeKey: async (id: string, at: string) => (await store.commit([revokeKeyOp(id, at)]))[0],
    touchKey: async (id: string, at: string) => { await store.commit([touchKeyOp(id, at)]) },
    /** Whether (account, type, period) has a reset of any source. */
    hasReset: async (account: string, type: ResetType, period: string) =>
      (await store.listResets({ account, reset_type: type, limit: 500 })).some((r) => r.period === period)
  }
}

export function writable (store: Store): TestStore {
  return Object.assign(Object.create(null) as object, store, writes(store)) as TestStore
}

export interface ContractContext {
  harness: StoreHarness
  /** A store closed at the end of the test. */
  open: (t: Test) => Promise<TestStore>
}

export const DAY = '2026-01-18'
export const WEEK = '2026-W03'
/** The suites' consumes happen at noon (UTC) of their day: this hour of DAY. */
export const HOUR = '2026-01-18T12'
export const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

/** Noon (UTC) of a day key, in epoch ms: when the suites' consumes of that day happen. */
export const noonOf = (day: string): number => Date.parse(`${day}T12:00:00.000Z`)
/** The noon hour of a day key. */
export const noonHour = (day: string): string => `${day}T12`

/** The row keys a read of the noon of `day` (in `week`) returns. */
export const keys = (day = DAY, week = WEEK, hour = noonHour(day)): UsageKeys => ({ hour, day, week })

/** An established number: no warm-up (README, "How quotas work"). */
export const NO_WARMUP: Warmup = { enabled: false, start_per_day: 20, days: 14 }
/** What a consume of an account that is neither warming up nor paused says of its state. */
export const PLAIN: ConsumeState = { warmup_day: 1, warmup_cap: null, paused_until: null, slow: false }

export const BIG: Limits = { messages_per_day: 1_000_000, messages_per_week: 1_000_000, images_per_day: 1_000_000, videos_per_week: 1_000_000, messages_per_hour: 1_000_000 }

export function makeAccount (id: string, overrides: Partial<Account> = {}): Account {
  return {
    id,
    timezone: 'UTC',
    reset_time: '00:00',
    week_start: 'monday',
    // An hourly cap no suite reaches unless it sets one, and no warm-up: the suites of other limits.
    limits: { messages_per_day: 200, messages_per_week: 1000, images_per_day: 50, videos_per_week: 20, messages_per_hour: 1_000_000 },
    delays: { min_seconds: 2, max_seconds: 8, media_seconds: 5 },
    created_at: '2026-01-01T00:00:00.000Z',
    warmup: { ...NO_WARMUP },
    ...defaultSettings(),
    ...overrides
  }
}

/** Account ids unique to one run, so that suites sharing a database never see each other's rows. */
const run = randomBytes(4).toString('hex')
export const uid = (name: string): string => `${name}-${run}`

export const UTC_ZONE: AccountZone = { timezone: 'UTC', reset_time: '00:00', week_start: 'monday' }

/** A consume at noon of its day (DAY unless `extra` says): its hour key and instant follow the day unless given. */
export function consumeInput (account: string, kind: Kind, count: number, limits: Partial<Limits> = {}, extra: Partial<TestConsume> = {}): TestConsume {
  const day = extra.day ?? DAY
  return { account, hour: noonHour(day), day, week: WEEK, kind, count, mode: 'consume', zone: UTC_ZONE, at: noonOf(day), limits: { ...BIG, ...limits }, ...extra }
}

/** A one-text consume of `account` with a limit of 100 a day, for the backend-specific tests. */
export const input = (account: string, extra: Partial<TestConsume> = {}): TestConsume => ({
  account,
  hour: '2026-01-18T12',
  day: '2026-01-18',
  week: '2026-W03',
  kind: 'text',
  count: 1,
  mode: 'consume',
  zone: UTC_ZONE,
  at: Date.parse('2026-01-18T12:00:00.000Z'),
  limits: { messages_per_day: 100, messages_per_week: 1000, images_per_day: 50, videos_per_week: 20, messages_per_hour: 1_000_000 },
  ...extra
})

export const usage = (messages: number, images = 0, videos = 0): { messages: number, images: number, videos: number } => ({ messages, images, videos })
