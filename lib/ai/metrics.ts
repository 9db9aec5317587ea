import { Counter, Histogram, type Registry } from 'prom-client'
import type { AiGateway } from './gateway.js'

/** `sellify_ai_requests_total{provider,result}` (result: `ok` or the failure) and the duration of the calls that reached the provider. */
export function registerAiMetrics (register: Registry, gateway: Pick<AiGateway, 'observe'>): void {
  const registers = [register]
  const requests = new Counter({ name: 'sellify_ai_requests_total', help: 'AI gateway calls by provider and result (ok, or why no text came back)', labelNames: ['provider', 'result'], registers })
  const duration = new Histogram({
    name: 'sellify_ai_duration_seconds',
    help: 'Duration of the AI calls that reached the provider, waiting, attempts and backoff included',
    labelNames: ['provider'],
    // Up to the longest deadline a setup would choose; the default SELLIFY_AI_TIMEOUT_MS is 8 s.
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 30],
    registers
  })
  gateway.observe(({ provider, result }) => {
    requests.inc({ provider, result: result.ok ? 'ok' : result.reason })
    if (result.attempts > 0) duration.observe({ provider }, result.duration_ms / 1000)
  })
}
