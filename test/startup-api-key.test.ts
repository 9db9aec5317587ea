import t from 'tap'
import { build, call, DEV_KEY, type LogLine } from './helper.js'

const STRONG = 'k'.repeat(40)

t.test('embedded without apiKey: the host\'s log warns that the public dev key is in use', async (t) => {
  const logs: LogLine[] = []
  const app = await build(t, {}, { logs })
  const warnings = logs.filter((l) => l.level === 40 && /dev API key/.test(l.msg))
  t.equal(warnings.length, 1, 'one warning, through the host\'s logger')
  t.match(warnings[0]?.msg, /apiKey/, 'it names the option')
  t.match(warnings[0]?.msg, /SELLIFY_API_KEY/, 'and the variable')
  t.notMatch(JSON.stringify(warnings), DEV_KEY, 'the key itself is not logged')
  t.equal((await call(app, 'GET', '/api/v1/quota/status')).statusCode, 200, 'the dev key still works outside production')
})

t.test('no warning with a configured key, from the option or from the environment', async (t) => {
  for (const options of [{ apiKey: STRONG }, { env: { SELLIFY_API_KEY: STRONG } }]) {
    const logs: LogLine[] = []
    const app = await build(t, options, { logs })
    t.strictSame(logs.filter((l) => l.level >= 40), [], JSON.stringify(options))
    t.equal((await call(app, 'GET', '/api/v1/quota/status', undefined, STRONG)).statusCode, 200)
  }
})

t.test('embedded in production (NODE_ENV in the env the plugin reads): refused, naming the option and the variable', async (t) => {
  const production = { NODE_ENV: 'production' }
  await t.rejects(build(t, { env: production }), /SELLIFY_API_KEY: is required when NODE_ENV=production.*`apiKey` option/)
  await t.rejects(build(t, { env: production, apiKey: DEV_KEY }), /^apiKey option: must not be the built-in dev key/)
  await t.rejects(build(t, { env: production, apiKey: 'short' }), /^apiKey option: must be at least 32 characters/)
  await t.rejects(build(t, { env: { ...production, SELLIFY_API_KEY: DEV_KEY } }), /^SELLIFY_API_KEY: must not be the built-in dev key/)
  await t.rejects(build(t, { production: true }), /SELLIFY_API_KEY: is required.*`apiKey` option/, 'the production option too')
  const app = await build(t, { env: { ...production, SELLIFY_ENCRYPTION_KEY: 'ab'.repeat(32) }, apiKey: STRONG })
  t.equal(app.sellify.config.production, true, 'a strong key from the option starts')
})
