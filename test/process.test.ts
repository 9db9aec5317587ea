import t from 'tap'
import { existsSync, statSync } from 'node:fs'
import { connect } from 'node:net'
import { DEV_KEY, PG_URL, pgSchema, pgSkip, type TapTest } from './helper.js'
import { runToExit, startServer } from './server-process.js'

t.test('NODE_ENV=production refuses to start without a strong key, in one clear line', async (t) => {
  for (const [key, why] of [[undefined, /SELLIFY_API_KEY: is required/], [DEV_KEY, /dev key/], ['too-short', /at least 32 characters/]] as const) {
    const { code, output } = await runToExit({ NODE_ENV: 'production', SELLIFY_DB_PATH: ':memory:', ...(key === undefined ? {} : { SELLIFY_API_KEY: key }) })
    t.not(code, 0, `key ${String(key)}: non-zero exit`)
    t.match(output, why)
    t.equal(output.trim().split('\n').length, 1, 'one line')
    if (key !== undefined) t.notMatch(output, key === DEV_KEY ? /dev-api-key-change-in-production"/ : key, 'the key itself is not printed')
  }
})

t.test('an invalid setting stops the start with the variable\'s name', async (t) => {
  for (const [name, value] of [['SELLIFY_TIMEZONE', 'Europe/Berln'], ['SELLIFY_MESSAGES_PER_DAY', '-3'], ['SELLIFY_RESET_TIME', '7h']]) {
    const { code, output } = await runToExit({ SELLIFY_DB_PATH: ':memory:', [name]: value })
    t.equal(code, 1, name)
    t.match(output, new RegExp(`invalid configuration: ${name}: `))
  }
})

t.test('starts on SQLite, prints where it listens and the dev key; SIGTERM lets an in-flight request finish', async (t) => {
  const dir = t.testdir()
  const db = `${dir}/sellify.db`
  const server = await startServer({ SELLIFY_DB_PATH: db, LOG_LEVEL: 'info' })
  t.match(server.output(), /docs: {2}http:\/\/127\.0\.0\.1:\d+\/docs/)
  t.match(server.output(), /dashboard: http:\/\/127\.0\.0\.1:\d+\/dashboard\//)
  t.match(server.output(), /WARNING: using the built-in dev API key "dev-api-key-change-in-production"/)
  t.ok(existsSync(db), 'the SQLite file is created')
  const port = Number(new URL(server.url).port)

  // A request whose body is still arriving when the signal comes.
  const body = '{"message_type":"text"}'
  const socket = connect(port, '127.0.0.1')
  await new Promise<void>((resolve) => socket.on('connect', () => resolve()))
  let answer = ''
  socket.on('data', (d: Buffer) => { answer += d.toString() })
  socket.write(`POST /api/v1/quota/consume HTTP/1.1\r\nHost: x\r\nX-API-Key: ${DEV_KEY}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, 5)}`)
  await new Promise((resolve) => setTimeout(resolve, 200))
  server.child.kill('SIGTERM')
  await new Promise((resolve) => setTimeout(resolve, 200))
  socket.write(body.slice(5))
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()))
  await closed
  t.match(answer, /^HTTP\/1\.1 200/, 'the in-flight request was answered')
  t.match(answer, /"allowed":true/)
  const { code } = await server.exited
  t.equal(code, 0, 'exit 0 after a graceful close')
  t.match(server.output(), /"signal":"SIGTERM"/)
  t.ok(!existsSync(`${db}-wal`) || statSync(`${db}-wal`).size === 0, 'the store was closed (WAL checkpointed)')

  const again = await startServer({ SELLIFY_DB_PATH: db, SELLIFY_API_KEY: 'k'.repeat(40) })
  t.notMatch(again.output(), /kkkk/, 'a configured key is never printed')
  const status = await (await fetch(`${again.url}/api/v1/quota/status`, { headers: { 'x-api-key': 'k'.repeat(40) } })).json() as { messages_today: number }
  t.equal(status.messages_today, 1, 'the send acknowledged during shutdown survived')
  again.child.kill('SIGINT')
  t.equal((await again.exited).code, 0, 'SIGINT closes gracefully too')
})

/**
 * kill -9 during a consume load loses no acknowledged send and invents none.
 * Every send answered `allowed` must be counted after restart; at most the unanswered ones may be added.
 */
async function killDuringLoad (t: TapTest, env: Record<string, string>): Promise<void> {
  const limits = { SELLIFY_MESSAGES_PER_DAY: '1000000', SELLIFY_MESSAGES_PER_WEEK: '1000000', SELLIFY_MESSAGES_PER_HOUR: '1000000', SELLIFY_WARMUP: 'off' }
  const server = await startServer({ ...env, ...limits })
  // Held in an object: the workers' loops and the watcher below see each other's updates.
  const load = { sent: 0, acknowledged: 0, killed: false }
  const worker = async (): Promise<void> => {
    while (!load.killed) {
      load.sent++
      try {
        const res = await fetch(`${server.url}/api/v1/quota/consume`, {
          method: 'POST',
          headers: { 'x-api-key': DEV_KEY, 'content-type': 'application/json' },
          body: '{"message_type":"text","account":"crash"}'
        })
        const body = await res.json() as { allowed?: boolean }
        if (res.status === 200 && body.allowed === true) load.acknowledged++
      } catch {
        // The connection died with the server: this send's fate is unknown to the client.
      }
    }
  }
  const workers = Array.from({ length: 16 }, worker)
  while (load.acknowledged < 400) await new Promise((resolve) => setTimeout(resolve, 5))
  server.child.kill('SIGKILL')
  load.killed = true
  const { sent, acknowledged } = load
  await Promise.all(workers)
  t.equal((await server.exited).signal, 'SIGKILL')

  const restarted = await startServer({ ...env, ...limits })
  t.teardown(() => { restarted.child.kill('SIGKILL') })
  const res = await fetch(`${restarted.url}/api/v1/quota/status?account=crash`, { headers: { 'x-api-key': DEV_KEY } })
  const counted = (await res.json() as { messages_today: number }).messages_today
  t.ok(counted >= acknowledged, `no acknowledged send lost: ${counted} counted >= ${acknowledged} acknowledged`)
  t.ok(counted <= sent, `none invented: ${counted} counted <= ${sent} sent`)
  t.ok(counted - acknowledged <= sent - acknowledged, 'only unanswered sends may have been counted')
  restarted.child.kill('SIGTERM')
  await restarted.exited
}

t.test('kill -9 during load: SQLite loses no acknowledged send and invents none', async (t) => {
  await killDuringLoad(t, { SELLIFY_DB_PATH: `${t.testdir()}/crash.db` })
})

t.test('kill -9 during load: PostgreSQL loses no acknowledged send and invents none', { skip: await pgSkip() }, async (t) => {
  await killDuringLoad(t, { DATABASE_URL: PG_URL, SELLIFY_PG_SCHEMA: pgSchema(t) })
})

t.test('the standalone server serves a 128-character account id on its documented route (no 414)', async (t) => {
  const server = await startServer({ SELLIFY_DB_PATH: ':memory:' })
  t.teardown(() => { server.child.kill('SIGKILL') })
  const id = `5511${'9'.repeat(100)}@c.us+${'a'.repeat(18)}`
  t.equal(id.length, 128)
  const url = `${server.url}/api/v1/accounts/${encodeURIComponent(id)}`
  const send = async (method: string, body?: unknown) => await fetch(url, {
    method,
    headers: { 'x-api-key': DEV_KEY, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  const put = await send('PUT', { limits: { messages_per_day: 5 } })
  t.equal(put.status, 201)
  t.equal((await put.json() as { id: string }).id, id)
  const got = await send('GET')
  t.equal(got.status, 200)
  t.match(await got.json(), { id, limits: { messages_per_day: 5 } })
  t.equal((await send('DELETE')).status, 204)
  t.equal((await send('GET')).status, 404)
  // Every valid id fits the server's router: the requests were answered by the `:account` route itself.
  const metrics = await (await fetch(`${server.url}/metrics`)).text()
  t.match(metrics, /sellify_http_requests_total\{method="PUT",route="\/api\/v1\/accounts\/:account",status_code="201"\} 1/)
  t.match(metrics, /sellify_http_requests_total\{method="DELETE",route="\/api\/v1\/accounts\/:account",status_code="204"\} 1/)
})
