/**
 * Sellify as `dist/server.js` starts it, except that every consume commits an audit record in its own
 * transaction: a stand-in for the decision pipeline, which will commit a consume and its decision record
 * together. The bench runs it beside the plain server on the same load, so the cost of that record is
 * measured the way the consume rows are: over HTTP, against a real process on a SQLite file.
 *
 * Environment: that of `dist/server.js`.
 */
import Fastify from 'fastify'
import closeWithGrace from 'close-with-grace'
import { randomUUID } from 'node:crypto'
import sellify from '../app.js'
import { loadConfig } from '../lib/config/config.js'
import type { StoreOp } from '../lib/store/contract.js'
import { loggerOptions } from '../lib/shared/logger-options.js'
import { ACCOUNT_ID_MAX_LENGTH } from '../routes/accounts/schema.js'

const config = loadConfig()
// The options of server.ts: request ids, timeouts and the router cost the same on both rows.
const app = Fastify({
  logger: loggerOptions(config.logLevel),
  requestIdHeader: 'x-request-id',
  genReqId: () => randomUUID(),
  connectionTimeout: 30_000,
  requestTimeout: 30_000,
  keepAliveTimeout: 72_000,
  forceCloseConnections: 'idle',
  routerOptions: { maxParamLength: ACCOUNT_ID_MAX_LENGTH }
})
await app.register(sellify)
await app.ready()

// The quota service holds this very object and calls `store.commit` on it at call time, so replacing the
// property reaches every consume. The record is built before the commit, as the pipeline will build it.
const store = app.sellify.store
const commit = store.commit.bind(store)
store.commit = (async (plan: readonly StoreOp[]) => {
  const first = plan[0]
  if (plan.length === 1 && first.op === 'quota.consume') {
    const entry = await app.sellify.audit.entry({
      account: first.input.account, type: 'decision', action: 'RespondText', rule: 'bench', quotas_before: { messages_today: 0 }
    })
    const [result] = await commit([first, entry])
    return [result]
  }
  return await commit(plan)
}) as typeof store.commit

closeWithGrace({ delay: 10_000 }, async ({ err }) => {
  if (err !== undefined) app.log.error({ err }, 'closing after an error')
  await app.close()
})

await app.listen({ host: config.host, port: config.port })
const address = app.server.address()
const where = typeof address === 'object' && address !== null ? `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}` : String(address)
// The line bench/servers.ts waits for, as server.ts prints it.
process.stdout.write(`Sellify Core listening on ${where}\n`)
