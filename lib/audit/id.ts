import type { Clock, Random } from '../shared/clock.js'

/**
 * Time-ordered record ids in the UUIDv7 layout (RFC 9562): a 48-bit Unix time in milliseconds, then a 42-bit
 * counter (the 12 `rand_a` bits and the top 30 `rand_b` bits, the RFC's "fixed bit-length dedicated counter"),
 * then 32 random bits. Lower-case hex of fixed width, so string order is time order and the ids index well in
 * SQLite text columns and PostgreSQL `uuid` alike.
 *
 * Within one generator the ids strictly increase even when the clock stands still or steps back: the
 * millisecond never goes below the last one used, and the counter moves on within it. Each new millisecond
 * seeds the counter at random with its top bit clear, so two instances writing in the same millisecond are
 * unlikely to collide and one millisecond has room for at least 2^41 ids. Ids of two instances are not
 * ordered against each other: the chain order is the order of appends, not of ids.
 */
const COUNTER_BITS = 42
const COUNTER_MAX = 2 ** COUNTER_BITS - 1
const MAX_MS = 2 ** 48 - 1

export type IdGenerator = () => string

export function createIdGenerator (clock: Clock, random: Random): IdGenerator {
  let lastMs = -1
  let counter = 0

  const bits = (n: number): number => Math.floor(random() * 2 ** n)

  return function nextId () {
    const now = clock().getTime()
    if (!Number.isFinite(now)) throw new RangeError('the clock answered an invalid date')
    let ms = Math.min(Math.max(Math.floor(now), 0), MAX_MS)
    if (ms > lastMs) {
      counter = bits(COUNTER_BITS - 1)
    } else if (counter < COUNTER_MAX) {
      ms = lastMs
      counter++
    } else {
      // The counter is spent: borrow the next millisecond rather than repeat or wrap.
      ms = lastMs + 1
      counter = bits(COUNTER_BITS - 1)
    }
    lastMs = ms
    return format(ms, counter, bits(32))
  }
}

function hex (value: number, width: number): string {
  return value.toString(16).padStart(width, '0')
}

function format (ms: number, counter: number, tail: number): string {
  const high12 = Math.floor(counter / 2 ** 30)
  const low30 = counter % 2 ** 30
  const time = hex(ms, 12)
  return [
    time.slice(0, 8),
    time.slice(8),
    hex(0x7000 | high12, 4),
    hex(0x8000 | Math.floor(low30 / 2 ** 16), 4),
    hex(low30 % 2 ** 16, 4) + hex(tail, 8)
  ].join('-')
}

const ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

export function isAuditId (value: string): boolean {
  return ID_PATTERN.test(value)
}

/** The millisecond an id was made in: what `from`/`to` filters can compare without reading the timestamp. */
export function idTime (id: string): Date {
  if (!isAuditId(id)) throw new TypeError(`not an audit id: ${id}`)
  return new Date(parseInt(id.slice(0, 8) + id.slice(9, 13), 16))
}
