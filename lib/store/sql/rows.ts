/**
 * What both store backends share: input checks and row mapping. Keeping them in one place is what makes
 * SQLite and PostgreSQL answer alike; the enums come from the engines' `as const` arrays.
 */
import { settingsFromStored, settingsToStored } from '../../accounts/settings.js'
import { WEEK_DAYS, type Account, type WeekStart } from '../../accounts/types.js'
import type { NewApiKey, StoredApiKey } from '../../keys/store.js'
import { ROLES, type ApiKeyRecord, type Role } from '../../keys/types.js'
import type { AccountState, ConsumeInput, UsageKeys } from '../../quota/store.js'
import { zeroUsage } from '../../quota/rules.js'
import { COUNTERS, KINDS, LIMIT_NAMES, type PeriodUsage } from '../../quota/types.js'
import type { ResetInput, ResetQuery } from '../../resets/store.js'
import { RESET_SOURCES, RESET_TYPES, type ResetRecord, type ResetSource, type ResetType } from '../../resets/types.js'

const HOUR_KEY = /^\d{4}-\d{2}-\d{2}T\d{2}$/
const DAY_KEY = /^\d{4}-\d{2}-\d{2}$/
const WEEK_KEY = /^\d{4}-W\d{2}$/
const oneOf = (values: readonly string[], v: unknown): boolean => typeof v === 'string' && values.includes(v)

/** Counters are exact integers in both backends; beyond 2^53 a JS number could no longer say so. */
const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n)

export function isDayKey (s: unknown): s is string {
  return typeof s === 'string' && DAY_KEY.test(s)
}

export function isHourKey (s: unknown): s is string {
  return typeof s === 'string' && HOUR_KEY.test(s)
}

export function isWeekKey (s: unknown): s is string {
  return typeof s === 'string' && WEEK_KEY.test(s)
}

function fail (message: string): never {
  throw new TypeError(`store: ${message}`)
}

function checkAccountId (account: unknown): void {
  if (typeof account !== 'string' || account.length === 0) fail('account must be a non-empty string')
}

/** A nullable text column. */
export const textOrNull = (v: unknown): string | null => v === null || v === undefined ? null : String(v)
/** A JSON column: pg hands jsonb back parsed, SQLite gives its text. */
export const jsonValue = (v: unknown): unknown => typeof v === 'string' ? JSON.parse(v) : v

/** An ISO 8601 instant written the one way both backends return it (milliseconds, `Z`). */
export function toIso (value: string | Date): string {
  const d = value instanceof Date ? value : new Date(value)
  if (Number.isNaN(d.getTime())) fail(`invalid timestamp ${JSON.stringify(value)}`)
  return d.toISOString()
}

/** Throws (the caller turns it into a rejection) unless the input is one a store can apply exactly. */
export function checkConsumeInput (input: ConsumeInput): void {
  if (input === null || typeof input !== 'object') fail('consume input must be an object')
  checkUsageKeys(input.account, input)
  if (!isCount(input.at)) fail('at must be an instant in epoch milliseconds')
  if (!oneOf(KINDS, input.kind)) fail(`unknown kind ${JSON.stringify(input.kind)}`)
  if (!isCount(input.count) || input.count < 1) fail('count must be a positive integer')
  if (input.mode !== 'consume' && input.mode !== 'record') fail(`unknown mode ${JSON.stringify(input.mode)}`)
  const z = input.zone
  if (z === null || typeof z !== 'object') fail('zone must be an object')
  if (typeof z.timezone !== 'string' || typeof z.reset_time !== 'string' || !oneOf(WEEK_DAYS, z.week_start)) {
    fail('zone must have a timezone, a reset_time and a week_start')
  }
}

export function checkUsageKeys (account: string, keys: UsageKeys): void {
  checkAccountId(account)
  if (keys === null || typeof keys !== 'object') fail('the period keys must be an object')
  if (!isHourKey(keys.hour)) fail(`hour must be an hour key YYYY-MM-DDTHH, got ${JSON.stringify(keys.hour)}`)
  if (!isDayKey(keys.day)) fail(`day must be a day key YYYY-MM-DD, got ${JSON.stringify(keys.day)}`)
  if (!isWeekKey(keys.week)) fail(`week must be a week key YYYY-Www, got ${JSON.stringify(keys.week)}`)
}

export function checkResetInput (input: ResetInput): void {
  if (input === null || typeof input !== 'object') fail('reset input must be an object')
  checkAccountId(input.account)
  if (!oneOf(RESET_TYPES, input.reset_type)) fail(`unknown reset_type ${JSON.stringify(input.reset_type)}`)
  if (!oneOf(RESET_SOURCES, input.source)) fail(`unknown source ${JSON.stringify(input.source)}`)
  const isKey = input.reset_type === 'daily' ? isDayKey : isWeekKey
  const shape = input.reset_type === 'daily' ? 'a day key YYYY-MM-DD' : 'a week key YYYY-Www'
  if (!isKey(input.period)) fail(`period of a ${input.reset_type} reset must be ${shape}, got ${JSON.stringify(input.period)}`)
  if (input.previous_period !== undefined && !isKey(input.previous_period)) {
    fail(`previous_period of a ${input.reset_type} reset must be ${shape}, got ${JSON.stringify(input.previous_period)}`)
  }
}

export function checkResetType (type: ResetType): void {
  if (!oneOf(RESET_TYPES, type)) fail(`unknown reset_type ${JSON.stringify(type)}`)
}

export function checkResetQuery (q: ResetQuery): void {
  if (q === null || typeof q !== 'object') fail('reset query must be an object')
  if (q.account !== undefined) checkAccountId(q.account)
  if (q.reset_type !== undefined) checkResetType(q.reset_type)
  if (!isCount(q.limit) || q.limit < 0) fail('limit must be an integer >= 0')
  if (q.before !== undefined && !isCount(q.before)) fail('before must be an integer')
}

export function checkDayRange (account: string, from: string, to: string): void {
  checkAccountId(account)
  if (!isDayKey(from)) fail(`from must be a day key YYYY-MM-DD, got ${JSON.stringify(from)}`)
  if (!isDayKey(to)) fail(`to must be a day key YYYY-MM-DD, got ${JSON.stringify(to)}`)
}

/** Values as both drivers hand them back: pg gives bigint as strings, timestamptz as Dates and jsonb parsed. */
type Cell = string | number | bigint | boolean | Date | Buffer | Record<string, unknown> | null

export const num = (v: Cell | undefined): number => {
  const n = Number(v)
  if (!Number.isFinite(n)) fail(`expected a number from the database, got ${String(v)}`)
  return n
}

const str = (v: Cell | undefined): string => {
  if (typeof v !== 'string') fail(`expected a string from the database, got ${String(v)}`)
  return v
}

const isoOrNull = (v: Cell | undefined): string | null => v === null || v === undefined ? null : toIso(v instanceof Date ? v : str(v))

export type Row = Record<string, Cell>

/** Column values of the accounts table, in ACCOUNT_COLUMNS order. */
export const ACCOUNT_COLUMNS = [
  'id', 'timezone', 'reset_time', 'week_start',
  ...LIMIT_NAMES,
  'min_delay_seconds', 'max_delay_seconds', 'media_delay_seconds', 'created_at',
  'warmup_enabled', 'warmup_start_per_day', 'warmup_days',
  // The bot's settings, one JSON document; keys it lacks read as their defaults.
  'settings'
] as const

export function accountValues (a: Account): Array<string | number> {
  checkAccountId(a?.id)
  if (a.limits === null || typeof a.limits !== 'object') fail('account limits must be an object')
  if (a.delays === null || typeof a.delays !== 'object') fail('account delays must be an object')
  if (a.warmup === null || typeof a.warmup !== 'object') fail('account warmup must be an object')
  return [
    a.id, a.timezone, a.reset_time, a.week_start,
    ...LIMIT_NAMES.map((name) => a.limits[name]),
    a.delays.min_seconds, a.delays.max_seconds, a.delays.media_seconds, toIso(a.created_at),
    // SQLite has no boolean: 1 and 0, which PostgreSQL's boolean also takes.
    a.warmup.enabled ? 1 : 0, a.warmup.start_per_day, a.warmup.days,
    settingsToStored(a)
  ]
}

export function rowToAccount (r: Row): Account {
  return {
    id: str(r.id),
    timezone: str(r.timezone),
    reset_time: str(r.reset_time),
    week_start: str(r.week_start) as WeekStart,
    limits: Object.fromEntries(LIMIT_NAMES.map((name) => [name, num(r[name])])) as Account['limits'],
    delays: {
      min_seconds: num(r.min_delay_seconds),
      max_seconds: num(r.max_delay_seconds),
      media_seconds: num(r.media_delay_seconds)
    },
    created_at: toIso(r.created_at instanceof Date ? r.created_at : str(r.created_at)),
    warmup: { enabled: r.warmup_enabled === true || Number(r.warmup_enabled) === 1, start_per_day: num(r.warmup_start_per_day), days: num(r.warmup_days) },
    // SQLite gives the JSON text, pg a parsed jsonb value.
    ...settingsFromStored(r.settings)
  }
}

export function rowToUsage (r: Row | undefined): PeriodUsage {
  if (r === undefined) return zeroUsage()
  const u = zeroUsage()
  for (const c of COUNTERS) u[c] = num(r[c])
  return u
}

const numOrNull = (v: Cell | undefined): number | null => v === null || v === undefined ? null : num(v)

export function rowToState (r: Row | undefined): AccountState {
  if (r === undefined) return { paused_until: null, pause_reason: null, slow_until: null, warmup_start: null, last_send_at: null }
  return {
    paused_until: numOrNull(r.paused_until),
    pause_reason: textOrNull(r.pause_reason),
    slow_until: numOrNull(r.slow_until),
    warmup_start: textOrNull(r.warmup_start),
    last_send_at: numOrNull(r.last_send_at)
  }
}

export function rowToReset (r: Row): ResetRecord {
  return {
    id: num(r.id),
    account: str(r.account),
    reset_type: str(r.reset_type) as ResetType,
    source: str(r.source) as ResetSource,
    period: str(r.period),
    timestamp: toIso(r.timestamp instanceof Date ? r.timestamp : str(r.timestamp)),
    before: { messages: num(r.before_messages), images: num(r.before_images), videos: num(r.before_videos) }
  }
}

export function rowToKeyRecord (r: Row): ApiKeyRecord {
  return {
    id: str(r.id),
    name: str(r.name),
    role: str(r.role) as Role,
    account: r.account === null ? null : str(r.account),
    created_at: toIso(r.created_at instanceof Date ? r.created_at : str(r.created_at)),
    last_used_at: isoOrNull(r.last_used_at)
  }
}

export function rowToStoredKey (r: Row): StoredApiKey {
  const digest = r.digest
  if (!Buffer.isBuffer(digest)) fail('expected the key digest as bytes from the database')
  return { ...rowToKeyRecord(r), digest: Buffer.from(digest), revoked_at: isoOrNull(r.revoked_at) }
}

/** Rejects with the error a closed store gives, so callers fail closed instead of hanging. */
export function closedError (kind: string): Error {
  return new Error(`${kind} store is closed`)
}

export function checkNewKey (key: NewApiKey): void {
  if (key === null || typeof key !== 'object') throw new TypeError('store: key must be an object')
  if (typeof key.id !== 'string' || key.id.length === 0) throw new TypeError('store: key id must be a non-empty string')
  if (typeof key.name !== 'string') throw new TypeError('store: key name must be a string')
  if (!oneOf(ROLES, key.role)) throw new TypeError(`store: unknown key role ${JSON.stringify(key.role)}`)
  if (key.account !== null && (typeof key.account !== 'string' || key.account.length === 0)) {
    throw new TypeError('store: key account must be null or a non-empty string')
  }
  if (!Buffer.isBuffer(key.digest) || key.digest.length === 0) throw new TypeError('store: key digest must be a non-empty Buffer')
}

export function checkDigest (digest: unknown): void {
  if (!Buffer.isBuffer(digest)) throw new TypeError('store: digest must be a Buffer')
}
