/**
 * The decision pipeline's rows of `npm run bench` (bench/README.md, "The decision pipeline"): the standalone
 * server (encryption and audit on, no AI) with a 200-product shop on SQLite and on PostgreSQL, `POST
 * /api/v1/messages/incoming` from random contacts against `GET /health` of the same process, full speed with
 * 50 connections and paced at a steady 500 decisions/s beside `GET /health` paced alike; and `--memory`: RSS
 * after 1 000 000 decisions over 10 000 contacts. After the servers stopped, the decisions the store kept must
 * equal the decisions answered.
 */
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Where } from './accounts.js'
import { CONTACTS, Decisions, INCOMING_PATH, setUpShop, storedDecisions } from './incoming.js'
import { healthRun, pacedRun, postRun, type Paced, type Throughput } from './load.js'
import { fixed, markdownTable, median } from './stats.js'
import { rssMb, SELLIFY_SERVER, startProcess, type ServerProcess } from './servers.js'
import { API_KEY, dropSchema, PG_URL, sellifyEnv } from './targets.js'

export const PIPELINE_PACED_RATE = 500
const CONNECTIONS = 50
const HEADERS = { 'x-api-key': API_KEY }

export interface PipelineOptions {
  quick: boolean
  rounds: number
  duration: number
  /** PostgreSQL answers: its row runs. */
  postgres: boolean
  sqlite: boolean
  nodeArgs: string[]
  progress: (line: string) => void
}

interface Sample {
  health: Throughput
  incoming: Throughput
  paced: Paced
  pacedHealth: Paced
  rssMb: number
}

interface Target {
  where: Where
  server?: ServerProcess
  load: Decisions
  samples: Sample[]
  estimate: number
  stored?: number
}

export interface PipelineRow {
  store: string
  health_rps: number
  incoming_rps: number
  ratio: number
  p50_ms: number
  p99_ms: number
  paced_p50_ms: number
  paced_p99_ms: number
  paced_health_p99_ms: number
  /** Paced p99 of the decisions ÷ that of GET /health paced alike (goal ≤ 2). */
  paced_ratio: number
  rss_mb: number
  decided: number
  stored: number
  other: number
  lost: number
  actions: Record<string, number>
}

async function start (t: Target, nodeArgs: string[]): Promise<ServerProcess> {
  const server = await startProcess(`Sellify pipeline (${t.where.store})`, SELLIFY_SERVER, sellifyEnv(t.where), nodeArgs)
  t.server = server
  await setUpShop(server.url, API_KEY)
  return server
}

async function measure (t: Target, server: ServerProcess, o: PipelineOptions): Promise<Sample> {
  const bases = [server.url]
  const health = await healthRun(bases, CONNECTIONS, o.duration)
  const amount = Math.max(CONNECTIONS * (o.quick ? 4 : 20), Math.round(t.estimate * o.duration))
  const incoming = await postRun(bases, INCOMING_PATH, HEADERS, t.load, CONNECTIONS, amount)
  t.estimate = incoming.rps
  const pacedS = o.quick ? o.duration / 2 : o.duration
  const paced = await pacedRun(bases, INCOMING_PATH, HEADERS, t.load, PIPELINE_PACED_RATE, pacedS)
  const rss = rssMb(server.pid)
  const pacedHealth = await pacedRun(bases, '/health', {}, null, PIPELINE_PACED_RATE, pacedS)
  return { health, incoming, paced, pacedHealth, rssMb: rss }
}

function rowOf (t: Target): PipelineRow {
  const s = t.samples
  return {
    store: t.where.store === 'sqlite' ? 'SQLite' : 'PostgreSQL',
    health_rps: median(s.map((x) => x.health.rps)),
    incoming_rps: median(s.map((x) => x.incoming.rps)),
    ratio: median(s.map((x) => x.incoming.rps / x.health.rps)),
    p50_ms: median(s.map((x) => x.incoming.p50)),
    p99_ms: median(s.map((x) => x.incoming.p99)),
    paced_p50_ms: median(s.map((x) => x.paced.p50)),
    paced_p99_ms: median(s.map((x) => x.paced.p99)),
    paced_health_p99_ms: median(s.map((x) => x.pacedHealth.p99)),
    paced_ratio: median(s.map((x) => x.paced.p99 / x.pacedHealth.p99)),
    rss_mb: median(s.map((x) => x.rssMb)),
    decided: t.load.decided,
    stored: t.stored ?? Number.NaN,
    other: t.load.otherTotal,
    lost: t.load.lost,
    actions: Object.fromEntries([...t.load.actions].sort())
  }
}

/** The decisions' rows: every target started, warmed up, then measured in alternating rounds; medians. */
export async function pipelineBench (o: PipelineOptions, tmp: string): Promise<PipelineRow[]> {
  const suffix = randomBytes(4).toString('hex')
  const targets: Target[] = []
  const add = (where: Where): void => { targets.push({ where, load: new Decisions(`bench-${where.store}-${suffix}`), samples: [], estimate: 0 }) }
  if (o.sqlite) add({ store: 'sqlite', sqlitePath: join(tmp, 'pipeline.db') })
  if (o.postgres) add({ store: 'postgres', databaseUrl: PG_URL, schema: `sellify_bench_${suffix}_pipeline` })
  try {
    const servers = await Promise.all(targets.map(async (t) => await start(t, o.nodeArgs)))
    for (const [i, t] of targets.entries()) {
      // Warm-up: JIT, pools, and a first message from most contacts (each creates the contact's data key).
      const warm = await postRun([servers[i].url], INCOMING_PATH, HEADERS, t.load, CONNECTIONS, o.quick ? 200 : CONTACTS)
      t.estimate = warm.rps
    }
    o.progress('pipeline servers warmed up')
    for (let round = 0; round < o.rounds; round++) {
      const order = round % 2 === 0 ? targets.entries() : [...targets.entries()].reverse()
      for (const [i, t] of order) {
        const last = await measure(t, servers[i], o)
        t.samples.push(last)
        o.progress(`round ${round + 1}/${o.rounds}: pipeline ${t.where.store}: health ${last.health.rps.toFixed(0)}, incoming ${last.incoming.rps.toFixed(0)} req/s, ` +
          `p99 @${PIPELINE_PACED_RATE}/s ${last.paced.p99.toFixed(2)} ms (health ${last.pacedHealth.p99.toFixed(2)} ms)`)
      }
    }
    await Promise.all(targets.map(async (t) => { await t.server?.stop() }))
    for (const t of targets) t.stored = await storedDecisions(t.where)
    return targets.map(rowOf)
  } finally {
    await Promise.all(targets.map(async (t) => { await t.server?.stop() }))
    for (const t of targets) await dropSchema(t.where)
  }
}

export function pipelineTable (rows: PipelineRow[]): string {
  const header = ['store', 'GET /health req/s', 'incoming req/s', '× health', 'p50 ms', 'p99 ms', `p99 ms @${PIPELINE_PACED_RATE}/s`,
    `health p99 ms @${PIPELINE_PACED_RATE}/s`, 'p99 ÷ health p99', 'RSS MB', 'decided', 'stored', 'actions']
  const lines = rows.map((r) => [
    r.store, fixed(r.health_rps, 0), fixed(r.incoming_rps, 0), fixed(r.ratio, 2), fixed(r.p50_ms, 1), fixed(r.p99_ms, 1),
    fixed(r.paced_p99_ms, 2), fixed(r.paced_health_p99_ms, 2), fixed(r.paced_ratio, 2), fixed(r.rss_mb, 0), String(r.decided),
    r.stored === r.decided ? '= decided' : `${fixed(r.stored, 0)} (≠ decided)`,
    [...Object.entries(r.actions).map(([a, n]) => `${a} ${n}`), ...(r.other > 0 ? [`${r.other} not 200`] : []), ...(r.lost > 0 ? [`${r.lost} unanswered`] : [])].join(', ')
  ])
  return markdownTable(header, lines, new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]))
}

export function pipelineGoals (rows: PipelineRow[]): string[] {
  const verdict = (ok: boolean): string => ok ? 'met' : 'MISSED'
  const out: string[] = []
  const sqlite = rows.find((r) => r.store === 'SQLite')
  const postgres = rows.find((r) => r.store === 'PostgreSQL')
  if (sqlite !== undefined) {
    out.push(`POST /messages/incoming on SQLite ≥ 0.3 × health: ${verdict(sqlite.ratio >= 0.3)} (${sqlite.ratio.toFixed(2)})`)
    out.push(`SQLite p99 at ${PIPELINE_PACED_RATE} decisions/s ≤ 2 × health's paced alike: ${verdict(sqlite.paced_ratio <= 2)} ` +
      `(${sqlite.paced_p99_ms.toFixed(2)} ms vs ${sqlite.paced_health_p99_ms.toFixed(2)} ms, ${sqlite.paced_ratio.toFixed(2)} ×; ≤ 10 ms: ${verdict(sqlite.paced_p99_ms <= 10)})`)
  }
  if (postgres !== undefined) {
    out.push(`POST /messages/incoming on PostgreSQL ≥ 0.15 × health: ${verdict(postgres.ratio >= 0.15)} (${postgres.ratio.toFixed(2)}; ` +
      `p99 at ${PIPELINE_PACED_RATE}/s ${postgres.paced_p99_ms.toFixed(2)} ms vs health ${postgres.paced_health_p99_ms.toFixed(2)} ms)`)
  }
  for (const r of rows) {
    out.push(`${r.store}: every answered decision stored, none more: ${verdict(r.stored === r.decided && r.other === 0 && r.lost === 0)} (${r.decided} decided, ${r.stored} stored)`)
  }
  return out
}

/** `--memory --only pipeline`: RSS before and after `decisions` decisions over 10 000 contacts. */
export async function pipelineMemory (store: 'sqlite' | 'postgres', decisions: number, tmp: string, nodeArgs: string[], json?: string): Promise<boolean> {
  const suffix = randomBytes(4).toString('hex')
  const where: Where = store === 'sqlite'
    ? { store, sqlitePath: join(tmp, 'pipeline-memory.db') }
    : { store, databaseUrl: PG_URL, schema: `sellify_bench_mem_${suffix}_pipeline` }
  const t: Target = { where, load: new Decisions(`bench-mem-${suffix}`), samples: [], estimate: 0 }
  try {
    const server = await start(t, nodeArgs)
    const before = rssMb(server.pid)
    const run = await postRun([server.url], INCOMING_PATH, HEADERS, t.load, CONNECTIONS, decisions)
    const after = rssMb(server.pid)
    await server.stop()
    t.stored = await storedDecisions(where)
    const ok = t.stored === t.load.decided && t.load.otherTotal === 0 && t.load.lost === 0
    process.stdout.write([
      '| store | decisions | contacts | incoming req/s | RSS MB before | RSS MB after | stored |',
      '|-------|----------:|---------:|---------------:|--------------:|-------------:|--------|',
      `| ${store} | ${t.load.decided} | ${CONTACTS} | ${run.rps.toFixed(0)} | ${before.toFixed(0)} | ${after.toFixed(0)} | ${ok ? '= decided' : `${t.stored} (${t.load.otherTotal} not 200, ${t.load.lost} unanswered)`} |`,
      '',
      `resident memory ≤ 250 MB after ${t.load.decided} decisions: ${after <= 250 ? 'met' : 'MISSED'} (${after.toFixed(0)} MB)`,
      ''
    ].join('\n'))
    if (json !== undefined) writeFileSync(json, JSON.stringify({ mode: 'memory', pipeline: true, store, decisions: t.load.decided, rps: run.rps, rss_before_mb: before, rss_after_mb: after, stored: t.stored }, null, 2))
    return ok
  } finally {
    await t.server?.stop()
    await dropSchema(where)
  }
}
