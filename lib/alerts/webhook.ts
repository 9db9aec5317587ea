/**
 * Webhook delivery for alerts (README, "Alerts"), with its SSRF defences ("Webhooks and SSRF" there).
 *
 * A URL's host is checked twice. At configuration time `checkWebhookUrl` refuses what the URL itself gives
 * away (a scheme other than http(s), credentials, a refused literal address, `localhost`). At send time
 * `deliver` resolves the name itself, refuses it when any of its addresses is refused, and then makes Node
 * connect to the one address it vetted: the `lookup` handed to `http.request` answers that address and never
 * asks DNS again, so a name that is rebound to 127.0.0.1 or 169.254.169.254 between the check and the connect
 * cannot redirect the request. The connected socket's `remoteAddress` is checked once more before a byte of
 * the request leaves.
 *
 * Nothing here throws for a failed delivery: `deliver` always resolves to a `DeliveryResult` whose `error` is
 * a short code (never the response body, the URL or a header value, which may carry a token or a secret).
 * The outbox that schedules attempts (`nextAttempt`, `retryable`) lives elsewhere; this module is stateless.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import dns, { type LookupAddress } from 'node:dns'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'

// ---------------------------------------------------------------------------------------------------------
// Signatures
// ---------------------------------------------------------------------------------------------------------

/** The header names of a delivery (README, "Alerts"), lower-case as Node hands them to a receiver. */
export const WEBHOOK_HEADERS = {
  event: 'x-sellify-event',
  delivery: 'x-sellify-delivery',
  signature: 'x-sellify-signature'
} as const

/** How far (in seconds, either way) a signature's timestamp may be from the receiver's clock. */
export const SIGNATURE_TOLERANCE_S = 300

/** Longer signature headers are refused before parsing: no legitimate header comes close. */
const MAX_SIGNATURE_HEADER = 1024
const TIMESTAMP = /^\d{1,12}$/
const HEX_SHA256 = /^[0-9a-f]{64}$/i

function hmac (secret: string, body: string, unixSeconds: number): Buffer {
  return createHmac('sha256', secret).update(`${unixSeconds}.${body}`, 'utf8').digest()
}

/**
 * The `X-Sellify-Signature` value of `body`: `t=<unixSeconds>,v1=<hex HMAC-SHA-256 of "<t>.<body>">`.
 * The timestamp is signed with the body, so a captured delivery cannot be replayed later with a fresh `t`.
 * Throws a RangeError for an empty secret or a timestamp that is not a non-negative integer.
 */
export function sign (secret: string, body: string, unixSeconds: number): string {
  if (secret === '') throw new RangeError('a webhook secret must not be empty')
  if (!Number.isSafeInteger(unixSeconds) || unixSeconds < 0) throw new RangeError('unixSeconds must be a non-negative integer')
  return `t=${unixSeconds},v1=${hmac(secret, body, unixSeconds).toString('hex')}`
}

/**
 * `{ t, v1s }` of a signature header, or null when it is malformed: an element without `=`, a repeated or
 * non-numeric `t`, a `v1` that is not 64 hex digits, or no `t` or no `v1` at all. Several `v1` are accepted
 * (a sender rotating its secret may sign with both); elements of other schemes are ignored.
 */
function parseSignatureHeader (header: string): { t: number, v1s: Buffer[] } | null {
  if (header.length > MAX_SIGNATURE_HEADER) return null
  let t: number | null = null
  const v1s: Buffer[] = []
  for (const element of header.split(',')) {
    const eq = element.indexOf('=')
    if (eq <= 0) return null
    const key = element.slice(0, eq).trim()
    const value = element.slice(eq + 1).trim()
    if (key === 't') {
      if (t !== null || !TIMESTAMP.test(value)) return null
      t = Number(value)
    } else if (key === 'v1') {
      if (!HEX_SHA256.test(value)) return null
      v1s.push(Buffer.from(value, 'hex'))
    }
  }
  return t === null || v1s.length === 0 ? null : { t, v1s }
}

/**
 * Whether `header` is a valid signature of `body` with `secret`, made within `toleranceSeconds` of
 * `nowSeconds` (replay protection). False for a malformed header or an empty secret. Digests are compared
 * with `timingSafeEqual` on two 32-byte buffers, and every `v1` is compared, so the time taken says nothing
 * about which one (or how much of one) matched.
 */
export function verifySignature (secret: string, body: string, header: string, nowSeconds: number, toleranceSeconds = SIGNATURE_TOLERANCE_S): boolean {
  if (secret === '') return false
  const parsed = parseSignatureHeader(header)
  if (parsed === null) return false
  if (!(Math.abs(nowSeconds - parsed.t) <= toleranceSeconds)) return false
  const expected = hmac(secret, body, parsed.t)
  let match = false
  for (const candidate of parsed.v1s) {
    if (timingSafeEqual(expected, candidate)) match = true
  }
  return match
}

// ---------------------------------------------------------------------------------------------------------
// Addresses
// ---------------------------------------------------------------------------------------------------------

/** Why an address is refused as a webhook target. */
export type AddressRefusal =
  | 'invalid'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'cgnat'
  | 'unique-local'
  | 'site-local'
  | 'multicast'
  | 'broadcast'
  | 'documentation'
  | 'reserved'

type Rules = Array<[AddressRefusal, net.BlockList]>

function rules (family: 'ipv4' | 'ipv6', table: Array<[AddressRefusal, string[]]>): Rules {
  return table.map(([reason, subnets]) => {
    const list = new net.BlockList()
    for (const subnet of subnets) {
      const [address, prefix] = subnet.split('/')
      list.addSubnet(address, Number(prefix), family)
    }
    return [reason, list]
  })
}

/*
 * IANA's special-purpose registries, as far as a webhook could reach something it should not. The IPv4 and
 * IPv6 rules are kept in separate lists because a BlockList matches an IPv4 address against IPv6 rules
 * through its mapped form (an IPv6 `::/8` rule would refuse 8.8.8.8); the embedded IPv4 forms are unwrapped
 * by `embeddedIpv4` instead. Order matters only where ranges nest (broadcast inside 240/4).
 */
const V4_RULES = rules('ipv4', [
  ['unspecified', ['0.0.0.0/8']],
  ['loopback', ['127.0.0.0/8']],
  ['private', ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']],
  ['link-local', ['169.254.0.0/16']], // 169.254.169.254 is the cloud metadata service
  ['cgnat', ['100.64.0.0/10']],
  ['documentation', ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24']],
  ['multicast', ['224.0.0.0/4']],
  ['broadcast', ['255.255.255.255/32']],
  ['reserved', ['192.0.0.0/24', '192.88.99.0/24', '198.18.0.0/15', '240.0.0.0/4']]
])
const V6_RULES = rules('ipv6', [
  ['unspecified', ['::/128']],
  ['loopback', ['::1/128']],
  ['private', ['64:ff9b:1::/48']], // local-use NAT64 (RFC 8215)
  ['link-local', ['fe80::/10']],
  ['site-local', ['fec0::/10']],
  ['unique-local', ['fc00::/7']], // fd00:ec2::254 is AWS's IPv6 metadata service
  ['multicast', ['ff00::/8']],
  ['documentation', ['2001:db8::/32', '3fff::/20']],
  // ::/8 holds the deprecated IPv4-compatible ::a.b.c.d and SIIT's ::ffff:0:a.b.c.d; 100::/64 discards.
  ['reserved', ['::/8', '100::/64']]
])

/** The eight 16-bit groups of a valid IPv6 address (a trailing dotted quad included), zone removed. */
function ipv6Groups (ip: string): number[] {
  const parse = (part: string): number[] => part === ''
    ? []
    : part.split(':').flatMap((piece) => {
      if (!piece.includes('.')) return [parseInt(piece, 16)]
      const [a, b, c, d] = piece.split('.').map(Number)
      return [(a << 8) | b, (c << 8) | d]
    })
  const gap = ip.indexOf('::')
  if (gap === -1) return parse(ip)
  const head = parse(ip.slice(0, gap))
  const tail = parse(ip.slice(gap + 2))
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail]
}

const quad = (high: number, low: number): string => `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`

/**
 * The IPv4 address an IPv6 address stands for, where the network would carry it to that IPv4 address:
 * IPv4-mapped `::ffff:a.b.c.d` (a dual-stack socket connects to a.b.c.d), NAT64 `64:ff9b::a.b.c.d` and
 * 6to4 `2002:aabb:ccdd::/48`. Such an address is judged as its IPv4 address.
 */
function embeddedIpv4 (g: number[]): string | null {
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) return quad(g[6], g[7])
  if (g[0] === 0x64 && g[1] === 0xff9b && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0) return quad(g[6], g[7])
  if (g[0] === 0x2002) return quad(g[1], g[2])
  return null
}

const withoutZone = (ip: string): string => {
  const percent = ip.indexOf('%')
  return percent === -1 ? ip : ip.slice(0, percent)
}

/**
 * Why `ip` must not be a webhook target, or null when it is a public address. Covers loopback, private,
 * link-local (with the metadata address 169.254.169.254), unique-local, unspecified, CGNAT, multicast,
 * broadcast, documentation and reserved ranges; an IPv6 form of an IPv4 address (`::ffff:127.0.0.1`,
 * `::ffff:7f00:1`, NAT64, 6to4) is judged as that IPv4 address; a zone (`fe80::1%eth0`) is ignored.
 * Anything that is not an IP address is `'invalid'`.
 */
export function refusedAddress (ip: string): AddressRefusal | null {
  const address = withoutZone(ip)
  const family = net.isIP(address)
  if (family === 4) return V4_RULES.find(([, list]) => list.check(address, 'ipv4'))?.[0] ?? null
  if (family !== 6) return 'invalid'
  const groups = ipv6Groups(address)
  const v4 = embeddedIpv4(groups)
  if (v4 !== null) return refusedAddress(v4)
  return V6_RULES.find(([, list]) => list.check(address, 'ipv6'))?.[0] ?? null
}

/** One spelling per address: IPv4 dotted, IPv6 as its expanded groups, IPv4-mapped IPv6 as its IPv4. */
function addressKey (ip: string): string {
  const address = withoutZone(ip)
  if (net.isIP(address) !== 6) return address
  const groups = ipv6Groups(address)
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return quad(groups[6], groups[7])
  return groups.map((g) => g.toString(16)).join(':')
}

// ---------------------------------------------------------------------------------------------------------
// URLs
// ---------------------------------------------------------------------------------------------------------

export interface WebhookUrlOptions {
  /** `SELLIFY_ALLOW_PRIVATE_WEBHOOKS`: loopback, private and other refused addresses are allowed. */
  allowPrivate: boolean
}

/** The URL's host without IPv6 brackets or a trailing root dot, lower-case (WHATWG URL lower-cases it). */
function hostOf (url: URL): string {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
  return host.endsWith('.') ? host.slice(0, -1) : host
}

/**
 * Why `url` is refused as a webhook URL at configuration time, or null. Refused: anything that does not
 * parse, a scheme other than http and https, credentials (`user:pass@`, they would be sent to whoever
 * answers and logged as part of the URL), and unless `allowPrivate` a refused literal address (the WHATWG
 * parser turns `http://2130706433/` and `http://0x7f.1/` into 127.0.0.1 first) or the host `localhost` or
 * `*.localhost`. A name that resolves to a refused address can only be caught when sending (`deliver`).
 */
export function checkWebhookUrl (url: string, { allowPrivate }: WebhookUrlOptions): string | null {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return 'not a valid URL'
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'the scheme must be http or https'
  if (parsed.username !== '' || parsed.password !== '') return 'credentials in the URL are not allowed'
  const host = hostOf(parsed)
  if (host === '') return 'the URL has no host'
  if (allowPrivate) return null
  if (net.isIP(host) !== 0) {
    const reason = refusedAddress(host)
    return reason === null ? null : `the address is refused (${reason})`
  }
  if (host === 'localhost' || host.endsWith('.localhost')) return 'localhost is refused'
  return null
}

// ---------------------------------------------------------------------------------------------------------
// Delivery
// ---------------------------------------------------------------------------------------------------------

/** README, "Alerts": the timeout of one attempt. */
export const DELIVERY_TIMEOUT_MS = 5000
/** At most this much of a response body is read (and discarded); then the connection is cut. */
export const MAX_RESPONSE_BYTES = 64 * 1024

export interface DeliveryRequest {
  url: string
  /** The JSON text to POST; it is sent as is, with `content-type: application/json`. */
  body: string
  /** Extra headers (the X-Sellify-* ones); `content-type` and `content-length` are set by `deliver`. */
  headers: Record<string, string>
  /** One deadline for resolving, connecting and receiving the response. */
  timeoutMs: number
}

/** Resolves a host name to all its addresses (`dns.lookup` with `all: true` unless injected). */
export type HostLookup = (hostname: string) => Promise<LookupAddress[]>

export interface DeliveryOptions extends WebhookUrlOptions {
  /** Tests inject a resolver; the default is the system's (`dns.promises.lookup`). */
  lookup?: HostLookup
}

/**
 * The outcome of one attempt. `ok` is true for a 2xx status. `status` is the response's status, or null when
 * none came. `error` is null when ok, else a short code:
 * - `timeout`: no response status within `timeoutMs`;
 * - `invalid_url: <reason>`: `checkWebhookUrl` refuses the URL;
 * - `refused_address: <reason>`: the host resolved to (or the socket reached) a refused address;
 * - `address_mismatch`: the socket reached another address than the one vetted;
 * - `dns_error: <code>`, `no_address`: the name did not resolve;
 * - `network_error: <code>`: connecting, TLS or the exchange failed (`ECONNREFUSED`, `ECONNRESET`, …);
 * - `invalid_header`: a header name or value Node refuses to send;
 * - `redirect`: a 3xx (never followed), `http_error`: any other non-2xx status.
 * `address` is the address connected to (or refused), null when resolution did not get that far.
 */
export interface DeliveryResult {
  ok: boolean
  status: number | null
  error: string | null
  duration_ms: number
  address: string | null
}

const systemLookup: HostLookup = async (hostname) => await dns.promises.lookup(hostname, { all: true })

/** A `lookup` for `http.request` that answers `address` whatever it is asked: Node asks DNS nothing. */
function pinnedLookup (address: string): net.LookupFunction {
  const family = net.isIP(address)
  return (_hostname, options, callback) => {
    // Node 20 connects with autoSelectFamily and then asks for all addresses.
    if (options.all === true) callback(null, [{ address, family }])
    else callback(null, address, family)
  }
}

const errorCode = (err: unknown): string => {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && /^[A-Z0-9_]{1,64}$/.test(code) ? code : 'UNKNOWN'
}

function statusOutcome (status: number): Pick<DeliveryResult, 'ok' | 'status' | 'error'> {
  if (status >= 200 && status < 300) return { ok: true, status, error: null }
  return { ok: false, status, error: status >= 300 && status < 400 ? 'redirect' : 'http_error' }
}

/**
 * POSTs `request.body` to `request.url` once, with the SSRF defences described at the top of this file,
 * no redirects followed, no connection reuse, and one deadline of `timeoutMs` for DNS, connect and response
 * status. Once a status has arrived it decides the result; the body is then read and discarded (at most
 * `MAX_RESPONSE_BYTES`, and not past the deadline) only so that the exchange ends cleanly. When the promise
 * resolves, the socket is closed and no timer is left. Throws only a RangeError for a `timeoutMs` that is
 * not a positive number.
 */
export async function deliver (request: DeliveryRequest, options: DeliveryOptions): Promise<DeliveryResult> {
  const { url, body, headers, timeoutMs } = request
  if (!(timeoutMs > 0 && Number.isFinite(timeoutMs))) throw new RangeError('timeoutMs must be a positive number')
  const { allowPrivate, lookup = systemLookup } = options
  const started = performance.now()

  return await new Promise<DeliveryResult>((resolve) => {
    let settled = false
    let address: string | null = null
    let status: number | null = null
    let req: http.ClientRequest | undefined

    const finish = (outcome: Pick<DeliveryResult, 'ok' | 'status' | 'error'>): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      req?.destroy()
      resolve({ ...outcome, duration_ms: Math.round(performance.now() - started), address })
    }
    const fail = (error: string): void => finish({ ok: false, status: null, error })

    const timer = setTimeout(() => {
      // Past the status, the deadline only cuts the body short: the receiver has answered.
      finish(status === null ? { ok: false, status: null, error: 'timeout' } : statusOutcome(status))
    }, timeoutMs)

    const urlReason = checkWebhookUrl(url, { allowPrivate })
    if (urlReason !== null) {
      fail(`invalid_url: ${urlReason}`)
      return
    }
    const target = new URL(url)
    const host = hostOf(target)

    const resolved = net.isIP(host) !== 0
      ? Promise.resolve([{ address: host, family: net.isIP(host) }])
      : lookup(host)
    resolved.then((addresses) => {
      if (settled) return
      if (addresses.length === 0) {
        fail('no_address')
        return
      }
      // Any refused address refuses the name: which one the system would have picked is not ours to guess.
      if (!allowPrivate) {
        for (const candidate of addresses) {
          const reason = refusedAddress(candidate.address)
          if (reason !== null) {
            address = candidate.address
            fail(`refused_address: ${reason}`)
            return
          }
        }
      }
      const vetted = addresses[0].address
      address = vetted
      send(target, vetted)
    }, (err: unknown) => fail(`dns_error: ${errorCode(err)}`))

    function send (target: URL, vetted: string): void {
      const transport = target.protocol === 'https:' ? https : http
      try {
        req = transport.request({
          method: 'POST',
          protocol: target.protocol,
          // The name as given (SNI, certificate check and Host header); `lookup` pins where it connects.
          hostname: target.hostname.startsWith('[') ? target.hostname.slice(1, -1) : target.hostname,
          port: target.port === '' ? undefined : Number(target.port),
          path: `${target.pathname}${target.search}`,
          headers: {
            'user-agent': 'sellify-webhook',
            ...headers,
            'content-type': 'application/json',
            'content-length': String(Buffer.byteLength(body, 'utf8'))
          },
          lookup: pinnedLookup(vetted),
          // A pooled socket could have been opened to another address for the same host name.
          agent: false
        })
      } catch {
        fail('invalid_header')
        return
      }
      req.on('error', (err) => {
        if (status === null) fail(`network_error: ${errorCode(err)}`)
        else finish(statusOutcome(status))
      })
      req.on('socket', (socket) => {
        const vet = (): void => {
          const remote = socket.remoteAddress
          if (remote === undefined || addressKey(remote) !== addressKey(vetted)) {
            fail('address_mismatch')
            return
          }
          const reason = allowPrivate ? null : refusedAddress(remote)
          if (reason !== null) fail(`refused_address: ${reason}`)
        }
        // The request's own write waits for 'connect' too, and was queued after this listener.
        if (socket.connecting) socket.once('connect', vet)
        else vet()
      })
      req.on('response', (res) => {
        status = res.statusCode ?? null
        if (status === null) {
          fail('network_error: NO_STATUS')
          return
        }
        const outcome = statusOutcome(status)
        let read = 0
        res.on('data', (chunk: Buffer) => {
          read += chunk.length
          if (read > MAX_RESPONSE_BYTES) finish(outcome)
        })
        res.on('end', () => finish(outcome))
        // A response cut short still carries its status: 'close' without 'end' settles on it too.
        res.on('error', () => finish(outcome))
        res.on('close', () => finish(outcome))
      })
      req.end(body)
    }
  })
}

// ---------------------------------------------------------------------------------------------------------
// Retries
// ---------------------------------------------------------------------------------------------------------

/** README, "Alerts": the delays after the 1st, 2nd, … 6th failed attempt; after the 7th the delivery is failed. */
export const RETRY_DELAYS_MS: readonly number[] = Object.freeze([10_000, 60_000, 300_000, 1_800_000, 7_200_000, 21_600_000])
/** The most attempts a delivery gets: the first one and one per retry delay. */
export const MAX_ATTEMPTS = RETRY_DELAYS_MS.length + 1
/** The jitter `nextAttempt` applies when given a random source: ±10 % of the delay. */
export const RETRY_JITTER = 0.1

/**
 * When to make the next attempt after `attempts` failed ones, the last made at `at`; null when they are
 * exhausted (the delivery is then failed). With `random` (values in [0, 1)) the delay is spread by up to
 * ±`RETRY_JITTER`, so that deliveries failed together do not retry together; without it the delay is exact.
 * Throws a RangeError when `attempts` is not an integer of at least 1.
 */
export function nextAttempt (attempts: number, at: Date, random?: () => number): Date | null {
  if (!Number.isInteger(attempts) || attempts < 1) throw new RangeError('attempts counts the attempts made: an integer of at least 1')
  if (attempts > RETRY_DELAYS_MS.length) return null
  const delay = RETRY_DELAYS_MS[attempts - 1]
  const factor = random === undefined ? 1 : 1 + (random() * 2 - 1) * RETRY_JITTER
  return new Date(at.getTime() + Math.round(delay * factor))
}

/**
 * Whether a failed attempt is worth retrying: not when it succeeded, not on `410 Gone` (README, "Alerts": the
 * receiver says the hook is gone), and not when the URL itself is refused (it will be refused again).
 */
export function retryable (result: DeliveryResult): boolean {
  if (result.ok || result.status === 410) return false
  return result.error === null || !result.error.startsWith('invalid_url:')
}
