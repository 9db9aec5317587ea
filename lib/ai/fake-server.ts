/**
 * A test double of an AI provider over a real socket: it speaks OpenAI's Chat Completions
 * (`POST /v1/chat/completions`) and Anthropic's Messages (`POST /v1/messages`) wire formats, with scripted
 * replies. The tests use it; `npm run fake-ai` starts it so that a user sees the AI path end to end
 * without an account.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'

/** The replies every script can name. */
export const FAKE_REPLY_NAMES = ['good', 'invented_price', 'ai_disclosure', 'unknown_link', 'slow', 'rate_limited', 'server_error', 'malformed'] as const
export type FakeReplyName = typeof FAKE_REPLY_NAMES[number]

export type FakeReply =
  | { kind: 'text', text: string, delay_ms?: number }
  | { kind: 'status', status: number, delay_ms?: number }
  | { kind: 'malformed', delay_ms?: number }
  /** Any JSON body with status 200: an answer of another shape. */
  | { kind: 'json', body: unknown, delay_ms?: number }

export const FAKE_REPLIES: Readonly<Record<FakeReplyName, FakeReply>> = {
  good: { kind: 'text', text: 'Bonjour et merci pour votre message ! Que recherchez-vous aujourd\'hui ?' },
  invented_price: { kind: 'text', text: 'Bonne nouvelle : ce produit est à 9 990 FCFA cette semaine.' },
  ai_disclosure: { kind: 'text', text: 'Je suis une IA, mais je peux vous aider à choisir.' },
  unknown_link: { kind: 'text', text: 'Vous pouvez commander ici : https://promo-express.example.net/offre' },
  slow: { kind: 'text', text: 'Bonjour et merci pour votre message ! Que recherchez-vous aujourd\'hui ?', delay_ms: 5000 },
  rate_limited: { kind: 'status', status: 429 },
  server_error: { kind: 'status', status: 500 },
  malformed: { kind: 'malformed' }
}

/** One request as the server received it. */
export interface FakeRequest {
  api: 'openai' | 'anthropic'
  path: string
  headers: http.IncomingHttpHeaders
  /** The parsed JSON body. */
  body: Record<string, unknown>
  /** The text of the last user message (what a marker is looked for in). */
  last_user_text: string
}

/**
 * Which reply a request gets: a list is played in order (the n-th request gets the n-th entry, then the last
 * one again), a function chooses per request.
 */
export type FakeScript = Array<FakeReply | FakeReplyName> | ((request: FakeRequest, index: number) => FakeReply | FakeReplyName)

export interface FakeAiOptions {
  /** 0 (the default): any free port. */
  port?: number
  host?: string
  /** `byMarker` unless given. */
  script?: FakeScript
  /** When set, a request without this key (Bearer, or x-api-key) is answered 401. */
  apiKey?: string
  /** Keep every request in `requests` (true unless false: a long-running server would grow without end). */
  record?: boolean
  /** The clock of the answers' `created` field. */
  now?: () => Date
}

export interface FakeAi {
  /** `http://host:port`: OpenAI's base URL is this plus `/v1`, Anthropic's is this. */
  url: string
  /** Every request received, in order (none with `record: false`). */
  requests: FakeRequest[]
  /** Requests being answered now, and the most there ever were at once. */
  readonly inFlight: number
  readonly maxInFlight: number
  close: () => Promise<void>
}

const MARKER = /\[fake:([a-z_]+)\]/g

/**
 * The default script: the last `[fake:<name>]` marker in the last user message picks the reply, else `good`.
 * Sellify's prompt quotes the conversation there, so a customer's message can carry the marker.
 */
export function byMarker (request: FakeRequest): FakeReplyName {
  const name = [...request.last_user_text.matchAll(MARKER)].at(-1)?.[1]
  return FAKE_REPLY_NAMES.find((n) => n === name) ?? 'good'
}

function lastUserText (body: Record<string, unknown>): string {
  const messages = Array.isArray(body.messages) ? body.messages as Array<{ role?: unknown, content?: unknown }> : []
  const last = messages.filter((m) => m?.role === 'user').at(-1)
  if (typeof last?.content === 'string') return last.content
  if (Array.isArray(last?.content)) return last.content.map((c: { text?: unknown }) => typeof c?.text === 'string' ? c.text : '').join('')
  return ''
}

const tokens = (text: string): number => text.split(/\s+/).filter(Boolean).length

function errorBody (api: FakeRequest['api'], status: number, message: string): unknown {
  const type = status === 429 ? 'rate_limit_error' : status === 401 ? 'authentication_error' : status >= 500 ? 'api_error' : 'invalid_request_error'
  return api === 'openai'
    ? { error: { message, type, param: null, code: null } }
    : { type: 'error', error: { type, message } }
}

function okBody (api: FakeRequest['api'], body: Record<string, unknown>, text: string, id: number, created: number, prompt: number): unknown {
  const model = typeof body.model === 'string' ? body.model : 'fake'
  if (api === 'openai') {
    return {
      id: `chatcmpl-fake-${id}`,
      object: 'chat.completion',
      created,
      model,
      choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: prompt, completion_tokens: tokens(text), total_tokens: prompt + tokens(text) }
    }
  }
  return {
    id: `msg_fake_${id}`,
    type: 'message',
    role: 'assistant',
    model,
    content: [{ type: 'text', text }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: prompt, output_tokens: tokens(text) }
  }
}

export async function startFakeAi (options: FakeAiOptions = {}): Promise<FakeAi> {
  const script = options.script ?? byMarker
  const now = options.now ?? (() => new Date())
  const requests: FakeRequest[] = []
  let inFlight = 0
  let maxInFlight = 0
  let received = 0

  function choose (request: FakeRequest, index: number): FakeReply {
    const pick = typeof script === 'function' ? script(request, index) : script[Math.min(index, script.length - 1)] ?? 'good'
    return typeof pick === 'string' ? FAKE_REPLIES[pick] : pick
  }

  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    const api = path === '/v1/chat/completions' ? 'openai' : path === '/v1/messages' ? 'anthropic' : null
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}): void => {
      const text = typeof payload === 'string' ? payload : JSON.stringify(payload)
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers }).end(text)
    }
    if (req.method !== 'POST' || api === null) {
      send(404, { error: { message: `no route ${req.method ?? ''} ${path}: POST /v1/chat/completions or /v1/messages` } })
      return
    }
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      let body: Record<string, unknown>
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>
      } catch {
        send(400, errorBody(api, 400, 'the body is not JSON'))
        return
      }
      const request: FakeRequest = { api, path, headers: req.headers, body, last_user_text: lastUserText(body) }
      const index = received++
      if (options.record !== false) requests.push(request)
      if (options.apiKey !== undefined) {
        const given = req.headers['x-api-key'] ?? req.headers.authorization?.replace(/^Bearer /, '')
        if (given !== options.apiKey) {
          send(401, errorBody(api, 401, 'invalid API key'))
          return
        }
      }
      if (api === 'anthropic' && req.headers['anthropic-version'] === undefined) {
        send(400, errorBody(api, 400, 'the anthropic-version header is required'))
        return
      }
      const reply = choose(request, index)
      inFlight++
      maxInFlight = Math.max(maxInFlight, inFlight)
      let done = false
      const finish = (): void => {
        if (done) return
        done = true
        inFlight--
        clearTimeout(timer)
        if (res.destroyed || res.writableEnded) return
        if (reply.kind === 'status') {
          send(reply.status, errorBody(api, reply.status, reply.status === 429 ? 'rate limit reached (scripted)' : 'internal error (scripted)'), reply.status === 429 ? { 'retry-after': '1' } : {})
        } else if (reply.kind === 'json') {
          send(200, reply.body)
        } else if (reply.kind === 'malformed') {
          send(200, '{"id": "fake", "choices": [{"message": {"content": "Bonjour')
        } else {
          send(200, okBody(api, body, reply.text, index + 1, Math.floor(now().getTime() / 1000), tokens(JSON.stringify(body.messages ?? ''))))
        }
      }
      const timer = setTimeout(finish, reply.delay_ms ?? 0)
      // A client that gives up (its deadline) frees the slot at once; the reply is not written.
      res.on('close', finish)
    })
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => { server.off('error', reject); resolve() })
  })
  const address = server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return {
    url: `http://${host}:${address.port}`,
    requests,
    get inFlight () { return inFlight },
    get maxInFlight () { return maxInFlight },
    async close () {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => { resolve() }))
    }
  }
}
