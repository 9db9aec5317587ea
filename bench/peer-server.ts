/**
 * The peer: the same consume done by rate-limiter-flexible behind a minimal Fastify route, on the same
 * store as Sellify (better-sqlite3 with the same WAL + synchronous=FULL durability, or a pg Pool of 10).
 *
 * A consume counts toward a day and a week counter, like Sellify's: a RateLimiterUnion of a day and a
 * week limiter, keyed by account. Tight accounts (TIGHT_PREFIX) get the tight day limit, like in Sellify.
 * No auth and no rate limiter: the peer is the bare library, which is what its users start from.
 *
 * Environment: BENCH_PEER_STORE (sqlite | postgres), BENCH_SQLITE_PATH, DATABASE_URL, BENCH_PG_SCHEMA, HOST, PORT.
 */
import Fastify from 'fastify'
import Database from 'better-sqlite3'
import pg from 'pg'
import { Type, type Static } from '@sinclair/typebox'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { RateLimiterPostgres, RateLimiterRes, RateLimiterSQLite, RateLimiterUnion, type RateLimiterAbstract } from 'rate-limiter-flexible'
import { ACCOUNT_ID_PATTERN } from '../lib/accounts/types.js'
import { LOOSE_LIMIT, PEER_TABLE, TIGHT_LIMIT, TIGHT_PREFIX } from './constants.js'

const DAY_S = 86_400

function env (name: string, fallback?: string): string {
  const value = process.env[name] ?? fallback
  if (value === undefined || value === '') throw new Error(`${name} is required`)
  return value
}

const BodySchema = Type.Object({
  message_type: Type.Union([Type.Literal('text'), Type.Literal('image'), Type.Literal('video')]),
  account: Type.String({ pattern: ACCOUNT_ID_PATTERN })
}, { additionalProperties: false })

const AnswerSchema = Type.Object({
  allowed: Type.Boolean(),
  remaining: Type.Optional(Type.Integer()),
  retry_after_seconds: Type.Optional(Type.Integer())
})

async function main (): Promise<void> {
  const storeKind = env('BENCH_PEER_STORE')
  const closers: Array<() => Promise<void> | void> = []

  let make: (keyPrefix: string, points: number, duration: number) => Promise<RateLimiterAbstract>
  if (storeKind === 'sqlite') {
    const db = new Database(env('BENCH_SQLITE_PATH'))
    db.pragma('busy_timeout = 100')
    db.pragma('journal_mode = WAL')
    // The durability Sellify gives every acknowledged consume (README, "How quotas work"): same pragmas, same fsyncs.
    db.pragma('synchronous = FULL')
    closers.push(() => { db.close() })
    make = async (keyPrefix, points, duration) => await new Promise((resolve, reject) => {
      const limiter: RateLimiterSQLite = new RateLimiterSQLite({
        storeClient: db, storeType: 'better-sqlite3', tableName: PEER_TABLE, keyPrefix, points, duration, clearExpiredByTimeout: false
      }, (err?: Error) => { if (err === undefined || err === null) resolve(limiter); else reject(err) })
    })
  } else if (storeKind === 'postgres') {
    const schema = env('BENCH_PG_SCHEMA')
    const pool = new pg.Pool({ connectionString: env('DATABASE_URL'), max: 10, connectionTimeoutMillis: 2000 })
    pool.on('error', () => {})
    closers.push(async () => { await pool.end() })
    make = async (keyPrefix, points, duration) => await new Promise((resolve, reject) => {
      const limiter: RateLimiterPostgres = new RateLimiterPostgres({
        storeClient: pool, storeType: 'pool', schemaName: schema, tableName: PEER_TABLE, keyPrefix, points, duration, clearExpiredByTimeout: false
      }, (err?: Error) => { if (err === undefined || err === null) resolve(limiter); else reject(err) })
    })
  } else {
    throw new Error(`BENCH_PEER_STORE must be sqlite or postgres, got ${JSON.stringify(storeKind)}`)
  }

  // One after the other: rate-limiter-flexible creates its table from each constructor.
  const week = await make('week', LOOSE_LIMIT, 7 * DAY_S)
  const tight = new RateLimiterUnion(await make('day', TIGHT_LIMIT, DAY_S), week)
  const loose = new RateLimiterUnion(await make('day', LOOSE_LIMIT, DAY_S), week)

  const app = Fastify({ logger: false }).withTypeProvider<TypeBoxTypeProvider>()
  app.get('/health', { schema: { response: { 200: Type.Object({ status: Type.String() }) } } }, async () => ({ status: 'healthy' }))
  app.post('/consume', { schema: { body: BodySchema, response: { 200: AnswerSchema, 503: AnswerSchema } } }, async (request, reply) => {
    const body: Static<typeof BodySchema> = request.body
    const union = body.account.startsWith(TIGHT_PREFIX) ? tight : loose
    try {
      const res = await union.consume(body.account, 1)
      return { allowed: true, remaining: Math.min(...Object.values(res).map((r) => r.remainingPoints)) }
    } catch (rejection) {
      // The union rejects with a map of what each limiter said: a RateLimiterRes is a denial, an Error a broken store.
      const reasons = Object.values(rejection as Record<string, unknown>)
      if (reasons.length === 0 || reasons.some((r) => !(r instanceof RateLimiterRes))) {
        return await reply.code(503).send({ allowed: false })
      }
      const wait = Math.max(...reasons.map((r) => (r as RateLimiterRes).msBeforeNext))
      return { allowed: false, retry_after_seconds: Math.max(1, Math.ceil(wait / 1000)) }
    }
  })

  const stop = async (): Promise<void> => {
    await app.close()
    for (const close of closers) await close()
    process.exit(0)
  }
  process.once('SIGTERM', () => { stop().catch(() => process.exit(1)) })
  process.once('SIGINT', () => { stop().catch(() => process.exit(1)) })

  const address = await app.listen({ host: process.env.HOST ?? '127.0.0.1', port: Number(process.env.PORT ?? 0) })
  process.stdout.write(`peer (rate-limiter-flexible, ${storeKind}) listening on ${address}\n`)
}

await main()
