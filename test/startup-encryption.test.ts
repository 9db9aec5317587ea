import t from 'tap'
import { randomBytes } from 'node:crypto'
import { existsSync, statSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError } from '../lib/shared/errors.js'
import { ensureDataKeyOp } from '../lib/encryption/store.js'
import { wrapDataKey } from '../lib/crypto/data-keys.js'
import { newDataKey } from '../lib/crypto/keys.js'
import { build, PG_URL, pgSchema, pgSkip, type LogLine, type TapTest } from './helper.js'
import { runToExit, startServer, type RunningServer } from './server-process.js'

const STRONG_API_KEY = 'p'.repeat(40)

/** A temporary folder of this test's own, removed at teardown. */
async function tempDir (t: TapTest): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sellify-encryption-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** Start the server, stopped at teardown (SIGKILL if the test did not stop it). */
async function started (t: TapTest, env: Record<string, string>): Promise<RunningServer> {
  const server = await startServer(env)
  t.teardown(() => { server.child.kill('SIGKILL') })
  return server
}

async function stop (server: RunningServer): Promise<void> {
  server.child.kill('SIGTERM')
  await server.exited
}

/** A refused start: exits by itself, non-zero, one line on stderr naming `variable`. */
async function refuses (t: TapTest, env: Record<string, string>, variable: string, why: RegExp): Promise<string> {
  const run = await runToExit(env, 15_000)
  t.equal(run.signal, null, 'exits by itself')
  t.ok(run.code !== null && run.code !== 0, `non-zero exit (${String(run.code)})`)
  const lines = run.stderr.trim().split('\n')
  t.equal(lines.length, 1, `one line on stderr:\n${run.stderr}`)
  t.match(lines[0], new RegExp(`^sellify-core: .*\\b${variable}: `), `names ${variable}`)
  t.match(lines[0], why)
  t.notMatch(run.output, /\n\s+at /, 'no stack anywhere')
  return run.output
}

t.test('first start creates sellify.key beside the database (0600, 64 hex), the next start reuses it', async (t) => {
  const dir = await tempDir(t)
  const env = { SELLIFY_DB_PATH: join(dir, 'sellify.db'), LOG_LEVEL: 'info' }
  const keyPath = join(dir, 'sellify.key')

  const first = await started(t, env)
  t.ok(existsSync(keyPath), 'the key file is created beside the database')
  t.equal(statSync(keyPath).mode & 0o777, 0o600, 'readable by its owner only')
  const content = await readFile(keyPath, 'utf8')
  t.match(content, /^[0-9a-f]{64}\n$/, '32 bytes as hex and a newline')
  t.ok(first.output().includes(`generated an encryption key into ${keyPath} (mode 0600): back it up`), `the output names its absolute path:\n${first.output()}`)
  const line = first.output().split('\n').find((l) => l.includes('generated an encryption key'))
  t.match(line, /^\{"level":40,/, 'at warn')
  t.notOk(first.output().includes(content.trim()), 'the key itself is never printed')
  await stop(first)

  const second = await started(t, env)
  t.equal(await readFile(keyPath, 'utf8'), content, 'the same key')
  t.ok(second.output().includes(`using the encryption key in ${keyPath}`), `the output says it is used:\n${second.output()}`)
  t.notMatch(second.output(), /generated an encryption key/)
  t.notOk(second.output().includes(content.trim()), 'the key itself is never printed')
  await stop(second)
})

t.test('NODE_ENV=production without an encryption key: refused in one line naming SELLIFY_ENCRYPTION_KEY', async (t) => {
  const dir = await tempDir(t)
  await refuses(t, { NODE_ENV: 'production', SELLIFY_API_KEY: STRONG_API_KEY, SELLIFY_DB_PATH: join(dir, 'sellify.db') },
    'SELLIFY_ENCRYPTION_KEY', /is required when NODE_ENV=production.*openssl rand -hex 32/)
  t.notOk(existsSync(join(dir, 'sellify.key')), 'no key file is made in production')
})

t.test('a key of 31 bytes: refused naming the variable, the value never printed', async (t) => {
  const dir = await tempDir(t)
  const short = randomBytes(31)
  const db = join(dir, 'sellify.db')
  for (const value of [short.toString('hex'), short.toString('base64')]) {
    const output = await refuses(t, { SELLIFY_DB_PATH: db, SELLIFY_ENCRYPTION_KEY: value }, 'SELLIFY_ENCRYPTION_KEY', /exactly 32 bytes \(got 31\)/)
    t.notOk(output.includes(value), 'the value is not printed')
  }
  const good = randomBytes(32).toString('hex')
  const output = await refuses(t, { SELLIFY_DB_PATH: db, SELLIFY_ENCRYPTION_KEYS: `old:${good},new:${short.toString('hex')}` },
    'SELLIFY_ENCRYPTION_KEYS', /entry 2 must be exactly 32 bytes/)
  t.notOk(output.includes(good) || output.includes(short.toString('hex')), 'no key of the list is printed')
  t.notOk(existsSync(join(dir, 'sellify.key')), 'no key file instead')
})

t.test('a valid SELLIFY_ENCRYPTION_KEY: starts, and no key file is made', async (t) => {
  const dir = await tempDir(t)
  const key = randomBytes(32).toString('hex')
  const server = await started(t, { SELLIFY_DB_PATH: join(dir, 'sellify.db'), SELLIFY_ENCRYPTION_KEY: key, LOG_LEVEL: 'info' })
  t.notOk(existsSync(join(dir, 'sellify.key')), 'no sellify.key')
  t.notMatch(server.output(), /encryption key (in|into) /)
  t.notOk(server.output().includes(key), 'the key is never printed')
  await stop(server)
})

t.test('PostgreSQL outside production without a key: the key file goes where SELLIFY_DB_PATH would put the database', { skip: await pgSkip() }, async (t) => {
  const dir = await tempDir(t)
  const folder = join(dir, 'state')
  const server = await started(t, { DATABASE_URL: PG_URL, SELLIFY_PG_SCHEMA: pgSchema(t), SELLIFY_DB_PATH: join(folder, 'sellify.db') })
  const keyPath = join(folder, 'sellify.key')
  t.ok(existsSync(keyPath), 'the missing folder is made and the key file created in it')
  t.equal(statSync(keyPath).mode & 0o777, 0o600)
  t.match(await readFile(keyPath, 'utf8'), /^[0-9a-f]{64}\n$/)
  t.notOk(existsSync(join(folder, 'sellify.db')), 'no SQLite file on PostgreSQL')
  t.ok(server.output().includes(`generated an encryption key into ${keyPath}`), server.output())
  await stop(server)
})

t.test('embedded on :memory:: a random keyring per instance, never written anywhere', async (t) => {
  const logs: LogLine[] = []
  const first = await build(t, {}, { logs })
  const second = await build(t)
  t.match(first.sellify.keyring.current, /^k[0-9a-f]{8}$/, 'a derived key id')
  t.strictSame(first.sellify.keyring.kids, [first.sellify.keyring.current])
  t.not(first.sellify.keyring.current, second.sellify.keyring.current, 'two instances, two keys')
  t.strictSame(logs.filter((l) => /encryption key/.test(l.msg)), [], 'nothing to log: no file')
})

t.test('embedded: the env option is read, its keys never reach the config, a bad one is a ConfigError', async (t) => {
  const a = randomBytes(32).toString('hex')
  const b = randomBytes(32).toString('base64')
  const app = await build(t, { env: { SELLIFY_ENCRYPTION_KEYS: `new:${b},old:${a}` } })
  t.equal(app.sellify.keyring.current, 'new', 'the first key of the list encrypts')
  t.strictSame(app.sellify.keyring.kids, ['new', 'old'])
  t.equal(app.sellify.config.encryptionKeys?.variable, 'SELLIFY_ENCRYPTION_KEYS')
  const printed = JSON.stringify(app.sellify.config)
  t.notOk(printed.includes(a) || printed.includes(b), 'the serialised config holds no key')

  const production = await build(t, { env: { NODE_ENV: 'production', SELLIFY_API_KEY: STRONG_API_KEY, SELLIFY_ENCRYPTION_KEY: a } })
  t.equal(production.sellify.keyring.kids.length, 1, 'production starts with a configured key')
  t.equal(production.sellify.config.encryptionKeys?.variable, 'SELLIFY_ENCRYPTION_KEY')

  await t.rejects(build(t, { env: { SELLIFY_ENCRYPTION_KEY: 'a passphrase' } }), new ConfigError('SELLIFY_ENCRYPTION_KEY', 'must be 32 bytes as 64 hex characters or base64'))
  await t.rejects(build(t, { env: { NODE_ENV: 'production', SELLIFY_API_KEY: STRONG_API_KEY } }), /^SELLIFY_ENCRYPTION_KEY: is required when NODE_ENV=production/)
})

t.test('embedded: data keys wrapped by a key id that is not configured stop the start', async (t) => {
  const dir = await tempDir(t)
  const store = { sqlitePath: join(dir, 'sellify.db') }
  const first = await build(t, { store })
  const kid = first.sellify.keyring.current
  const dataKey = newDataKey()
  await first.sellify.store.commit([ensureDataKeyOp({
    id: dataKey.id, account: 'acme', contact_index: '', contact: null, wrapped: wrapDataKey(first.sellify.keyring, 'acme', dataKey), kid, created_at: '2026-01-18T12:00:00.000Z'
  }, [''])])
  await first.close()

  const again = await build(t, { store })
  t.equal(again.sellify.keyring.current, kid, 'the key file of the first start')
  await again.close()

  const other = randomBytes(32).toString('hex')
  await t.rejects(build(t, { store, env: { SELLIFY_ENCRYPTION_KEY: other } }), {
    name: 'ConfigError',
    variable: 'SELLIFY_ENCRYPTION_KEY',
    message: new RegExp(`holds 1 data key wrapped by key id "${kid}", which is not configured: this is not the key`)
  })
  await t.rejects(build(t, { store, env: { SELLIFY_ENCRYPTION_KEYS: `next:${other}` } }), {
    name: 'ConfigError',
    variable: 'SELLIFY_ENCRYPTION_KEYS',
    message: /not configured/
  })
})
