/**
 * Server processes for the benchmark: Sellify (`dist/server.js`, what `npm start` runs), Sellify with an
 * audit record in every consume's transaction (`dist/bench/audited-server.js`) and the peer
 * (`dist/bench/peer-server.js`). Each runs in its own process so that the load generator, in the bench
 * process, and the server use different cores.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const SELLIFY_SERVER = fileURLToPath(new URL('../server.js', import.meta.url))
export const AUDITED_SERVER = fileURLToPath(new URL('./audited-server.js', import.meta.url))
export const PEER_SERVER = fileURLToPath(new URL('./peer-server.js', import.meta.url))

export interface ServerProcess {
  name: string
  pid: number
  url: string
  /** What it printed (the tail), for error messages. */
  output: () => string
  /** SIGTERM (a graceful close, so `--cpu-prof` gets written), SIGKILL after `graceMs`. */
  stop: (graceMs?: number) => Promise<void>
}

const OUTPUT_MAX = 64 * 1024
const running = new Set<ChildProcess>()

/** Last resort on any exit path of the bench: no server outlives it. */
export function killAll (): void {
  for (const child of running) child.kill('SIGKILL')
  running.clear()
}

process.once('exit', killAll)

/** Start `node [nodeArgs] script` with exactly this environment; resolves once it prints where it listens. */
export async function startProcess (name: string, script: string, env: Record<string, string>, nodeArgs: string[] = []): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...nodeArgs, script], {
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  running.add(child)
  let out = ''
  const keep = (d: Buffer): void => {
    out += d.toString()
    if (out.length > OUTPUT_MAX) out = out.slice(-OUTPUT_MAX)
  }
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      running.delete(child)
      resolve()
    })
  })

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${name} did not start within 30 s:\n${out}`))
    }, 30_000)
    const look = (): void => {
      const m = /listening on (http:\/\/\S+)/.exec(out)
      if (m === null) return
      clearTimeout(timer)
      child.stdout.off('data', look)
      resolve(m[1])
    }
    child.stdout.on('data', look)
    exited.then(() => {
      clearTimeout(timer)
      reject(new Error(`${name} exited (${String(child.exitCode ?? child.signalCode)}) before listening:\n${out}`))
    }, reject)
  })

  if (child.pid === undefined) throw new Error(`${name} has no pid`)
  const pid = child.pid
  return {
    name,
    pid,
    url,
    output: () => out,
    async stop (graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      await exited
      clearTimeout(timer)
    }
  }
}

/** Resident set size of a process in MB, from /proc (Linux); NaN where there is no /proc. */
export function rssMb (pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m === null ? Number.NaN : Number(m[1]) / 1024
  } catch {
    return Number.NaN
  }
}
