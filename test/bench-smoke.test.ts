/**
 * `npm run bench` still works: the quick mode (a few seconds of load per row) runs to the end,
 * prints its table, and no consume was granted past its limit. Never a speed assertion: speed on a
 * shared machine is noise; the bench itself reports it (bench/README.md).
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const BENCH = fileURLToPath(new URL('../dist/bench/run.js', import.meta.url))
/** About 45 s on a quiet machine, twice that beside the rest of the suite: more than the suite's 120 s per file. */
const PATIENCE_MS = 200_000
t.setTimeout(PATIENCE_MS + 20_000)

interface BenchRow {
  store: string
  instances: number
  server: string
  granted: number
  over_grants: number
  counter_mismatches: number
}

interface PipelineRow {
  store: string
  decided: number
  stored: number
  other: number
  lost: number
}

t.test('the quick bench prints its tables with zero over-grants and every decision stored', async (t) => {
  t.ok(existsSync(BENCH), `${BENCH} exists (npm test builds first)`)
  const dir = mkdtempSync(join(tmpdir(), 'sellify-bench-smoke-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const json = join(dir, 'bench.json')

  const child = spawn(process.execPath, [BENCH, '--quick', '--json', json], {
    env: { ...process.env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  // The bench kills its servers on every way out, SIGTERM included.
  const timer = setTimeout(() => child.kill('SIGTERM'), PATIENCE_MS)
  t.teardown(() => { clearTimeout(timer); child.kill('SIGKILL') })
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)))
  clearTimeout(timer)

  t.equal(code, 0, `the bench exits 0\n${stderr}`)
  t.match(stdout, /\| store +\| inst\. \| server +\| GET \/health req\/s \| consume req\/s \| × health \|/, 'the table header')
  t.match(stdout, /\| SQLite +\| +1 \| Sellify +\|/, 'a Sellify row on SQLite')
  t.match(stdout, /\| SQLite +\| +1 \| rate-limiter-flexible +\|/, 'the peer beside it')
  t.match(stdout, /\| SQLite +\| +1 \| Sellify \+ audit +\|/, 'Sellify with an audit record in each consume\'s transaction')
  t.match(stdout, /SQLite consume with an audit record in its transaction: \d+ req\/s vs \d+ req\/s without \(ratio [\d.]+, goal ≥ 0\.90: (met|MISSED)\)/)
  t.match(stdout, /zero over-grants: met \(0\)/)

  t.match(stdout, /\| store +\| GET \/health req\/s \| incoming req\/s \| × health \|/, 'the decision pipeline\'s table')
  t.match(stdout, /\| SQLite +\| +\d+ \| +\d+ \| +[\d.]+ \|/, 'a pipeline row on SQLite')
  t.match(stdout, /POST \/messages\/incoming on SQLite ≥ 0\.3 × health: (met|MISSED) \([\d.]+\)/, 'its goal, with a verdict')
  t.match(stdout, /SQLite: every answered decision stored, none more: met \((\d+) decided, \1 stored\)/)

  const report = JSON.parse(readFileSync(json, 'utf8')) as { rows: BenchRow[], pipeline: PipelineRow[] }
  t.ok(report.pipeline.length >= 1, 'at least the SQLite pipeline row')
  for (const row of report.pipeline) {
    t.ok(row.decided > 0, `${row.store}: decisions were answered`)
    t.equal(row.stored, row.decided, `${row.store}: the store kept every answered decision and no other`)
    t.equal(row.other + row.lost, 0, `${row.store}: every request was answered 200`)
  }
  t.ok(report.rows.length >= 2, 'at least the SQLite rows')
  for (const row of report.rows) {
    const name = `${row.server} on ${row.store} ×${row.instances}`
    t.ok(row.granted > 0, `${name} granted consumes`)
    t.equal(row.over_grants, 0, `${name}: no consume granted past its limit`)
    if (row.server.startsWith('Sellify')) t.equal(row.counter_mismatches, 0, `${name}: stored counters equal the grants`)
  }
})
