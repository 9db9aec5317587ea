/**
 * In-process micro-benchmark of encryption (lib/crypto) and of the audit trail's write on a SQLite file
 * (lib/audit/store.ts): encrypt + decrypt of a 500-character text under a master key and under a data key,
 * one audit append per commit and appends under group commit, and the store's quota consume with and
 * without an audit record in the same transaction. Printed by `npm run bench`; alone:
 * `node dist/bench/crypto.js [--quick]`.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { pathToFileURL } from 'node:url'
import { defaultSettings } from '../lib/accounts/settings.js'
import { ensureAccountOp } from '../lib/accounts/store.js'
import type { Account } from '../lib/accounts/types.js'
import { createIdGenerator, type IdGenerator } from '../lib/audit/id.js'
import { appendAuditOp } from '../lib/audit/store.js'
import type { AuditEntry } from '../lib/audit/types.js'
import { decrypt, decryptUnder, encrypt, encryptUnder, memoryKeyring, newDataKey, type Place } from '../lib/crypto/index.js'
import { consumeOp, type ConsumeInput, type ConsumeResult } from '../lib/quota/store.js'
import { createStore, type Store } from '../lib/store/index.js'
import { percentile } from './stats.js'

/** The audit record may cost the SQLite consume at most 10 % of its throughput. */
export const AUDIT_RATIO_TARGET = 0.9
/** Commits in flight for the throughput runs: the HTTP bench's connection count, so the batches are alike. */
const IN_FLIGHT = 50
/** Accounts the consumes (and their audit chains) are spread over: as many as the HTTP bench's. */
const ACCOUNTS = 10_000
const DAY = '2026-01-18'
const WEEK = '2026-W03'
const LIMIT = 1_000_000_000
const APPEND_WARM = 20

const TEXT = ("Bonjour, j'ai vu votre publicité pour la crème au karité et je voudrais savoir si vous en avez encore. " +
  "Ma sœur l'utilise depuis des mois et elle est très contente du résultat. Est-ce possible de me faire livrer à Dakar " +
  "avant la fin de la semaine, et quel serait le délai ? J'aimerais aussi connaître les conditions de paiement : à la " +
  'livraison ou seulement par mobile money ? Merci beaucoup et bonne journée à toute l’équipe, à très bientôt !' + ' '.repeat(500)).slice(0, 500)

export interface Timing {
  median_ms: number
  p99_ms: number
  runs: number
}

export interface CryptoFigures {
  text_chars: number
  master_key: Timing
  data_key: Timing
  /** One append per commit, each awaited before the next: one fsync each. */
  append: Timing
  append_commits: number
  append_per_s: number
  consume_commits: number
  rounds: number
  consume_per_s: number
  consume_audit_per_s: number
  /** Median over the rounds of (consume + audit) / consume of the same round. */
  ratio: number
  in_flight: number
  accounts: number
}

function median (values: number[]): number {
  const v = [...values].sort((a, b) => a - b)
  const mid = Math.floor(v.length / 2)
  return v.length % 2 === 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2
}

function timing (times: number[]): Timing {
  times.sort((a, b) => a - b)
  return { median_ms: percentile(times, 0.5), p99_ms: percentile(times, 0.99), runs: times.length }
}

function timeSync (runs: number, warm: number, fn: (i: number) => void): Timing {
  // Warm-up: the first calls run before the JIT has optimised the code, as no long-running server does.
  for (let i = 0; i < warm; i++) fn(i)
  const times = new Array<number>(runs)
  for (let i = 0; i < runs; i++) {
    const start = performance.now()
    fn(warm + i)
    times[i] = performance.now() - start
  }
  return timing(times)
}

async function timeAsync (runs: number, warm: number, fn: (i: number) => Promise<unknown>): Promise<Timing> {
  for (let i = 0; i < warm; i++) await fn(i)
  const times = new Array<number>(runs)
  for (let i = 0; i < runs; i++) {
    const start = performance.now()
    await fn(warm + i)
    times[i] = performance.now() - start
  }
  return timing(times)
}

/** `count` commits with `inFlight` of them outstanding at any time (each worker awaits its last); commits per second. */
async function throughput (count: number, inFlight: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < count) await fn(next++)
  }
  const start = performance.now()
  await Promise.all(Array.from({ length: Math.min(inFlight, count) }, worker))
  return count / ((performance.now() - start) / 1000)
}

function cryptoTimings (runs: number, warm: number): Pick<CryptoFigures, 'master_key' | 'data_key'> {
  const keyring = memoryKeyring()
  const dataKey = newDataKey()
  const place = (i: number): Place => ({ table: 'bench', column: 'text', row: i })
  const check = (plain: string): void => { if (plain !== TEXT) throw new Error('the bench text did not decrypt to itself') }
  const master = timeSync(runs, warm, (i) => {
    const p = place(i)
    check(decrypt(keyring, encrypt(keyring, TEXT, p), p))
  })
  const data = timeSync(runs, warm, (i) => {
    const p = place(i)
    check(decryptUnder(dataKey, encryptUnder(dataKey, TEXT, p), p))
  })
  return { master_key: master, data_key: data }
}

const entryOf = (nextId: IdGenerator, account: string): AuditEntry =>
  ({ id: nextId(), timestamp: new Date().toISOString(), account, actor: 'system', type: 'decision', action: 'RespondText' })

function benchAccount (id: string, createdAt: string): Account {
  return {
    id,
    timezone: 'UTC',
    reset_time: '00:00',
    week_start: 'monday',
    limits: { messages_per_day: LIMIT, messages_per_week: LIMIT, images_per_day: LIMIT, videos_per_week: LIMIT, messages_per_hour: LIMIT },
    delays: { min_seconds: 2, max_seconds: 8, media_seconds: 5 },
    warmup: { enabled: false, start_per_day: 20, days: 14 },
    created_at: createdAt,
    ...defaultSettings()
  }
}

async function granted (result: Promise<readonly [ConsumeResult, ...unknown[]]>): Promise<void> {
  const [r] = await result
  if (!r.ok) throw new Error(`a bench consume was not granted: ${JSON.stringify(r)}`)
}

async function withStore<T> (path: string, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = createStore({ sqlitePath: path })
  try {
    await store.migrate()
    return await fn(store)
  } finally {
    await store.close()
  }
}

/**
 * Every figure. `dir` holds the SQLite files (a real file: every commit is fsynced, as in production). Runs
 * before any server starts, so nothing else competes for the cores or the disk.
 */
export async function cryptoBench (quick: boolean, dir: string): Promise<CryptoFigures> {
  const nextId = createIdGenerator(() => new Date(), Math.random)
  const crypto = cryptoTimings(quick ? 2000 : 20000, 500)

  const appendRuns = quick ? 100 : 1000
  const appendCommits = quick ? 1000 : 10000
  const { append, appendPerS } = await withStore(join(dir, 'audit-append.db'), async (store) => {
    const one = (): Promise<unknown> => store.commit([appendAuditOp(entryOf(nextId, 'bench'), null)])
    const append = await timeAsync(appendRuns, APPEND_WARM, one)
    const appendPerS = await throughput(appendCommits, IN_FLIGHT, one)
    const head = await store.auditHead('bench')
    if (head?.seq !== APPEND_WARM + appendRuns + appendCommits) throw new Error(`the audit chain holds ${head?.seq ?? 0} records, not every append`)
    return { append, appendPerS }
  })

  const rounds = quick ? 2 : 6
  const consumeCommits = quick ? 1000 : 10000
  const consume = await withStore(join(dir, 'audit-consume.db'), async (store) => {
    const createdAt = new Date().toISOString()
    const ids = Array.from({ length: ACCOUNTS }, (_, i) => `bench-${i}`)
    await Promise.all(ids.map((id) => store.commit([ensureAccountOp(benchAccount(id, createdAt))])))
    const input = (i: number): ConsumeInput => ({
      account: ids[i % ACCOUNTS],
      hour: `${DAY}T12`,
      day: DAY,
      week: WEEK,
      kind: 'text',
      count: 1,
      mode: 'consume',
      zone: { timezone: 'UTC', reset_time: '00:00', week_start: 'monday' },
      at: Date.parse(`${DAY}T12:00:00Z`)
    })
    const alone = (i: number): Promise<void> => granted(store.commit([consumeOp(input(i))]))
    const audited = (i: number): Promise<void> => {
      const request = input(i)
      return granted(store.commit([consumeOp(request), appendAuditOp(entryOf(nextId, request.account), null)]))
    }
    // Warm-up of both, then A B A B …: drift (thermal, noisy neighbours) falls on both alike.
    await throughput(consumeCommits / 2, IN_FLIGHT, alone)
    await throughput(consumeCommits / 2, IN_FLIGHT, audited)
    const without: number[] = []
    const withAudit: number[] = []
    for (let round = 0; round < rounds; round++) {
      without.push(await throughput(consumeCommits, IN_FLIGHT, alone))
      withAudit.push(await throughput(consumeCommits, IN_FLIGHT, audited))
    }
    return {
      consume_per_s: median(without),
      consume_audit_per_s: median(withAudit),
      ratio: median(withAudit.map((w, i) => w / without[i]))
    }
  })

  return {
    text_chars: TEXT.length,
    ...crypto,
    append,
    append_commits: appendCommits,
    append_per_s: appendPerS,
    consume_commits: consumeCommits,
    rounds,
    ...consume,
    in_flight: IN_FLIGHT,
    accounts: ACCOUNTS
  }
}

export function cryptoLines (f: CryptoFigures): string[] {
  const ms = (t: Timing): string => `median ${t.median_ms.toFixed(4)} ms, p99 ${t.p99_ms.toFixed(4)} ms`
  const met = f.ratio >= AUDIT_RATIO_TARGET
  return [
    `crypto: encrypt + decrypt of a ${f.text_chars}-character text under a master key, ${f.master_key.runs} runs: ${ms(f.master_key)}`,
    `crypto: encrypt + decrypt of a ${f.text_chars}-character text under a data key, ${f.data_key.runs} runs: ${ms(f.data_key)}`,
    `audit append on SQLite (one account's chain), one commit each awaited in turn, ${f.append.runs} runs: ${ms(f.append)}`,
    `audit append on SQLite (one account's chain), ${f.append_commits} commits with ${f.in_flight} in flight (group commit): ${f.append_per_s.toFixed(0)} appends/s`,
    `SQLite consume alone vs consume + audit record in one transaction, ${f.accounts} accounts, ${f.in_flight} in flight, ${f.rounds} alternating rounds of ${f.consume_commits} commits: ` +
      `${f.consume_per_s.toFixed(0)} vs ${f.consume_audit_per_s.toFixed(0)} commits/s (medians)`,
    `audit record keeps the SQLite consume ≥ ${AUDIT_RATIO_TARGET.toFixed(2)} × without: ${met ? 'met' : 'MISSED'} (${f.ratio.toFixed(2)}, median of the per-round ratios)` +
      (met ? '' : `: the audit write costs the consume ${((1 - f.ratio) * 100).toFixed(0)} % of its throughput`)
  ]
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const dir = mkdtempSync(join(tmpdir(), 'sellify-bench-crypto-'))
  try {
    process.stdout.write(cryptoLines(await cryptoBench(process.argv.includes('--quick'), dir)).join('\n') + '\n')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
