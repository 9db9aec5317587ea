import fp from 'fastify-plugin'
import { loadConfig, type Config, type ConfigOptions } from '../lib/config.js'

/** Options of the Sellify plugin: the environment's settings (explicit options win) plus the injectable clock and RNG. */
export interface SellifyOptions extends ConfigOptions {
  /** Where Sellify's routes are mounted when it is embedded (`/sellify`). */
  prefix?: string
  /** Environment to read instead of `process.env` (tests). */
  env?: Record<string, string | undefined>
  /** The one clock every time-dependent decision reads. */
  now?: () => Date
  /** The one source of randomness (pacing). Must return values in [0, 1). */
  random?: () => number
}

export interface SellifyRuntime extends Config {
  now: () => Date
  random: () => number
}

declare module 'fastify' {
  interface FastifyInstance {
    sellifyConfig: SellifyRuntime
  }
}

/** Resolves and validates the configuration once; an invalid setting stops the start with its variable's name. */
export default fp(async function config (fastify, opts: SellifyOptions) {
  const { env, now, random, prefix: _prefix, ...options } = opts
  const resolved = loadConfig(options, env ?? process.env)
  fastify.decorate('sellifyConfig', {
    ...resolved,
    now: now ?? (() => new Date()),
    random: random ?? Math.random
  })
}, { name: 'config', fastify: '5.x' })
