import fp from 'fastify-plugin'
import { loadConfig, readAiApiKey, type Config, type ConfigOptions } from '../../lib/config/config.js'
import { aiSettings, type AiSettings } from '../../lib/ai/types.js'
import { parseKeyring, type Keyring } from '../../lib/crypto/keys.js'
import type { Clock, Random } from '../../lib/shared/clock.js'

/** Options of the Sellify plugin: the environment's settings (explicit options win) plus the injectable clock and RNG. */
export interface SellifyOptions extends ConfigOptions {
  /** Where Sellify's routes are mounted when it is embedded (`/sellify`). */
  prefix?: string
  /** Environment to read instead of `process.env` (tests). */
  env?: Record<string, string | undefined>
  /** The one clock every time-dependent decision reads. */
  now?: Clock
  /** The one source of randomness (pacing). Must return values in [0, 1). */
  random?: Random
}

export interface SellifyRuntime extends Config {
  now: Clock
  random: Random
  /**
   * The master keys of SELLIFY_ENCRYPTION_KEY(S) and the variable they came from, or null when neither is set.
   * Parsed here, where the environment is read, so that the raw values are never kept: a Keyring holds no key
   * material, so this config can be logged or serialised. The encryption-keys plugin completes it.
   */
  encryptionKeys: { keyring: Keyring, variable: 'SELLIFY_ENCRYPTION_KEY' | 'SELLIFY_ENCRYPTION_KEYS' } | null
  /** The AI settings with SELLIFY_AI_API_KEY as a non-enumerable `apiKey`: no log or serialisation of this config shows it. */
  ai: AiSettings
}

/**
 * Sellify's engines on the host, one namespace (`app.sellify.<engine>`). Each engine's plugin adds its own
 * member next to its `decorate`-like assignment, so no central list of services grows here.
 */
export interface SellifyEngines {
  config: SellifyRuntime
}

declare module 'fastify' {
  interface FastifyInstance {
    sellify: SellifyEngines
  }
}

/** Resolves and validates the configuration once; an invalid setting stops the start with its variable's name. */
export default fp(async function config (fastify, opts: SellifyOptions) {
  const { env, now, random, prefix: _prefix, ...options } = opts
  const source = env ?? process.env
  const resolved = loadConfig(options, source)
  const keyring = parseKeyring(source)
  const engines: Pick<SellifyEngines, 'config'> = {
    config: {
      ...resolved,
      now: now ?? (() => new Date()),
      random: random ?? Math.random,
      encryptionKeys: keyring === null
        ? null
        : { keyring, variable: (source.SELLIFY_ENCRYPTION_KEYS?.trim() ?? '') === '' ? 'SELLIFY_ENCRYPTION_KEY' : 'SELLIFY_ENCRYPTION_KEYS' },
      ai: aiSettings(resolved.ai, readAiApiKey(source))
    }
  }
  // Through the host's logger: an embedding app would otherwise never hear of it (the standalone server
  // also prints it next to where it listens). Outside production only: there loadConfig refuses the dev key.
  if (resolved.apiKeyIsDefault) {
    fastify.log.warn('Sellify is using the built-in dev API key, which is public: set SELLIFY_API_KEY (or pass the `apiKey` option when embedding) before real use')
  }
  // The other members arrive with their plugins, each before anything can read it.
  fastify.decorate('sellify', engines as SellifyEngines)
}, { name: 'config', fastify: '5.x' })
