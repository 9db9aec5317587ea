/**
 * A first measure of the decision pipeline over HTTP (bench/README.md, "The decision pipeline: a first measure"): the standalone
 * server on a SQLite file, a shop of 200 products with FAQ and objections, encryption and audit on, no AI,
 * random contacts out of 10 000 and a new gateway message id per request; `POST /api/v1/messages/incoming`
 * against `GET /health` of the same process, 50 connections, alternating rounds, medians. Not yet a row of
 * `npm run bench`; alone: `node dist/bench/incoming.js [--seconds 8] [--rounds 3] [--profile DIR]` (a CPU profile
 * of the server in DIR).
 */
import autocannon from 'autocannon'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const SERVER = fileURLToPath(new URL('../server.js', import.meta.url))
const KEY = 'bench-incoming-key-0123456789abcdef'
const PORT = 3077
const CONTACTS = 10_000
const BASE = `http://127.0.0.1:${PORT}`
const HEADERS = { 'x-api-key': KEY, 'content-type': 'application/json' }
/** A shop's messages: a greeting, a price, a purchase, an FAQ, an objection, and one nothing matches. */
const TEXTS = ['Bonjour', 'Combien coûte le produit12 ?', 'je prends le produit7', 'et la livraison ?', 'c est trop cher 3', 'merci']

function shop () {
  const products = Array.from({ length: 200 }, (_, i) => ({
    id: `p-${i}`,
    name: `Produit ${i}`,
    short_description: 'Une crème hydratante au beurre de karité.',
    price: String(1000 + i * 50),
    currency: 'XOF',
    keywords: [`produit${i}`, `gamme${i}`],
    objections: [{ triggers: [`trop cher ${i}`], answer: 'Un pot dure trois mois.' }],
    media: []
  }))
  return {
    business_name: 'Boutique',
    products,
    faq: [{ id: 'livraison', triggers: ['livraison'], answer: 'Livraison en 48 h.' }],
    objections: [{ triggers: ['pas confiance'], answer: 'Paiement à la livraison.' }]
  }
}

async function ready (): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`${BASE}/health`)).ok) return
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error('the server did not start')
}

let sent = 0
function round (incoming: boolean, seconds: number): Promise<{ rps: number, p99: number, non2xx: number }> {
  const requests: autocannon.Request[] = incoming
    ? [{
        method: 'POST',
        path: '/api/v1/messages/incoming',
        setupRequest: (req) => {
          sent++
          return { ...req, body: JSON.stringify({ contact: `+2217${String(sent % CONTACTS).padStart(8, '0')}`, message_id: `bench-${sent}`, text: TEXTS[sent % TEXTS.length] }) }
        }
      }]
    : [{ method: 'GET', path: '/health' }]
  return new Promise((resolve, reject) => {
    autocannon({ url: BASE, connections: 50, duration: seconds, headers: HEADERS, requests }, (err, r) => {
      if (err !== null && err !== undefined) reject(err)
      else resolve({ rps: r.requests.average, p99: r.latency.p99, non2xx: r.non2xx })
    })
  })
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

export async function incomingBench (seconds = 8, rounds = 3, profileDir?: string): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'sellify-incoming-'))
  const server = spawn(process.execPath, [...(profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]), SERVER], {
    env: {
      ...process.env,
      PORT: String(PORT),
      SELLIFY_DB_PATH: join(dir, 'bench.db'),
      SELLIFY_API_KEY: KEY,
      LOG_LEVEL: 'warn',
      SELLIFY_AI_PROVIDER: 'none',
      SELLIFY_RATE_LIMIT_MAX: '100000000',
      SELLIFY_MESSAGES_PER_DAY: '100000000',
      SELLIFY_MESSAGES_PER_WEEK: '100000000',
      SELLIFY_MESSAGES_PER_HOUR: '100000000',
      SELLIFY_WARMUP: 'off'
    },
    stdio: ['ignore', 'ignore', 'inherit']
  })
  try {
    await ready()
    await fetch(`${BASE}/api/v1/accounts/default`, { method: 'PATCH', headers: { ...HEADERS, 'content-type': 'application/merge-patch+json' }, body: JSON.stringify({ active_hours: 'always' }) })
    const put = await fetch(`${BASE}/api/v1/knowledge`, { method: 'PUT', headers: HEADERS, body: JSON.stringify(shop()) })
    if (!put.ok) throw new Error(`the knowledge base was refused: ${put.status}`)
    const health: Array<{ rps: number, p99: number, non2xx: number }> = []
    const incoming: typeof health = []
    for (let i = 0; i < rounds; i++) {
      for (const which of i % 2 === 0 ? ['health', 'incoming'] : ['incoming', 'health']) {
        ;(which === 'health' ? health : incoming).push(await round(which === 'incoming', seconds))
      }
    }
    const h = median(health.map((r) => r.rps))
    const d = median(incoming.map((r) => r.rps))
    const failed = incoming.reduce((n, r) => n + r.non2xx, 0)
    return [
      `POST /api/v1/messages/incoming, SQLite, 200 products, ${CONTACTS} contacts, 50 connections, ${rounds} rounds of ${seconds} s:`,
      `  ${d.toFixed(0)} req/s (p99 ${median(incoming.map((r) => r.p99))} ms) vs GET /health ${h.toFixed(0)} req/s (p99 ${median(health.map((r) => r.p99))} ms): ` +
        `${(d / h).toFixed(2)} x health (goal >= 0.30)${failed > 0 ? `; ${failed} answers were not 2xx` : ''}`
    ]
  } finally {
    server.kill('SIGTERM')
    await new Promise((resolve) => server.once('exit', resolve))
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const arg = (name: string, fallback: number): number => {
    const i = process.argv.indexOf(name)
    return i === -1 ? fallback : Number(process.argv[i + 1])
  }
  const profile = process.argv.indexOf('--profile')
  for (const line of await incomingBench(arg('--seconds', 8), arg('--rounds', 3), profile === -1 ? undefined : process.argv[profile + 1])) console.log(line)
}
