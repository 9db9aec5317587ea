import Fastify from 'fastify'
import closeWithGrace from 'close-with-grace'
import { randomUUID } from 'node:crypto'
import sellify from './app.js'
import { ConfigError } from './lib/shared/errors.js'
import { loadConfig, type Config } from './lib/config/config.js'
import { loggerOptions } from './lib/shared/logger-options.js'

function buildServer (config: Config) {
  return Fastify({
    // Never let a key reach the logs, whatever a serializer or a plugin decides to log.
    logger: loggerOptions(config.logLevel),
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    // Slow clients must not hold sockets forever; keep-alive stays longer than typical proxies' idle time.
    connectionTimeout: 30_000,
    requestTimeout: 30_000,
    keepAliveTimeout: 72_000,
    forceCloseConnections: 'idle'
  })
}

async function main (): Promise<void> {
  let config: Config
  try {
    config = loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`sellify-core: invalid configuration: ${err.message}\n`)
      process.exit(1)
    }
    throw err
  }

  const app = buildServer(config)
  await app.register(sellify)

  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err !== undefined) app.log.error({ err }, 'closing after an error')
    else app.log.info({ signal }, 'closing')
    await app.close()
  })

  await app.listen({ host: config.host, port: config.port })
  const address = app.server.address()
  const where = typeof address === 'object' && address !== null ? `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}` : String(address)
  const store = config.store.databaseUrl === undefined ? `SQLite at ${config.store.sqlitePath}` : 'PostgreSQL (DATABASE_URL)'
  const lines = [
    `Sellify Core listening on ${where}`,
    `  docs:  ${where}/docs`,
    `  store: ${store}`
  ]
  // A configured key is never printed; the built-in dev key is, with a warning, so a first try just works.
  if (config.apiKeyIsDefault) lines.push(`  WARNING: using the built-in dev API key "${config.apiKey}"; set SELLIFY_API_KEY before real use`)
  process.stdout.write(lines.join('\n') + '\n')
}

await main()
