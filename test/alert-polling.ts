/** A child-process server's alerts over HTTP, for the restart and two-instance webhook tests. */

export type Json = Record<string, any>

/** How long a poll waits for the outbox worker (its retries come after 10 s). */
const PATIENCE_MS = 40_000

/** JSON requests with an admin key, each alert as GET /api/v1/alerts/:id answers it, and a poll over them. */
export function alertClient (key: string) {
  async function api (base: string, method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown): Promise<{ status: number, json: Json }> {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { 'x-api-key': key, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) })
    })
    return { status: res.status, json: await res.json() as Json }
  }

  async function alerts (base: string, ids: string[]): Promise<Json[]> {
    return await Promise.all(ids.map(async (id) => {
      const res = await api(base, 'GET', `/api/v1/alerts/${id}`)
      if (res.status !== 200) throw new Error(`GET /api/v1/alerts/${id}: ${res.status} ${JSON.stringify(res.json)}`)
      return res.json
    }))
  }

  /** Polls until `done` holds of the alerts; throws with the last answer when it does not within PATIENCE_MS. */
  async function until (base: string, ids: string[], what: string, done: (list: Json[]) => boolean): Promise<Json[]> {
    const deadline = Date.now() + PATIENCE_MS
    for (;;) {
      const list = await alerts(base, ids)
      if (done(list)) return list
      if (Date.now() > deadline) throw new Error(`${what}: not reached in ${PATIENCE_MS / 1000} s: ${JSON.stringify(list.map((a) => a.deliveries))}`)
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  }

  return { api, alerts, until }
}
