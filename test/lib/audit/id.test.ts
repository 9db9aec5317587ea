import t from 'tap'
import { createIdGenerator, idTime, isAuditId } from '../../../lib/audit/id.js'

function steppedClock (times: number[]) {
  let i = 0
  return () => new Date(times[Math.min(i++, times.length - 1)])
}

t.test('ids are UUIDv7: the time in the first 48 bits, version 7, RFC variant', async (t) => {
  const at = Date.parse('2026-03-29T01:59:59.123Z')
  const nextId = createIdGenerator(() => new Date(at), Math.random)
  const id = nextId()
  t.ok(isAuditId(id), id)
  t.equal(id.slice(0, 13), `${at.toString(16).padStart(12, '0').slice(0, 8)}-${at.toString(16).padStart(12, '0').slice(8)}`)
  t.equal(idTime(id).toISOString(), '2026-03-29T01:59:59.123Z')
  t.throws(() => idTime('not-an-id'), TypeError)
})

t.test('strictly increasing while the clock stands still', async (t) => {
  const nextId = createIdGenerator(() => new Date('2026-01-01T00:00:00Z'), Math.random)
  const ids = Array.from({ length: 5000 }, nextId)
  t.ok(ids.every((id, i) => i === 0 || id > ids[i - 1]), 'each id sorts after the one before')
  t.equal(new Set(ids).size, ids.length)
  t.ok(ids.every((id) => idTime(id).getTime() === Date.parse('2026-01-01T00:00:00Z')), 'the time stays the real one')
})

t.test('strictly increasing when the clock steps back, and the time never goes backwards', async (t) => {
  const base = Date.parse('2026-10-25T01:00:00Z')
  const nextId = createIdGenerator(steppedClock([base, base + 5, base - 3_600_000, base - 1, base + 5, base + 6]), Math.random)
  const ids = Array.from({ length: 6 }, nextId)
  t.ok(ids.every((id, i) => i === 0 || id > ids[i - 1]), ids.join(' '))
  t.same(ids.map((id) => idTime(id).getTime() - base), [0, 5, 5, 5, 5, 6])
})

t.test('the worst random source still gives increasing ids', async (t) => {
  // A source stuck at its top value seeds every millisecond's counter as high as it goes.
  const top = 1 - Number.EPSILON
  for (const random of [() => 0, () => top]) {
    let ms = Date.parse('2026-01-01T00:00:00Z')
    const nextId = createIdGenerator(() => new Date(ms), random)
    const ids: string[] = []
    for (let i = 0; i < 300; i++) {
      if (i % 100 === 0) ms++
      ids.push(nextId())
    }
    t.ok(ids.every((id, i) => i === 0 || id > ids[i - 1]))
    t.ok(ids.every(isAuditId))
  }
})

t.test('two generators in one millisecond do not collide', async (t) => {
  const clock = () => new Date('2026-01-01T00:00:00Z')
  const a = createIdGenerator(clock, Math.random)
  const b = createIdGenerator(clock, Math.random)
  const ids = Array.from({ length: 2000 }, (_, i) => i % 2 === 0 ? a() : b())
  t.equal(new Set(ids).size, ids.length)
})

t.test('an invalid clock reading is refused rather than turned into an id', async (t) => {
  const nextId = createIdGenerator(() => new Date(NaN), Math.random)
  t.throws(() => nextId(), RangeError)
})
