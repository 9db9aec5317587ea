import Fastify from 'fastify'
import sellify from '../app.js'

/**
 * The OpenAPI document exactly as GET /docs/json serves it, from an app with the default settings
 * (an empty environment, so the machine it runs on cannot change the document).
 */
export async function openapiDocument (): Promise<unknown> {
  const app = Fastify({ logger: false })
  await app.register(sellify, { env: {}, scheduler: false, store: { sqlitePath: ':memory:' } })
  try {
    const res = await app.inject({ method: 'GET', url: '/docs/json' })
    if (res.statusCode !== 200) throw new Error(`GET /docs/json answered ${res.statusCode}`)
    return res.json()
  } finally {
    await app.close()
  }
}

export function serialize (doc: unknown): string {
  return JSON.stringify(doc, null, 2) + '\n'
}
