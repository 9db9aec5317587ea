import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** The built entry point: child-process tests run what `npm start` runs (`npm test` builds first). */
export const SERVER = fileURLToPath(new URL('../dist/server.js', import.meta.url))

export interface RunningServer {
  child: ChildProcess
  url: string
  output: () => string
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
}

/** Start `node dist/server.js` with this environment on a free port; resolves once it prints where it listens. */
export async function startServer (env: Record<string, string>): Promise<RunningServer> {
  if (!existsSync(SERVER)) throw new Error(`${SERVER} is missing: run \`npm run build\` first (npm test does)`)
  const child = spawn(process.execPath, [SERVER], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  child.stdout?.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr?.on('data', (d: Buffer) => { out += d.toString() })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }))
  })
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 20 s:\n${out}`)), 20_000)
    const look = (): void => {
      const m = /listening on (http:\/\/\S+)/.exec(out)
      if (m !== null) {
        clearTimeout(timer)
        resolve(m[1])
      }
    }
    child.stdout?.on('data', look)
    exited.then(({ code, signal }) => {
      clearTimeout(timer)
      reject(new Error(`server exited (${code ?? signal}) before listening:\n${out}`))
    }, reject)
  })
  return { child, url, output: () => out, exited }
}

/** How a refused start ended: its exit code (null when killed), signal, and what it wrote where. */
export interface Refusal {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** stderr then stdout. */
  output: string
}

/** Run the server expecting it to refuse to start; killed after `timeoutMs` if it does not exit by itself. */
export async function runToExit (env: Record<string, string>, timeoutMs = 20_000): Promise<Refusal> {
  const child = spawn(process.execPath, [SERVER], { env: { PATH: process.env.PATH ?? '', PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  const { code, signal } = await new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (c, s) => resolve({ code: c, signal: s })))
  clearTimeout(timer)
  return { code, signal, stdout, stderr, output: stderr + stdout }
}
