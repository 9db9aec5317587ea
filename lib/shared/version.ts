import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

let cached: { name: string, version: string, dir: string } | undefined

/** The package's own package.json, found upwards from this file (it sits at a different depth in dist/). */
export function readPackage (): { name: string, version: string } {
  const { name, version } = found()
  return { name, version }
}

/** The folder of the package's package.json: where the files it ships beside dist/ are. */
export function packageDir (): string {
  return found().dir
}

function found (): { name: string, version: string, dir: string } {
  if (cached !== undefined) return cached
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string, version: string }
      if (pkg.name === 'sellify-core') {
        cached = { name: pkg.name, version: pkg.version, dir }
        return cached
      }
    } catch {}
    const parent = dirname(dir)
    if (parent === dir) throw new Error('package.json of sellify-core not found')
    dir = parent
  }
}
