import t from 'tap'
import { mergePatch } from '../../../lib/shared/merge-patch.js'

t.test('the examples of RFC 7396, appendix A', async (t) => {
  const cases: Array<[unknown, unknown, unknown]> = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [['a', 'b'], ['c', 'd'], ['c', 'd']],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }]
  ]
  for (const [target, patch, result] of cases) {
    t.strictSame(mergePatch(target, patch), result, `${JSON.stringify(target)} + ${JSON.stringify(patch)}`)
  }
})

t.test('neither input is changed; a member named __proto__ stays a member', async (t) => {
  const target = { a: { b: 1 }, c: [1] }
  const patch = { a: { b: 2 }, c: null }
  mergePatch(target, patch)
  t.strictSame(target, { a: { b: 1 }, c: [1] })
  t.strictSame(patch, { a: { b: 2 }, c: null })
  const merged = mergePatch({}, JSON.parse('{"__proto__": {"polluted": true}}')) as Record<string, unknown>
  t.equal(({} as Record<string, unknown>).polluted, undefined)
  t.equal(Object.getPrototypeOf(merged), Object.prototype)
  t.ok(Object.hasOwn(merged, '__proto__'))
})
