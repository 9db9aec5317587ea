/**
 * A slow AI must not slow anything else: an in-process Sellify app on a real port, its gateway pointed at the
 * test double (lib/ai/fake-server.ts) answering every call in 300 ms, 200 conversations each waiting for the
 * AI again and again, and GET /health timed meanwhile (and before, with no AI load, for comparison). The double
 * runs in the same process, so its own work weighs on the figure too: the figure is an upper bound.
 * Printed by `npm run bench`; alone: `node dist/bench/ai.js [--quick]`.
 */
import Fastify from 'fastify'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { pathToFileURL } from 'node:url'
import sellify from '../app.js'
import { startFakeAi } from '../lib/ai/fake-server.js'
import { DEFAULT_MAX_CONCURRENT } from '../lib/ai/gateway.js'
import type { ChatRequest } from '../lib/ai/types.js'
import { percentile } from './stats.js'

export const HEALTH_P99_TARGET_MS = 20
const CONVERSATIONS = 200
const REPLY_MS = 300
/** Clients polling /health, each one request at a time. */
const HEALTH_CLIENTS = 4
const LOOP_RESOLUTION_MS = 10

const REQUEST: ChatRequest = {
  system: 'Vous écrivez les messages WhatsApp de Boutique Awa à ses clients.',
  messages: [{ role: 'user', content: 'Conversation :\nClient : Bonjour, vous avez de la crème au karité ?' }],
  temperature: 0.3,
  max_tokens: 500
}

export interface AiFigures {
  conversations: number
  reply_ms: number
  max_concurrent: number
  seconds: number
  health_requests: number
  health_median_ms: number
  health_p99_ms: number
  health_idle_p99_ms: number
  /** How late a 10 ms timer fired, p99: the longest stretches the event loop was held. */
  event_loop_lag_p99_ms: number
  ai_calls: number
  ai_results: Record<string, number>
  ai_median_ms: number
  ai_p99_ms: number
}

/** GET /health from `clients` loops until `until()` says stop; the latency of each answer, in ms. */
async function pollHealth (url: string, clients: number, until: () => boolean): Promise<number[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients })
  const times: number[] = []
  const once = async (): Promise<void> => {
    const started = performance.now()
    await new Promise<void>((resolve, reject) => {
      http.get(`${url}/health`, { agent }, (res) => {
        res.resume()
        res.on('end', () => {
          if (res.statusCode !== 200) reject(new Error(`GET /health answered ${String(res.statusCode)}`))
          else resolve()
        })
      }).on('error', reject)
    })
    times.push(performance.now() - started)
  }
  await Promise.all(Array.from({ length: clients }, async () => { while (!until()) await once() }))
  agent.destroy()
  return times.sort((a, b) => a - b)
}

export async function aiBench (quick: boolean): Promise<AiFigures> {
  const seconds = quick ? 3 : 10
  const fake = await startFakeAi({ record: false, script: [{ kind: 'text', text: 'Bonjour ! Que recherchez-vous aujourd\'hui ?', delay_ms: REPLY_MS }] })
  const app = Fastify({ logger: false })
  try {
    await app.register(sellify, {
      env: { SELLIFY_AI_PROVIDER: 'openai', SELLIFY_AI_BASE_URL: `${fake.url}/v1`, SELLIFY_AI_MODEL: 'fake', SELLIFY_AI_TIMEOUT_MS: '8000' },
      store: { sqlitePath: ':memory:' },
      scheduler: false,
      logLevel: 'silent'
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    const { port } = app.server.address() as AddressInfo
    const url = `http://127.0.0.1:${port}`

    // Warm-up, then /health with no AI load.
    let stopAt = performance.now() + 1000
    await pollHealth(url, HEALTH_CLIENTS, () => performance.now() > stopAt)
    stopAt = performance.now() + (quick ? 1000 : 3000)
    const idle = await pollHealth(url, HEALTH_CLIENTS, () => performance.now() > stopAt)

    const results: Record<string, number> = {}
    const aiTimes: number[] = []
    const load = { stopping: false }
    const conversations = Array.from({ length: CONVERSATIONS }, async () => {
      while (!load.stopping) {
        const r = await app.sellify.ai.complete(REQUEST)
        const key = r.ok ? 'ok' : r.reason
        results[key] = (results[key] ?? 0) + 1
        if (r.attempts > 0) aiTimes.push(r.duration_ms)
      }
    })
    // Let the queue fill before timing: the figure is for a gateway that is already saturated.
    while (fake.inFlight < DEFAULT_MAX_CONCURRENT) await new Promise((resolve) => setTimeout(resolve, 5))
    const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS })
    loop.enable()
    stopAt = performance.now() + seconds * 1000
    const loaded = await pollHealth(url, HEALTH_CLIENTS, () => performance.now() > stopAt)
    loop.disable()
    load.stopping = true
    await Promise.all(conversations)
    aiTimes.sort((a, b) => a - b)

    return {
      conversations: CONVERSATIONS,
      reply_ms: REPLY_MS,
      max_concurrent: DEFAULT_MAX_CONCURRENT,
      seconds,
      health_requests: loaded.length,
      health_median_ms: percentile(loaded, 0.5),
      health_p99_ms: percentile(loaded, 0.99),
      health_idle_p99_ms: percentile(idle, 0.99),
      // The histogram holds each timer's whole interval: its resolution is taken off.
      event_loop_lag_p99_ms: Math.max(0, loop.percentile(99) / 1e6 - LOOP_RESOLUTION_MS),
      ai_calls: Object.values(results).reduce((a, b) => a + b, 0),
      ai_results: results,
      ai_median_ms: percentile(aiTimes, 0.5),
      ai_p99_ms: percentile(aiTimes, 0.99)
    }
  } finally {
    await app.close()
    await fake.close()
  }
}

export function aiLines (f: AiFigures): string[] {
  const verdict = f.health_p99_ms <= HEALTH_P99_TARGET_MS ? 'met' : 'MISSED'
  const results = Object.entries(f.ai_results).map(([k, v]) => `${k} ${v}`).join(', ')
  return [
    `AI gateway: ${f.conversations} conversations waiting for an AI that answers in ${f.reply_ms} ms (${f.max_concurrent} calls in flight at most), ${f.seconds} s: ` +
      `${f.ai_calls} calls (${results}), call median ${f.ai_median_ms.toFixed(0)} ms, p99 ${f.ai_p99_ms.toFixed(0)} ms`,
    `GET /health meanwhile: ${f.health_requests} requests, median ${f.health_median_ms.toFixed(2)} ms, p99 ${f.health_p99_ms.toFixed(2)} ms ` +
      `(with no AI load: p99 ${f.health_idle_p99_ms.toFixed(2)} ms; event-loop lag p99 ${f.event_loop_lag_p99_ms.toFixed(1)} ms)`,
    `GET /health p99 <= ${HEALTH_P99_TARGET_MS} ms while the AI is slow: ${verdict} (${f.health_p99_ms.toFixed(2)} ms)`
  ]
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(aiLines(await aiBench(process.argv.includes('--quick'))).join('\n') + '\n')
}
