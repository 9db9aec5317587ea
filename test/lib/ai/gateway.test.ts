import t from 'tap'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { createAiGateway, BREAKER_OPEN_MS, type AiGatewayOptions } from '../../../lib/ai/gateway.js'
import { FAKE_REPLIES, startFakeAi, type FakeAi, type FakeAiOptions } from '../../../lib/ai/fake-server.js'
import type { AiResult, ChatRequest } from '../../../lib/ai/types.js'
import { fixedClock, type TapTest } from '../../helper.js'

const KEY = 'sk-test-0123456789abcdef0123456789abcdef'
const REQUEST: ChatRequest = {
  system: 'Vous écrivez les messages de la Boutique Awa.',
  messages: [{ role: 'user', content: 'Conversation :\nClient : Bonjour' }],
  temperature: 0.3,
  max_tokens: 200
}
const PROVIDERS = ['openai', 'anthropic'] as const
type Provider = typeof PROVIDERS[number]

async function fakeAi (t: TapTest, options: FakeAiOptions): Promise<FakeAi> {
  const fake = await startFakeAi(options)
  t.teardown(() => fake.close())
  return fake
}

/** OpenAI's SDK joins paths to a base URL that ends in /v1; Anthropic's adds /v1 itself. */
const baseUrl = (provider: Provider, url: string): string => provider === 'openai' ? `${url}/v1` : url

function gateway (t: TapTest, provider: Provider, fake: FakeAi | string, options: Partial<AiGatewayOptions> = {}) {
  const clock = fixedClock('2026-01-18T12:00:00.000Z')
  const g = createAiGateway({
    provider,
    model: 'fake-model',
    baseUrl: baseUrl(provider, typeof fake === 'string' ? fake : fake.url),
    apiKey: KEY,
    timeoutMs: 5000,
    now: clock.now,
    random: () => 0,
    ...options
  })
  t.teardown(() => g.close())
  return { g, clock }
}

const withoutText = (r: AiResult) => r.ok ? { ok: r.ok, attempts: r.attempts } : { ok: r.ok, reason: r.reason, attempts: r.attempts }

for (const provider of PROVIDERS) {
  t.test(`${provider}: a good reply comes back through the SDK, in one attempt, as the SDK asked for it`, async (t) => {
    const fake = await fakeAi(t, { script: ['good'], apiKey: KEY })
    const { g } = gateway(t, provider, fake)
    const result = await g.complete(REQUEST)
    t.match(result, { ok: true, text: (FAKE_REPLIES.good as { text: string }).text, attempts: 1 })
    t.equal(fake.requests.length, 1)
    const [sent] = fake.requests
    t.equal(sent.api, provider)
    t.equal(sent.body.model, 'fake-model')
    t.equal(sent.body.max_tokens, 200)
    if (provider === 'openai') {
      t.same(sent.body.messages, [{ role: 'system', content: REQUEST.system }, ...REQUEST.messages])
      t.equal(sent.body.temperature, 0.3)
      t.equal(sent.headers.authorization, `Bearer ${KEY}`)
    } else {
      t.equal(sent.body.system, REQUEST.system)
      t.same(sent.body.messages, REQUEST.messages)
      t.ok(sent.headers['anthropic-version'], 'the SDK names the API version')
      // This SDK sends the key as a bearer token, not as x-api-key.
      t.equal(sent.headers.authorization, `Bearer ${KEY}`)
      t.equal(sent.headers['x-api-key'], undefined)
    }
    t.notOk(JSON.stringify(result).includes(KEY), 'the key is nowhere in the result')
    t.notOk(JSON.stringify(g.state()).includes(KEY))
  })

  t.test(`${provider}: a 429 is retried once, and the retry's reply is the answer`, async (t) => {
    const fake = await fakeAi(t, { script: ['rate_limited', 'good'] })
    let draws = 0
    const { g } = gateway(t, provider, fake, { random: () => { draws++; return 0.5 } })
    t.match(await g.complete(REQUEST), { ok: true, attempts: 2 })
    t.equal(fake.requests.length, 2)
    t.equal(draws, 1, 'the backoff\'s jitter is drawn from the injected RNG, once')
    await g.complete(REQUEST)
    t.equal(draws, 1, 'a call without a retry draws nothing')
  })

  t.test(`${provider}: the one deadline covers the retry too`, async (t) => {
    const fake = await fakeAi(t, { script: ['server_error', { kind: 'text', text: 'trop tard', delay_ms: 5000 }] })
    const { g } = gateway(t, provider, fake, { timeoutMs: 600 })
    t.same(withoutText(await g.complete(REQUEST)), { ok: false, reason: 'timeout', attempts: 2 })
    t.equal(fake.requests.length, 2)
  })

  t.test(`${provider}: two 500s are one failure after two attempts, never a third`, async (t) => {
    const fake = await fakeAi(t, { script: ['server_error', 'server_error', 'good'] })
    const { g } = gateway(t, provider, fake)
    t.same(withoutText(await g.complete(REQUEST)), { ok: false, reason: 'server_error', attempts: 2 })
    t.equal(fake.requests.length, 2)
  })

  t.test(`${provider}: a reply slower than the deadline is a timeout, whatever the SDK's own retries would do`, async (t) => {
    const fake = await fakeAi(t, { script: [{ kind: 'text', text: 'trop tard', delay_ms: 5000 }] })
    const { g } = gateway(t, provider, fake, { timeoutMs: 300 })
    const result = await g.complete(REQUEST)
    t.same(withoutText(result), { ok: false, reason: 'timeout', attempts: 1 })
    t.equal(fake.requests.length, 1, 'no retry after the deadline')
  })

  t.test(`${provider}: a 200 that is not JSON is malformed, and not retried`, async (t) => {
    const fake = await fakeAi(t, { script: ['malformed', 'good'] })
    const { g } = gateway(t, provider, fake)
    t.same(withoutText(await g.complete(REQUEST)), { ok: false, reason: 'malformed', attempts: 1 })
    t.equal(fake.requests.length, 1)
  })

  t.test(`${provider}: a JSON answer without the reply's text is malformed`, async (t) => {
    const body = provider === 'openai' ? { id: 'x', object: 'chat.completion', choices: [] } : { id: 'x', type: 'message', content: [] }
    const fake = await fakeAi(t, { script: [{ kind: 'json', body }] })
    const { g } = gateway(t, provider, fake)
    t.same(withoutText(await g.complete(REQUEST)), { ok: false, reason: 'malformed', attempts: 1 })
  })

  t.test(`${provider}: a refused key is rejected at once, without a retry`, async (t) => {
    const fake = await fakeAi(t, { script: ['good'], apiKey: 'another-key' })
    const { g } = gateway(t, provider, fake)
    t.same(withoutText(await g.complete(REQUEST)), { ok: false, reason: 'rejected', attempts: 1 })
    t.equal(fake.requests.length, 1)
  })

  t.test(`${provider}: without a key no authorization header is sent (a local server)`, async (t) => {
    const fake = await fakeAi(t, { script: ['good'] })
    const { g } = gateway(t, provider, fake, { apiKey: undefined })
    t.match(await g.complete(REQUEST), { ok: true })
    t.equal(fake.requests[0].headers.authorization, undefined)
    t.equal(fake.requests[0].headers['x-api-key'], undefined)
  })
}

t.test('a server that does not answer is a network failure, tried twice', async (t) => {
  // A port that was just free: nothing listens there any more.
  const server = http.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => { resolve() }))
  const { g } = gateway(t, 'openai', `http://127.0.0.1:${port}`)
  t.same(withoutText(await g.complete(REQUEST)), { ok: false, reason: 'network', attempts: 2 })
})

t.test('the circuit opens after 5 failed calls, skips the AI for 30 s of the clock, then lets one trial through', async (t) => {
  let reply: 'server_error' | 'good' = 'server_error'
  const fake = await fakeAi(t, { script: () => reply })
  const { g, clock } = gateway(t, 'openai', fake)
  for (let i = 0; i < 5; i++) t.match(await g.complete(REQUEST), { ok: false, reason: 'server_error', attempts: 2 })
  t.equal(fake.requests.length, 10)
  t.equal(g.state().circuit, 'open')
  t.same(withoutText(await g.complete(REQUEST)), { ok: false, reason: 'circuit_open', attempts: 0 })
  clock.advance(BREAKER_OPEN_MS - 1)
  t.same(withoutText(await g.complete(REQUEST)), { ok: false, reason: 'circuit_open', attempts: 0 })
  t.equal(fake.requests.length, 10, 'no request reached the server while the circuit was open')
  clock.advance(1)
  t.equal(g.state().circuit, 'half_open')
  reply = 'good'
  t.match(await g.complete(REQUEST), { ok: true, attempts: 1 })
  t.equal(fake.requests.length, 11)
  t.same(g.state(), { circuit: 'closed', failures: 0, in_flight: 0, queued: 0 })
  t.match(await g.complete(REQUEST), { ok: true })
})

t.test('a failed trial opens the circuit again at once; while the trial runs, other calls are skipped', async (t) => {
  const fake = await fakeAi(t, { script: (_req, i) => i < 10 ? 'server_error' : { kind: 'status', status: 500, delay_ms: 300 } })
  const { g, clock } = gateway(t, 'anthropic', fake)
  for (let i = 0; i < 5; i++) await g.complete(REQUEST)
  clock.advance(BREAKER_OPEN_MS)
  const trial = g.complete(REQUEST)
  t.same(withoutText(await g.complete(REQUEST)), { ok: false, reason: 'circuit_open', attempts: 0 }, 'one trial at a time')
  t.same(withoutText(await trial), { ok: false, reason: 'server_error', attempts: 2 })
  t.equal(g.state().circuit, 'open')
  t.same(withoutText(await g.complete(REQUEST)), { ok: false, reason: 'circuit_open', attempts: 0 })
  t.equal(fake.requests.length, 12)
})

t.test('a success in between resets the count: only consecutive failures open the circuit', async (t) => {
  const fake = await fakeAi(t, { script: ['server_error', 'server_error', 'server_error', 'server_error', 'server_error', 'server_error', 'server_error', 'server_error', 'good', 'server_error'] })
  const { g } = gateway(t, 'openai', fake)
  for (let i = 0; i < 4; i++) await g.complete(REQUEST)
  t.match(await g.complete(REQUEST), { ok: true })
  for (let i = 0; i < 4; i++) t.match(await g.complete(REQUEST), { ok: false, reason: 'server_error' })
  t.equal(g.state().circuit, 'closed')
})

t.test('bounded concurrency: 2 in flight, 1 waiting, every further call answers busy at once', async (t) => {
  const fake = await fakeAi(t, { script: [{ kind: 'text', text: 'Bonjour !', delay_ms: 400 }] })
  const { g } = gateway(t, 'openai', fake, { maxConcurrent: 2, maxQueued: 1 })
  const settled: string[] = []
  const calls = Array.from({ length: 6 }, async () => {
    const r = await g.complete(REQUEST)
    settled.push(r.ok ? 'ok' : r.reason)
    return r
  })
  t.same(g.state(), { circuit: 'closed', failures: 0, in_flight: 2, queued: 1 })
  const results = await Promise.all(calls)
  t.same(results.map(withoutText), [
    { ok: true, attempts: 1 }, { ok: true, attempts: 1 }, { ok: true, attempts: 1 },
    { ok: false, reason: 'busy', attempts: 0 }, { ok: false, reason: 'busy', attempts: 0 }, { ok: false, reason: 'busy', attempts: 0 }
  ])
  t.same(settled, ['busy', 'busy', 'busy', 'ok', 'ok', 'ok'], 'the busy answers did not wait for the provider')
  t.equal(fake.maxInFlight, 2, 'the server never had more than 2 requests at once')
  t.equal(fake.requests.length, 3)
  t.same(g.state(), { circuit: 'closed', failures: 0, in_flight: 0, queued: 0 })
})

t.test('a call that waits for a slot past its deadline is a timeout without an attempt', async (t) => {
  const fake = await fakeAi(t, { script: [{ kind: 'text', text: 'Bonjour !', delay_ms: 5000 }] })
  const { g } = gateway(t, 'openai', fake, { maxConcurrent: 1, timeoutMs: 300 })
  const [first, second] = await Promise.all([g.complete(REQUEST), g.complete(REQUEST)])
  t.same(withoutText(first), { ok: false, reason: 'timeout', attempts: 1 })
  t.same(withoutText(second), { ok: false, reason: 'timeout', attempts: 0 })
  t.equal(fake.requests.length, 1)
})

t.test('close() ends the calls in flight and waiting: they answer closed', async (t) => {
  const fake = await fakeAi(t, { script: [{ kind: 'text', text: 'Bonjour !', delay_ms: 5000 }] })
  const { g } = gateway(t, 'anthropic', fake, { maxConcurrent: 1 })
  const running = g.complete(REQUEST)
  const waiting = g.complete(REQUEST)
  while (fake.requests.length === 0) await new Promise((resolve) => setImmediate(resolve))
  g.close()
  t.same(withoutText(await running), { ok: false, reason: 'closed', attempts: 1 })
  t.same(withoutText(await waiting), { ok: false, reason: 'closed', attempts: 0 })
  t.same(withoutText(await g.complete(REQUEST)), { ok: false, reason: 'closed', attempts: 0 })
})

t.test('provider none: every call answers disabled, and each result is told to the observers', async (t) => {
  const g = createAiGateway({ provider: 'none', timeoutMs: 8000, now: () => new Date(), random: () => 0 })
  const seen: unknown[] = []
  g.observe((event) => seen.push(event))
  t.same(withoutText(await g.complete(REQUEST)), { ok: false, reason: 'disabled', attempts: 0 })
  t.match(seen, [{ provider: 'none', result: { ok: false, reason: 'disabled' } }])
})
