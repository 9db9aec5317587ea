import t from 'tap'
import { spawn } from 'node:child_process'
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ConfigError } from '../../../lib/shared/errors.js'
import { decrypt, encrypt, keyFile } from '../../../lib/crypto/index.js'

const place = { table: 'messages', column: 'text', row: 1 }
const KEYS_MODULE = fileURLToPath(new URL('../../../lib/crypto/keys.ts', import.meta.url))

t.test('keyFile creates 32 random bytes as hex, mode 0600, and reuses them on later starts', async (t) => {
  const path = join(t.testdir(), 'sellify.key')
  const first = await keyFile(path)
  t.equal(first.created, true)
  t.match(readFileSync(path, 'utf8'), /^[0-9a-f]{64}\n$/)
  t.equal(statSync(path).mode & 0o777, 0o600, 'readable by the owner only')
  const value = encrypt(first.keyring, 'bonjour', place)

  const again = await keyFile(path)
  t.equal(again.created, false)
  t.equal(again.keyring.current, first.keyring.current, 'same key id')
  t.equal(decrypt(again.keyring, value, place), 'bonjour', 'values of the first start stay readable')
  t.same(readdirSync(join(path, '..')), ['sellify.key'], 'no temporary file is left behind')

  const other = await keyFile(join(t.testdir(), 'sellify.key'))
  t.not(other.keyring.current, first.keyring.current, 'another file, another random key')
})

t.test('concurrent creations in one process all end with the one key that was written', async (t) => {
  const path = join(t.testdir(), 'sellify.key')
  const results = await Promise.all(Array.from({ length: 16 }, async () => await keyFile(path)))
  t.equal(results.filter((r) => r.created).length, 1, 'exactly one created the file')
  t.equal(new Set(results.map((r) => r.keyring.current)).size, 1, 'every caller has the same key')
  const value = encrypt(results[3].keyring, 'x', place)
  t.equal(decrypt(results[11].keyring, value, place), 'x')
  t.same(readdirSync(join(path, '..')), ['sellify.key'])
})

t.test('processes racing to create the file all end with the same key', async (t) => {
  const path = join(t.testdir(), 'sellify.key')
  // Each child runs the real module through the same TypeScript loader as this test, and prints its key id.
  const script = `import { keyFile } from ${JSON.stringify(KEYS_MODULE)}
const { keyring, created } = await keyFile(${JSON.stringify(path)})
process.stdout.write(JSON.stringify({ kid: keyring.current, created }))`
  const run = async (): Promise<{ kid: string, created: boolean }> => await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString() })
    child.on('error', reject)
    child.on('exit', (code) => { code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`child exited with ${String(code)}`)) })
  })
  const results = await Promise.all(Array.from({ length: 6 }, run))
  t.equal(results.filter((r) => r.created).length, 1, 'exactly one process created the file')
  t.equal(new Set(results.map((r) => r.kid)).size, 1, 'all processes hold the same key')
  t.equal((await keyFile(path)).keyring.current, results[0].kid)
})

t.test('an existing file that holds no key is refused naming the path, and left as it is', async (t) => {
  for (const content of ['', 'hello\n', `${'ab'.repeat(31)}\n`, `${'ab'.repeat(33)}\n`]) {
    const path = join(t.testdir(), 'sellify.key')
    writeFileSync(path, content, { mode: 0o600 })
    await t.rejects(keyFile(path), ConfigError)
    await t.rejects(keyFile(path), { variable: path, message: new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: key file must`) })
    const error = await keyFile(path).catch((err: Error) => err)
    if (content.length > 2) t.notOk((error as Error).message.includes(content.trim()), 'the file content is not quoted')
    t.equal(readFileSync(path, 'utf8'), content, 'never replaced: values under it would be lost')
  }
})

t.test('a directory that does not exist is an error, not a silent per-process key', async (t) => {
  await t.rejects(keyFile(join(t.testdir(), 'missing', 'sellify.key')), { code: 'ENOENT' })
})
