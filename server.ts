import Fastify, { type FastifyInstance } from 'fastify'
import closeWithGrace from 'close-with-grace'
import { randomUUID } from 'node:crypto'
import sellify from './app.js'
import { ConfigError } from './lib/shared/errors.js'
import { loadConfig, type Config } from './lib/config/config.js'
import { loggerOptions } from './lib/shared/logger-options.js'
import { ACCOUNT_ID_MAX_LENGTH } from './routes/accounts/schema.js'

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
    forceCloseConnections: 'idle',
    // Every account id fits the router's path parameter (Fastify's default of 100 would answer 414).
    routerOptions: { maxParamLength: ACCOUNT_ID_MAX_LENGTH }
  })
}

/** What `listen` failing means for the settings it was given. */
function listenError (err: unknown, config: Config): unknown {
  const where = `${config.host}:${config.port}`
  switch ((err as NodeJS.ErrnoException).code) {
    case 'EADDRINUSE': return new ConfigError('PORT', `${where} is already in use`)
    case 'EACCES': return new ConfigError('PORT', `${where} needs privileges this process does not have (use a port above 1023)`)
    case 'EADDRNOTAVAIL': return new ConfigError('HOST', `${config.host} is not an address of this machine`)
    case 'ENOTFOUND': case 'EAI_AGAIN': return new ConfigError('HOST', `${config.host} does not resolve to an address`)
    default: return err
  }
}

/**
 * A failed start is one line on stderr and a non-zero exit (README, "Configuration"): the variable for a
 * setting that is wrong or cannot be used, the message for anything else (its stack is logged at debug).
 */
async function refuse (err: unknown, app?: FastifyInstance): Promise<never> {
  if (err instanceof ConfigError) {
    // Before the app exists the value itself is wrong; after, it names what could not be used (a store, a port).
    process.stderr.write(`sellify-core: ${app === undefined ? 'invalid configuration' : 'cannot start'}: ${err.message}\n`)
  } else {
    app?.log.debug({ err }, 'start-up failure')
    const message = err instanceof Error ? err.message : String(err)
    process.stderr.write(`sellify-core: cannot start: ${message.split('\n')[0]}\n`)
  }
  await app?.close().catch(() => {})
  process.exit(1)
}

async function main (): Promise<void> {
  let config: Config
  try {
    config = loadConfig()
  } catch (err) {
    return await refuse(err)
  }

  const app = buildServer(config)
  try {
    await app.register(sellify)
    await app.ready()
  } catch (err) {
    return await refuse(err, app)
  }

  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err !== undefined) app.log.error({ err }, 'closing after an error')
    else app.log.info({ signal }, 'closing')
    await app.close()
  })

  try {
    await app.listen({ host: config.host, port: config.port })
  } catch (err) {
    return await refuse(listenError(err, config), app)
  }
  const address = app.server.address()
  const where = typeof address === 'object' && address !== null ? `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}` : String(address)
  const store = config.store.databaseUrl === undefined ? `SQLite at ${config.store.sqlitePath}` : 'PostgreSQL (DATABASE_URL)'
  const lines = [
    `Sellify Core listening on ${where}`,
    `  docs:  ${where}/docs`,
    `  dashboard: ${where}/dashboard/`,
    `  store: ${store}`
  ]
  // A configured key is never printed; the built-in dev key is, with a warning, so a first try just works.
  if (config.apiKeyIsDefault) lines.push(`  WARNING: using the built-in dev API key "${config.apiKey}"; set SELLIFY_API_KEY before real use`)
  process.stdout.write(lines.join('\n') + '\n')
}

await main()
