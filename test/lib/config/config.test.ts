import t from 'tap'
import { DEV_API_KEY, loadConfig, readAiApiKey } from '../../../lib/config/config.js'
import { ConfigError } from '../../../lib/shared/errors.js'

t.test('the README\'s configuration defaults with an empty environment', async (t) => {
  const c = loadConfig({}, {})
  t.equal(c.host, '127.0.0.1')
  t.equal(c.port, 3000)
  t.equal(c.logLevel, 'info')
  t.equal(c.apiKey, DEV_API_KEY)
  t.ok(c.apiKeyIsDefault)
  t.equal(c.store.sqlitePath, './data/sellify.db')
  t.equal(c.store.databaseUrl, undefined)
  t.same(c.defaults, {
    timezone: 'UTC',
    reset_time: '00:00',
    week_start: 'monday',
    limits: { messages_per_day: 200, messages_per_week: 1000, images_per_day: 50, videos_per_week: 20, messages_per_hour: 30 },
    delays: { min_seconds: 2, max_seconds: 8, media_seconds: 5 },
    warmup: { enabled: true, start_per_day: 20, days: 14 }
  })
  t.same(c.rateLimit, { max: 1200, timeWindow: '1 minute' })
  t.equal(c.scheduler, true)
  t.equal(c.metricsPublic, true)
})

t.test('the environment is read and options win over it', async (t) => {
  const env = {
    PORT: '4000',
    SELLIFY_MESSAGES_PER_DAY: '10',
    SELLIFY_TIMEZONE: 'Europe/Paris',
    SELLIFY_SCHEDULER: 'off',
    SELLIFY_AUDIT_RETENTION_DAYS: '90',
    SELLIFY_METRICS_PUBLIC: 'false',
    DATABASE_URL: 'postgres://x@localhost/db',
    SELLIFY_API_KEY: 'k'.repeat(40)
  }
  const c = loadConfig({ port: 5000, defaults: { limits: { images_per_day: 3 } } }, env)
  t.equal(c.port, 5000)
  t.equal(c.defaults.limits.messages_per_day, 10)
  t.equal(c.defaults.limits.images_per_day, 3)
  t.equal(c.defaults.limits.messages_per_week, 1000)
  t.equal(c.defaults.timezone, 'Europe/Paris')
  t.equal(c.scheduler, false)
  t.equal(c.auditRetentionDays, 90)
  t.equal(c.metricsPublic, false)
  t.equal(c.store.databaseUrl, 'postgres://x@localhost/db')
  t.equal(c.apiKeyIsDefault, false)
})

t.test('every invalid setting is an error naming its variable', async (t) => {
  const cases: Array<[Record<string, string>, string]> = [
    [{ SELLIFY_TIMEZONE: 'Europe/Berln' }, 'SELLIFY_TIMEZONE'],
    [{ SELLIFY_MESSAGES_PER_DAY: '-1' }, 'SELLIFY_MESSAGES_PER_DAY'],
    [{ SELLIFY_MESSAGES_PER_WEEK: 'lots' }, 'SELLIFY_MESSAGES_PER_WEEK'],
    [{ SELLIFY_IMAGES_PER_DAY: '2.5' }, 'SELLIFY_IMAGES_PER_DAY'],
    [{ SELLIFY_MIN_DELAY_SECONDS: '9', SELLIFY_MAX_DELAY_SECONDS: '3' }, 'SELLIFY_MIN_DELAY_SECONDS'],
    [{ SELLIFY_RESET_TIME: '24:00' }, 'SELLIFY_RESET_TIME'],
    [{ SELLIFY_RESET_TIME: '7:00' }, 'SELLIFY_RESET_TIME'],
    [{ SELLIFY_WEEK_START: 'funday' }, 'SELLIFY_WEEK_START'],
    [{ PORT: '70000' }, 'PORT'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ SELLIFY_SCHEDULER: 'maybe' }, 'SELLIFY_SCHEDULER'],
    [{ SELLIFY_RATE_LIMIT_MAX: '0' }, 'SELLIFY_RATE_LIMIT_MAX'],
    [{ SELLIFY_AUDIT_RETENTION_DAYS: '0' }, 'SELLIFY_AUDIT_RETENTION_DAYS'],
    [{ SELLIFY_AUDIT_RETENTION_DAYS: 'a week' }, 'SELLIFY_AUDIT_RETENTION_DAYS']
  ]
  for (const [env, variable] of cases) {
    let caught: unknown
    try {
      loadConfig({}, env)
    } catch (err) {
      caught = err
    }
    t.ok(caught instanceof ConfigError && caught.variable === variable && caught.message.startsWith(`${variable}: `), `${JSON.stringify(env)} names ${variable}: ${String(caught)}`)
  }
})

t.test('production refuses a missing, short or default key', async (t) => {
  const prod = { NODE_ENV: 'production' }
  t.throws(() => loadConfig({}, prod), /SELLIFY_API_KEY: is required/)
  t.throws(() => loadConfig({}, { ...prod, SELLIFY_API_KEY: DEV_API_KEY }), /SELLIFY_API_KEY: must not be the built-in dev key/)
  t.throws(() => loadConfig({}, { ...prod, SELLIFY_API_KEY: 'short-key' }), /at least 32 characters/)
  t.equal(loadConfig({}, { ...prod, SELLIFY_API_KEY: 'x'.repeat(32) }).production, true)
  t.throws(() => loadConfig({ production: true }, {}), /SELLIFY_API_KEY/)
})

t.test('a rate-limit window that cannot be parsed is a start-up error, not a 500 on every request', async (t) => {
  for (const bad of ['soon', '0', '-5 minutes']) {
    t.throws(() => loadConfig({}, { SELLIFY_RATE_LIMIT_WINDOW: bad }), /SELLIFY_RATE_LIMIT_WINDOW: must be a positive duration such as "1 minute"/)
  }
  t.equal(loadConfig({}, { SELLIFY_RATE_LIMIT_WINDOW: '30s' }).rateLimit.timeWindow, '30s')
})

t.test('DATABASE_URL must be a PostgreSQL URL (node-postgres would take `notaurl` as the host `base`); its value is never quoted', async (t) => {
  for (const bad of ['notaurl', 'localhost:5432', 'mysql://root:hunter2@db/app', 'http://postgres:hunter2@db/app']) {
    let caught: unknown
    try {
      loadConfig({}, { DATABASE_URL: bad })
    } catch (err) {
      caught = err
    }
    t.ok(caught instanceof ConfigError && caught.variable === 'DATABASE_URL', `${bad}: ${String(caught)}`)
    t.notMatch(String(caught), /hunter2/, 'no password in the message')
  }
  t.throws(() => loadConfig({ store: { databaseUrl: 'notaurl' } }, {}), /DATABASE_URL/, 'the option is checked too')
  for (const good of ['postgres://x@localhost/db', 'postgresql://u:p%40ss@db.example:6543/app?sslmode=require', 'postgres:///app', 'socket:/var/run/postgresql?db=app']) {
    t.equal(loadConfig({}, { DATABASE_URL: good }).store.databaseUrl, good)
  }
})

t.test('production key errors name where the key came from, and both places when it is missing', async (t) => {
  const prod = { NODE_ENV: 'production' }
  t.throws(() => loadConfig({}, prod), /^SELLIFY_API_KEY: is required when NODE_ENV=production .*`apiKey` option/)
  t.throws(() => loadConfig({ apiKey: DEV_API_KEY }, prod), /^apiKey option: must not be the built-in dev key/)
  t.throws(() => loadConfig({ apiKey: 'short' }, { ...prod, SELLIFY_API_KEY: 'x'.repeat(40) }), /^apiKey option: must be at least 32/, 'the option wins, and is named')
})

t.test('the AI settings: none by default, read from the environment, the key kept out of the config', async (t) => {
  t.same(loadConfig({}, {}).ai, { provider: 'none', timeoutMs: 8000 })
  const key = 'sk-config-test-0123456789'
  const c = loadConfig({}, { SELLIFY_AI_PROVIDER: 'openai', SELLIFY_AI_BASE_URL: 'http://127.0.0.1:11434/v1', SELLIFY_AI_MODEL: 'llama3.2', SELLIFY_AI_API_KEY: key, SELLIFY_AI_TIMEOUT_MS: '3000' })
  t.same(c.ai, { provider: 'openai', baseUrl: 'http://127.0.0.1:11434/v1', model: 'llama3.2', timeoutMs: 3000 })
  t.notOk(JSON.stringify(c).includes(key))
  t.equal(readAiApiKey({ SELLIFY_AI_API_KEY: ` ${key} ` }), key)
  t.equal(readAiApiKey({ SELLIFY_AI_API_KEY: '' }), undefined)
  // A local server needs no key; the provider's own API does.
  t.equal(loadConfig({}, { SELLIFY_AI_PROVIDER: 'anthropic', SELLIFY_AI_MODEL: 'claude-x', SELLIFY_AI_API_KEY: key }).ai.provider, 'anthropic')
  t.equal(loadConfig({}, { SELLIFY_AI_PROVIDER: 'openai', SELLIFY_AI_MODEL: 'm', SELLIFY_AI_BASE_URL: 'https://api.groq.com/openai/v1' }).ai.model, 'm')
})

t.test('AI settings that cannot work refuse the start, naming the variable', async (t) => {
  const cases: Array<[Record<string, string>, string, RegExp]> = [
    [{ SELLIFY_AI_PROVIDER: 'gemini' }, 'SELLIFY_AI_PROVIDER', /must be one of none, openai, anthropic/],
    [{ SELLIFY_AI_PROVIDER: 'openai', SELLIFY_AI_BASE_URL: 'http://127.0.0.1:11434/v1' }, 'SELLIFY_AI_MODEL', /required when SELLIFY_AI_PROVIDER is openai/],
    [{ SELLIFY_AI_PROVIDER: 'anthropic', SELLIFY_AI_API_KEY: 'k' }, 'SELLIFY_AI_MODEL', /required when SELLIFY_AI_PROVIDER is anthropic/],
    [{ SELLIFY_AI_PROVIDER: 'openai', SELLIFY_AI_MODEL: 'm', SELLIFY_AI_BASE_URL: 'ftp://models.example/v1' }, 'SELLIFY_AI_BASE_URL', /http:\/\/ or https:\/\//],
    [{ SELLIFY_AI_PROVIDER: 'openai', SELLIFY_AI_MODEL: 'm', SELLIFY_AI_BASE_URL: '127.0.0.1:11434' }, 'SELLIFY_AI_BASE_URL', /not a URL/],
    [{ SELLIFY_AI_PROVIDER: 'openai', SELLIFY_AI_MODEL: 'm', SELLIFY_AI_BASE_URL: 'not a url' }, 'SELLIFY_AI_BASE_URL', /not a URL/],
    // Checked even while the AI is off: the typo would surface the day it is switched on.
    [{ SELLIFY_AI_BASE_URL: 'file:///etc/passwd' }, 'SELLIFY_AI_BASE_URL', /http:\/\/ or https:\/\//],
    [{ SELLIFY_AI_PROVIDER: 'openai', SELLIFY_AI_MODEL: 'gpt-4o-mini' }, 'SELLIFY_AI_API_KEY', /required when SELLIFY_AI_PROVIDER is openai without SELLIFY_AI_BASE_URL/],
    [{ SELLIFY_AI_PROVIDER: 'anthropic', SELLIFY_AI_MODEL: 'claude-x', SELLIFY_AI_API_KEY: '  ' }, 'SELLIFY_AI_API_KEY', /required/],
    [{ SELLIFY_AI_TIMEOUT_MS: '0' }, 'SELLIFY_AI_TIMEOUT_MS', /milliseconds from 1 to 600000/],
    [{ SELLIFY_AI_TIMEOUT_MS: '-5' }, 'SELLIFY_AI_TIMEOUT_MS', /milliseconds from 1 to 600000/],
    [{ SELLIFY_AI_TIMEOUT_MS: '8s' }, 'SELLIFY_AI_TIMEOUT_MS', /whole number/],
    [{ SELLIFY_AI_TIMEOUT_MS: '600001' }, 'SELLIFY_AI_TIMEOUT_MS', /milliseconds from 1 to 600000/]
  ]
  for (const [env, variable, message] of cases) {
    t.throws(() => loadConfig({}, env), { name: 'ConfigError', variable, message }, `${JSON.stringify(env)} names ${variable}`)
  }
  // A base URL may carry credentials: the refusal does not quote it.
  const refusal = t.throws(() => loadConfig({}, { SELLIFY_AI_BASE_URL: 'ftp://user:secret@models.example' })) as Error
  t.notOk(refusal.message.includes('secret'), refusal.message)
})

t.test('the hourly cap and the warm-up of new accounts come from the environment, checked like the other defaults', async (t) => {
  const c = loadConfig({}, { SELLIFY_MESSAGES_PER_HOUR: '12', SELLIFY_WARMUP: 'off', SELLIFY_WARMUP_START_PER_DAY: '5', SELLIFY_WARMUP_DAYS: '30' })
  t.equal(c.defaults.limits.messages_per_hour, 12)
  t.same(c.defaults.warmup, { enabled: false, start_per_day: 5, days: 30 })
  t.throws(() => loadConfig({}, { SELLIFY_WARMUP: 'maybe' }), /SELLIFY_WARMUP/)
  t.throws(() => loadConfig({}, { SELLIFY_MESSAGES_PER_HOUR: '1.5' }), /SELLIFY_MESSAGES_PER_HOUR/)
  t.throws(() => loadConfig({}, { SELLIFY_MESSAGES_PER_HOUR: '-1' }), /SELLIFY_MESSAGES_PER_HOUR/)
  t.throws(() => loadConfig({}, { SELLIFY_WARMUP_DAYS: '0' }), /SELLIFY_WARMUP_DAYS/)
  t.throws(() => loadConfig({}, { SELLIFY_WARMUP_DAYS: '91' }), /SELLIFY_WARMUP_DAYS/)
})
