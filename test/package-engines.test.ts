/**
 * The README promises Node.js 20 or newer, so nothing `npm ci` installs may declare an `engines.node` range
 * without Node 20 in it: npm would warn EBADENGINE on every install, and the package could break on 20.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'

interface Semver {
  intersects (a: string, b: string): boolean
  validRange (range: string): string | null
}
interface LockEntry { version?: string, engines?: { node?: string } | string[] }

// semver has no types of its own here; it is fastify's dependency, so always installed.
const semver = createRequire(import.meta.url)('semver') as Semver
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { engines: { node: string } }
const lock = JSON.parse(readFileSync(new URL('../package-lock.json', import.meta.url), 'utf8')) as { lockfileVersion: number, packages: Record<string, LockEntry> }

t.test('the package itself declares Node 20 or newer', async (t) => {
  t.equal(pkg.engines.node, '>=20')
  t.equal(lock.lockfileVersion, 3, 'the lock file records every package\'s engines')
})

t.test('no installed package declares an engines.node range that excludes Node 20', async (t) => {
  const excluding: string[] = []
  let checked = 0
  for (const [path, entry] of Object.entries(lock.packages)) {
    const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node
    if (path === '' || range === undefined) continue
    checked++
    const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length)
    // An unparsable range is what npm cannot match either, so it counts as excluding.
    if (semver.validRange(range) === null || !semver.intersects(range, '20.x')) excluding.push(`${name}@${entry.version ?? '?'} (node ${range})`)
  }
  t.ok(checked > 0, 'the lock file lists engines at all')
  t.same(excluding, [], 'every engines.node range admits Node 20')
})
