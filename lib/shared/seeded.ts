/**
 * mulberry32: a small seeded generator of values in [0, 1), for what must draw the same numbers on every run
 * (the bench's knowledge base, the week simulation, the tests of pacing's shape). Never for secrets.
 */
export function seededRandom (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
