/** Shared by the scheduler and metrics tests: an app whose log lines a test can read, a fake clock, small readers. */
import type { FastifyInstance } from 'fastify'
import FakeTimers from '@sinonjs/fake-timers'
import type { SellifyOptions } from '../../app.js'
import { build, call, type LogLine, type TapTest } from '../helper.js'
import type { ResetRecord } from '../../lib/resets/types.js'

type Tap = Pick<TapTest, 'teardown'>
type InstalledClock = ReturnType<typeof FakeTimers.install>

export type { LogLine }

/** Like helper.ts's build, with pino writing into `logs`, and the real clock by default (which a fake clock replaces). */
export async function buildLogged (t: Tap, options: SellifyOptions = {}): Promise<{ app: FastifyInstance, logs: LogLine[] }> {
  const logs: LogLine[] = []
  const app = await build(t, { now: () => new Date(), ...options }, { logs })
  return { app, logs }
}

/**
 * Fakes timers and Date, not setImmediate (the SQLite store's group commit flushes on it).
 * Install it before building the app: the jobs start under it, and tap's teardowns run last-added
 * first, so the app closes before the clock is uninstalled.
 */
export function installClock (t: Tap, now: string): InstalledClock {
  const clock = FakeTimers.install({ now: new Date(now), toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
  t.teardown(() => clock.uninstall())
  return clock
}

/**
 * Moves the fake clock to 31 s before `boundary` without running the timers in between (croner polls every
 * 30 s and each poll costs a few Intl look-ups), then ticks a minute: croner's next poll comes before the
 * boundary and sets its timer for the exact instant, as it would have on the way.
 */
export async function crossBoundary (clock: InstalledClock, boundary: string): Promise<void> {
  clock.setSystemTime(Date.parse(boundary) - 31_000)
  await clock.tickAsync(62_000)
}

/** Every reset, oldest first. */
export async function resets (app: FastifyInstance, query = ''): Promise<ResetRecord[]> {
  const res = await call(app, 'GET', `/api/v1/quota/resets?limit=500${query}`)
  if (res.statusCode !== 200) throw new Error(`GET /api/v1/quota/resets answered ${res.statusCode}: ${res.body}`)
  return (res.json().resets as ResetRecord[]).reverse()
}

/** `account type period source` of each reset, sorted: easy to compare whole. */
export function summary (list: ResetRecord[]): string[] {
  return list.map((r) => `${r.account} ${r.reset_type} ${r.period} ${r.source}`).sort()
}

/** The scheduler's one line per run (`schedule daily reset: 3 account(s)`). */
export function runLines (logs: LogLine[], source: 'schedule' | 'catch-up', type: 'daily' | 'weekly'): LogLine[] {
  return logs.filter((l) => l.msg.startsWith(`${source} ${type} reset:`))
}

export async function putAccount (app: FastifyInstance, id: string, body: Record<string, unknown> = {}): Promise<void> {
  const res = await call(app, 'PUT', `/api/v1/accounts/${id}`, body)
  if (res.statusCode !== 200 && res.statusCode !== 201) throw new Error(`PUT ${id} answered ${res.statusCode}: ${res.body}`)
}

export async function consume (app: FastifyInstance, account: string, message_type = 'text', count = 1): Promise<Record<string, unknown>> {
  const res = await call(app, 'POST', '/api/v1/quota/consume', { account, message_type, count })
  if (res.statusCode !== 200) throw new Error(`consume answered ${res.statusCode}: ${res.body}`)
  return res.json()
}

export async function status (app: FastifyInstance, account: string): Promise<Record<string, unknown>> {
  const res = await call(app, 'GET', `/api/v1/quota/status?account=${account}`)
  if (res.statusCode !== 200) throw new Error(`status answered ${res.statusCode}: ${res.body}`)
  return res.json()
}
