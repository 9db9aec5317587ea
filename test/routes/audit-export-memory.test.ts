import t from 'tap'
import { get } from 'node:http'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { build, DEV_KEY } from '../helper.js'

const RECORDS = 100_000
const TEXT = 'Bonjour, je voudrais savoir si la crème au karité est encore disponible et livrable avant vendredi. '.repeat(3)

t.test(`export streams ${RECORDS} records in flat memory`, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sellify-export-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const app = await build(t, { store: { sqlitePath: join(dir, 'sellify.db') }, env: { SELLIFY_ENCRYPTION_KEY: '2e'.repeat(32) } })
  const { audit, store } = app.sellify
  for (let i = 0; i < RECORDS; i += 1000) {
    const plan = []
    for (let j = i; j < i + 1000; j++) plan.push(await audit.entry({ account: 'default', type: 'client.log', contact: `+2217${j % 50}`, incoming_message: TEXT, action: `A${j}` }))
    await store.commit(plan)
  }
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo

  // A full collection on demand, so what is measured is what the export keeps, not garbage awaiting collection.
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  const retained = (): number => {
    gc()
    return process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers
  }
  const exportOnce = async (): Promise<{ bytes: number, lines: number, last: string, at: number[] }> => await new Promise((resolve, reject) => {
    get({ port, path: '/api/v1/audit/export?format=ndjson', headers: { 'x-api-key': DEV_KEY } }, (res) => {
      let bytes = 0
      let lines = 0
      let tail = ''
      const at: number[] = []
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length
        for (const byte of chunk) if (byte === 10) lines++
        if (lines >= (at.length + 1) * RECORDS / 4 && at.length < 3) at.push(retained())
        tail = (tail + chunk.toString('utf8')).slice(-2000)
      })
      res.on('end', () => { resolve({ bytes, lines, last: tail.trimEnd().split('\n').pop() ?? '', at }) })
      res.on('error', reject)
    }).on('error', reject)
  })
  const before = retained()
  const { bytes, lines, last, at } = await exportOnce()
  t.equal(lines, RECORDS + 1, 'every record, after the account\'s creation')
  t.match(JSON.parse(last), { action: `A${RECORDS - 1}`, incoming_message: TEXT }, 'decrypted, in chain order')
  t.ok(bytes > 60 * 2 ** 20, `${Math.round(bytes / 2 ** 20)} MiB streamed`)
  // Memory that grew with the records would show between a quarter and three quarters of the way.
  const grown = (at[2] - at[0]) / 2 ** 20
  t.equal(at.length, 3)
  const held = (Math.max(...at) - before) / 2 ** 20
  t.ok(held < 24, `at most ${held.toFixed(1)} MiB held by the export at any of its quarters (an export built whole would hold most of its ${Math.round(bytes / 2 ** 20)} MiB)`)
  t.ok(grown < 8, `memory kept grew by ${grown.toFixed(1)} MiB while the middle ${Math.round(bytes / 2 / 2 ** 20)} MiB went out`)
})
