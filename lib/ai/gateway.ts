/**
 * The AI gateway: one call to the configured provider under one deadline, with at most one retry, a circuit
 * breaker and a bound on the calls in flight. It never throws for a provider's failure: every call answers
 * an AiResult, so a decision can fall back to its template.
 */
import { performance } from 'node:perf_hooks'
import type { Clock, Random } from '../shared/clock.js'
import { anthropicProvider, classify, openaiProvider, type ProviderCall } from './providers.js'
import type { AiFailure, AiProvider, AiResult, ChatRequest } from './types.js'

/** Consecutive failed calls that open the circuit. */
export const BREAKER_FAILURES = 5
/** How long an open circuit skips the AI, by the injected clock; then one trial call decides. */
export const BREAKER_OPEN_MS = 30_000
export const DEFAULT_MAX_CONCURRENT = 32
/** The wait before the retry: this, plus up to as much again of jitter. */
export const BACKOFF_MS = 100

export interface AiGatewayOptions {
  provider: AiProvider
  model?: string
  baseUrl?: string
  apiKey?: string
  /** The deadline of one call, from the moment it is made: waiting for a slot, the attempts and the backoff. */
  timeoutMs: number
  /** Reads the breaker's time. */
  now: Clock
  /** The backoff's jitter. */
  random: Random
  /** Calls sent to the provider at once (32 unless given). */
  maxConcurrent?: number
  /** Calls waiting for a slot; beyond them a call answers `busy` at once (8 × maxConcurrent unless given). */
  maxQueued?: number
  /** Replaces the SDK's call (tests of the gateway's own rules). */
  call?: ProviderCall
}

export type CircuitState = 'closed' | 'open' | 'half_open'

/** Told of every call's result, after the fact (metrics). */
export type AiListener = (event: { provider: AiProvider, result: AiResult }) => void

/** The failures of the provider: they count towards opening the circuit. Not the gateway's own answers. */
const PROVIDER_FAILURES: ReadonlySet<AiFailure> = new Set(['timeout', 'rate_limited', 'server_error', 'network', 'malformed', 'rejected'])

function providerCall (o: AiGatewayOptions): ProviderCall | null {
  if (o.call !== undefined) return o.call
  if (o.provider === 'none') return null
  if (o.model === undefined) throw new Error(`the ${o.provider} provider needs a model`)
  const settings = { model: o.model, baseUrl: o.baseUrl, apiKey: o.apiKey, timeoutMs: o.timeoutMs }
  return o.provider === 'openai' ? openaiProvider(settings) : anthropicProvider(settings)
}

class Deadline {
  readonly controller = new AbortController()
  private readonly timer: NodeJS.Timeout
  private readonly end: number
  expired = false

  constructor (ms: number) {
    this.end = performance.now() + ms
    // Not unref()ed: a call in progress is work the process has to finish, and the timer is cleared when it ends.
    this.timer = setTimeout(() => { this.expired = true; this.controller.abort() }, ms)
  }

  get signal (): AbortSignal { return this.controller.signal }
  get left (): number { return Math.max(0, Math.ceil(this.end - performance.now())) }
  abort (): void { this.controller.abort() }
  clear (): void { clearTimeout(this.timer) }
}

/** Resolves after `ms`, or at once when the signal aborts. */
async function pause (ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return
  await new Promise<void>((resolve) => {
    const done = (): void => { clearTimeout(timer); signal.removeEventListener('abort', done); resolve() }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
  })
}

export function createAiGateway (options: AiGatewayOptions) {
  const { provider, timeoutMs, now, random } = options
  const call = providerCall(options)
  const maxConcurrent = options.maxConcurrent ?? DEFAULT_MAX_CONCURRENT
  const maxQueued = options.maxQueued ?? maxConcurrent * 8
  if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1) throw new Error('maxConcurrent must be a positive integer')
  if (!Number.isInteger(maxQueued) || maxQueued < 0) throw new Error('maxQueued must be a whole number')

  const listeners: AiListener[] = []
  let failures = 0
  /** When the open circuit lets a trial through (clock ms); null: closed. */
  let openUntil: number | null = null
  let trialRunning = false
  let inFlight = 0
  /** Calls waiting for a slot, oldest first: each is resumed with `true`, or `false` when it gave up. */
  const queue: Array<(granted: boolean) => void> = []
  const running = new Set<Deadline>()
  let closed = false

  function tell (result: AiResult): AiResult {
    for (const listener of listeners) listener({ provider, result })
    return result
  }

  function circuit (): CircuitState {
    if (openUntil === null) return 'closed'
    return now().getTime() < openUntil ? 'open' : 'half_open'
  }

  function settle (result: AiResult, trial: boolean): void {
    if (result.ok) {
      failures = 0
      openUntil = null
    } else if (result.attempts > 0 && PROVIDER_FAILURES.has(result.reason)) {
      failures++
      // A failed trial opens it again; calls still in flight when it opened do not push the reopening back.
      if (trial || (openUntil === null && failures >= BREAKER_FAILURES)) openUntil = now().getTime() + BREAKER_OPEN_MS
    }
  }

  /** Waits for a slot without holding the event loop; false when the deadline passed first or the gateway closed. */
  async function slot (deadline: Deadline): Promise<boolean> {
    if (inFlight < maxConcurrent) {
      inFlight++
      return true
    }
    return await new Promise<boolean>((resolve) => {
      const give = (granted: boolean): void => { deadline.signal.removeEventListener('abort', leave); resolve(granted) }
      const leave = (): void => {
        const at = queue.indexOf(give)
        if (at !== -1) queue.splice(at, 1)
        resolve(false)
      }
      queue.push(give)
      deadline.signal.addEventListener('abort', leave, { once: true })
    })
  }

  function release (): void {
    const next = queue.shift()
    // The slot passes straight to the oldest waiting call, so inFlight does not change.
    if (next !== undefined) next(true)
    else inFlight--
  }

  async function attempts (fn: ProviderCall, request: ChatRequest, deadline: Deadline, started: number): Promise<AiResult> {
    const took = (): number => Math.round(performance.now() - started)
    let attempt = 0
    for (;;) {
      // A slot handed over as the deadline passes (both timers due in one turn) is not an attempt.
      if (deadline.signal.aborted || deadline.left === 0) return { ok: false, reason: closed ? 'closed' : 'timeout', attempts: attempt, duration_ms: took() }
      attempt++
      try {
        const reply = await fn(request, { signal: deadline.signal, timeoutMs: deadline.left })
        return { ok: true, text: reply.text, raw: reply.raw, attempts: attempt, duration_ms: took() }
      } catch (err) {
        const { reason, retryable } = classify(err)
        const failed: AiResult = { ok: false, reason: closed ? 'closed' : deadline.expired ? 'timeout' : reason, attempts: attempt, duration_ms: took() }
        if (!retryable || attempt >= 2 || deadline.signal.aborted) return failed
        // Drawn only for a retry: the RNG is shared with the other engines (pacing).
        const backoff = BACKOFF_MS * (1 + random())
        // A retry that could not start before the deadline would only turn this failure into a timeout.
        if (deadline.left <= backoff) return failed
        await pause(backoff, deadline.signal)
      }
    }
  }

  async function complete (request: ChatRequest): Promise<AiResult> {
    const started = performance.now()
    const refuse = (reason: AiFailure): AiResult => tell({ ok: false, reason, attempts: 0, duration_ms: Math.round(performance.now() - started) })
    if (call === null) return refuse('disabled')
    if (closed) return refuse('closed')
    const state = circuit()
    if (state === 'open' || (state === 'half_open' && trialRunning)) return refuse('circuit_open')
    if (inFlight >= maxConcurrent && queue.length >= maxQueued) return refuse('busy')
    const trial = state === 'half_open'
    if (trial) trialRunning = true
    const deadline = new Deadline(timeoutMs)
    running.add(deadline)
    try {
      if (!await slot(deadline)) return refuse(closed ? 'closed' : 'timeout')
      try {
        const result = await attempts(call, request, deadline, started)
        settle(result, trial)
        return tell(result)
      } finally {
        release()
      }
    } finally {
      if (trial) trialRunning = false
      deadline.clear()
      running.delete(deadline)
    }
  }

  return {
    provider,
    /** Asks the provider for a reply; never throws for a provider's failure. */
    complete,
    observe (listener: AiListener): void { listeners.push(listener) },
    /** For /health-like views and tests: the circuit, the calls in flight and waiting. */
    state (): { circuit: CircuitState, failures: number, in_flight: number, queued: number } {
      return { circuit: circuit(), failures, in_flight: inFlight, queued: queue.length }
    },
    /** Ends every waiting and running call (each answers `closed`); later calls answer `closed` at once. */
    close (): void {
      closed = true
      for (const deadline of running) deadline.abort()
    }
  }
}

export type AiGateway = ReturnType<typeof createAiGateway>
