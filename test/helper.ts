import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify'
import pg from 'pg'
import { randomBytes } from 'node:crypto'
import type tap from 'tap'
import sellify, { type SellifyOptions } from '../app.js'
import { DEV_API_KEY } from '../lib/config/config.js'

/** The type of `t` inside a tap test. */
export type TapTest = Parameters<Parameters<typeof tap.test>[0]>[0]

export const DEV_KEY = DEV_API_KEY
export const PG_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

type Tap = Pick<TapTest, 'teardown'>

/** A log line of pino, as the tests read them. */
export type LogLine = Record<string, unknown> & { level: number, msg: string }

/** A clock a test can move: starts at `start` and only moves when told. */
export function fixedClock (start: string | Date) {
  let current = new Date(start)
  const now = (): Date => new Date(current)
  return {
    now,
    set (to: string | Date) { current = new Date(to) },
    advance (ms: number) { current = new Date(current.getTime() + ms) }
  }
}

/**
 * The anti-ban defaults a test of something else does not want in its way: an hourly cap no test reaches and
 * no warm-up (an established number). The tests of the hourly cap and the warm-up set them, or read the
 * service's own defaults through `env: {}` and `defaults: {}` of their own.
 */
export const ESTABLISHED = { limits: { messages_per_hour: 1_000_000 }, warmup: { enabled: false } } as const

/**
 * The app as a host would build it: a bare Fastify, Sellify registered, ready, closed on teardown.
 * SQLite in memory, an empty environment, ESTABLISHED's defaults and a clock fixed at 2026-01-18T12:00Z
 * unless the test says otherwise; with `logs`, pino writes every line at info and above into it.
 */
export async function build (t: Tap, options: SellifyOptions = {}, { logs }: { logs?: LogLine[] } = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger: logs === undefined ? false : { level: 'info', stream: { write: (line: string) => { logs.push(JSON.parse(line)) } } } })
  await app.register(sellify, {
    env: {},
    now: () => new Date('2026-01-18T12:00:00.000Z'),
    random: () => 0,
    ...options,
    defaults: {
      ...options.defaults,
      limits: { ...ESTABLISHED.limits, ...options.defaults?.limits },
      warmup: { ...ESTABLISHED.warmup, ...options.defaults?.warmup }
    },
    store: { sqlitePath: ':memory:', ...options.store }
  })
  await app.ready()
  t.teardown(() => app.close())
  return app
}

/** JSON request with the dev key unless `key` is given (null: no key at all). */
export async function call (app: FastifyInstance, method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, body?: unknown, key: string | null = DEV_KEY): Promise<LightMyRequestResponse & { body: string }> {
  return await app.inject({
    method,
    url,
    headers: {
      ...(key === null ? {} : { 'x-api-key': key }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' })
    },
    ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) })
  })
}

/**
 * Whether the PostgreSQL tests run: yes when a server answers; otherwise skipped with a notice,
 * except under CI=true where an unreachable PostgreSQL is a failure (README, "Tests").
 */
/** Why PostgreSQL at PG_URL does not answer, or null when it does. */
export async function postgresError (url = PG_URL): Promise<Error | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 })
  try {
    await client.connect()
    await client.query('SELECT 1')
    return null
  } catch (err) {
    return err as Error
  } finally {
    await client.end().catch(() => {})
  }
}

export async function postgresReachable (): Promise<boolean> {
  const err = await postgresError()
  if (err === null) return true
  if (process.env.CI === 'true') throw new Error(`PostgreSQL is required under CI=true but ${PG_URL} did not answer: ${String(err)}`)
  return false
}

/** For `t.test(name, { skip: await pgSkip() }, fn)`: false when PostgreSQL answers, else the notice to show. */
export async function pgSkip (): Promise<false | string> {
  return await postgresReachable() ? false : `PostgreSQL not reachable at ${PG_URL} (set DATABASE_URL or start it)`
}

/** A fresh schema for one test, dropped at teardown, so test files can run in parallel on one database. */
export function pgSchema (t: Tap): string {
  const schema = `sellify_test_${randomBytes(6).toString('hex')}`
  t.teardown(async () => {
    const client = new pg.Client({ connectionString: PG_URL })
    await client.connect()
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
    await client.end()
  })
  return schema
}
