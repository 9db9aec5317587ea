/**
 * What `npm pack` ships, seen from a host app: the file list holds the plugin and the standalone server and
 * nothing that needs a dev dependency, and the README's embedding example compiles (strict, NodeNext) and
 * runs against exactly those files. The package is built into a temporary folder, so the repository's dist/
 * is neither read nor written.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { isBuiltin } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, posix } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('..', import.meta.url))
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm'

interface PackageJson {
  name: string
  dependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
  exports: Record<string, { types: string, import: string } | string>
}
interface LockEntry { dev?: boolean, optional?: boolean }

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson

/** Runs a command and answers its exit code and output instead of throwing. */
async function exec (file: string, args: string[], cwd: string): Promise<{ code: number, out: string }> {
  try {
    const { stdout, stderr } = await run(file, args, { cwd, maxBuffer: 64 * 1024 * 1024 })
    return { code: 0, out: stdout + stderr }
  } catch (err) {
    const e = err as { code?: number, stdout?: string, stderr?: string }
    return { code: typeof e.code === 'number' ? e.code : 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` }
  }
}

/** The first ```ts block of a README section, and the engines that section's text promises on `app.sellify`. */
function readmeEmbedding (): { snippet: string, engines: string[] } {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const section = readme.split(/^## /m).find(s => s.startsWith('Embedding'))
  if (section === undefined) throw new Error('README.md has no "Embedding" section')
  const block = /```ts\n([\s\S]*?)```/.exec(section)
  if (block === null) throw new Error('the README\'s "Embedding" section has no ```ts block')
  const sentence = /under one namespace:([\s\S]*?);/.exec(section)
  const engines = sentence === null ? [] : [...sentence[1].matchAll(/`(?:app\.sellify)?\.(\w+)`/g)].map(m => m[1])
  return { snippet: block[1], engines }
}

/** Module specifiers a built .js or .d.ts file loads: static and dynamic imports, re-exports, `import("x").T`. */
function specifiers (source: string): string[] {
  const found = new Set<string>()
  for (const m of source.matchAll(/(?:[}*\w$]\s*\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm)) found.add(m[1])
  return [...found]
}

/** The package name a bare specifier belongs to (`@scope/name/sub` → `@scope/name`). */
function packageName (specifier: string): string {
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]
}

const dir = mkdtempSync(join(tmpdir(), 'sellify-package-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const source = join(dir, 'source')
const host = join(dir, 'host')
const installed = join(host, 'node_modules', pkg.name)

/** Builds the package into `source` as `npm run build` builds it, and answers what `npm pack` would ship. */
async function pack (): Promise<string[]> {
  mkdirSync(source, { recursive: true })
  for (const file of ['package.json', 'README.md', '.npmignore', 'dashboard']) {
    if (existsSync(join(ROOT, file))) cpSync(join(ROOT, file), join(source, file), { recursive: true })
  }
  // The sources' own type errors are the typecheck step's business; tsc emits all the same.
  const build = await exec(process.execPath, [TSC, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(source, 'dist')], ROOT)
  if (build.code !== 0) t.comment(`tsc reported errors while building:\n${build.out}`)
  const { code, out } = await exec(NPM, ['pack', source, '--dry-run', '--json', '--ignore-scripts', '--silent'], dir)
  if (code !== 0) throw new Error(`npm pack --dry-run failed:\n${out}`)
  const [report] = JSON.parse(out.slice(out.indexOf('['))) as Array<{ files: Array<{ path: string }> }>
  return report.files.map(f => f.path).sort()
}

const files = await pack()
const shipped = new Set(files)

t.test('npm pack ships the plugin and the standalone server, nothing that needs a dev dependency', async (t) => {
  const entry = pkg.exports['.']
  t.ok(typeof entry === 'object', 'exports["."] names the types and the import entry')
  const main = typeof entry === 'object' ? entry.import.replace(/^\.\//, '') : ''
  const types = typeof entry === 'object' ? entry.types.replace(/^\.\//, '') : ''
  for (const file of ['package.json', main, types, 'dist/server.js', 'dashboard/index.html', 'dashboard/app.js']) t.ok(shipped.has(file), `${file} is shipped`)

  t.same(files.filter(f => /^dist\/(bench|scripts)\//.test(f)), [], 'no benchmark and no build script is shipped')

  // A source map is only useful next to the source it maps.
  const orphanMaps = files.filter(f => f.endsWith('.map')).filter(map => {
    const { sources } = JSON.parse(readFileSync(join(source, map), 'utf8')) as { sources: string[] }
    return sources.some(s => !shipped.has(posix.normalize(posix.join(posix.dirname(map), s))))
  })
  t.same(orphanMaps, [], 'no source map is shipped without its sources')

  // A host installs the tarball with `dependencies` only: no shipped code or declaration may load anything else.
  const runtime = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})])
  const devOnly = files.filter(f => /\.(js|d\.ts)$/.test(f)).flatMap(file =>
    specifiers(readFileSync(join(source, file), 'utf8'))
      .filter(spec => !spec.startsWith('.') && !isBuiltin(spec) && !runtime.has(packageName(spec)))
      .map(spec => `${file} → ${spec}`))
  t.same(devOnly, [], 'the shipped code loads no package outside `dependencies`')

  // Everything dist/app.js and dist/server.js load, and the declarations dist/app.d.ts loads, is shipped.
  const missing: string[] = []
  const seen = new Set<string>()
  const queue = [main, 'dist/server.js', types]
  while (queue.length > 0) {
    const file = queue.shift() as string
    if (seen.has(file)) continue
    seen.add(file)
    if (!shipped.has(file)) { missing.push(file); continue }
    for (const spec of specifiers(readFileSync(join(source, file), 'utf8')).filter(s => s.startsWith('.'))) {
      const target = posix.normalize(posix.join(posix.dirname(file), spec))
      queue.push(file.endsWith('.d.ts') ? target.replace(/\.js$/, '.d.ts') : target)
    }
  }
  t.same(missing, [], 'every file the entry points load is shipped')
})

/**
 * A host project as `npm install sellify-core` leaves it: the packed files in node_modules/sellify-core and,
 * next to it, the package's runtime dependencies (linked from this repository's node_modules, without the
 * dev-only ones) plus @types/node, which any TypeScript host has.
 */
function hostProject (): void {
  for (const file of files) {
    mkdirSync(dirname(join(installed, file)), { recursive: true })
    cpSync(join(source, file), join(installed, file))
  }
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> }
  for (const [path, entry] of Object.entries(lock.packages)) {
    const nested = path.slice('node_modules/'.length).includes('node_modules/')
    if (path === '' || nested || (entry.dev === true && path !== 'node_modules/@types/node')) continue
    if (!existsSync(join(ROOT, path))) continue
    mkdirSync(dirname(join(host, path)), { recursive: true })
    symlinkSync(join(ROOT, path), join(host, path), 'dir')
  }
  writeFileSync(join(host, 'package.json'), JSON.stringify({ name: 'host', private: true, type: 'module' }))
}

hostProject()

t.test("the README's embedding example compiles against the packed package", async (t) => {
  const { snippet, engines } = readmeEmbedding()
  t.ok(snippet.includes("from 'sellify-core'"), 'the example imports the package by its name')
  t.ok(engines.length > 0, 'the README lists the engines on app.sellify')
  // The example as written, then each engine the README promises on `app.sellify`, and `app.quota` being
  // the same object as `app.sellify.quota`.
  const checks = [
    `const engines = [${engines.map(e => `app.sellify.${e}`).join(', ')}]`,
    'const same: typeof app.sellify.quota = app.quota'
  ]
  writeFileSync(join(host, 'index.ts'), `${snippet}\n${checks.join('\n')}\n`)
  writeFileSync(join(host, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      noEmit: true,
      // The package's declarations (and its dependencies') are checked too, as a host without skipLibCheck checks
      // them; TypeScript's own lib files are not ours to check.
      skipLibCheck: false,
      skipDefaultLibCheck: true,
      types: ['node']
    },
    files: ['index.ts']
  }))
  const { code, out } = await exec(process.execPath, [TSC, '-p', host], host)
  t.equal(out.trim(), '', 'tsc reports nothing')
  t.equal(code, 0, 'tsc succeeds')
})

t.test('the packed package runs as a plugin in a host app', async (t) => {
  writeFileSync(join(host, 'smoke.js'), [
    "import Fastify from 'fastify'",
    "import sellify from 'sellify-core'",
    'const app = Fastify()',
    "await app.register(sellify, { prefix: '/sellify', env: {}, store: { sqlitePath: ':memory:' }, scheduler: false })",
    "const status = await app.quota.status('default')",
    "const health = await app.inject({ url: '/sellify/health' })",
    'await app.close()',
    'process.stdout.write(JSON.stringify({ account: status.account, health: health.statusCode }))'
  ].join('\n'))
  const { code, out } = await exec(process.execPath, ['smoke.js'], host)
  t.equal(code, 0, out)
  t.same(JSON.parse(out.slice(out.indexOf('{'))), { account: 'default', health: 200 })
})
