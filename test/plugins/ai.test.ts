import t from 'tap'
import { inspect } from 'node:util'
import { startFakeAi } from '../../lib/ai/fake-server.js'
import type { ChatRequest } from '../../lib/ai/types.js'
import { build, call, type LogLine } from '../helper.js'

const KEY = 'sk-plugin-test-5f1c2e9a7b3d4c6e8f0a1b2c3d4e5f60'
const REQUEST: ChatRequest = { system: 'Règles.', messages: [{ role: 'user', content: 'Client : Bonjour' }], temperature: 0.3, max_tokens: 100 }

t.test('with the default provider none, every call answers disabled and is counted', async (t) => {
  const app = await build(t)
  t.equal(app.sellify.config.ai.provider, 'none')
  t.match(await app.sellify.ai.complete(REQUEST), { ok: false, reason: 'disabled', attempts: 0 })
  t.match(await app.sellify.metrics.metrics(), /sellify_ai_requests_total\{provider="none",result="disabled"\} 1/)
})

t.test('provider openai from the environment: calls reach the server, results are counted, the key shows nowhere', async (t) => {
  const fake = await startFakeAi({ script: ['good', 'server_error', 'server_error'], apiKey: KEY })
  t.teardown(() => fake.close())
  const logs: LogLine[] = []
  const app = await build(t, {
    env: { SELLIFY_AI_PROVIDER: 'openai', SELLIFY_AI_BASE_URL: `${fake.url}/v1`, SELLIFY_AI_MODEL: 'llama3.2', SELLIFY_AI_API_KEY: KEY, SELLIFY_AI_TIMEOUT_MS: '4000' }
  }, { logs })
  t.match(app.sellify.config.ai, { provider: 'openai', model: 'llama3.2', baseUrl: `${fake.url}/v1`, timeoutMs: 4000 })
  t.equal(app.sellify.config.ai.apiKey, KEY, 'the gateway can read it')

  t.match(await app.sellify.ai.complete(REQUEST), { ok: true, attempts: 1 })
  t.match(await app.sellify.ai.complete(REQUEST), { ok: false, reason: 'server_error', attempts: 2 })
  t.equal(fake.requests.length, 3)
  t.equal(fake.requests[0].body.model, 'llama3.2')
  t.equal(fake.requests[0].headers.authorization, `Bearer ${KEY}`)

  const metrics = await app.sellify.metrics.metrics()
  t.match(metrics, /sellify_ai_requests_total\{provider="openai",result="ok"\} 1/)
  t.match(metrics, /sellify_ai_requests_total\{provider="openai",result="server_error"\} 1/)
  t.match(metrics, /sellify_ai_duration_seconds_count\{provider="openai"\} 2/)

  await call(app, 'GET', '/health')
  const scraped = await call(app, 'GET', '/metrics')
  t.equal(scraped.statusCode, 200)
  t.ok(logs.length > 0, 'the app logged')
  for (const [what, text] of [
    ['the serialised config', JSON.stringify(app.sellify.config)],
    ['the inspected config', inspect(app.sellify.config, { depth: 10 })],
    ['a spread of the AI settings', JSON.stringify({ ...app.sellify.config.ai })],
    ['the logs', JSON.stringify(logs)],
    ['GET /metrics', scraped.body]
  ]) t.notOk(text.includes(KEY), `the key is not in ${what}`)
})

t.test('provider anthropic from the environment', async (t) => {
  const fake = await startFakeAi({ script: ['ai_disclosure'] })
  t.teardown(() => fake.close())
  const app = await build(t, { env: { SELLIFY_AI_PROVIDER: 'anthropic', SELLIFY_AI_BASE_URL: fake.url, SELLIFY_AI_MODEL: 'claude-test', SELLIFY_AI_API_KEY: KEY } })
  // The gateway only brings the text back; validation is what refuses it.
  t.match(await app.sellify.ai.complete(REQUEST), { ok: true, text: /je suis une IA/i })
  t.equal(fake.requests[0].api, 'anthropic')
  t.match(await app.sellify.metrics.metrics(), /sellify_ai_requests_total\{provider="anthropic",result="ok"\} 1/)
})

t.test('settings that cannot work refuse the start, naming the variable', async (t) => {
  await t.rejects(build(t, { env: { SELLIFY_AI_PROVIDER: 'openai', SELLIFY_AI_BASE_URL: 'http://127.0.0.1:11434/v1' } }), { name: 'ConfigError', variable: 'SELLIFY_AI_MODEL' })
  await t.rejects(build(t, { env: { SELLIFY_AI_PROVIDER: 'openai', SELLIFY_AI_MODEL: 'm', SELLIFY_AI_BASE_URL: 'ftp://models.example' } }), { name: 'ConfigError', variable: 'SELLIFY_AI_BASE_URL' })
  await t.rejects(build(t, { env: { SELLIFY_AI_PROVIDER: 'mistral' } }), { name: 'ConfigError', variable: 'SELLIFY_AI_PROVIDER' })
})

t.test('closing the app ends a call that waits for a slow provider', async (t) => {
  const fake = await startFakeAi({ script: ['slow'] })
  t.teardown(() => fake.close())
  const app = await build(t, { env: { SELLIFY_AI_PROVIDER: 'openai', SELLIFY_AI_BASE_URL: `${fake.url}/v1`, SELLIFY_AI_MODEL: 'm' } })
  const pending = app.sellify.ai.complete(REQUEST)
  while (fake.requests.length === 0) await new Promise((resolve) => setImmediate(resolve))
  await app.close()
  t.match(await pending, { ok: false, reason: 'closed', attempts: 1 })
})
