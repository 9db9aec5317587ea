/**
 * Sums the self time of a V8 `.cpuprofile` (written by `node --cpu-prof`) per function and per
 * package, so a profile of the server under load reads as a short list of where the time goes.
 *
 *   node dist/bench/cpu-profile.js FILE.cpuprofile [--top N]
 */
import { readFileSync } from 'node:fs'

interface ProfileNode {
  id: number
  callFrame: { functionName: string, url: string, lineNumber: number }
  children?: number[]
}

interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

/** `node_modules/@scope/name` or `node_modules/name`, the project's own file, or `node:` internals. */
function owner (url: string): string {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (m !== null) return m[1]
  if (url === '') return '(native / V8)'
  if (url.startsWith('node:')) return 'node core'
  const own = /\/dist\/(.+)$/.exec(url)
  return own === null ? url : `sellify ${own[1]}`
}

export function summarize (profile: Profile): { total: number, functions: Array<[string, number]>, owners: Array<[string, number]> } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const self = new Map<number, number>()
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
  }
  const functions = new Map<string, number>()
  const owners = new Map<string, number>()
  let total = 0
  for (const [id, us] of self) {
    const node = byId.get(id)
    if (node === undefined) continue
    const { functionName, url, lineNumber } = node.callFrame
    const name = `${functionName === '' ? '(anonymous)' : functionName} ${url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${lineNumber + 1}`
    functions.set(name, (functions.get(name) ?? 0) + us)
    owners.set(owner(url), (owners.get(owner(url)) ?? 0) + us)
    total += us
  }
  const sorted = (m: Map<string, number>): Array<[string, number]> => [...m].sort((a, b) => b[1] - a[1])
  return { total, functions: sorted(functions), owners: sorted(owners) }
}

function main (): void {
  const args = process.argv.slice(2)
  const file = args.find((a) => !a.startsWith('--'))
  const topAt = args.indexOf('--top')
  const top = topAt >= 0 ? Number(args[topAt + 1]) : 40
  if (file === undefined) throw new Error('usage: node dist/bench/cpu-profile.js FILE.cpuprofile [--top N]')
  const { total, functions, owners } = summarize(JSON.parse(readFileSync(file, 'utf8')) as Profile)
  const pct = (us: number): string => `${(100 * us / total).toFixed(1).padStart(5)} %`
  const lines = [`total ${(total / 1e6).toFixed(2)} s of samples`, '', 'self time by package:']
  for (const [name, us] of owners.slice(0, 20)) lines.push(`  ${pct(us)}  ${name}`)
  lines.push('', `self time by function (top ${top}):`)
  for (const [name, us] of functions.slice(0, top)) lines.push(`  ${pct(us)}  ${name}`)
  process.stdout.write(lines.join('\n') + '\n')
}

if (process.argv[1]?.endsWith('cpu-profile.js') === true) main()
