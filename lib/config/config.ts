import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { DelaysSchema, LimitsSchema, WarmupSchema } from '../accounts/schema.js'
import { WEEK_DAYS, type AccountConfig, type WeekStart } from '../accounts/types.js'
import { ConfigError } from '../shared/errors.js'
import { isValidTimeZone, parseResetTime } from '../periods/periods.js'
import { AI_PROVIDERS } from '../ai/types.js'

export const DEV_API_KEY = 'dev-api-key-change-in-production'
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/** The resolved configuration: one schema, one type (STYLE: config). */
export const ConfigSchema = Type.Object({
  host: Type.String({ minLength: 1 }),
  port: Type.Integer({ minimum: 0, maximum: 65535 }),
  logLevel: Type.Union(LOG_LEVELS.map((l) => Type.Literal(l))),
  apiKey: Type.String({ minLength: 1 }),
  /** True when the key is the built-in dev default (it may then be printed, with a warning). */
  apiKeyIsDefault: Type.Boolean(),
  production: Type.Boolean(),
  store: Type.Object({
    sqlitePath: Type.String({ minLength: 1 }),
    databaseUrl: Type.Optional(Type.String({ minLength: 1 })),
    pgSchema: Type.Optional(Type.String({ pattern: '^[a-z_][a-z0-9_]{0,62}$' })),
    pgPoolSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    queryTimeoutMs: Type.Optional(Type.Integer({ minimum: 1 }))
  }),
  redisUrl: Type.Optional(Type.String({ minLength: 1 })),
  defaults: Type.Object({
    timezone: Type.String(),
    reset_time: Type.String(),
    // A union of literals, not the routes' string enum: TypeBox's Value checks only its own kinds.
    week_start: Type.Union(WEEK_DAYS.map((d) => Type.Literal(d))),
    // The same limits and delays an account PUT accepts (one source: lib/accounts/schema.ts).
    limits: LimitsSchema,
    delays: DelaysSchema,
    warmup: WarmupSchema
  }),
  rateLimit: Type.Object({
    max: Type.Integer({ minimum: 1 }),
    // A positive duration @fastify/rate-limit can parse ('1 minute', '30s', '1500' ms); anything else would 500 every request.
    timeWindow: Type.String({
      pattern: '^[1-9][0-9]*(\\.[0-9]+)? *(ms|msecs?|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?|w|wks?|weeks?)?$',
      errorMessage: 'must be a positive duration such as "1 minute", "30s" or "1500" (milliseconds)'
    })
  }),
  scheduler: Type.Boolean(),
  /** Audit records older than this many days are removed by a daily job; unset: kept for ever. */
  auditRetentionDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 36500 })),
  metricsPublic: Type.Boolean(),
  /** Alert webhooks may point at loopback and private addresses (a receiver on the same machine or network). */
  allowPrivateWebhooks: Type.Boolean(),
  /** The AI provider of every account; its key is not here (readAiApiKey), so this config can be logged. */
  ai: Type.Object({
    provider: Type.Union(AI_PROVIDERS.map((p) => Type.Literal(p))),
    baseUrl: Type.Optional(Type.String({ minLength: 1 })),
    model: Type.Optional(Type.String({ minLength: 1 })),
    // Ten minutes at most: the SDKs' own default, and far below what a timer can hold.
    timeoutMs: Type.Integer({ minimum: 1, maximum: 600_000, errorMessage: 'must be a whole number of milliseconds from 1 to 600000' })
  })
})
export type Config = Static<typeof ConfigSchema>

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] }

/** What a host app (or a test) may pass; every field overrides its environment variable. */
export type ConfigOptions = DeepPartial<Omit<Config, 'apiKeyIsDefault' | 'production'>> & {
  /** Treat the process as production (defaults to NODE_ENV === 'production'). */
  production?: boolean
}

type Env = Record<string, string | undefined>
type Kind = 'string' | 'int' | 'bool'

/** Every setting: its variable, where it lands in Config, how its text is read, its default. */
const SETTINGS: Array<{ env: string, path: string, kind: Kind, fallback?: unknown }> = [
  { env: 'HOST', path: 'host', kind: 'string', fallback: '127.0.0.1' },
  { env: 'PORT', path: 'port', kind: 'int', fallback: 3000 },
  { env: 'LOG_LEVEL', path: 'logLevel', kind: 'string', fallback: 'info' },
  { env: 'SELLIFY_API_KEY', path: 'apiKey', kind: 'string' },
  { env: 'SELLIFY_DB_PATH', path: 'store.sqlitePath', kind: 'string', fallback: './data/sellify.db' },
  { env: 'DATABASE_URL', path: 'store.databaseUrl', kind: 'string' },
  { env: 'SELLIFY_PG_SCHEMA', path: 'store.pgSchema', kind: 'string' },
  { env: 'SELLIFY_PG_POOL_SIZE', path: 'store.pgPoolSize', kind: 'int' },
  { env: 'SELLIFY_STORE_TIMEOUT_MS', path: 'store.queryTimeoutMs', kind: 'int' },
  { env: 'REDIS_URL', path: 'redisUrl', kind: 'string' },
  { env: 'SELLIFY_TIMEZONE', path: 'defaults.timezone', kind: 'string', fallback: 'UTC' },
  { env: 'SELLIFY_RESET_TIME', path: 'defaults.reset_time', kind: 'string', fallback: '00:00' },
  { env: 'SELLIFY_WEEK_START', path: 'defaults.week_start', kind: 'string', fallback: 'monday' },
  { env: 'SELLIFY_MESSAGES_PER_DAY', path: 'defaults.limits.messages_per_day', kind: 'int', fallback: 200 },
  { env: 'SELLIFY_MESSAGES_PER_WEEK', path: 'defaults.limits.messages_per_week', kind: 'int', fallback: 1000 },
  { env: 'SELLIFY_IMAGES_PER_DAY', path: 'defaults.limits.images_per_day', kind: 'int', fallback: 50 },
  { env: 'SELLIFY_VIDEOS_PER_WEEK', path: 'defaults.limits.videos_per_week', kind: 'int', fallback: 20 },
  { env: 'SELLIFY_MESSAGES_PER_HOUR', path: 'defaults.limits.messages_per_hour', kind: 'int', fallback: 30 },
  { env: 'SELLIFY_WARMUP', path: 'defaults.warmup.enabled', kind: 'bool', fallback: true },
  { env: 'SELLIFY_WARMUP_START_PER_DAY', path: 'defaults.warmup.start_per_day', kind: 'int', fallback: 20 },
  { env: 'SELLIFY_WARMUP_DAYS', path: 'defaults.warmup.days', kind: 'int', fallback: 14 },
  { env: 'SELLIFY_MIN_DELAY_SECONDS', path: 'defaults.delays.min_seconds', kind: 'int', fallback: 2 },
  { env: 'SELLIFY_MAX_DELAY_SECONDS', path: 'defaults.delays.max_seconds', kind: 'int', fallback: 8 },
  { env: 'SELLIFY_MEDIA_DELAY_SECONDS', path: 'defaults.delays.media_seconds', kind: 'int', fallback: 5 },
  { env: 'SELLIFY_RATE_LIMIT_MAX', path: 'rateLimit.max', kind: 'int', fallback: 1200 },
  { env: 'SELLIFY_RATE_LIMIT_WINDOW', path: 'rateLimit.timeWindow', kind: 'string', fallback: '1 minute' },
  { env: 'SELLIFY_SCHEDULER', path: 'scheduler', kind: 'bool', fallback: true },
  { env: 'SELLIFY_AUDIT_RETENTION_DAYS', path: 'auditRetentionDays', kind: 'int' },
  { env: 'SELLIFY_METRICS_PUBLIC', path: 'metricsPublic', kind: 'bool', fallback: true },
  { env: 'SELLIFY_ALLOW_PRIVATE_WEBHOOKS', path: 'allowPrivateWebhooks', kind: 'bool', fallback: false },
  { env: 'SELLIFY_AI_PROVIDER', path: 'ai.provider', kind: 'string', fallback: 'none' },
  { env: 'SELLIFY_AI_BASE_URL', path: 'ai.baseUrl', kind: 'string' },
  { env: 'SELLIFY_AI_MODEL', path: 'ai.model', kind: 'string' },
  { env: 'SELLIFY_AI_TIMEOUT_MS', path: 'ai.timeoutMs', kind: 'int', fallback: 8000 }
]

function get (obj: unknown, path: string): unknown {
  let cur: unknown = obj
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined
    cur = (cur as Record<string, unknown>)[part]
  }
  return cur
}

function set (obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.')
  let cur = obj
  for (const part of parts.slice(0, -1)) {
    cur[part] ??= {}
    cur = cur[part] as Record<string, unknown>
  }
  cur[parts[parts.length - 1]] = value
}

function parseText (variable: string, kind: Kind, text: string): unknown {
  if (kind === 'string') return text
  if (kind === 'int') {
    if (!/^-?\d+$/.test(text.trim())) throw new ConfigError(variable, `must be a whole number, got ${JSON.stringify(text)}`)
    return Number(text.trim())
  }
  const lowered = text.trim().toLowerCase()
  if (['on', 'true', '1', 'yes'].includes(lowered)) return true
  if (['off', 'false', '0', 'no'].includes(lowered)) return false
  throw new ConfigError(variable, `must be on or off, got ${JSON.stringify(text)}`)
}

/**
 * Resolve the configuration: plugin options first, then the environment, then the defaults.
 * Throws a ConfigError naming the variable for any invalid setting; never falls back silently.
 */
export function loadConfig (options: ConfigOptions = {}, env: Env = process.env): Config {
  const raw: Record<string, unknown> = {}
  for (const s of SETTINGS) {
    const fromOption = get(options, s.path)
    const text = env[s.env]
    let value: unknown
    if (fromOption !== undefined) value = fromOption
    else if (text !== undefined && text !== '') value = parseText(s.env, s.kind, text)
    else value = s.fallback
    if (value !== undefined) set(raw, s.path, value)
  }

  const production = options.production ?? env.NODE_ENV === 'production'
  const key = raw.apiKey as string | undefined
  if (production) {
    // Named by where the key came from; a missing one by both places an embedding app may set it.
    if (key === undefined) throw new ConfigError('SELLIFY_API_KEY', 'is required when NODE_ENV=production (an embedding app may pass it as the `apiKey` option)')
    const from = options.apiKey === undefined ? 'SELLIFY_API_KEY' : 'apiKey option'
    if (key === DEV_API_KEY) throw new ConfigError(from, 'must not be the built-in dev key in production')
    if (key.length < 32) throw new ConfigError(from, 'must be at least 32 characters in production')
  }
  raw.apiKey = key ?? DEV_API_KEY
  raw.apiKeyIsDefault = raw.apiKey === DEV_API_KEY
  raw.production = production

  const error = Value.Errors(ConfigSchema, raw).First()
  if (error !== undefined) {
    const path = error.path.slice(1).replaceAll('/', '.')
    const setting = SETTINGS.find((s) => s.path === path)
    const choices = (error.schema.anyOf as Array<{ const?: unknown }> | undefined)?.map((s) => s.const)
    const custom = error.schema.errorMessage as string | undefined
    const rule = custom ?? (choices === undefined ? error.message : `must be one of ${choices.join(', ')}`)
    throw new ConfigError(setting?.env ?? path, `${rule}, got ${JSON.stringify(error.value)}`)
  }
  const config = raw as Config
  checkAccountDefaults(config.defaults)
  if (config.store.databaseUrl !== undefined) checkDatabaseUrl(config.store.databaseUrl)
  checkAi(config.ai, readAiApiKey(env) !== undefined)
  return config
}

/**
 * SELLIFY_AI_API_KEY, read where the environment is read and kept out of Config: it is never logged, never
 * answered. An empty value is no key.
 */
export function readAiApiKey (env: Env = process.env): string | undefined {
  const key = env.SELLIFY_AI_API_KEY?.trim()
  return key === undefined || key === '' ? undefined : key
}

/** Provider settings that cannot work refuse the start. The base URL is never quoted: it may hold credentials. */
function checkAi (ai: Config['ai'], hasKey: boolean): void {
  if (ai.baseUrl !== undefined) {
    let protocol: string
    try {
      protocol = new URL(ai.baseUrl).protocol
    } catch {
      throw new ConfigError('SELLIFY_AI_BASE_URL', 'is not a URL; expected e.g. http://127.0.0.1:11434/v1')
    }
    if (protocol !== 'http:' && protocol !== 'https:') throw new ConfigError('SELLIFY_AI_BASE_URL', `must be an http:// or https:// URL, not ${protocol}//…`)
  }
  if (ai.provider === 'none') return
  if (ai.model === undefined) throw new ConfigError('SELLIFY_AI_MODEL', `is required when SELLIFY_AI_PROVIDER is ${ai.provider}`)
  // The provider's own API answers 401 to every call without a key; a local server (SELLIFY_AI_BASE_URL) may need none.
  if (ai.baseUrl === undefined && !hasKey) {
    throw new ConfigError('SELLIFY_AI_API_KEY', `is required when SELLIFY_AI_PROVIDER is ${ai.provider} without SELLIFY_AI_BASE_URL`)
  }
}

const PG_PROTOCOLS = ['postgres:', 'postgresql:', 'socket:']

/**
 * node-postgres reads anything as a connection string (`notaurl` becomes the host `base`), so a typo would
 * surface later as a network error. The value is never quoted: it usually holds a password.
 */
function checkDatabaseUrl (url: string): void {
  let protocol: string
  try {
    protocol = new URL(url).protocol
  } catch {
    throw new ConfigError('DATABASE_URL', 'is not a URL; expected postgres://user:password@host:5432/database')
  }
  if (!PG_PROTOCOLS.includes(protocol)) throw new ConfigError('DATABASE_URL', `must be a postgres:// or postgresql:// URL, not ${protocol}//…`)
}

/** The rules JSON Schema cannot say: a real IANA zone, a real time of day, min <= max. */
function checkAccountDefaults (d: AccountConfig): void {
  if (!isValidTimeZone(d.timezone)) throw new ConfigError('SELLIFY_TIMEZONE', `unknown IANA time zone ${JSON.stringify(d.timezone)}`)
  if (parseResetTime(d.reset_time) === null) throw new ConfigError('SELLIFY_RESET_TIME', `must be HH:MM (00:00 to 23:59), got ${JSON.stringify(d.reset_time)}`)
  if (!WEEK_DAYS.includes(d.week_start as WeekStart)) throw new ConfigError('SELLIFY_WEEK_START', `must be a day name, got ${JSON.stringify(d.week_start)}`)
  if (d.delays.min_seconds > d.delays.max_seconds) {
    throw new ConfigError('SELLIFY_MIN_DELAY_SECONDS', `(${d.delays.min_seconds}) must not exceed SELLIFY_MAX_DELAY_SECONDS (${d.delays.max_seconds})`)
  }
}
