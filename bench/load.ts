/**
 * Load generation: autocannon for throughput (closed loop, 50 connections) and a paced open-loop
 * generator for latency at a steady offered rate. Every consume answer is booked in a Ledger, per
 * account, so the bench can compare what it was granted with what the store counted.
 */
import autocannon from 'autocannon'
import http from 'node:http'
import { performance } from 'node:perf_hooks'
import { TIGHT_PREFIX } from './constants.js'
import { percentile } from './stats.js'

/** What a run sends and how it books the answers: the consumes' Ledger, or the decisions of bench/incoming.ts. */
export interface Load {
  /** The next request's body, and the tag its answer is booked under. */
  next: () => { body: string, tag: number }
  answer: (status: number, body: string, tag: number) => void
  /** Requests that got no answer at all (connection error, timeout). */
  lost: number
}

/** The accounts of one target and what the bench saw them granted. */
export class Ledger implements Load {
  readonly ids: string[]
  readonly bodies: string[]
  /** messages_per_day of each account. */
  readonly limits: number[]
  readonly granted: Uint32Array
  denied = 0
  /** Answers that were neither a 200 allowed:true nor a 200 allowed:false, by status. */
  readonly other = new Map<number, number>()
  /** Requests that got no answer at all (connection error, timeout): the store may or may not have counted them. */
  lost = 0
  private readonly tight: number

  constructor (accounts: number, tight: number, tightLimit: number, looseLimit: number) {
    this.tight = tight
    this.ids = []
    this.limits = []
    for (let i = 0; i < accounts; i++) {
      this.ids.push(i < tight ? `${TIGHT_PREFIX}${i}` : `acct-${i}`)
      this.limits.push(i < tight ? tightLimit : looseLimit)
    }
    this.bodies = this.ids.map((id) => JSON.stringify({ message_type: 'text', account: id }))
    this.granted = new Uint32Array(accounts)
  }

  /** One in ten consumes goes to a tight account, so that they hit their limit under contention; the rest spread evenly. */
  pick (): number {
    const n = this.ids.length
    if (this.tight > 0 && Math.random() < 0.1) return Math.floor(Math.random() * this.tight)
    return this.tight + Math.floor(Math.random() * (n - this.tight))
  }

  next (): { body: string, tag: number } {
    const i = this.pick()
    return { body: this.bodies[i], tag: i }
  }

  answer (status: number, body: string, i: number): void {
    if (status === 200 && body.includes('"allowed":true')) this.granted[i]++
    else if (status === 200 && body.includes('"allowed":false')) this.denied++
    else this.other.set(status, (this.other.get(status) ?? 0) + 1)
  }

  get totalGranted (): number {
    let sum = 0
    for (const g of this.granted) sum += g
    return sum
  }

  get totalOther (): number {
    let sum = 0
    for (const n of this.other.values()) sum += n
    return sum
  }
}

export interface Throughput {
  rps: number
  p50: number
  p99: number
  requests: number
  errors: number
}

/** autocannon's sampling tick (default 1 s), which is also when it notices that a run is over. */
const SAMPLE_MS = 100

/** autocannon spreads the connections over several URLs; its type declarations only know one. */
const urls = (list: string[]): string => list as unknown as string

/**
 * autocannon notices the end of a run on its sampling tick only, so its `duration` is rounded up;
 * with a fixed amount, the time of the last answer is the end that counts.
 */
function summarize (r: autocannon.Result, seconds = r.duration): Throughput {
  return {
    rps: seconds > 0 ? r.requests.total / seconds : 0,
    p50: r.latency.p50,
    p99: r.latency.p99,
    requests: r.requests.total,
    errors: r.errors + r.timeouts
  }
}

/** GET /health on every URL for `durationS` seconds. */
export async function healthRun (bases: string[], connections: number, durationS: number): Promise<Throughput> {
  const r = await autocannon({ url: urls(bases.map((b) => `${b}/health`)), connections, duration: durationS, sampleInt: SAMPLE_MS })
  return summarize(r)
}

interface Context { i?: number }

/**
 * `amount` POSTs of the load's bodies spread over every URL, as fast as they answer. A fixed amount rather
 * than a duration: autocannon then waits for every answer, so no granted consume goes unbooked.
 */
export async function postRun (bases: string[], path: string, headers: Record<string, string>, load: Load, connections: number, amount: number): Promise<Throughput> {
  const start = performance.now()
  let last = start
  const r = await autocannon({
    url: urls(bases.map((b) => `${b}${path}`)),
    connections,
    amount,
    sampleInt: SAMPLE_MS,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    requests: [{
      setupRequest: (req, context) => {
        const { body, tag } = load.next()
        ;(context as Context).i = tag
        req.body = body
        return req
      },
      onResponse: (status, body, context) => {
        last = performance.now()
        const i = (context as Context).i
        if (i !== undefined) load.answer(status, body, i)
      }
    }]
  })
  // Connection errors and timeouts left requests unanswered; the store may have counted them.
  load.lost += r.errors + r.timeouts
  return summarize(r, (last - start) / 1000)
}

export interface Paced {
  p50: number
  p99: number
  /** Requests sent and answered. */
  answered: number
  errors: number
  /** The rate actually offered (requests sent over the time it took to send them). */
  offered: number
}

/**
 * POSTs of the load's bodies (or, without a load, GETs of `path`) at a steady `rate` per second for `durationS`
 * seconds, round-robin over the URLs, each request sent on schedule whether earlier ones were
 * answered or not (open loop). Latency is from sending the request to the last byte of the answer.
 *
 * Not autocannon's `overallRate`: that gives each connection a per-second budget it spends at once,
 * so every second starts with a burst at full speed and latency is that of saturation.
 */
export async function pacedRun (bases: string[], path: string, headers: Record<string, string>, load: Load | null, rate: number, durationS: number, sockets = 50): Promise<Paced> {
  const targets = bases.map((b) => {
    const u = new URL(b)
    return { hostname: u.hostname, port: Number(u.port), agent: new http.Agent({ keepAlive: true, maxSockets: Math.max(1, Math.ceil(sockets / bases.length)) }) }
  })
  const total = Math.max(1, Math.round(rate * durationS))
  const latencies = new Float64Array(total).fill(Number.NaN)
  let sent = 0
  let settled = 0
  let errors = 0
  let sendingEnded = 0

  const result = await new Promise<Paced>((resolve) => {
    const finish = (): void => {
      settled++
      if (settled < total) return
      for (const t of targets) t.agent.destroy()
      const ok = latencies.filter((x) => !Number.isNaN(x)).sort()
      resolve({ p50: percentile(ok, 0.5), p99: percentile(ok, 0.99), answered: ok.length, errors, offered: total / ((sendingEnded - start) / 1000) })
    }

    const send = (n: number): void => {
      const target = targets[n % targets.length]
      const { body, tag } = load === null ? { body: undefined, tag: -1 } : load.next()
      const t0 = performance.now()
      let done = false
      const fail = (): void => {
        if (done) return
        done = true
        errors++
        if (load !== null) load.lost++
        finish()
      }
      const req = http.request({
        hostname: target.hostname,
        port: target.port,
        path,
        method: body === undefined ? 'GET' : 'POST',
        agent: target.agent,
        headers: body === undefined ? headers : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers }
      }, (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => { text += chunk })
        res.on('end', () => {
          if (done) return
          done = true
          latencies[n] = performance.now() - t0
          load?.answer(res.statusCode ?? 0, text, tag)
          finish()
        })
        res.on('error', fail)
      })
      req.setTimeout(10_000, () => req.destroy(new Error('timeout')))
      req.on('error', fail)
      req.end(body)
    }

    const start = performance.now()
    const tick = (): void => {
      const due = Math.min(total, Math.floor((performance.now() - start) * rate / 1000) + 1)
      while (sent < due) send(sent++)
      if (sent < total) setTimeout(tick, 1)
      else sendingEnded = performance.now()
    }
    tick()
  })
  return result
}
