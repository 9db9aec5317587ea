import t from 'tap'
import http from 'node:http'
import { createHmac } from 'node:crypto'
import type { LookupAddress } from 'node:dns'
import type { AddressInfo } from 'node:net'
import {
  MAX_ATTEMPTS, MAX_RESPONSE_BYTES, RETRY_DELAYS_MS, WEBHOOK_HEADERS, checkWebhookUrl, deliver, nextAttempt,
  refusedAddress, retryable, sign, verifySignature, type DeliveryResult, type HostLookup
} from '../../../lib/alerts/webhook.js'
import type { TapTest } from '../../helper.js'

const SECRET = 'whsec_0123456789abcdef'
const NOW_S = 1_767_225_600 // 2026-01-01T00:00:00Z
const BODY = JSON.stringify({ type: 'alert.created', alert: { id: 'alr_1', trigger: 'threat', severity: 'critical', text: 'Café « crème » ✓' } })

interface Received { method: string, url: string, headers: http.IncomingHttpHeaders, body: string }
type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void

interface Receiver {
  port: number
  url: string
  received: Received[]
  /** TCP connections accepted: a refused delivery must not even open one. */
  connections: () => number
}

/** A webhook receiver on a real socket at 127.0.0.1, closed (with its connections) at the test's end. */
async function receiver (t: TapTest, handler: Handler = (_req, res) => { res.end('ok') }): Promise<Receiver> {
  const received: Received[] = []
  let connections = 0
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body })
      handler(req, res, body)
    })
  })
  server.on('connection', () => { connections++ })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
  const { port } = server.address() as AddressInfo
  return { port, url: `http://127.0.0.1:${port}`, received, connections: () => connections }
}

/** A lookup that answers from a script (the n-th call gets the n-th answer, then the last) and counts calls. */
function scriptedLookup (...answers: Array<string[] | Error>): HostLookup & { calls: string[] } {
  const calls: string[] = []
  const lookup = async (hostname: string): Promise<LookupAddress[]> => {
    calls.push(hostname)
    const answer = answers[Math.min(calls.length, answers.length) - 1]
    if (answer instanceof Error) throw answer
    return answer.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))
  }
  return Object.assign(lookup, { calls })
}

const post = async (url: string, options: Parameters<typeof deliver>[1] = { allowPrivate: true }, extra: Partial<Parameters<typeof deliver>[0]> = {}): Promise<DeliveryResult> =>
  await deliver({ url, body: BODY, headers: {}, timeoutMs: 2000, ...extra }, options)

const outcome = ({ ok, status, error, address }: DeliveryResult) => ({ ok, status, error, address })

t.test('a 2xx delivery: the receiver gets the exact body and headers, and the signature verifies', async (t) => {
  const hook = await receiver(t, (_req, res) => { res.writeHead(202).end('accepted') })
  const signature = sign(SECRET, BODY, NOW_S)
  const result = await deliver({
    url: `${hook.url}/hooks/sellify?source=alerts`,
    body: BODY,
    headers: {
      'X-Sellify-Event': 'alert.created',
      'X-Sellify-Delivery': 'dlv_01',
      'X-Sellify-Signature': signature,
      // The body is JSON whatever the caller says.
      'Content-Type': 'text/plain'
    },
    timeoutMs: 2000
  }, { allowPrivate: true })

  t.same(outcome(result), { ok: true, status: 202, error: null, address: '127.0.0.1' })
  t.ok(Number.isInteger(result.duration_ms) && result.duration_ms >= 0, 'duration_ms is whole milliseconds')
  t.equal(hook.received.length, 1)
  const [got] = hook.received
  t.equal(got.method, 'POST')
  t.equal(got.url, '/hooks/sellify?source=alerts')
  t.equal(got.body, BODY)
  t.match(got.headers, {
    host: `127.0.0.1:${hook.port}`,
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(BODY)),
    [WEBHOOK_HEADERS.event]: 'alert.created',
    [WEBHOOK_HEADERS.delivery]: 'dlv_01',
    [WEBHOOK_HEADERS.signature]: signature
  })
  t.ok(verifySignature(SECRET, got.body, String(got.headers[WEBHOOK_HEADERS.signature]), NOW_S + 2), 'the receiver verifies what it got')
  t.notOk(retryable(result))
})

t.test('a 500 is a failure with its status, and the response body stays out of the error', async (t) => {
  const hook = await receiver(t, (_req, res) => { res.writeHead(500).end('boom: token=hunter2') })
  const result = await post(hook.url)
  t.same(outcome(result), { ok: false, status: 500, error: 'http_error', address: '127.0.0.1' })
  t.notMatch(JSON.stringify(result), /boom|hunter2/)
  t.ok(retryable(result), 'a 500 is retried')
})

t.test('410 Gone is reported with its status and is not retried', async (t) => {
  const hook = await receiver(t, (_req, res) => { res.writeHead(410).end() })
  const result = await post(hook.url)
  t.same(outcome(result), { ok: false, status: 410, error: 'http_error', address: '127.0.0.1' })
  t.notOk(retryable(result))
})

t.test('a receiver that never answers: the attempt times out and its request is destroyed', async (t) => {
  let closed!: Promise<void>
  const hook = await receiver(t, (req) => {
    closed = new Promise((resolve) => req.socket.once('close', () => resolve()))
  })
  const result = await post(hook.url, { allowPrivate: true }, { timeoutMs: 200 })
  t.same(outcome(result), { ok: false, status: null, error: 'timeout', address: '127.0.0.1' })
  t.equal(hook.received.length, 1, 'the request had arrived: the deadline covered the wait for the response')
  await closed
  t.pass('the sender closed the connection')
  t.ok(retryable(result))
})

t.test('a redirect is not followed: a 3xx fails with its status', async (t) => {
  const elsewhere = await receiver(t)
  const hook = await receiver(t, (_req, res) => { res.writeHead(302, { location: `${elsewhere.url}/stolen` }).end() })
  const result = await post(hook.url)
  t.same(outcome(result), { ok: false, status: 302, error: 'redirect', address: '127.0.0.1' })
  t.equal(elsewhere.connections(), 0, 'the redirect target was never contacted')
})

t.test('a closed port is a network error', async (t) => {
  const server = http.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  const result = await post(`http://127.0.0.1:${port}/`)
  t.same(outcome(result), { ok: false, status: null, error: 'network_error: ECONNREFUSED', address: '127.0.0.1' })
})

t.test('a big 2xx response is cut after MAX_RESPONSE_BYTES, and the delivery is still ok', async (t) => {
  // Without the cap the sender would wait on a response that never ends, until the 60 s deadline.
  t.setTimeout(15_000)
  const hook = await receiver(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.write(Buffer.alloc(MAX_RESPONSE_BYTES * 4, 'x'))
  })
  const result = await post(hook.url, { allowPrivate: true }, { timeoutMs: 60_000 })
  t.same(outcome(result), { ok: true, status: 200, error: null, address: '127.0.0.1' })
})

t.test('without allowPrivate, 127.0.0.1 is refused and the receiver gets nothing', async (t) => {
  const hook = await receiver(t)
  const result = await post(hook.url, { allowPrivate: false })
  t.same(outcome(result), { ok: false, status: null, error: 'invalid_url: the address is refused (loopback)', address: null })
  t.equal(hook.connections(), 0)
  t.notOk(retryable(result), 'a refused URL is refused again: not retried')
})

t.test('a name that resolves to a refused address is refused at send time, before any connection', async (t) => {
  const hook = await receiver(t)
  const cases: Array<[string[], string, string]> = [
    [['127.0.0.1'], 'refused_address: loopback', '127.0.0.1'],
    [['::ffff:127.0.0.1'], 'refused_address: loopback', '::ffff:127.0.0.1'],
    // One refused address refuses the name, wherever it is in the answer.
    [['93.184.215.14', '169.254.169.254'], 'refused_address: link-local', '169.254.169.254'],
    [['2606:4700:4700::1111', 'fd00:ec2::254'], 'refused_address: unique-local', 'fd00:ec2::254']
  ]
  for (const [addresses, error, address] of cases) {
    const lookup = scriptedLookup(addresses)
    const result = await post(`http://hooks.example.test:${hook.port}/`, { allowPrivate: false, lookup })
    t.same(outcome(result), { ok: false, status: null, error, address }, addresses.join(', '))
    t.same(lookup.calls, ['hooks.example.test'])
  }
  t.equal(hook.connections(), 0)
})

t.test('DNS rebinding: the connection goes to the address vetted, not to a second answer', async (t) => {
  const hook = await receiver(t)
  // Asked again, the name would point at 127.0.0.2, where nothing listens (the connect would be refused).
  const lookup = scriptedLookup(['127.0.0.1'], ['127.0.0.2'])
  const result = await post(`http://hooks.example.test:${hook.port}/in`, { allowPrivate: true, lookup })
  t.same(outcome(result), { ok: true, status: 200, error: null, address: '127.0.0.1' })
  t.same(lookup.calls, ['hooks.example.test'], 'the name was resolved once, by deliver')
  t.equal(hook.received.length, 1)
  t.equal(hook.received[0].headers.host, `hooks.example.test:${hook.port}`, 'the request still names the host')
})

t.test('https goes to the vetted address too (here a plain HTTP port: the TLS handshake fails there)', async (t) => {
  const hook = await receiver(t)
  const lookup = scriptedLookup(['127.0.0.1'], ['127.0.0.2'])
  const result = await post(`https://hooks.example.test:${hook.port}/`, { allowPrivate: true, lookup })
  t.same(outcome(result), { ok: false, status: null, error: 'network_error: EPROTO', address: '127.0.0.1' })
  t.equal(hook.connections(), 1, 'the vetted address got the connection')
  t.same(lookup.calls, ['hooks.example.test'])
})

t.test('resolution failures and the deadline over DNS', async (t) => {
  const notFound = Object.assign(new Error('getaddrinfo ENOTFOUND hooks.example.test'), { code: 'ENOTFOUND' })
  t.same(outcome(await post('https://hooks.example.test/', { allowPrivate: false, lookup: scriptedLookup(notFound) })),
    { ok: false, status: null, error: 'dns_error: ENOTFOUND', address: null })
  t.same(outcome(await post('https://hooks.example.test/', { allowPrivate: false, lookup: scriptedLookup([]) })),
    { ok: false, status: null, error: 'no_address', address: null })
  const never: HostLookup = async () => await new Promise<LookupAddress[]>(() => {})
  t.same(outcome(await post('https://hooks.example.test/', { allowPrivate: false, lookup: never }, { timeoutMs: 100 })),
    { ok: false, status: null, error: 'timeout', address: null })
})

t.test('a header Node cannot send is an error, not a throw, and nothing is sent', async (t) => {
  const hook = await receiver(t)
  const result = await post(hook.url, { allowPrivate: true }, { headers: { 'x-sellify-event': 'alert.created\r\nx-injected: 1' } })
  t.same(outcome(result), { ok: false, status: null, error: 'invalid_header', address: '127.0.0.1' })
  t.equal(hook.connections(), 0)
})

t.test('deliver refuses a timeout that is not a positive number', async (t) => {
  for (const timeoutMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
    await t.rejects(post('https://hooks.example.com/', { allowPrivate: false }, { timeoutMs }), RangeError, String(timeoutMs))
  }
})

t.test('refusedAddress: public addresses pass, every special range is refused with its reason', async (t) => {
  const table: Array<[string, ReturnType<typeof refusedAddress>]> = [
    // public
    ['8.8.8.8', null],
    ['93.184.215.14', null],
    ['1.1.1.1', null],
    ['9.255.255.255', null],
    ['11.0.0.0', null],
    ['172.15.255.255', null],
    ['172.32.0.0', null],
    ['192.167.255.255', null],
    ['192.169.0.0', null],
    ['100.63.255.255', null],
    ['100.128.0.0', null],
    ['169.253.255.255', null],
    ['169.255.0.0', null],
    ['223.255.255.255', null],
    ['2606:4700:4700::1111', null],
    ['2001:4860:4860::8888', null],
    ['::ffff:8.8.8.8', null],
    ['::ffff:808:808', null],
    ['64:ff9b::808:808', null],
    ['2002:808:808::1', null],
    // IPv4
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.0.1', 'private'],
    ['192.168.255.255', 'private'],
    ['169.254.169.254', 'link-local'],
    ['169.254.0.1', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.255', 'cgnat'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['192.0.0.8', 'reserved'],
    ['192.0.2.10', 'documentation'],
    ['203.0.113.7', 'documentation'],
    // IPv6
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['FE80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf:ffff::1', 'link-local'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456:789a::1', 'unique-local'],
    ['fd00:ec2::254', 'unique-local'],
    ['fec0::1', 'site-local'],
    ['ff02::1', 'multicast'],
    ['ff05::1:3', 'multicast'],
    ['2001:db8::1', 'documentation'],
    ['64:ff9b:1::a00:1', 'private'],
    ['100::1', 'reserved'],
    ['::127.0.0.1', 'reserved'],
    ['::ffff:0:127.0.0.1', 'reserved'],
    // IPv6 forms of IPv4 addresses are judged as the IPv4 address
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::FFFF:7F00:0001', 'loopback'],
    ['0:0:0:0:0:ffff:7f00:1', 'loopback'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::ffff:a9fe:a9fe', 'link-local'],
    ['::ffff:10.1.2.3', 'private'],
    ['::ffff:192.168.1.1', 'private'],
    ['::ffff:0.0.0.0', 'unspecified'],
    ['::ffff:100.64.0.1', 'cgnat'],
    ['64:ff9b::127.0.0.1', 'loopback'],
    ['64:ff9b::a9fe:a9fe', 'link-local'],
    ['2002:7f00:1::1', 'loopback'],
    ['2002:c0a8:101::', 'private'],
    // not addresses
    ['localhost', 'invalid'],
    ['', 'invalid'],
    ['127.1', 'invalid'],
    ['2130706433', 'invalid'],
    ['1.2.3.4.5', 'invalid'],
    ['::ffff:999.0.0.1', 'invalid'],
    ['[::1]', 'invalid']
  ]
  for (const [ip, reason] of table) t.equal(refusedAddress(ip), reason, ip)
})

t.test('checkWebhookUrl: what the URL itself gives away is refused at configuration time', async (t) => {
  const table: Array<[string, string | null]> = [
    ['https://hooks.example.com/sellify', null],
    ['http://hooks.example.com:8080/in?source=sellify', null],
    ['https://8.8.8.8/hook', null],
    ['https://[2606:4700:4700::1111]/hook', null],
    ['https://intranet.example.com/', null], // may resolve to a private address: only deliver can tell
    ['not a url', 'not a valid URL'],
    ['', 'not a valid URL'],
    ['ftp://hooks.example.com/', 'the scheme must be http or https'],
    ['file:///etc/passwd', 'the scheme must be http or https'],
    ['javascript:alert(1)', 'the scheme must be http or https'],
    ['gopher://127.0.0.1:6379/_FLUSHALL', 'the scheme must be http or https'],
    ['https://user:pass@hooks.example.com/', 'credentials in the URL are not allowed'],
    ['https://token@hooks.example.com/', 'credentials in the URL are not allowed'],
    ['http://127.0.0.1:3000/hook', 'the address is refused (loopback)'],
    ['http://2130706433/', 'the address is refused (loopback)'],
    ['http://0x7f.1/', 'the address is refused (loopback)'],
    ['http://[::1]:8080/', 'the address is refused (loopback)'],
    ['http://[::ffff:127.0.0.1]/', 'the address is refused (loopback)'],
    ['http://169.254.169.254/latest/meta-data/', 'the address is refused (link-local)'],
    ['http://[fd00:ec2::254]/', 'the address is refused (unique-local)'],
    ['http://10.0.0.5/', 'the address is refused (private)'],
    ['http://0.0.0.0:3000/', 'the address is refused (unspecified)'],
    ['http://localhost:3000/', 'localhost is refused'],
    ['http://LOCALHOST./', 'localhost is refused'],
    ['http://api.localhost/', 'localhost is refused']
  ]
  for (const [url, reason] of table) t.equal(checkWebhookUrl(url, { allowPrivate: false }), reason, url)

  const allowed: Array<[string, string | null]> = [
    ['http://127.0.0.1:3000/hook', null],
    ['http://localhost:3000/', null],
    ['http://192.168.1.20/', null],
    ['https://user:pass@localhost/', 'credentials in the URL are not allowed'],
    ['ftp://localhost/', 'the scheme must be http or https']
  ]
  for (const [url, reason] of allowed) t.equal(checkWebhookUrl(url, { allowPrivate: true }), reason, `${url} (allowPrivate)`)
})

t.test('sign: t=<unix>,v1=<hex HMAC-SHA-256 of "t.body">', async (t) => {
  const expected = createHmac('sha256', SECRET).update(`${NOW_S}.${BODY}`, 'utf8').digest('hex')
  t.equal(sign(SECRET, BODY, NOW_S), `t=${NOW_S},v1=${expected}`)
  t.throws(() => sign('', BODY, NOW_S), RangeError)
  t.throws(() => sign(SECRET, BODY, 1.5), RangeError)
  t.throws(() => sign(SECRET, BODY, -1), RangeError)
})

t.test('verifySignature: the body, the secret and the time must all match', async (t) => {
  const header = sign(SECRET, BODY, NOW_S)
  t.ok(verifySignature(SECRET, BODY, header, NOW_S))
  t.ok(verifySignature(SECRET, BODY, header, NOW_S + 300), 'at the edge of the tolerance')
  t.ok(verifySignature(SECRET, BODY, header, NOW_S - 300), 'a sender clock ahead by the tolerance')
  t.notOk(verifySignature(SECRET, BODY, header, NOW_S + 301), 'a replay after the tolerance')
  t.notOk(verifySignature(SECRET, BODY, header, NOW_S - 301), 'a timestamp too far ahead')
  t.ok(verifySignature(SECRET, BODY, header, NOW_S + 3000, 3600), 'a custom tolerance')
  t.notOk(verifySignature(SECRET, BODY.replace('critical', 'warning'), header, NOW_S), 'tampered body')
  t.notOk(verifySignature(SECRET, `${BODY} `, header, NOW_S), 'one byte more')
  t.notOk(verifySignature('whsec_other', BODY, header, NOW_S), 'wrong secret')
  t.notOk(verifySignature('', BODY, header, NOW_S), 'empty secret')
  // A fresh timestamp on a captured signature does not verify: the timestamp is signed.
  const v1 = header.split('v1=')[1]
  t.notOk(verifySignature(SECRET, BODY, `t=${NOW_S + 600},v1=${v1}`, NOW_S + 600), 'replayed with a new t')
})

t.test('verifySignature: malformed headers are refused; rotation and unknown schemes are tolerated', async (t) => {
  const header = sign(SECRET, BODY, NOW_S)
  const v1 = header.split('v1=')[1]
  const other = sign('whsec_old', BODY, NOW_S).split('v1=')[1]
  const malformed = [
    '',
    'garbage',
    `v1=${v1}`,
    `t=${NOW_S}`,
    `t=${NOW_S},t=${NOW_S},v1=${v1}`,
    `t=abc,v1=${v1}`,
    `t=-${NOW_S},v1=${v1}`,
    `t=${NOW_S}.5,v1=${v1}`,
    `t=${NOW_S},v1=${v1.slice(1)}`,
    `t=${NOW_S},v1=${v1}00`,
    `t=${NOW_S},v1=${'z'.repeat(64)}`,
    `t=${NOW_S},,v1=${v1}`,
    `t=${NOW_S},=${v1}`,
    `t=${NOW_S},v1=${v1},${'x'.repeat(2000)}=1`
  ]
  for (const bad of malformed) t.notOk(verifySignature(SECRET, BODY, bad, NOW_S), bad.slice(0, 80))

  t.ok(verifySignature(SECRET, BODY, `t=${NOW_S},v1=${other},v1=${v1}`, NOW_S), 'one of two v1 (a rotated secret)')
  t.notOk(verifySignature(SECRET, BODY, `t=${NOW_S},v1=${other}`, NOW_S), 'only the other secret\'s v1')
  t.ok(verifySignature(SECRET, BODY, `t=${NOW_S},v0=legacy,v1=${v1}`, NOW_S), 'an unknown scheme is ignored')
  t.ok(verifySignature(SECRET, BODY, `t=${NOW_S},v1=${v1.toUpperCase()}`, NOW_S), 'hex in upper case')
})

t.test('nextAttempt: 10 s, 1 min, 5 min, 30 min, 2 h, 6 h, then nothing', async (t) => {
  t.same(RETRY_DELAYS_MS, [10_000, 60_000, 300_000, 1_800_000, 7_200_000, 21_600_000])
  t.equal(MAX_ATTEMPTS, 7)
  const at = new Date('2026-01-01T00:00:00.000Z')
  const expected = ['2026-01-01T00:00:10.000Z', '2026-01-01T00:01:00.000Z', '2026-01-01T00:05:00.000Z', '2026-01-01T00:30:00.000Z', '2026-01-01T02:00:00.000Z', '2026-01-01T06:00:00.000Z']
  expected.forEach((iso, i) => t.equal(nextAttempt(i + 1, at)?.toISOString(), iso, `after attempt ${i + 1}`))
  t.equal(nextAttempt(7, at), null, 'the 7th failure is final')
  t.equal(nextAttempt(8, at), null)

  // A whole run, each attempt failing at once: the last attempt comes 8 h 36 min 10 s after the first.
  let when: Date | null = at
  let attempts = 1
  let last = at
  while (when !== null) {
    last = when
    when = nextAttempt(attempts, when)
    if (when !== null) attempts++
  }
  t.equal(attempts, MAX_ATTEMPTS)
  t.equal(last.toISOString(), '2026-01-01T08:36:10.000Z')

  for (const bad of [0, -1, 1.5, Number.NaN]) t.throws(() => nextAttempt(bad, at), RangeError, String(bad))
})

t.test('nextAttempt: jitter of at most ±10 % from the injected random', async (t) => {
  const at = new Date('2026-01-01T00:00:00.000Z')
  t.equal(nextAttempt(2, at, () => 0)?.getTime(), at.getTime() + 54_000, 'the lowest: -10 %')
  t.equal(nextAttempt(2, at, () => 0.5)?.getTime(), at.getTime() + 60_000, 'the middle: exact')
  t.equal(nextAttempt(2, at, () => 0.75)?.getTime(), at.getTime() + 63_000)
  t.equal(nextAttempt(2, at, () => 0.999999)?.getTime(), at.getTime() + 66_000, 'just under +10 %')
  t.equal(nextAttempt(7, at, () => 0.5), null)
})

t.test('retryable: only 410 Gone and a refused URL end a delivery early', async (t) => {
  const result = (patch: Partial<DeliveryResult>): DeliveryResult => ({ ok: false, status: null, error: 'timeout', duration_ms: 1, address: null, ...patch })
  t.notOk(retryable(result({ ok: true, status: 200, error: null })))
  t.notOk(retryable(result({ status: 410, error: 'http_error' })))
  t.notOk(retryable(result({ error: 'invalid_url: localhost is refused' })))
  t.ok(retryable(result({ status: 500, error: 'http_error' })))
  t.ok(retryable(result({ status: 429, error: 'http_error' })))
  t.ok(retryable(result({ status: 301, error: 'redirect' })))
  t.ok(retryable(result({ error: 'timeout' })))
  t.ok(retryable(result({ error: 'refused_address: loopback' })), 'a name may be pointed back at a public address')
  t.ok(retryable(result({ error: 'network_error: ECONNREFUSED' })))
})
