import fp from 'fastify-plugin'
import { dirname, join, resolve } from 'node:path'
import { hasKid, keyFile, memoryKeyring, type Keyring } from '../../lib/crypto/keys.js'
import { unwrapDataKey } from '../../lib/crypto/data-keys.js'
import { DecryptionError } from '../../lib/crypto/errors.js'
import { ConfigError } from '../../lib/shared/errors.js'
import { createFolder } from '../../lib/store/index.js'

declare module './config.js' {
  interface SellifyEngines {
    /** The master encryption keys: from SELLIFY_ENCRYPTION_KEY(S), the key file beside the database, or memory. */
    keyring: Keyring
  }
}

/** The key file, read or created; what stops it is named by its path (a file that holds no key) or the variable. */
async function openKeyFile (path: string): Promise<Awaited<ReturnType<typeof keyFile>>> {
  try {
    createFolder(dirname(path))
    return await keyFile(path)
  } catch (err) {
    if (err instanceof ConfigError) throw err
    // A folder that cannot be made, no permission: named by the variable that chose the place.
    const error = new ConfigError('SELLIFY_DB_PATH', `cannot use the key file ${path}: ${(err as Error).message}`)
    error.cause = err
    throw error
  }
}

/**
 * Resolves the master keys once, before any engine can encrypt: the configured ones, else a refusal in
 * production, else a random key for a `:memory:` database (which outlives no restart either), else the key
 * file beside the SQLite file (for PostgreSQL, where SELLIFY_DB_PATH would put it).
 */
export default fp(async function encryptionKeys (fastify) {
  const { encryptionKeys: configured, production, store } = fastify.sellify.config
  let keyring: Keyring
  if (configured !== null) {
    keyring = configured.keyring
  } else if (production) {
    throw new ConfigError('SELLIFY_ENCRYPTION_KEY', 'is required when NODE_ENV=production: generate one with `openssl rand -hex 32` and keep a copy, data encrypted under it is unreadable without it')
  } else if (store.databaseUrl === undefined && store.sqlitePath === ':memory:') {
    keyring = memoryKeyring()
  } else {
    const path = join(dirname(resolve(store.sqlitePath)), 'sellify.key')
    const file = await openKeyFile(path)
    keyring = file.keyring
    if (file.created) {
      fastify.log.warn({ kid: keyring.current }, `generated an encryption key into ${path} (mode 0600): back it up, data encrypted under it is unreadable without it; set SELLIFY_ENCRYPTION_KEY for production`)
    } else {
      fastify.log.info({ kid: keyring.current }, `using the encryption key in ${path}`)
    }
  }

  // A restart with another key would otherwise start fine and then fail on every encrypted read.
  const counts = await fastify.sellify.store.dataKeyCounts()
  const missing = Object.entries(counts).filter(([kid, n]) => n > 0 && !hasKid(keyring, kid))
  if (missing.length > 0) {
    const held = missing.map(([kid, n]) => `${n} data key${n === 1 ? '' : 's'} wrapped by key id ${JSON.stringify(kid)}`).join(' and ')
    throw new ConfigError(
      configured?.variable ?? 'SELLIFY_ENCRYPTION_KEY',
      `the database holds ${held}, which ${missing.length === 1 ? 'is' : 'are'} not configured: this is not the key the data was written with (keep the old key in SELLIFY_ENCRYPTION_KEYS until a rotation has moved everything)`
    )
  }
  // A key configured under the id the data was written with, but not that key: every data key under that id
  // would fail to open, while blind indexes computed with it would find no contact and start new ones.
  for (const kid of Object.entries(counts).filter(([, n]) => n > 0).map(([kid]) => kid)) {
    const sample = await fastify.sellify.store.dataKeyUnder(kid)
    if (sample === null) continue
    try {
      unwrapDataKey(keyring, sample.account, sample.id, sample.wrapped)
    } catch (err) {
      if (!(err instanceof DecryptionError)) throw err
      throw new ConfigError(
        configured?.variable ?? 'SELLIFY_ENCRYPTION_KEY',
        `the key configured as id ${JSON.stringify(kid)} does not open the data keys stored under that id: this is not the key the data was written with`
      )
    }
  }
  fastify.sellify.keyring = keyring
}, { name: 'encryption-keys', dependencies: ['config', 'storage'], fastify: '5.x' })
