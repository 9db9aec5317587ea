/**
 * Random bytes from the CSPRNG, drawn in blocks: `randomBytes(12)` for every IV (and 4 bytes for every id) is one
 * system call each, a measurable share of a decision that seals several texts. The block is consumed front to
 * back and never reused, so each caller gets fresh bytes exactly as from separate calls.
 */
import { randomBytes } from 'node:crypto'

const BLOCK = 4096

let block = randomBytes(BLOCK)
let used = 0

/** `n` (at most BLOCK) fresh random bytes, in a buffer of their own. */
export function freshBytes (n: number): Buffer {
  if (!Number.isSafeInteger(n) || n < 1 || n > BLOCK) throw new RangeError(`freshBytes: 1 to ${BLOCK} bytes, got ${n}`)
  if (used + n > BLOCK) {
    block = randomBytes(BLOCK)
    used = 0
  }
  const out = Buffer.from(block.subarray(used, used + n))
  // Zeroed once handed out: what stays in the block is only what no one has been given.
  block.fill(0, used, used + n)
  used += n
  return out
}

/** A uniform fraction in [0, 1) from 32 fresh random bits (for ids: time-ordered, not secret). */
export function randomFraction (): number {
  return freshBytes(4).readUInt32BE() / 2 ** 32
}
