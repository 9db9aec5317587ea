import t from 'tap'
import { createServer } from 'node:net'
import { writeFileSync } from 'node:fs'
import { ConfigError } from '../lib/shared/errors.js'
import { build, type TapTest } from './helper.js'
import { runToExit } from './server-process.js'

/**
 * The README promises that a start-up failure is one line naming the variable: no stack, on stderr, and
 * a non-zero exit by itself (not because the test killed it).
 */
async function refuses (t: TapTest, env: Record<string, string>, variable: string, why: RegExp): Promise<string> {
  const run = await runToExit(env, 15_000)
  const label = JSON.stringify(env)
  t.equal(run.signal, null, `${label}: exits by itself`)
  t.ok(run.code !== null && run.code !== 0, `${label}: non-zero exit (${String(run.code)})`)
  const lines = run.stderr.trim().split('\n')
  t.equal(lines.length, 1, `${label}: one line on stderr:\n${run.stderr}`)
  t.match(lines[0], new RegExp(`^sellify-core: .*\\b${variable}: `), `${label}: names ${variable}`)
  t.match(lines[0], why)
  t.notMatch(run.output, /\n\s+at /, 'no stack anywhere')
  return run.output
}

t.test('SELLIFY_DB_PATH that cannot be created or opened: one line naming it', async (t) => {
  const dir = t.testdir({ 'a-file': 'not a folder', 'garbage.db': 'this is not an SQLite database, just text that is long enough' })
  writeFileSync(`${dir}/garbage.db`, Buffer.alloc(4096, 7))
  await refuses(t, { SELLIFY_DB_PATH: `${dir}/a-file/sellify.db` }, 'SELLIFY_DB_PATH', /a-file/)
  await refuses(t, { SELLIFY_DB_PATH: dir }, 'SELLIFY_DB_PATH', /./)
  await refuses(t, { SELLIFY_DB_PATH: `${dir}/garbage.db` }, 'SELLIFY_DB_PATH', /not a database/)
})

t.test('SELLIFY_DB_PATH under /proc: refused at once (Node 20\'s recursive mkdirSync spins forever there)', async (t) => {
  await refuses(t, { SELLIFY_DB_PATH: '/proc/sellify/data/sellify.db' }, 'SELLIFY_DB_PATH', /\/proc\/sellify/)
})

t.test('DATABASE_URL that is not a PostgreSQL URL, or where nothing answers: one line naming it, no password', async (t) => {
  await refuses(t, { DATABASE_URL: 'notaurl' }, 'DATABASE_URL', /postgres/)
  await refuses(t, { DATABASE_URL: 'mysql://root:hunter2secret@127.0.0.1/db' }, 'DATABASE_URL', /postgres/)
  const output = await refuses(t, { DATABASE_URL: 'postgres://postgres:hunter2secret@127.0.0.1:1/test' }, 'DATABASE_URL', /ECONNREFUSED|did not answer|refused/)
  t.notMatch(output, /hunter2secret/, 'the password is never printed')
})

t.test('a PORT already in use, or a HOST that is not this machine\'s: one line naming it', async (t) => {
  const blocker = createServer()
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { blocker.close() })
  const address = blocker.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  await refuses(t, { SELLIFY_DB_PATH: ':memory:', PORT: String(port) }, 'PORT', new RegExp(`${port}.*in use`))
  await refuses(t, { SELLIFY_DB_PATH: ':memory:', HOST: '192.0.2.1' }, 'HOST', /192\.0\.2\.1/)
})

t.test('embedded: a store that cannot be opened rejects the registration with a ConfigError naming the setting', async (t) => {
  const dir = t.testdir({ 'a-file': 'not a folder' })
  const cases: Array<[Parameters<typeof build>[1], string]> = [
    [{ store: { sqlitePath: `${dir}/a-file/sellify.db` } }, 'SELLIFY_DB_PATH'],
    [{ store: { sqlitePath: '/proc/sellify/sellify.db' } }, 'SELLIFY_DB_PATH'],
    [{ store: { databaseUrl: 'postgres://postgres:hunter2secret@127.0.0.1:1/test' } }, 'DATABASE_URL']
  ]
  for (const [options, variable] of cases) {
    let caught: unknown
    try {
      await build(t, options)
    } catch (err) {
      caught = err
    }
    t.ok(caught instanceof ConfigError, `${JSON.stringify(options)}: ${String(caught)}`)
    t.equal((caught as ConfigError).variable, variable)
    t.ok((caught as Error).cause instanceof Error, 'the original error is its cause')
    t.notMatch(String(caught), /hunter2secret/)
  }
})
