/**
 * A SQLite store that cannot commit (its disk full, its file deleted) is
 * unhealthy, and `check` then answers 503 like `consume`: a store that cannot count never says "send".
 * The disk is a real tmpfs of 1 MiB, mounted for the test (skipped with a notice where mounting is not allowed).
 */
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, openSync, rmSync, unlinkSync, writeSync, closeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { build, call } from '../helper.js'

/** /health answers from one store probe per second: wait out the one it has. */
const HEALTH_TTL_MS = 1100

type App = Awaited<ReturnType<typeof build>>
const health = async (app: App) => (await app.inject('/health')).statusCode
const check = async (app: App) => (await call(app, 'POST', '/api/v1/quota/check', { message_type: 'text' })).statusCode
const consume = async (app: App, account = 'default') => (await call(app, 'POST', '/api/v1/quota/consume', { message_type: 'text', account })).statusCode

function mount (dir: string): void {
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'pipe' })
}

/** false when this machine lets the test mount a tmpfs, else why not (the test is then skipped with that notice). */
function mountSkip (): false | string {
  const dir = mkdtempSync(join(tmpdir(), 'sellify-probe-'))
  try {
    mount(dir)
    execFileSync('umount', [dir])
    return false
  } catch (err) {
    return `cannot mount a tmpfs here (${String((err as Error).message).split('\n')[0]})`
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

t.test('a database file deleted while running: unhealthy, check and consume 503, nothing acknowledged', async (t) => {
  const dir = t.testdir()
  const path = join(dir, 'gone.db')
  const app = await build(t, { store: { sqlitePath: path } })
  t.equal(await consume(app), 200)
  t.equal(await health(app), 200)
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true })
  await sleep(HEALTH_TTL_MS)
  t.equal(await consume(app), 503, 'a consume is not acknowledged into a file nobody can open again')
  t.equal(await check(app), 503, 'check fails closed too')
  t.equal(await health(app), 503)
  t.equal((await app.inject('/health')).json().status, 'unhealthy')
})

t.test('a full disk: unhealthy and 503 while it lasts, then back', { skip: mountSkip() }, async (t) => {
  // Outside the test's fixture folder, which tap removes before a lazy unmount has let go of it.
  const mnt = mkdtempSync(join(tmpdir(), 'sellify-full-'))
  mount(mnt)
  const app = await build(t, { store: { sqlitePath: join(mnt, 'sellify.db') } })
  // After the app's own teardown (which closes the database).
  t.teardown(() => {
    execFileSync('umount', ['-l', mnt])
    rmSync(mnt, { recursive: true, force: true })
  })
  t.equal(await consume(app), 200)

  // Fill every byte that is left.
  const filler = join(mnt, 'filler')
  const fd = openSync(filler, 'w')
  const chunk = Buffer.alloc(16 * 1024)
  try {
    for (;;) writeSync(fd, chunk)
  } catch {}
  try {
    for (;;) writeSync(fd, Buffer.alloc(1))
  } catch {}
  closeSync(fd)

  // New accounts need new pages; sooner or later a commit needs a byte that is not there.
  let refused = 0
  for (let i = 0; i < 5000 && refused === 0; i++) {
    if (await consume(app, `shop-${i}`) === 503) refused = i
  }
  t.ok(refused > 0, 'a consume was refused once the disk was full')
  t.equal(await check(app), 503, 'check answers 503 like consume')
  await sleep(HEALTH_TTL_MS)
  t.equal(await health(app), 503, 'unhealthy: the store probe cannot commit')

  unlinkSync(filler)
  await sleep(HEALTH_TTL_MS)
  t.equal(await health(app), 200, 'healthy again once a write commits')
  t.equal(await check(app), 200)
  t.equal(await consume(app), 200)
})
