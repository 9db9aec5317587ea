/**
 * `npm run bench`: Sellify's consume against GET /health of the same process and against the peer
 * (rate-limiter-flexible on the same store), on SQLite, PostgreSQL with one instance and with two; on SQLite
 * also Sellify with an audit record committed in each consume's transaction (bench/audited-server.ts).
 * Then the decision pipeline (bench/pipeline.ts): POST /api/v1/messages/incoming on SQLite and PostgreSQL.
 * Prints a table of medians over the rounds for each, then the in-process figures of the matcher, of
 * validation, of the AI gateway under a slow AI, of encryption and of the audit trail's write; see
 * bench/README.md.
 *
 *   node dist/bench/run.js [--quick] [--rounds N] [--duration S] [--stores sqlite,postgres]
 *                          [--only quota|pipeline] [--json FILE] [--profile DIR]
 *   node dist/bench/run.js --memory [--consumes N] [--stores sqlite|postgres]
 *   node dist/bench/run.js --memory --only pipeline [--decisions N]
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { seedSellify, verify, type StoreKind, type Verdict, type Where } from './accounts.js'
import { LOOSE_LIMIT, TIGHT_LIMIT } from './constants.js'
import { healthRun, Ledger, pacedRun, postRun, type Paced, type Throughput } from './load.js'
import { AUDIT_RATIO_TARGET, cryptoBench, cryptoLines } from './crypto.js'
import { matchBench, matchLines } from './match.js'
import { validateBench, validateLines } from './validate.js'
import { aiBench, aiLines } from './ai.js'
import { fixed, markdownTable, median } from './stats.js'
import { PIPELINE_PACED_RATE, pipelineBench, pipelineGoals, pipelineMemory, pipelineTable } from './pipeline.js'
import { API_KEY, dropSchema, PG_URL, pgExec, postgresReachable, sellifyEnv } from './targets.js'
import { AUDITED_SERVER, killAll, PEER_SERVER, rssMb, SELLIFY_SERVER, startProcess, type ServerProcess } from './servers.js'

const ACCOUNTS = 10_000
/** Accounts with the tight limit: fewer in the quick mode, so that its few thousand consumes still hit it. */
const tightAccounts = (o: Options): number => o.quick ? 10 : 100
const CONNECTIONS = 50
const PACED_RATE = 2000

interface Options {
  quick: boolean
  rounds: number
  duration: number
  stores: StoreKind[]
  memory: boolean
  consumes: number
  decisions: number
  /** Only the quota's rows (consumes) or only the decision pipeline's; both by default. */
  only?: 'quota' | 'pipeline'
  json?: string
  profile?: string
  verbose: boolean
}

const benchStart = Date.now()
let verbose = false
/** Progress on stderr (stdout is the table): always for full runs, with --verbose for quick ones. */
function progress (line: string): void {
  if (verbose) process.stderr.write(`[${((Date.now() - benchStart) / 1000).toFixed(1)} s] ${line}\n`)
}

function parseArgs (argv: string[]): Options {
  const o: Options = { quick: false, rounds: 3, duration: 5, stores: ['sqlite', 'postgres'], memory: false, consumes: 1_000_000, decisions: 1_000_000, verbose: false }
  let rounds: number | undefined
  let duration: number | undefined
  const value = (i: number, flag: string): string => {
    const v = argv[i + 1]
    if (v === undefined || v.startsWith('--')) throw new Error(`${flag} needs a value`)
    return v
  }
  const positive = (v: string, flag: string): number => {
    const n = Number(v)
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} must be a positive number, got ${JSON.stringify(v)}`)
    return n
  }
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]
    switch (flag) {
      case '--quick': o.quick = true; break
      case '--memory': o.memory = true; break
      case '--verbose': o.verbose = true; break
      case '--rounds': rounds = Math.round(positive(value(i++, flag), flag)); break
      case '--duration': duration = positive(value(i++, flag), flag); break
      case '--consumes': o.consumes = Math.round(positive(value(i++, flag), flag)); break
      case '--decisions': o.decisions = Math.round(positive(value(i++, flag), flag)); break
      case '--only': {
        const only = value(i++, flag)
        if (only !== 'quota' && only !== 'pipeline') throw new Error(`--only takes quota or pipeline, got ${JSON.stringify(only)}`)
        o.only = only
        break
      }
      case '--json': o.json = value(i++, flag); break
      case '--profile': o.profile = value(i++, flag); break
      case '--stores': {
        const stores = value(i++, flag).split(',')
        for (const s of stores) if (s !== 'sqlite' && s !== 'postgres') throw new Error(`--stores takes sqlite and/or postgres, got ${JSON.stringify(s)}`)
        o.stores = stores as StoreKind[]
        break
      }
      default: throw new Error(`unknown argument ${JSON.stringify(flag)}`)
    }
  }
  if (!o.quick) o.verbose = true
  o.rounds = rounds ?? (o.quick ? 1 : 3)
  o.duration = duration ?? (o.quick ? 0.3 : 5)
  return o
}

interface Sample {
  health: Throughput
  consume: Throughput
  paced: Paced
  /** GET /health paced like the consumes: what the machine and the HTTP stack alone give at that rate. */
  pacedHealth: Paced
  rssMb: number
}

interface Target {
  server: 'Sellify' | 'Sellify + audit' | 'rate-limiter-flexible'
  kind: 'sellify' | 'peer'
  /** The server's entry point (SELLIFY_SERVER, AUDITED_SERVER or PEER_SERVER). */
  script: string
  where: Where
  instances: number
  path: string
  headers: Record<string, string>
  ledger: Ledger
  servers: ServerProcess[]
  samples: Sample[]
  /** Consumes per second last seen: sizes the next run, which is a fixed amount. */
  estimate: number
  verdict?: Verdict
}

function peerEnv (where: Where): Record<string, string> {
  return where.store === 'sqlite'
    ? { BENCH_PEER_STORE: 'sqlite', BENCH_SQLITE_PATH: where.sqlitePath ?? '' }
    : { BENCH_PEER_STORE: 'postgres', DATABASE_URL: where.databaseUrl ?? '', BENCH_PG_SCHEMA: where.schema ?? '' }
}

/** Creates the target's store (Sellify's accounts, or the peer's schema) and starts its servers, one after the other. */
async function prepare (t: Target, nodeArgs: string[]): Promise<void> {
  await seed(t)
  await startServers(t, nodeArgs)
}

/**
 * The target's store. One at a time: seeding SQLite holds the bench's event loop, and a PostgreSQL migration
 * beside it would wait for its client past its statement timeout.
 */
async function seed (t: Target): Promise<void> {
  if (t.kind === 'sellify') await seedSellify(t.where, t.ledger)
  else if (t.where.store === 'postgres') await pgExec(`CREATE SCHEMA ${pg.escapeIdentifier(t.where.schema ?? '')}`)
}

async function startServers (t: Target, nodeArgs: string[]): Promise<void> {
  for (let n = 0; n < t.instances; n++) {
    const name = `${t.server} (${t.where.store}, instance ${n + 1})`
    t.servers.push(await startProcess(name, t.script, t.kind === 'sellify' ? sellifyEnv(t.where) : peerEnv(t.where), nodeArgs))
  }
}

/** Every server under `node --cpu-prof` with --profile. */
const nodeArgsOf = (o: Options): string[] => o.profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${o.profile}`]

const bases = (t: Target): string[] => t.servers.map((s) => s.url)

async function measure (t: Target, o: Options): Promise<Sample> {
  const health = await healthRun(bases(t), CONNECTIONS, o.duration)
  const amount = Math.max(CONNECTIONS * (o.quick ? 10 : 20), Math.round(t.estimate * o.duration))
  const consume = await postRun(bases(t), t.path, t.headers, t.ledger, CONNECTIONS, amount)
  t.estimate = consume.rps
  const pacedS = o.quick ? o.duration / 2 : o.duration
  const paced = await pacedRun(bases(t), t.path, t.headers, t.ledger, PACED_RATE, pacedS)
  const rss = Math.max(...t.servers.map((s) => rssMb(s.pid)))
  const pacedHealth = await pacedRun(bases(t), '/health', {}, null, PACED_RATE, pacedS / 2)
  return { health, consume, paced, pacedHealth, rssMb: rss }
}

interface Row {
  store: string
  instances: number
  server: string
  health_rps: number
  consume_rps: number
  ratio: number
  p50_ms: number
  p99_ms: number
  paced_p99_ms: number
  paced_p50_ms: number
  paced_health_p99_ms: number
  rss_mb: number
  granted: number
  denied: number
  other: number
  lost: number
  over_grants: number
  /** Accounts whose stored counters differ from the grants (0 for Sellify; the peer's differ by design). */
  counter_mismatches: number
  /** Accounts whose stored counters are below the grants. */
  counters_under: number
  stored_beyond_granted: number
}

function rowOf (t: Target): Row {
  const s = t.samples
  const v = t.verdict
  return {
    store: t.where.store === 'sqlite' ? 'SQLite' : 'PostgreSQL',
    instances: t.instances,
    server: t.server,
    health_rps: median(s.map((x) => x.health.rps)),
    consume_rps: median(s.map((x) => x.consume.rps)),
    ratio: median(s.map((x) => x.consume.rps / x.health.rps)),
    p50_ms: median(s.map((x) => x.consume.p50)),
    p99_ms: median(s.map((x) => x.consume.p99)),
    paced_p99_ms: median(s.map((x) => x.paced.p99)),
    paced_p50_ms: median(s.map((x) => x.paced.p50)),
    paced_health_p99_ms: median(s.map((x) => x.pacedHealth.p99)),
    rss_mb: median(s.map((x) => x.rssMb)),
    granted: t.ledger.totalGranted,
    denied: t.ledger.denied,
    other: t.ledger.totalOther,
    lost: t.ledger.lost,
    over_grants: v?.overGrants ?? Number.NaN,
    counter_mismatches: v?.mismatches ?? Number.NaN,
    counters_under: v?.under ?? Number.NaN,
    stored_beyond_granted: v?.excess ?? Number.NaN
  }
}

/** What the stored counters say against the grants the bench saw. */
function counters (r: Row): string {
  const parts: string[] = []
  if (r.counter_mismatches === 0) parts.push('= granted')
  else if (r.stored_beyond_granted > 0 && r.counters_under === 0) parts.push(`+${r.stored_beyond_granted} refused yet counted`)
  else parts.push(`${r.counter_mismatches} accounts ≠ granted${r.counters_under > 0 ? ` (${r.counters_under} below)` : ''}`)
  if (r.other > 0) parts.push(`${r.other} non-200`)
  if (r.lost > 0) parts.push(`${r.lost} unanswered`)
  return parts.join('; ')
}

function table (rows: Row[]): string {
  const header = ['store', 'inst.', 'server', 'GET /health req/s', 'consume req/s', '× health', 'p50 ms', 'p99 ms',
    `p99 ms @${PACED_RATE}/s`, `health p99 ms @${PACED_RATE}/s`, 'RSS MB', 'granted', 'refused', 'over-grants', 'stored counters']
  const lines = rows.map((r) => [
    r.store, String(r.instances), r.server,
    fixed(r.health_rps, 0), fixed(r.consume_rps, 0), fixed(r.ratio, 2),
    fixed(r.p50_ms, 1), fixed(r.p99_ms, 1), fixed(r.paced_p99_ms, 2), fixed(r.paced_health_p99_ms, 2), fixed(r.rss_mb, 0),
    String(r.granted), String(r.denied), fixed(r.over_grants, 0),
    counters(r)
  ])
  return markdownTable(header, lines, new Set([1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]))
}

function goals (rows: Row[]): string[] {
  const find = (store: string, instances: number): Row | undefined => rows.find((r) => r.server === 'Sellify' && r.store === store && r.instances === instances)
  const out: string[] = []
  const verdict = (ok: boolean): string => ok ? 'met' : 'MISSED'
  const sqlite = find('SQLite', 1)
  const pg1 = find('PostgreSQL', 1)
  const pg2 = find('PostgreSQL', 2)
  if (sqlite !== undefined) {
    out.push(`SQLite consume ≥ 0.5 × health: ${verdict(sqlite.ratio >= 0.5)} (${sqlite.ratio.toFixed(2)})`)
    out.push(`SQLite p99 ≤ 5 ms at ${PACED_RATE}/s: ${verdict(sqlite.paced_p99_ms <= 5)} (${sqlite.paced_p99_ms.toFixed(2)} ms)`)
  }
  if (pg1 !== undefined) {
    out.push(`PostgreSQL consume ≥ 0.25 × health: ${verdict(pg1.ratio >= 0.25)} (${pg1.ratio.toFixed(2)})`)
    out.push(`PostgreSQL p99 ≤ 10 ms at ${PACED_RATE}/s: ${verdict(pg1.paced_p99_ms <= 10)} (${pg1.paced_p99_ms.toFixed(2)} ms one instance` +
      (pg2 === undefined ? ')' : `, ${pg2.paced_p99_ms.toFixed(2)} ms two)`))
  }
  if (pg1 !== undefined && pg2 !== undefined) {
    out.push(`PostgreSQL two instances ≥ one: ${verdict(pg2.consume_rps >= pg1.consume_rps)} (${pg2.consume_rps.toFixed(0)} vs ${pg1.consume_rps.toFixed(0)} req/s)`)
  }
  const audited = rows.find((r) => r.server === 'Sellify + audit' && r.store === 'SQLite')
  if (sqlite !== undefined && audited !== undefined) {
    const ratio = audited.consume_rps / sqlite.consume_rps
    out.push(`SQLite consume with an audit record in its transaction: ${audited.consume_rps.toFixed(0)} req/s vs ${sqlite.consume_rps.toFixed(0)} req/s without ` +
      `(ratio ${ratio.toFixed(2)}, goal ≥ ${AUDIT_RATIO_TARGET.toFixed(2)}: ${verdict(ratio >= AUDIT_RATIO_TARGET)})`)
  }
  const over = rows.reduce((sum, r) => sum + r.over_grants, 0)
  out.push(`zero over-grants: ${verdict(over === 0)} (${over})`)
  return out
}

async function stopAll (targets: Target[]): Promise<void> {
  await Promise.all(targets.flatMap((t) => t.servers.map(async (s) => { await s.stop() })))
}

/** The UTC calendar days between two instants: a run across midnight may grant a day's limit twice. */
function daysSpanned (from: Date, to: Date): number {
  return Math.round((Date.UTC(to.getUTCFullYear(), to.getUTCMonth(), to.getUTCDate()) - Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate())) / 86_400_000) + 1
}

async function memoryMode (o: Options, tmp: string): Promise<boolean> {
  const store = o.stores[0]
  const pgOk = store === 'postgres' && await postgresReachable()
  if (store === 'postgres' && !pgOk) throw new Error(`PostgreSQL not reachable at ${PG_URL}`)
  if (o.only === 'pipeline') return await pipelineMemory(store, o.decisions, tmp, nodeArgsOf(o), o.json)
  const where: Where = store === 'sqlite'
    ? { store, sqlitePath: join(tmp, 'memory.db') }
    : { store, databaseUrl: PG_URL, schema: `sellify_bench_mem_${randomBytes(4).toString('hex')}` }
  const ledger = new Ledger(ACCOUNTS, tightAccounts(o), TIGHT_LIMIT, LOOSE_LIMIT)
  const t: Target = {
    server: 'Sellify', kind: 'sellify', script: SELLIFY_SERVER, where, instances: 1, path: '/api/v1/quota/consume', headers: { 'x-api-key': API_KEY }, ledger, servers: [], samples: [], estimate: 0
  }
  const started = new Date()
  try {
    await prepare(t, nodeArgsOf(o))
    const pid = t.servers[0].pid
    const before = rssMb(pid)
    const run = await postRun(bases(t), t.path, t.headers, ledger, CONNECTIONS, o.consumes)
    const after = rssMb(pid)
    await stopAll([t])
    const v = await verify('sellify', where, ledger, daysSpanned(started, new Date()))
    const ok = v.overGrants === 0 && v.mismatches === 0
    process.stdout.write([
      '| store | consumes | accounts | consume req/s | RSS MB before | RSS MB after | over-grants | stored counters |',
      '|-------|---------:|---------:|--------------:|--------------:|-------------:|------------:|-----------------|',
      `| ${store} | ${run.requests} | ${ACCOUNTS} | ${run.rps.toFixed(0)} | ${before.toFixed(0)} | ${after.toFixed(0)} | ${v.overGrants} | ${v.mismatches === 0 ? '= granted' : `${v.mismatches} accounts ≠ granted`} |`,
      '',
      `resident memory ≤ 150 MB after ${run.requests} consumes: ${after <= 150 ? 'met' : 'MISSED'} (${after.toFixed(0)} MB)`,
      ''
    ].join('\n'))
    if (o.json !== undefined) writeFileSync(o.json, JSON.stringify({ mode: 'memory', store, consumes: run.requests, rps: run.rps, rss_before_mb: before, rss_after_mb: after, verdict: v }, null, 2))
    return ok
  } finally {
    await stopAll([t])
    await dropSchema(where)
  }
}

/** The quota's rows: Sellify's consume and the peer's, on each store; then the counters read back. */
async function quotaBench (o: Options, tmp: string, pgOk: boolean, nodeArgs: string[], notes: string[]): Promise<{ rows: Row[], ok: boolean }> {
  const suffix = randomBytes(4).toString('hex')
  const targets: Target[] = []
  const add = (kind: Target['kind'], where: Where, instances: number, audited = false): void => {
    targets.push({
      server: kind === 'peer' ? 'rate-limiter-flexible' : audited ? 'Sellify + audit' : 'Sellify',
      kind,
      script: kind === 'peer' ? PEER_SERVER : audited ? AUDITED_SERVER : SELLIFY_SERVER,
      where,
      instances,
      path: kind === 'sellify' ? '/api/v1/quota/consume' : '/consume',
      headers: kind === 'sellify' ? { 'x-api-key': API_KEY } : {},
      ledger: new Ledger(ACCOUNTS, tightAccounts(o), TIGHT_LIMIT, LOOSE_LIMIT),
      servers: [],
      samples: [],
      estimate: 0
    })
  }
  if (o.stores.includes('sqlite')) {
    add('sellify', { store: 'sqlite', sqlitePath: join(tmp, 'sellify.db') }, 1)
    // Next to the plain row, so that in the alternating rounds the two are measured back to back.
    add('sellify', { store: 'sqlite', sqlitePath: join(tmp, 'sellify-audited.db') }, 1, true)
    add('peer', { store: 'sqlite', sqlitePath: join(tmp, 'peer.db') }, 1)
  }
  if (pgOk) {
    for (const instances of [1, 2]) {
      add('sellify', { store: 'postgres', databaseUrl: PG_URL, schema: `sellify_bench_${suffix}_s${instances}` }, instances)
      add('peer', { store: 'postgres', databaseUrl: PG_URL, schema: `sellify_bench_${suffix}_p${instances}` }, instances)
    }
  }
  const started = new Date()
  try {
    for (const t of targets) await seed(t)
    // In parallel: start-up is mostly waiting (module loading, migrations), and the quick mode is for CI.
    await Promise.all(targets.map(async (t) => { await startServers(t, nodeArgs) }))
    progress(`${targets.reduce((n, t) => n + t.servers.length, 0)} servers started`)
    if (o.profile !== undefined) {
      for (const t of targets) for (const s of t.servers) notes.push(`profile of ${s.name}: pid ${s.pid}`)
    }
    // Warm-up (JIT, pools, and every account read once, as in a long-running server); its consumes are booked like every other.
    for (const t of targets) {
      const warm = await postRun(bases(t), t.path, t.headers, t.ledger, CONNECTIONS, o.quick ? 300 : 2 * ACCOUNTS)
      t.estimate = warm.rps
      if (!o.quick) await healthRun(bases(t), CONNECTIONS, 1)
    }
    progress('warmed up')
    for (let round = 0; round < o.rounds; round++) {
      // Alternate the order so that drift (thermal, noisy neighbours) falls on every target alike.
      const order = round % 2 === 0 ? targets : [...targets].reverse()
      for (const t of order) {
        t.samples.push(await measure(t, o))
        const last = t.samples[t.samples.length - 1]
        progress(`round ${round + 1}/${o.rounds}: ${t.server} ${t.where.store} ×${t.instances}: health ${last.health.rps.toFixed(0)}, consume ${last.consume.rps.toFixed(0)} req/s, p99 @${PACED_RATE}/s ${last.paced.p99.toFixed(2)} ms`)
      }
    }
    await stopAll(targets)
    const days = daysSpanned(started, new Date())
    progress('servers stopped')
    for (const t of targets) t.verdict = await verify(t.kind, t.where, t.ledger, days)
    progress('counters verified')
  } finally {
    await stopAll(targets)
    for (const t of targets) await dropSchema(t.where)
  }

  const sellifyRows = targets.filter((t) => t.kind === 'sellify')
  const rows = targets.map(rowOf)
  return { rows, ok: rows.every((r) => r.over_grants === 0) && sellifyRows.every((t) => t.verdict?.mismatches === 0) }
}

async function benchMode (o: Options, tmp: string): Promise<boolean> {
  // In-process and first, while no server competes for the cores.
  const match = matchBench(o.quick)
  progress('matcher measured')
  const validation = validateBench(o.quick)
  progress('validation measured')
  const ai = await aiBench(o.quick)
  progress('AI gateway under load measured')
  const crypto = await cryptoBench(o.quick, tmp)
  progress('encryption and audit writes measured')
  const nodeArgs = nodeArgsOf(o)
  const wantPg = o.stores.includes('postgres')
  const pgOk = wantPg && await postgresReachable()
  const notes: string[] = []
  if (wantPg && !pgOk) notes.push(`PostgreSQL not reachable at ${PG_URL}: its rows are skipped (set DATABASE_URL or start it)`)
  const quota = o.only === 'pipeline' ? { rows: [], ok: true } : await quotaBench(o, tmp, pgOk, nodeArgs, notes)
  const pipeline = o.only === 'quota'
    ? []
    : await pipelineBench({ quick: o.quick, rounds: o.rounds, duration: o.duration, sqlite: o.stores.includes('sqlite'), postgres: pgOk, nodeArgs, progress }, tmp)
  const rows = quota.rows
  process.stdout.write([
    ...rows.length === 0
      ? []
      : [
          table(rows),
          '',
          `${o.rounds} round(s), medians; ${CONNECTIONS} connections; ${ACCOUNTS} accounts (${tightAccounts(o)} with messages_per_day ${TIGHT_LIMIT} get 10 % of the consumes); ` +
            `p50/p99 of the full-speed run, "@${PACED_RATE}/s" of a paced open-loop run (health: GET /health paced alike, what the machine gives without a consume); ` +
            'RSS of the server (largest instance) after its run; "refused yet counted": increment-first, the peer counts refused consumes too.',
          ...goals(rows),
          ''
        ],
    ...pipeline.length === 0
      ? []
      : [
          'The decision pipeline: POST /api/v1/messages/incoming, 200-product shop, encryption and audit on, no AI, random contacts out of 10 000:',
          '',
          pipelineTable(pipeline),
          '',
          `${o.rounds} round(s), medians; ${CONNECTIONS} connections; "@${PIPELINE_PACED_RATE}/s" of a paced open-loop run beside GET /health paced alike; ` +
            '"stored": the decisions in the store after the servers stopped, against the 200 answers.',
          ...pipelineGoals(pipeline),
          ''
        ],
    ...matchLines(match),
    ...validateLines(validation),
    ...aiLines(ai),
    ...cryptoLines(crypto),
    ...notes,
    ''
  ].join('\n'))
  if (o.json !== undefined) writeFileSync(o.json, JSON.stringify({ mode: 'bench', options: o, rows, pipeline, match, validation, ai, crypto, notes }, null, 2))
  return quota.ok && pipeline.every((r) => r.stored === r.decided && r.other === 0 && r.lost === 0)
}

async function main (): Promise<void> {
  const o = parseArgs(process.argv.slice(2))
  verbose = o.verbose
  const tmp = mkdtempSync(join(tmpdir(), 'sellify-bench-'))
  const onSignal = (): void => {
    killAll()
    rmSync(tmp, { recursive: true, force: true })
    process.exit(130)
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  let ok = false
  try {
    ok = o.memory ? await memoryMode(o, tmp) : await benchMode(o, tmp)
  } finally {
    killAll()
    rmSync(tmp, { recursive: true, force: true })
  }
  if (!ok) {
    process.stderr.write('bench: over-grants or counters that differ from the grants (see the table)\n')
    process.exitCode = 1
  }
}

await main()
