/**
 * A week of a shop's WhatsApp traffic through the real quota service (README, "How quotas work": "A week,
 * simulated"), twice: (a) a new number with the defaults, warm-up on; (b) an established number, warm-up off.
 * Writes DIR/simulation.md (the model and a table per day of each run) and DIR/simulation.svg (sends per
 * hour against the caps) and prints the tables.
 *
 *   npm run build && node dist/scripts/simulate.js [--seed N] [--out DIR] [--timezone ZONE] [--start YYYY-MM-DD]
 *
 * Defaults: seed 1, out docs/, Europe/Paris, the week beginning Monday 2026-03-02. Same options, same files:
 * time is only the injected clock, randomness only two seeded mulberry32 streams (traffic, and the
 * service's `random`), and nothing in the files depends on the machine, the wall clock or the output folder.
 *
 * The service: a bare `Fastify()` with Sellify registered as a host would (`env: {}`, so the service's own
 * defaults: 200 messages a day, 1000 a week, 50 images a day, 20 videos a week, 30 messages an hour, delays
 * 2..8 s plus 5 s after media, warm-up from 20 a day over 14 days), SQLite in memory, the scheduler off (the
 * counters are per period and need no job) and the rate limit out of the way; one account `shop` made with
 * `PUT /api/v1/accounts/shop`, then only `POST /api/v1/quota/consume` and `GET /api/v1/quota/status` through
 * `app.inject` with the dev admin key.
 *
 * The traffic (seeded, identical in both runs; the times are the shop's local ones):
 * - Customers write as a Poisson process whose hourly rate is INCOMING_PER_HOUR (mostly 08:00-21:00, a lunch
 *   peak 12:00-14:00 and an evening one 18:00-21:00, a trickle at night), scaled per weekday by
 *   WEEKDAY_FACTOR (Saturday busiest, Sunday quietest): about 64 messages on a weekday.
 * - Each customer message wants 1 reply (50 %), 2 (30 %) or 3 (20 %); the first 10-60 s after it (reading and
 *   typing), the others right after. A reply is an image (a product photo) 25 % of the time, a video 2 %,
 *   else a text.
 * - Two broadcast-like bursts a day: BURST_SIZE sends wanted at once at 10:00 and at 18:00, 30 % images.
 *
 * The bot (one WhatsApp number sends one message at a time):
 * - Before each send it consumes; allowed, it waits the answer's `delay_seconds` and sends; only then does it
 *   consume the next one. Replies go before broadcasts, each in the order they were wanted.
 * - Refused, it waits `retry_after_seconds` before trying what the refusal stops again: a refusal by
 *   `images_per_day` stops images, by `videos_per_week` videos, by any other reason every send. Other sends
 *   go on meanwhile.
 * - A wanted send not sent within MAX_AGE (2 h) of being wanted is dropped: a reply that late is useless, a
 *   broadcast that late is off its moment. Sends still waiting when the week ends are counted as pending.
 *
 * Per day: sends counted by the local day of their consume, refusals by that of the refused consume,
 * wanted and dropped by the day the send was wanted. Every hour (at hh:59:59.999) the status is read: its
 * `effective_limits` give the table's daily limit and the plot's daily cap, and its counters are compared
 * with the script's own count; each counted hour, day and week is checked against its cap.
 */
import Fastify, { type FastifyInstance } from 'fastify'
import { DateTime } from 'luxon'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import sellify from '../app.js'
import { DEV_API_KEY } from '../lib/config/config.js'
import { seededRandom } from '../lib/shared/seeded.js'

type Kind = 'text' | 'image' | 'video'
type Source = 'reply' | 'broadcast'

/** Customer messages per local hour 00..23 on a day of factor 1. */
const INCOMING_PER_HOUR = [
  0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.4, 1.0, // 00-07
  2.5, 3.0, 3.5, 4.0, 6.5, 6.0, 3.5, 3.0, // 08-15: the lunch peak at 12-14
  3.0, 4.0, 6.0, 7.0, 6.0, 2.5, 1.2, 0.5 // 16-23: the evening peak at 18-21
]
/** Monday .. Sunday. */
const WEEKDAY_FACTOR = [1.0, 0.95, 1.0, 1.05, 1.15, 1.3, 0.7]
const REPLIES = [{ n: 1, p: 0.5 }, { n: 2, p: 0.3 }, { n: 3, p: 0.2 }]
const REPLY_IMAGE = 0.25
const REPLY_VIDEO = 0.02
const REPLY_GAP_S = [10, 60]
const BURST_HOURS = [10, 18]
const BURST_SIZE = 60
const BURST_IMAGE = 0.3
const MAX_AGE_MS = 2 * 3_600_000
const DAYS = 7
const HOUR_MS = 3_600_000
const ACCOUNT = 'shop'
/** Refusal reasons in the service's order of checking (README, "How quotas work"). */
const REASONS = ['account_paused', 'messages_per_day', 'warmup', 'messages_per_week', 'images_per_day', 'videos_per_week', 'messages_per_hour'] as const
type Reason = typeof REASONS[number]

const SCENARIOS = [
  { id: 'a', title: 'a new number, the defaults (warm-up on)', warmup: true, color: '#d95f02' },
  { id: 'b', title: 'an established number (warm-up off), the default limits', warmup: false, color: '#1f6fb2' }
] as const
type Scenario = typeof SCENARIOS[number]

/** A Poisson draw (Knuth: the rates here are small). */
function poisson (lambda: number, random: () => number): number {
  const limit = Math.exp(-lambda)
  let k = 0
  let p = random()
  while (p > limit) {
    k++
    p *= random()
  }
  return k
}

interface Wanted { id: number, at: number, kind: Kind, source: Source }

interface Week {
  zone: string
  /** Epoch ms of each local midnight, DAYS + 1 of them (the last one ends the week). */
  dayStarts: number[]
  labels: string[]
  dates: string[]
}

function weekOf (zone: string, start: string): Week {
  const first = DateTime.fromISO(start, { zone })
  if (!first.isValid) throw new Error(`--start ${start} / --timezone ${zone}: ${first.invalidExplanation ?? 'invalid'}`)
  const days = Array.from({ length: DAYS + 1 }, (_, i) => first.plus({ days: i }).startOf('day'))
  return {
    zone,
    dayStarts: days.map((d) => d.toMillis()),
    labels: days.slice(0, DAYS).map((d) => d.setLocale('en-GB').toFormat('ccc d LLL')),
    dates: days.slice(0, DAYS).map((d) => d.toISODate() ?? '')
  }
}

const dayIndex = (week: Week, at: number): number => {
  let i = 0
  while (i < DAYS && week.dayStarts[i + 1] <= at) i++
  return i
}

/** The week's wanted sends, sorted by the time they are wanted (then by id). */
function traffic (week: Week, seed: number): Wanted[] {
  const random = seededRandom(seed)
  const wanted: Wanted[] = []
  const add = (at: number, kind: Kind, source: Source): void => { wanted.push({ id: wanted.length, at, kind, source }) }
  const replyKind = (): Kind => {
    const u = random()
    return u < REPLY_VIDEO ? 'video' : u < REPLY_VIDEO + REPLY_IMAGE ? 'image' : 'text'
  }
  for (let d = 0; d < DAYS; d++) {
    const day = DateTime.fromMillis(week.dayStarts[d], { zone: week.zone })
    const factor = WEEKDAY_FACTOR[day.weekday - 1]
    for (let h = 0; h < 24; h++) {
      const hourStart = day.set({ hour: h }).toMillis()
      // A local hour that does not exist (clocks going forward) gets no traffic.
      if (DateTime.fromMillis(hourStart, { zone: week.zone }).hour !== h) continue
      const n = poisson(INCOMING_PER_HOUR[h] * factor, random)
      for (let i = 0; i < n; i++) {
        const incoming = hourStart + Math.floor(random() * 3600) * 1000
        const u = random()
        let replies = REPLIES[REPLIES.length - 1].n
        let acc = 0
        for (const r of REPLIES) {
          acc += r.p
          if (u < acc) { replies = r.n; break }
        }
        const first = incoming + Math.round(REPLY_GAP_S[0] + random() * (REPLY_GAP_S[1] - REPLY_GAP_S[0])) * 1000
        for (let r = 0; r < replies; r++) add(first + r * 1000, replyKind(), 'reply')
      }
      if (BURST_HOURS.includes(h)) {
        for (let i = 0; i < BURST_SIZE; i++) add(hourStart, random() < BURST_IMAGE ? 'image' : 'text', 'broadcast')
      }
    }
  }
  return wanted.sort((x, y) => x.at - y.at || x.id - y.id)
}

interface DayStats {
  wanted: number
  sent: number
  images: number
  videos: number
  refused: Record<Reason, number>
  dropped: number
  delays: number[]
  /** Local time of the day's first refusal that stops every send until the day (or week) ends. */
  closedAt: string | null
  /** Effective daily limit and warm-up day as status read them at each hour's end. */
  dailyLimits: number[]
  warmupDays: Array<number | null>
  sendTimes: number[]
}

interface RunResult {
  scenario: Scenario
  days: DayStats[]
  /** Consumes allowed per elapsed hour of the week (the plot). */
  perHour: number[]
  /** Consumes allowed per local hour key (the cap check), as the service keys its hours. */
  perHourKey: Map<string, number>
  pending: number
  violations: string[]
  mismatches: string[]
  /** The first refusal by the week's cap: when, and as the report writes it. */
  weekClosed: { at: number, label: string } | null
  limits: Record<string, number>
  delaysConfig: Record<string, number>
  warmup: { enabled: boolean, start_per_day: number, days: number }
}

const emptyDay = (): DayStats => ({
  wanted: 0,
  sent: 0,
  images: 0,
  videos: 0,
  refused: Object.fromEntries(REASONS.map((r) => [r, 0])) as Record<Reason, number>,
  dropped: 0,
  delays: [],
  closedAt: null,
  dailyLimits: [],
  warmupDays: [],
  sendTimes: []
})

interface StatusBody {
  messages_today: number
  messages_this_week: number
  images_today: number
  videos_this_week: number
  messages_this_hour: number
  limits: Record<string, number>
  effective_limits: Record<string, number>
  remaining: Record<string, number>
  warmup_day: number | null
}

type ConsumeBody =
  | { allowed: true, delay_seconds: number }
  | { allowed: false, reason: Reason, retry_after_seconds: number }

async function request<T> (app: FastifyInstance, method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown): Promise<T> {
  const res = await app.inject({
    method,
    url,
    headers: { 'x-api-key': DEV_API_KEY, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) })
  })
  if (res.statusCode >= 300) throw new Error(`${method} ${url} answered ${res.statusCode}: ${res.body}`)
  return res.json() as T
}

/** What a refusal stops until its retry time: the kind of its own limit, or every send. */
const stops = (reason: Reason): Kind[] => reason === 'images_per_day' ? ['image'] : reason === 'videos_per_week' ? ['video'] : ['text', 'image', 'video']

async function run (scenario: Scenario, week: Week, wanted: Wanted[], seed: number): Promise<RunResult> {
  let clock = week.dayStarts[0]
  const end = week.dayStarts[DAYS]
  const app = Fastify({ logger: false })
  await app.register(sellify, {
    env: {},
    now: () => new Date(clock),
    random: seededRandom(seed ^ 0x5EED5EED),
    store: { sqlitePath: ':memory:' },
    scheduler: false,
    rateLimit: { max: 1_000_000_000 }
  })
  await app.ready()
  try {
    const defaults = await request<{ warmup: { enabled: boolean, start_per_day: number, days: number } }>(app, 'PUT', `/api/v1/accounts/${ACCOUNT}`, { timezone: week.zone })
    if (defaults.warmup.enabled !== scenario.warmup) {
      await request(app, 'PUT', `/api/v1/accounts/${ACCOUNT}`, { timezone: week.zone, warmup: { ...defaults.warmup, enabled: scenario.warmup } })
    }
    const account = await request<{ limits: Record<string, number>, delays: Record<string, number>, warmup: RunResult['warmup'] }>(app, 'GET', `/api/v1/accounts/${ACCOUNT}`)

    const days = Array.from({ length: DAYS }, emptyDay)
    const perHour = new Array<number>(Math.ceil((end - week.dayStarts[0]) / HOUR_MS)).fill(0)
    const perHourKey = new Map<string, number>()
    const perDayKey = new Map<string, { messages: number, images: number }>()
    const perWeek = { messages: 0, videos: 0 }
    const violations: string[] = []
    const mismatches: string[] = []
    let weekClosed: RunResult['weekClosed'] = null
    for (const w of wanted) days[dayIndex(week, w.at)].wanted++

    const local = (at: number): DateTime => DateTime.fromMillis(at, { zone: week.zone })
    const hourKey = (at: number): string => local(at).toFormat("yyyy-MM-dd'T'HH")
    const stamp = (at: number): string => local(at).setLocale('en-GB').toFormat('ccc HH:mm')

    let next = 0
    const pending: Wanted[] = []
    const blocked: Record<Kind, number> = { text: 0, image: 0, video: 0 }
    let freeAt = clock
    let nextSample = week.dayStarts[0] + HOUR_MS - 1

    const drop = (w: Wanted): void => { days[dayIndex(week, w.at)].dropped++ }
    const admit = (t: number): void => {
      while (next < wanted.length && wanted[next].at <= t) pending.push(wanted[next++])
    }
    const rank = (w: Wanted): number => w.source === 'reply' ? 0 : 1
    /**
     * The send the bot attempts next from `from` on, and when: the earliest it may attempt, replies first, then
     * the oldest. What can no longer be sent within MAX_AGE of being wanted is dropped.
     */
    const nextAction = (from: number): { at: number, item: Wanted } | null => {
      admit(from)
      for (let i = pending.length - 1; i >= 0; i--) {
        if (from > pending[i].at + MAX_AGE_MS) drop(pending.splice(i, 1)[0])
      }
      let best = null as { at: number, item: Wanted } | null
      const consider = (at: number, item: Wanted): void => {
        if (at > item.at + MAX_AGE_MS) return
        if (best === null || at < best.at || (at === best.at && rank(item) < rank(best.item))) best = { at, item }
      }
      for (const w of pending) consider(Math.max(from, blocked[w.kind]), w)
      for (let i = next; i < wanted.length; i++) {
        const w = wanted[i]
        if (best !== null && w.at > best.at) break
        consider(Math.max(w.at, blocked[w.kind]), w)
      }
      return best
    }

    const sample = async (): Promise<void> => {
      const s = await request<StatusBody>(app, 'GET', `/api/v1/quota/status?account=${ACCOUNT}`)
      const d = dayIndex(week, clock)
      days[d].dailyLimits.push(s.effective_limits.messages_per_day)
      days[d].warmupDays.push(s.warmup_day)
      const hour = perHourKey.get(hourKey(clock)) ?? 0
      const day = perDayKey.get(week.dates[d]) ?? { messages: 0, images: 0 }
      const at = `${stamp(clock)} (${week.labels[d]})`
      if (s.messages_this_hour !== hour) mismatches.push(`${at}: status messages_this_hour ${s.messages_this_hour}, counted ${hour}`)
      if (s.messages_today !== day.messages) mismatches.push(`${at}: status messages_today ${s.messages_today}, counted ${day.messages}`)
      if (s.images_today !== day.images) mismatches.push(`${at}: status images_today ${s.images_today}, counted ${day.images}`)
      if (s.messages_this_week !== perWeek.messages) mismatches.push(`${at}: status messages_this_week ${s.messages_this_week}, counted ${perWeek.messages}`)
      const e = s.effective_limits
      const left = Math.max(0, e.messages_per_day - day.messages)
      if (s.remaining.messages_today !== left) mismatches.push(`${at}: status remaining.messages_today ${s.remaining.messages_today}, expected ${left}`)
      const hourLeft = Math.max(0, e.messages_per_hour - hour)
      if (s.remaining.messages_this_hour !== hourLeft) mismatches.push(`${at}: status remaining.messages_this_hour ${s.remaining.messages_this_hour}, expected ${hourLeft}`)
      if (hour > e.messages_per_hour) violations.push(`${at}: ${hour} messages in the hour, cap ${e.messages_per_hour}`)
      if (day.messages > e.messages_per_day) violations.push(`${at}: ${day.messages} messages in the day, effective cap ${e.messages_per_day}`)
      if (day.images > e.images_per_day) violations.push(`${at}: ${day.images} images in the day, cap ${e.images_per_day}`)
      if (perWeek.messages > e.messages_per_week) violations.push(`${at}: ${perWeek.messages} messages in the week, cap ${e.messages_per_week}`)
      if (perWeek.videos > e.videos_per_week) violations.push(`${at}: ${perWeek.videos} videos in the week, cap ${e.videos_per_week}`)
    }

    for (;;) {
      const action = nextAction(Math.max(clock, freeAt))
      const actionAt = action?.at ?? Infinity
      if (nextSample <= actionAt && nextSample < end) {
        clock = nextSample
        await sample()
        nextSample += HOUR_MS
        continue
      }
      if (action === null || actionAt >= end) break
      clock = actionAt
      admit(clock)
      const w = action.item
      const res = await request<ConsumeBody>(app, 'POST', '/api/v1/quota/consume', { account: ACCOUNT, message_type: w.kind })
      const day = days[dayIndex(week, clock)]
      if (res.allowed) {
        pending.splice(pending.indexOf(w), 1)
        day.sent++
        if (w.kind === 'image') day.images++
        if (w.kind === 'video') day.videos++
        day.delays.push(res.delay_seconds)
        day.sendTimes.push(clock)
        perHour[Math.floor((clock - week.dayStarts[0]) / HOUR_MS)]++
        perHourKey.set(hourKey(clock), (perHourKey.get(hourKey(clock)) ?? 0) + 1)
        const dk = week.dates[dayIndex(week, clock)]
        const counted = perDayKey.get(dk) ?? { messages: 0, images: 0 }
        perDayKey.set(dk, { messages: counted.messages + 1, images: counted.images + (w.kind === 'image' ? 1 : 0) })
        perWeek.messages++
        if (w.kind === 'video') perWeek.videos++
        freeAt = clock + res.delay_seconds * 1000
      } else {
        day.refused[res.reason]++
        for (const k of stops(res.reason)) blocked[k] = Math.max(blocked[k], clock + res.retry_after_seconds * 1000)
        if (stops(res.reason).length === 3 && res.reason !== 'messages_per_hour' && day.closedAt === null) day.closedAt = local(clock).toFormat('HH:mm')
        if (res.reason === 'messages_per_week' && weekClosed === null) weekClosed = { at: clock, label: stamp(clock) }
      }
    }
    // What is left: too old by the week's end is dropped, the rest still pending.
    let left = 0
    for (const w of [...pending, ...wanted.slice(next)]) {
      if (end > w.at + MAX_AGE_MS) drop(w)
      else left++
    }
    const history = await request<{ days: Array<{ day: string, messages: number }> }>(app, 'GET', `/api/v1/quota/history?account=${ACCOUNT}&days=${DAYS + 1}`)
    for (const [d, date] of week.dates.entries()) {
      const h = history.days.find((x) => x.day === date)?.messages ?? 0
      if (h !== days[d].sent) mismatches.push(`${week.labels[d]}: history says ${h} messages, counted ${days[d].sent}`)
    }
    return { scenario, days, perHour, perHourKey, pending: left, violations, mismatches, weekClosed, limits: account.limits, delaysConfig: account.delays, warmup: account.warmup }
  } finally {
    await app.close()
  }
}

/** Nearest-rank quantile of a non-empty list. */
function quantile (values: number[], p: number): number {
  const sorted = [...values].sort((x, y) => x - y)
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]
}

/** The most sends in any 60 minutes starting at one of them (a window that begins on this day). */
function maxInWindow (times: number[], all: number[], ms: number): number {
  let best = 0
  let j = 0
  for (const t of times) {
    while (j < all.length && all[j] < t) j++
    let k = j
    while (k < all.length && all[k] < t + ms) k++
    best = Math.max(best, k - j)
  }
  return best
}

/** How quickly the bot made as many sends in a row as the hourly cap allows: the shortest such run. */
function burstLine (r: RunResult, week: Week): string {
  const all = r.days.flatMap((d) => d.sendTimes)
  const n = r.limits.messages_per_hour
  if (all.length < n) return ''
  let best = 0
  for (let i = 1; i + n - 1 < all.length; i++) if (all[i + n - 1] - all[i] < all[best + n - 1] - all[best]) best = i
  const s = Math.round((all[best + n - 1] - all[best]) / 1000)
  const when = DateTime.fromMillis(all[best], { zone: week.zone }).setLocale('en-GB').toFormat('ccc HH:mm')
  return `The quickest ${n} sends in a row (the hourly cap's worth) took ${Math.floor(s / 60)} min ${s % 60} s, from ${when}.`
}

const range = (values: Array<number | null>): string => {
  const v = values.filter((x): x is number => x !== null)
  if (v.length === 0) return '–'
  const lo = Math.min(...v)
  const hi = Math.max(...v)
  return lo === hi ? String(lo) : `${lo}–${hi}`
}

const REASON_COLUMNS: Array<{ reason: Reason, header: string }> = [
  { reason: 'messages_per_hour', header: 'hour' },
  { reason: 'messages_per_day', header: 'day' },
  { reason: 'warmup', header: 'warm-up' },
  { reason: 'messages_per_week', header: 'week' },
  { reason: 'images_per_day', header: 'images' },
  { reason: 'videos_per_week', header: 'videos' },
  { reason: 'account_paused', header: 'paused' }
]

/** The reason columns of a table: all of them but `account_paused`, which only a health signal or a pause brings (none here) unless it happened. */
const reasonColumns = (results: RunResult[]): typeof REASON_COLUMNS =>
  REASON_COLUMNS.filter((c) => c.reason !== 'account_paused' || results.some((r) => r.days.some((d) => d.refused[c.reason] > 0)))

function table (r: RunResult, week: Week, columns: typeof REASON_COLUMNS): string {
  const all = r.days.flatMap((d) => d.sendTimes)
  const head = ['date', 'wanted', 'sent', 'of which images', ...columns.map((c) => `refused: ${c.header}`), 'dropped', 'stopped at',
    'max in a clock hour', 'max in 60 min', 'effective daily limit', 'warm-up day', 'delay s median', 'delay s p90']
  const rows = r.days.map((d, i) => {
    const hours = [...r.perHourKey.entries()].filter(([k]) => k.startsWith(week.dates[i])).map(([, v]) => v)
    return [
      week.labels[i], d.wanted, d.sent, d.images, ...columns.map((c) => d.refused[c.reason]), d.dropped, d.closedAt ?? '–',
      Math.max(0, ...hours), maxInWindow(d.sendTimes, all, HOUR_MS), range(d.dailyLimits), range(d.warmupDays),
      d.delays.length === 0 ? '–' : quantile(d.delays, 0.5), d.delays.length === 0 ? '–' : quantile(d.delays, 0.9)
    ].map(String)
  })
  const sum = (f: (d: DayStats) => number): number => r.days.reduce((a, d) => a + f(d), 0)
  const allDelays = r.days.flatMap((d) => d.delays)
  rows.push([
    '**week**', sum((d) => d.wanted), sum((d) => d.sent), sum((d) => d.images), ...columns.map((c) => sum((d) => d.refused[c.reason])),
    sum((d) => d.dropped), '–', Math.max(0, ...r.perHourKey.values()), maxInWindow(all, all, HOUR_MS), '–', '–',
    allDelays.length === 0 ? '–' : quantile(allDelays, 0.5), allDelays.length === 0 ? '–' : quantile(allDelays, 0.9)
  ].map(String))
  const align = head.map((_, i) => i === 0 ? ':---' : '---:')
  return [head, align, ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n')
}

function totals (r: RunResult): { wanted: number, sent: number, dropped: number } {
  return {
    wanted: r.days.reduce((a, d) => a + d.wanted, 0),
    sent: r.days.reduce((a, d) => a + d.sent, 0),
    dropped: r.days.reduce((a, d) => a + d.dropped, 0)
  }
}

function summary (r: RunResult, week: Week): string {
  const t = totals(r)
  const week_ = r.limits.messages_per_week
  return `${t.sent} of ${t.wanted} wanted sends made (${Math.round(100 * t.sent / t.wanted)} %), ${t.dropped} dropped, ${r.pending} pending at the week's end` +
    (r.weekClosed === null ? '.' : `; the week's ${week_} messages were used up on ${r.weekClosed.label}.`) + ` ${burstLine(r, week)}`
}

function checksOf (r: RunResult): string[] {
  const t = totals(r)
  const lines: string[] = []
  lines.push(t.wanted === t.sent + t.dropped + r.pending
    ? `- Every wanted send is accounted for: ${t.wanted} wanted = ${t.sent} sent + ${t.dropped} dropped + ${r.pending} pending at the week's end.`
    : `- **Accounting broken**: ${t.wanted} wanted ≠ ${t.sent} sent + ${t.dropped} dropped + ${r.pending} pending.`)
  lines.push(r.violations.length === 0
    ? '- Every cap held: no clock hour, day or week counted more than its cap (effective limits from status).'
    : `- **${r.violations.length} cap(s) passed**:\n${r.violations.slice(0, 20).map((v) => `  - ${v}`).join('\n')}`)
  lines.push(r.mismatches.length === 0
    ? '- The service\'s counters (status every hour, history at the end) equal the sends the bot was allowed.'
    : `- **${r.mismatches.length} counter mismatch(es)**:\n${r.mismatches.slice(0, 20).map((v) => `  - ${v}`).join('\n')}`)
  return lines
}

function report (results: RunResult[], week: Week, seed: number, command: string): string {
  const [a] = results
  const l = a.limits
  const dl = a.delaysConfig
  const out: string[] = []
  out.push('# A week, simulated', '')
  out.push('Written by `scripts/simulate.ts`; do not edit by hand. A week of a shop\'s WhatsApp traffic driven through the real quota',
    'service (`POST /api/v1/quota/consume`, `GET /api/v1/quota/status` through `app.inject`, the clock injected, SQLite in',
    'memory), once as a new number and once as an established one. The model is described in the script\'s header comment; in short:', '')
  out.push(`- **Command**: \`${command}\` (what \`npm run simulate\` runs) — seed **${seed}**. The same seed writes the same files.`)
  out.push(`- **Shop**: account \`${ACCOUNT}\`, ${week.zone}, the week ${week.labels[0]} – ${week.labels[DAYS - 1]} ${week.dates[0].slice(0, 4)}.`)
  out.push(`- **Limits** (the service's defaults): ${l.messages_per_hour} messages an hour, ${l.messages_per_day} a day, ${l.messages_per_week} a week, ` +
    `${l.images_per_day} images a day, ${l.videos_per_week} videos a week; delays ${dl.min_seconds}..${dl.max_seconds} s plus ${dl.media_seconds} s after media. ` +
    `Warm-up of (a): ${a.warmup.start_per_day} a day on the first day, growing to the daily limit on day ${a.warmup.days}.`)
  out.push(`- **Customers** write as a Poisson process, mostly 08:00–21:00 with a lunch (12–14 h) and an evening (18–21 h) peak, ~${Math.round(INCOMING_PER_HOUR.reduce((x, y) => x + y, 0))} messages on a weekday, ` +
    `Saturday ×${WEEKDAY_FACTOR[5]}, Sunday ×${WEEKDAY_FACTOR[6]}. Each wants 1 (50 %), 2 (30 %) or 3 (20 %) replies, ${REPLY_GAP_S[0]}–${REPLY_GAP_S[1]} s after it; ` +
    `a reply is an image ${REPLY_IMAGE * 100} % of the time, a video ${REPLY_VIDEO * 100} %.`)
  out.push(`- **Bursts**: ${BURST_SIZE} broadcast sends wanted at once at ${BURST_HOURS.map((h) => `${String(h).padStart(2, '0')}:00`).join(' and ')}, ${BURST_IMAGE * 100} % images.`)
  out.push('- **The bot** sends one message at a time: it consumes, waits `delay_seconds`, sends, then consumes the next; replies before broadcasts. ' +
    'Refused, it waits `retry_after_seconds` before retrying what the refusal stops (images for `images_per_day`, videos for `videos_per_week`, ' +
    `everything otherwise). A send not made within ${MAX_AGE_MS / HOUR_MS} h of being wanted is dropped.`)
  out.push('- **Columns**: sends and refusals by the local day they happened, wanted and dropped by the day the send was wanted; ' +
    '*stopped at*: the first refusal of the day that stops every send until the day or week ends (day, warm-up or week cap); ' +
    '*max in a clock hour*: the most consumes in one of the zone\'s hours (what `messages_per_hour` caps), *max in 60 min*: in any 60 minutes; ' +
    '*effective daily limit* and *warm-up day*: `effective_limits.messages_per_day` and `warmup_day` of the status read at the end of each hour; ' +
    'delays: nearest-rank median and 90th percentile of the allowed consumes\' `delay_seconds`.', '')
  out.push('![Sends per hour over the simulated week, a new number (warm-up) and an established one, against the hourly cap, and the sends per day against the effective daily limit](simulation.svg)', '')
  for (const r of results) {
    out.push(`## (${r.scenario.id}) ${r.scenario.title}`, '')
    out.push(table(r, week, reasonColumns(results)), '')
    out.push(summary(r, week), '')
    out.push(...checksOf(r), '')
  }
  return out.join('\n')
}

// ---- the plot -------------------------------------------------------------------------------------------

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
const n1 = (x: number): string => String(Math.round(x * 10) / 10)

function svg (results: RunResult[], week: Week, wanted: Wanted[], seed: number): string {
  const W = 1000
  const H = 650
  const L = 58
  const R = 986
  const hours = results[0].perHour.length
  const xh = (h: number): number => L + (R - L) * h / hours
  const xt = (at: number): number => xh((at - week.dayStarts[0]) / HOUR_MS)
  const wantedPerHour = new Array<number>(hours).fill(0)
  for (const w of wanted) wantedPerHour[Math.floor((w.at - week.dayStarts[0]) / HOUR_MS)]++
  const hourCap = results[0].limits.messages_per_hour
  const out: string[] = []
  const font = 'font-family="DejaVu Sans, Verdana, Arial, Helvetica, sans-serif"'
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ${font} font-size="12">`)
  out.push(`<title>Sends per hour over a simulated week (seed ${seed}, ${esc(week.zone)}): a new number (warm-up) and an established one, against the caps</title>`)
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`)
  out.push(`<text x="${L}" y="26" font-size="17" font-weight="bold" fill="#222">A simulated week through Sellify's quotas</text>`)
  out.push(`<text x="${L}" y="45" font-size="12" fill="#555">${esc(`${week.zone}, ${week.labels[0]} – ${week.labels[DAYS - 1]} ${week.dates[0].slice(0, 4)}, seed ${seed}, default limits; the same customer traffic and bursts in both runs`)}</text>`)

  // Legend.
  const legend: Array<{ label: string, draw: (x: number, y: number) => string }> = [
    { label: 'wanted per hour', draw: (x, y) => `<rect x="${x}" y="${y - 9}" width="14" height="10" fill="#d9d9d9"/>` },
    ...results.map((r) => ({
      label: `(${r.scenario.id}) ${r.scenario.warmup ? 'new number, warm-up' : 'established number'} sent`,
      draw: (x: number, y: number) => `<line x1="${x}" y1="${y - 4}" x2="${x + 18}" y2="${y - 4}" stroke="${r.scenario.color}" stroke-width="2.5"/>`
    })),
    { label: 'hourly cap', draw: (x, y) => `<line x1="${x}" y1="${y - 4}" x2="${x + 18}" y2="${y - 4}" stroke="#c62828" stroke-width="1.5" stroke-dasharray="5 3"/>` },
    { label: 'effective daily limit', draw: (x, y) => `<line x1="${x}" y1="${y - 4}" x2="${x + 18}" y2="${y - 4}" stroke="#222" stroke-width="2.5"/>` }
  ]
  let lx = L
  for (const item of legend) {
    out.push(item.draw(lx, 70), `<text x="${lx + 22}" y="70" fill="#333">${esc(item.label)}</text>`)
    lx += 22 + item.label.length * 7 + 26
  }

  // Panel 1: sends per hour.
  const top1 = 92
  const bottom1 = 372
  const max1 = Math.max(hourCap, ...wantedPerHour, ...results.flatMap((r) => r.perHour))
  const yMax1 = Math.ceil(max1 / 10) * 10
  const y1 = (v: number): number => bottom1 - (bottom1 - top1) * v / yMax1
  const dayX = week.dayStarts.map(xt)
  for (let d = 0; d < DAYS; d++) {
    if (d % 2 === 0) out.push(`<rect x="${n1(dayX[d])}" y="${top1}" width="${n1(dayX[d + 1] - dayX[d])}" height="${bottom1 - top1}" fill="#f4f6f8"/>`)
  }
  for (let v = 0; v <= yMax1; v += 10) {
    out.push(`<line x1="${L}" y1="${n1(y1(v))}" x2="${R}" y2="${n1(y1(v))}" stroke="#e3e3e3" stroke-width="1"/>`)
    out.push(`<text x="${L - 6}" y="${n1(y1(v) + 4)}" text-anchor="end" fill="#555">${v}</text>`)
  }
  // Wanted: bars.
  const bw = (R - L) / hours
  out.push('<g fill="#d9d9d9">')
  for (let h = 0; h < hours; h++) {
    if (wantedPerHour[h] > 0) out.push(`<rect x="${n1(xh(h) + 0.4)}" y="${n1(y1(wantedPerHour[h]))}" width="${n1(bw - 0.8)}" height="${n1(bottom1 - y1(wantedPerHour[h]))}"/>`)
  }
  out.push('</g>')
  // Sends: step lines, the established number under the new one.
  for (const r of [...results].reverse()) {
    let d = `M${n1(xh(0))},${n1(y1(r.perHour[0]))}`
    for (let h = 0; h < hours; h++) {
      d += `H${n1(xh(h + 1))}`
      if (h + 1 < hours) d += `V${n1(y1(r.perHour[h + 1]))}`
    }
    const area = `${d}V${bottom1}H${n1(xh(0))}Z`
    out.push(`<path d="${area}" fill="${r.scenario.color}" fill-opacity="0.13" stroke="none"/>`)
    out.push(`<path d="${d}" fill="none" stroke="${r.scenario.color}" stroke-width="${r.scenario.warmup ? 1.7 : 2.2}" stroke-linejoin="round"/>`)
  }
  out.push(`<line x1="${L}" y1="${n1(y1(hourCap))}" x2="${R}" y2="${n1(y1(hourCap))}" stroke="#c62828" stroke-width="1.5" stroke-dasharray="5 3"/>`)
  out.push(`<text x="${R - 4}" y="${n1(y1(hourCap) - 5)}" text-anchor="end" fill="#c62828" font-size="11">messages_per_hour = ${hourCap}</text>`)
  // Day separators, labels, hour ticks.
  for (let d = 0; d <= DAYS; d++) out.push(`<line x1="${n1(dayX[d])}" y1="${top1}" x2="${n1(dayX[d])}" y2="${bottom1 + 4}" stroke="#9aa4ae" stroke-width="1"/>`)
  for (let d = 0; d < DAYS; d++) {
    const cx = (dayX[d] + dayX[d + 1]) / 2
    out.push(`<text x="${n1(cx)}" y="${top1 + 15}" text-anchor="middle" font-weight="bold" fill="#333">${esc(week.labels[d])}</text>`)
    for (const h of [6, 12, 18]) {
      const at = DateTime.fromMillis(week.dayStarts[d], { zone: week.zone }).set({ hour: h }).toMillis()
      const x = xt(at)
      out.push(`<line x1="${n1(x)}" y1="${bottom1}" x2="${n1(x)}" y2="${bottom1 + 3}" stroke="#9aa4ae"/>`)
      out.push(`<text x="${n1(x)}" y="${bottom1 + 14}" text-anchor="middle" font-size="9.5" fill="#777">${h}h</text>`)
    }
  }
  out.push(`<line x1="${L}" y1="${bottom1}" x2="${R}" y2="${bottom1}" stroke="#555" stroke-width="1"/>`)
  out.push(`<text transform="translate(16 ${(top1 + bottom1) / 2}) rotate(-90)" text-anchor="middle" fill="#333">sends per hour</text>`)

  // Panel 2: sends per day against the effective daily limit.
  const top2 = 420
  const bottom2 = 600
  const dayWanted = results[0].days.map((d) => d.wanted)
  const limitOf = (d: DayStats): number => Math.min(...d.dailyLimits)
  const max2 = Math.max(...dayWanted, ...results.flatMap((r) => r.days.map(limitOf)))
  // Headroom above the tallest bar for its label and the week's note.
  const yMax2 = Math.floor(max2 / 50) * 50 + 100
  const y2 = (v: number): number => bottom2 - (bottom2 - top2) * v / yMax2
  out.push(`<text x="${L}" y="${top2 - 14}" font-size="13" font-weight="bold" fill="#222">Sends per day against the effective daily limit (and ${esc(String(results[0].limits.messages_per_week))} a week)</text>`)
  for (let d = 0; d < DAYS; d++) {
    if (d % 2 === 0) out.push(`<rect x="${n1(dayX[d])}" y="${top2}" width="${n1(dayX[d + 1] - dayX[d])}" height="${bottom2 - top2}" fill="#f4f6f8"/>`)
  }
  for (let v = 0; v <= yMax2; v += 50) {
    out.push(`<line x1="${L}" y1="${n1(y2(v))}" x2="${R}" y2="${n1(y2(v))}" stroke="#e3e3e3" stroke-width="1"/>`)
    out.push(`<text x="${L - 6}" y="${n1(y2(v) + 4)}" text-anchor="end" fill="#555">${v}</text>`)
  }
  const barW = 30
  const gap = 6
  for (let d = 0; d < DAYS; d++) {
    const cx = (dayX[d] + dayX[d + 1]) / 2
    const bars = [
      { value: dayWanted[d], color: '#d9d9d9', limit: null as number | null, text: '#666' },
      ...results.map((r) => ({ value: r.days[d].sent, color: r.scenario.color, limit: limitOf(r.days[d]), text: r.scenario.color }))
    ]
    const x0 = cx - (bars.length * barW + (bars.length - 1) * gap) / 2
    bars.forEach((b, i) => {
      const x = x0 + i * (barW + gap)
      out.push(`<rect x="${n1(x)}" y="${n1(y2(b.value))}" width="${barW}" height="${n1(bottom2 - y2(b.value))}" fill="${b.color}"${b.limit === null ? '' : ' fill-opacity="0.85"'}/>`)
      const labelY = b.limit !== null && Math.abs(y2(b.limit) - y2(b.value)) < 13 ? Math.min(y2(b.limit), y2(b.value)) - 4 : y2(b.value) - 4
      out.push(`<text x="${n1(x + barW / 2)}" y="${n1(labelY)}" text-anchor="middle" font-size="10" fill="${b.text}">${b.value}</text>`)
      if (b.limit !== null) {
        out.push(`<line x1="${n1(x - 3)}" y1="${n1(y2(b.limit))}" x2="${n1(x + barW + 3)}" y2="${n1(y2(b.limit))}" stroke="#222" stroke-width="2.5"/>`)
        if (Math.abs(y2(b.limit) - y2(b.value)) >= 13) out.push(`<text x="${n1(x + barW / 2)}" y="${n1(y2(b.limit) - 4)}" text-anchor="middle" font-size="10" fill="#222">${b.limit}</text>`)
      }
    })
  }
  for (const r of results) {
    if (r.weekClosed === null) continue
    const d = dayIndex(week, r.weekClosed.at)
    const x = (dayX[d] + dayX[d + 1]) / 2
    out.push(`<text x="${n1(x)}" y="${n1(y2(yMax2) + 15)}" text-anchor="middle" font-size="11" fill="${r.scenario.color}">${esc(`(${r.scenario.id}) week's ${r.limits.messages_per_week} used up ${r.weekClosed.label}`)}</text>`)
  }
  for (let d = 0; d <= DAYS; d++) out.push(`<line x1="${n1(dayX[d])}" y1="${top2}" x2="${n1(dayX[d])}" y2="${bottom2}" stroke="#9aa4ae" stroke-width="1"/>`)
  out.push(`<line x1="${L}" y1="${bottom2}" x2="${R}" y2="${bottom2}" stroke="#555" stroke-width="1"/>`)
  for (let d = 0; d < DAYS; d++) {
    out.push(`<text x="${n1((dayX[d] + dayX[d + 1]) / 2)}" y="${bottom2 + 16}" text-anchor="middle" fill="#333">${esc(week.labels[d])}</text>`)
  }
  out.push(`<text transform="translate(16 ${(top2 + bottom2) / 2}) rotate(-90)" text-anchor="middle" fill="#333">sends per day</text>`)
  out.push(`<text x="${R}" y="${H - 8}" text-anchor="end" font-size="10" fill="#888">bars: wanted (grey), (a) and (b); black: effective_limits.messages_per_day from status</text>`)
  out.push('</svg>')
  return out.join('\n') + '\n'
}

// ---- main -----------------------------------------------------------------------------------------------

function options (): { seed: number, out: string, timezone: string, start: string } {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string', default: '1' },
      out: { type: 'string', default: 'docs' },
      timezone: { type: 'string', default: 'Europe/Paris' },
      start: { type: 'string', default: '2026-03-02' }
    },
    strict: true,
    allowPositionals: false
  })
  if (!/^\d{1,10}$/.test(values.seed) || Number(values.seed) > 0xFFFFFFFF) throw new Error(`--seed must be a whole number from 0 to 4294967295, got ${JSON.stringify(values.seed)}`)
  if (!/^\d{4}-\d{2}-\d{2}$/.test(values.start)) throw new Error(`--start must be a date YYYY-MM-DD, got ${JSON.stringify(values.start)}`)
  return { seed: Number(values.seed), out: values.out, timezone: values.timezone, start: values.start }
}

async function main (): Promise<void> {
  const o = options()
  const week = weekOf(o.timezone, o.start)
  const wanted = traffic(week, o.seed)
  const results: RunResult[] = []
  for (const scenario of SCENARIOS) results.push(await run(scenario, week, wanted, o.seed))
  const extra = [o.timezone === 'Europe/Paris' ? '' : ` --timezone ${o.timezone}`, o.start === '2026-03-02' ? '' : ` --start ${o.start}`].join('')
  const command = `npm run build && node dist/scripts/simulate.js --seed ${o.seed}${extra}`
  mkdirSync(o.out, { recursive: true })
  writeFileSync(join(o.out, 'simulation.md'), report(results, week, o.seed, command))
  writeFileSync(join(o.out, 'simulation.svg'), svg(results, week, wanted, o.seed))
  for (const r of results) {
    process.stdout.write(`\n(${r.scenario.id}) ${r.scenario.title}\n\n${table(r, week, reasonColumns(results))}\n\n${summary(r, week)}\n${checksOf(r).join('\n')}\n`)
  }
  process.stdout.write(`\nwrote ${join(o.out, 'simulation.md')} and ${join(o.out, 'simulation.svg')}\n`)
  const failed = results.some((r) => r.violations.length > 0 || r.mismatches.length > 0)
  if (failed) {
    process.stderr.write('simulate: a cap was passed or a counter disagrees (see above)\n')
    process.exitCode = 1
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`simulate: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exitCode = 2
})
