import t from 'tap'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { csvCell, csvLines, ndjsonLines } from '../../../lib/audit/export.js'

// A forced collection makes heap readings comparable; the flag can be set once the process runs.
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

async function * from (records: Array<Record<string, unknown>>) { yield * records }

async function collect (lines: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = []
  for await (const line of lines) out.push(line)
  return out
}

t.test('ndjson: one JSON object per line, line breaks inside values escaped', async (t) => {
  const lines = await collect(ndjsonLines(from([{ a: 1, text: 'two\nlines\r\u2028' }, { b: { c: [1, 2] } }])))
  t.same(lines, ['{"a":1,"text":"two\\nlines\\r\u2028"}\n', '{"b":{"c":[1,2]}}\n'])
  t.same(lines.map((l) => JSON.parse(l)), [{ a: 1, text: 'two\nlines\r\u2028' }, { b: { c: [1, 2] } }])
  t.same(await collect(ndjsonLines(from([]))), [])
})

t.test('csv cells: RFC 4180 quoting', async (t) => {
  t.equal(csvCell('plain'), 'plain')
  t.equal(csvCell('a,b'), '"a,b"')
  t.equal(csvCell('say "hi"'), '"say ""hi"""')
  t.equal(csvCell('two\nlines'), '"two\nlines"')
  t.equal(csvCell('cr\rhere'), '"cr\rhere"')
  t.equal(csvCell(undefined), '')
  t.equal(csvCell(null), '')
  t.equal(csvCell(12.5), '12.5')
  t.equal(csvCell(false), 'false')
  t.equal(csvCell({ messages_today: 3, note: 'a "b"' }), '"{""messages_today"":3,""note"":""a \\""b\\""""}"')
  t.equal(csvCell([1, 2]), '"[1,2]"')
  t.equal(csvCell('Crème 🍮'), 'Crème 🍮')
})

t.test('csv cells: a cell a spreadsheet would run as a formula becomes text', async (t) => {
  t.equal(csvCell('=HYPERLINK("http://x","y")'), '"\'=HYPERLINK(""http://x"",""y"")"')
  t.equal(csvCell('+33 6 12'), "'+33 6 12")
  t.equal(csvCell('-2+3'), "'-2+3")
  t.equal(csvCell('@SUM(A1)'), "'@SUM(A1)")
  t.equal(csvCell('\tcmd'), "'\tcmd")
  t.equal(csvCell('\rcmd'), '"\'\rcmd"')
  t.equal(csvCell('a=b'), 'a=b', 'only a leading character counts')
  t.equal(csvCell(-3), '-3', 'a negative number stays a number')
})

t.test('csv lines: a header first, the given columns in order, CRLF ends', async (t) => {
  const lines = await collect(csvLines(from([
    { id: 'a', type: 'decision', quotas_after: { m: 1 }, ignored: 'x' },
    { id: 'b', reason: 'x, "y"' }
  ]), ['id', 'type', 'reason', 'quotas_after']))
  t.same(lines, [
    'id,type,reason,quotas_after\r\n',
    'a,decision,,"{""m"":1}"\r\n',
    'b,,"x, ""y""",\r\n'
  ])
  t.same(await collect(csvLines(from([]), ['id'])), ['id\r\n'], 'no records: the header alone')
})

const COLUMNS = ['id', 'timestamp', 'account', 'type', 'contact', 'reason', 'quotas_after', 'duration_ms']

/** Records made one at a time as they are asked for, like rows read from a cursor. */
async function * generated (n: number): AsyncGenerator<Record<string, unknown>> {
  for (let i = 0; i < n; i++) {
    yield {
      id: `id-${String(i).padStart(7, '0')}`,
      timestamp: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
      account: 'shop',
      type: i % 2 === 0 ? 'decision' : 'sent',
      contact: `v1.k1.${'x'.repeat(40)}${i}`,
      reason: i % 1000 === 0 ? `=cmd|${i}, "quoted"` : `reason ${i} ${'r'.repeat(200)}`,
      quotas_after: { messages_today: i % 50, messages_this_week: i % 300 },
      duration_ms: i / 4
    }
  }
}

/** Streams n records through one format, keeping only counts, samples and the highest heap seen after a gc. */
async function stream (lines: AsyncIterable<string>, samples: number[]) {
  gc()
  const base = process.memoryUsage().heapUsed
  let peak = 0
  let count = 0
  const seen = new Map<number, string>()
  for await (const line of lines) {
    if (samples.includes(count)) seen.set(count, line)
    count++
    if (count % 10_000 === 0) {
      gc()
      peak = Math.max(peak, process.memoryUsage().heapUsed - base)
    }
  }
  return { count, seen, growth: peak }
}

t.test('100 000 records stream through both formats in constant memory', async (t) => {
  const small = await stream(ndjsonLines(generated(10_000)), [])
  const ndjson = await stream(ndjsonLines(generated(100_000)), [0, 1000, 99_999])
  t.equal(ndjson.count, 100_000)
  t.same(JSON.parse(ndjson.seen.get(1000)!), {
    id: 'id-0001000',
    timestamp: '2026-01-01T00:16:40.000Z',
    account: 'shop',
    type: 'decision',
    contact: `v1.k1.${'x'.repeat(40)}1000`,
    reason: '=cmd|1000, "quoted"',
    quotas_after: { messages_today: 0, messages_this_week: 100 },
    duration_ms: 250
  })
  t.match(ndjson.seen.get(99_999), /^\{"id":"id-0099999",.*"duration_ms":24999\.75\}\n$/)

  const csv = await stream(csvLines(generated(100_000), COLUMNS), [0, 1, 1001, 100_000])
  t.equal(csv.count, 100_001, 'a header and one line per record')
  t.equal(csv.seen.get(0), `${COLUMNS.join(',')}\r\n`)
  t.equal(csv.seen.get(1001), `id-0001000,2026-01-01T00:16:40.000Z,shop,decision,v1.k1.${'x'.repeat(40)}1000,` +
    '"\'=cmd|1000, ""quoted""","{""messages_today"":0,""messages_this_week"":100}",250\r\n')
  t.match(csv.seen.get(100_000), /^id-0099999,.*,24999\.75\r\n$/)

  // Holding the 100 000 records or their lines would take well over 30 MB; streaming keeps the heap where
  // 10 000 records left it. The bound is generous: it is about growth with the count, not exact bytes.
  const bound = small.growth + 8 * 1024 * 1024
  t.ok(ndjson.growth < bound, `ndjson heap growth ${ndjson.growth} < ${bound}`)
  t.ok(csv.growth < bound, `csv heap growth ${csv.growth} < ${bound}`)
})
