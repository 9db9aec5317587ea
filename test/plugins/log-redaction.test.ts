import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import { pino } from 'pino'
import { randomBytes } from 'node:crypto'
import sellify from '../../app.js'
import { loggerOptions, REDACT, redactUrl } from '../../lib/shared/logger-options.js'

const ADMIN_KEY = `admin-${randomBytes(24).toString('hex')}`
const WRONG_KEY = `sk_${randomBytes(32).toString('base64url')}`

/** A log destination that keeps every line. */
function capture () {
  const lines: string[] = []
  return { lines, stream: { write: (line: string) => { lines.push(line) } } }
}

/**
 * Drives the app through every path that sees a secret: the admin key, an agent key, a wrong key,
 * key creation (whose answer holds a secret), and 401, 403, 429 and 500 answers. Returns the secrets used.
 */
async function exercise (t: Test, app: FastifyInstance): Promise<string[]> {
  const send = async (method: 'GET' | 'POST' | 'PUT', url: string, key: string | null, body?: unknown) => await app.inject({
    method,
    url,
    headers: {
      ...(key === null ? {} : { 'X-API-Key': key }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' })
    },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) })
  })
  t.equal((await send('PUT', '/api/v1/accounts/acme', ADMIN_KEY, {})).statusCode, 201)
  const created = await send('POST', '/api/v1/keys', ADMIN_KEY, { name: 'bot', role: 'agent', account: 'acme' })
  t.equal(created.statusCode, 201)
  const agentKey = created.json().key as string
  const admin2 = await send('POST', '/api/v1/keys', ADMIN_KEY, { name: 'ops', role: 'admin' })
  const adminKey2 = admin2.json().key as string

  t.equal((await send('POST', '/api/v1/quota/consume', agentKey, { message_type: 'text' })).statusCode, 200)
  t.equal((await send('GET', '/api/v1/accounts', agentKey)).statusCode, 403)
  t.equal((await send('GET', '/api/v1/quota/status', WRONG_KEY)).statusCode, 401)
  t.equal((await send('GET', '/api/v1/quota/status', null)).statusCode, 401)
  t.equal((await app.inject({ method: 'GET', url: '/api/v1/keys', headers: { authorization: `Bearer ${adminKey2}`, 'x-api-key': adminKey2 } })).statusCode, 200)
  t.equal((await send('POST', '/api/v1/quota/consume', agentKey, '{"message_type":')).statusCode, 400)

  const status = app.quota.status
  app.quota.status = async () => { throw new Error('store exploded') }
  t.equal((await send('GET', '/api/v1/quota/status', agentKey)).statusCode, 500)
  app.quota.status = status

  let limited = 0
  for (let i = 0; i < 6; i++) if ((await send('GET', '/api/v1/quota/status', agentKey)).statusCode === 429) limited++
  t.ok(limited > 0, 'a 429 was answered and logged too')
  return [ADMIN_KEY, agentKey, adminKey2, WRONG_KEY]
}

function assertNoSecret (t: Test, lines: string[], secrets: string[]): void {
  t.ok(lines.length > 20, `${lines.length} lines captured`)
  for (const secret of secrets) {
    const leaks = lines.filter((l) => l.includes(secret))
    t.strictSame(leaks, [], `no line holds the secret ${secret.slice(0, 6)}…`)
  }
}

t.test('at level trace, with the server\'s logger options, no log line holds a secret', async (t) => {
  const { lines, stream } = capture()
  const app = Fastify({ logger: { ...loggerOptions('trace'), stream } })
  await app.register(sellify, { env: {}, scheduler: false, apiKey: ADMIN_KEY, store: { sqlitePath: ':memory:' }, rateLimit: { max: 5, timeWindow: '1 minute' } })
  await app.ready()
  t.teardown(() => app.close())
  const secrets = await exercise(t, app)
  assertNoSecret(t, lines, secrets)
  t.ok(lines.some((l) => l.includes('"level":50') && l.includes('store exploded')), 'the 500 was logged (with its error)')
  t.ok(lines.some((l) => l.includes('"statusCode":401')), 'the 401 was logged')
})

t.test('even a serializer that logs every request header logs no secret: redaction covers req.headers', async (t) => {
  const { lines, stream } = capture()
  const app = Fastify({
    logger: {
      ...loggerOptions('trace'),
      stream,
      serializers: { req: (req: FastifyRequest) => ({ method: req.method, url: req.url, headers: req.headers }) }
    }
  })
  await app.register(sellify, { env: {}, scheduler: false, apiKey: ADMIN_KEY, store: { sqlitePath: ':memory:' }, rateLimit: { max: 5, timeWindow: '1 minute' } })
  await app.ready()
  t.teardown(() => app.close())
  const secrets = await exercise(t, app)
  assertNoSecret(t, lines, secrets)
  const incoming = lines.map((l) => JSON.parse(l) as { msg?: string, req?: { headers?: Record<string, string> } })
    .filter((l) => l.msg === 'incoming request' && l.req?.headers?.['x-api-key'] !== undefined)
  t.ok(incoming.length > 10, 'request headers were logged')
  t.ok(incoming.every((l) => l.req?.headers?.['x-api-key'] === '[redacted]'), 'x-api-key (sent as X-API-Key) is censored')
  t.ok(incoming.some((l) => l.req?.headers?.authorization === '[redacted]'), 'authorization is censored')
  t.ok(incoming.every((l) => l.req?.headers?.host !== undefined && l.req.headers.host !== '[redacted]'), 'other headers stay')
})

t.test('the redact paths match where pino finds the headers', async (t) => {
  const { lines, stream } = capture()
  const log = pino({ ...loggerOptions('trace'), serializers: { req: pino.stdSerializers.req } }, stream)
  const headers = () => ({ 'x-api-key': ADMIN_KEY, authorization: `Bearer ${WRONG_KEY}`, 'user-agent': 'bot/1.0' })
  // An incoming request as Node builds it (lower-case header names), through pino's standard req serializer.
  const req = { method: 'GET', url: '/api/v1/quota/status', headers: headers(), socket: { remoteAddress: '127.0.0.1', remotePort: 5000 } }
  log.info({ req }, 'request')
  log.trace({ request: { headers: headers() } }, 'request object')
  log.debug({ headers: headers() }, 'bare headers')
  t.equal(lines.length, 3)
  for (const line of lines) {
    t.notOk(line.includes(ADMIN_KEY) || line.includes(WRONG_KEY), 'no secret')
    const parsed = JSON.parse(line) as Record<string, { headers?: Record<string, string> } & Record<string, string>>
    const h = parsed.req?.headers ?? parsed.request?.headers ?? (parsed.headers as unknown as Record<string, string>)
    t.strictSame(h, { 'x-api-key': '[redacted]', authorization: '[redacted]', 'user-agent': 'bot/1.0' }, String(parsed.msg))
  }
  t.ok(REDACT.includes('req.headers["x-api-key"]') && REDACT.includes('req.headers.authorization'))
  // The logged object is left intact: redaction works on the output only.
  t.equal(req.headers['x-api-key'], ADMIN_KEY)
})

/** A key sent in the query string is refused (keys go in X-API-Key) but must not reach the log either. */
async function queryKeys (t: Test, app: FastifyInstance): Promise<string[]> {
  const secrets: string[] = []
  // Not shaped like a Sellify key: the parameter's name alone must be enough.
  const secret = (): string => {
    const s = randomBytes(24).toString('hex')
    secrets.push(s)
    return s
  }
  const urls = [
    `/api/v1/quota/status?api_key=${secret()}`,
    `/api/v1/quota/status?account=acme&key=${secret()}`,
    `/api/v1/quota/history?token=${secret()}&days=2`,
    `/api/v1/quota/status?apikey=${secret()}`,
    `/api/v1/quota/status?API_KEY=${secret()}`,
    `/api/v1/quota/status?x-api-key=${secret()}`,
    `/api/v1/quota/status?access_token=${secret()}`,
    `/api/v1/quota/status?api%5Fkey=${secret()}`,
    `/api/v1/accounts/acme?secret=${secret()}`,
    `/api/v1/no-such-route?api_key=${secret()}`,
    `/api/v1/quota/status?password=${encodeURIComponent(secret())}#frag`,
    `/api/v1/quota/status?q=sk_${secret()}`
  ]
  for (const url of urls) {
    const res = await app.inject({ method: 'GET', url })
    t.ok(res.statusCode === 401 || res.statusCode === 404, `${url.split('?')[0]}: refused (${res.statusCode})`)
  }
  return secrets
}

t.test('a key in the query string (?api_key=, ?key=, ?token=, …) is never logged, whatever logs the URL', async (t) => {
  for (const custom of [false, true]) {
    const { lines, stream } = capture()
    const app = Fastify({
      logger: {
        ...loggerOptions('trace'),
        stream,
        ...(custom ? { serializers: { req: (req: FastifyRequest) => ({ method: req.method, url: req.url }) } } : {})
      }
    })
    await app.register(sellify, { env: {}, scheduler: false, apiKey: ADMIN_KEY, store: { sqlitePath: ':memory:' } })
    await app.ready()
    t.teardown(() => app.close())
    const secrets = await queryKeys(t, app)
    assertNoSecret(t, lines, secrets)
    const urls = lines.map((l) => JSON.parse(l) as { req?: { url?: string } }).flatMap((l) => l.req?.url ?? [])
    t.ok(urls.includes('/api/v1/quota/status?account=acme&key=[redacted]'), `the URL is still logged, other parameters kept (custom serializer: ${custom})`)
    t.ok(urls.includes('/api/v1/quota/history?token=[redacted]&days=2'))
    t.ok(lines.some((l) => l.includes('Route GET:/api/v1/no-such-route?api_key=[redacted] not found')), 'the 404 line names the route, not the key')
  }
})

t.test('redactUrl keeps what is not a secret', async (t) => {
  t.equal(redactUrl('/api/v1/quota/status?account=acme&days=7'), '/api/v1/quota/status?account=acme&days=7')
  t.equal(redactUrl('/api/v1/quota/status'), '/api/v1/quota/status')
  t.equal(redactUrl('/x?api_key=abc&account=a&token'), '/x?api_key=[redacted]&account=a&token')
  t.equal(redactUrl('/x?Authorization=Bearer%20abc;sig=1'), '/x?Authorization=[redacted];sig=[redacted]')
  t.equal(redactUrl('/x?q=sk_' + 'a'.repeat(43)), '/x?q=[redacted]', 'a value shaped like a Sellify secret, whatever its name')
  t.equal(redactUrl('GET /x?key=1 then /y?token=2'), 'GET /x?key=[redacted] then /y?token=[redacted]', 'every URL of a message')
})
