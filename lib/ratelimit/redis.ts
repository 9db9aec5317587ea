import { createHmac } from 'node:crypto'
import type { RedisOptions } from 'ioredis'

/**
 * How long one Redis call of the rate limiter may take. Counting a request is one round trip to a nearby
 * Redis (well under a millisecond); past this bound the check is skipped and the request goes through.
 */
export const REDIS_CALL_TIMEOUT_MS = 50

/**
 * The limiter's Redis client: every call bounded, nothing queued while disconnected (a command fails at once
 * rather than wait for a connection), in-flight commands failed rather than resent when the connection drops,
 * and reconnection in the background, at most a second apart.
 */
export const LIMITER_REDIS_OPTIONS = {
  connectTimeout: REDIS_CALL_TIMEOUT_MS,
  commandTimeout: REDIS_CALL_TIMEOUT_MS,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  retryStrategy: (attempt: number) => Math.min(attempt * 50, 1000)
} satisfies RedisOptions

/**
 * The prefix of one deployment's counters. Every instance of a deployment has the same bootstrap key, so they
 * share their counters; separate deployments on one Redis do not, though each has a key whose id is
 * `bootstrap` and clients that may share addresses. A keyed digest made for this use only: neither the key nor
 * the SHA-256 that authentication compares ends up in Redis.
 */
export function limiterNamespace (bootstrapKey: string): string {
  const digest = createHmac('sha256', 'sellify-rate-limit-namespace').update(bootstrapKey, 'utf8').digest('hex')
  return `sellify-rate-limit:${digest.slice(0, 16)}:`
}

/** The part of `@fastify/rate-limit`'s store contract that Sellify uses. */
export interface CounterStore {
  incr: (key: string, callback: (err: Error | null, result?: { current: number, ttl: number }) => void, timeWindow: number, max: number) => void
  child: (routeOptions: object) => CounterStore
}

/** `inner`, with the outcome of every count also told to `observe` (null for a success). */
export function observedStore (inner: CounterStore, observe: (err: Error | null) => void): CounterStore {
  return {
    incr (key, callback, timeWindow, max) {
      inner.incr(key, (err, result) => {
        observe(err)
        callback(err, result)
      }, timeWindow, max)
    },
    child: (routeOptions) => observedStore(inner.child(routeOptions), observe)
  }
}

export type LimiterState = 'redis' | 'degraded'

/** How long the last outcome of a Redis call stands for /health before Redis is asked again. */
const OUTCOME_TTL_MS = 1000

export interface LimiterHealthOptions {
  /** Asks Redis whether it answers; rejects (within the call bound) when it does not. */
  ping: () => Promise<unknown>
  /** Told when Redis stops answering, and when it answers again: once per change, not once per call. */
  onChange: (state: LimiterState, err: Error | null) => void
  now?: () => number
}

/**
 * Whether the limiter's Redis answers: the outcome of its last call (a count, a reconnection, or a ping of
 * /health's own when the last outcome is more than a second old). One outcome is enough both ways: a limiter
 * that waits to be sure would hold requests, or report an outage late.
 */
export function createLimiterHealth ({ ping, onChange, now = Date.now }: LimiterHealthOptions) {
  let state: LimiterState = 'redis'
  let last: { state: LimiterState, at: number } | undefined
  let inflight: Promise<LimiterState> | undefined

  function record (err: Error | null): void {
    const next: LimiterState = err === null ? 'redis' : 'degraded'
    last = { state: next, at: now() }
    if (next === state) return
    state = next
    onChange(next, err)
  }

  async function check (): Promise<LimiterState> {
    if (last !== undefined && now() - last.at < OUTCOME_TTL_MS) return last.state
    inflight ??= ping().then(
      () => { record(null) },
      (err: unknown) => { record(err instanceof Error ? err : new Error(String(err))) }
    ).then(() => {
      inflight = undefined
      return state
    })
    return await inflight
  }

  return { record, check }
}
