import { createHash } from 'node:crypto'
import { AUDIT_FIELDS, REQUIRED_FIELDS, type AuditEntry, type AuditRecord } from './types.js'

/**
 * Each account's records form a hash chain: `hash = SHA-256(prev_hash ‖ canonical(record))`, hex. The link is
 * a fixed 64 characters, so the concatenation cannot be read two ways.
 *
 * The first record of an account links to a genesis derived from the account id rather than to 64 zeros, so
 * a chain is bound to its account twice (by the genesis and by the `account` field): a copy of one account's
 * chain under another account fails at its first record, and no two accounts' chains share a link.
 *
 * Appends must be serialised per account (the chain head locked in the writing transaction): two writers
 * reading the same head would fork the chain.
 */

const FIELDS = new Set<string>(AUDIT_FIELDS)
const CHAIN_FIELDS = new Set(['prev_hash', 'hash'])
const HASH_PATTERN = /^[0-9a-f]{64}$/

function sha256 (text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex')
}

/** The link the first record of an account points to. */
export function genesisHash (account: string): string {
  return sha256(`sellify-audit-genesis\n${account}`)
}

/**
 * The canonical form of a record: JSON with keys sorted at every depth (by UTF-16 code units, as
 * `Array.prototype.sort` compares), no whitespace, numbers as JavaScript prints them (shortest round trip,
 * -0 as 0), strings escaped as `JSON.stringify` does (lone surrogates as `\udxxx`, so no two strings share a
 * form). Strings are not Unicode-normalised: the form is of what is stored, and two differently stored texts
 * must not hash alike.
 *
 * It covers every stored field except the chain's own `prev_hash` and `hash`, so a record's form is the same
 * before and after it is appended. A top-level `undefined` or `null` is left out (an SQL column cannot tell an
 * absent value from NULL, so a record read back from either store hashes as it did when written); inside a
 * JSON field `null` is kept. A field the record type does not know, a non-finite number, or a value that is
 * not plain JSON (a Date, a Buffer, a bigint, `undefined` in an array) throws: nothing may escape the hash.
 */
export function canonical (record: AuditEntry | AuditRecord): string {
  const source = record as unknown as Record<string, unknown>
  for (const name of REQUIRED_FIELDS) {
    if (source[name] === undefined || source[name] === null) {
      throw new TypeError(`audit record without ${name}`)
    }
  }
  const parts: string[] = []
  for (const key of Object.keys(source).sort()) {
    const value = source[key]
    if (CHAIN_FIELDS.has(key) || value === undefined || value === null) continue
    if (!FIELDS.has(key)) throw new TypeError(`unknown audit field ${JSON.stringify(key)}`)
    parts.push(`${JSON.stringify(key)}:${canonicalValue(value, key)}`)
  }
  return `{${parts.join(',')}}`
}

function canonicalValue (value: unknown, path: string): string {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value)
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`${path}: ${value} has no canonical form`)
      return JSON.stringify(value)
    case 'object': {
      if (value === null) return 'null'
      if (Array.isArray(value)) {
        return `[${value.map((item, i) => {
          if (item === undefined) throw new TypeError(`${path}[${i}]: undefined has no canonical form`)
          return canonicalValue(item, `${path}[${i}]`)
        }).join(',')}]`
      }
      const prototype = Object.getPrototypeOf(value)
      if (prototype !== Object.prototype && prototype !== null) {
        throw new TypeError(`${path}: only plain objects have a canonical form`)
      }
      const entries = value as Record<string, unknown>
      const parts: string[] = []
      for (const key of Object.keys(entries).sort()) {
        if (entries[key] === undefined) continue
        parts.push(`${JSON.stringify(key)}:${canonicalValue(entries[key], `${path}.${key}`)}`)
      }
      return `{${parts.join(',')}}`
    }
    default:
      throw new TypeError(`${path}: a ${typeof value} has no canonical form`)
  }
}

export function chainHash (prevHash: string, record: AuditEntry | AuditRecord): string {
  if (!HASH_PATTERN.test(prevHash)) throw new TypeError('the previous hash must be 64 lower-case hex digits')
  return sha256(prevHash + canonical(record))
}

/**
 * The record as it is stored: linked to `head`, the hash of the account's newest record (null for the
 * account's first record).
 */
export function append<T extends AuditEntry> (head: string | null, record: T): T & AuditRecord {
  const { prev_hash: _prev, hash: _hash, ...entry } = record as T & Partial<AuditRecord>
  const prev_hash = head ?? genesisHash(record.account)
  return { ...entry, prev_hash, hash: chainHash(prev_hash, entry as AuditEntry) } as T & AuditRecord
}

/**
 * What retention keeps of the records it removes: the id and hash of the newest removed record. The oldest
 * remaining record links to this hash, so the rest of the chain still verifies from it.
 */
export interface Checkpoint {
  after_id: string
  hash: string
}

export function checkpointOf (record: AuditRecord): Checkpoint {
  return { after_id: record.id, hash: record.hash }
}

export interface VerifyOptions {
  account: string
  /** Where the kept chain starts when retention has removed its oldest records. */
  checkpoint?: Checkpoint | null
  /** The hash the account's chain head holds: lets verification see that its newest records were removed. */
  head?: string | null
}

/**
 * Why a chain is not valid: the first bad record's `account` is another one; its `prev_hash` is not the hash
 * before it (a record before it was removed, inserted or moved); its own `hash` is not its content's
 * (an edited field); it cannot be put in canonical form; or the chain ends before the recorded head.
 */
export type VerifyFailure = 'account' | 'prev_hash' | 'hash' | 'malformed' | 'head'

export interface VerifyResult {
  valid: boolean
  /** How many records were read, the bad one included. */
  records: number
  /** The first record that does not verify; null when valid, or when only the newest records are missing. */
  first_invalid_id: string | null
  reason?: VerifyFailure
}

/**
 * Checks one account's records, given oldest first in the order they were appended, one at a time, so a
 * store can feed a million records through it in constant memory. Record ids are not compared: ids from two
 * instances need not be in append order, and the links already fix the order.
 */
export function createVerifier (options: VerifyOptions) {
  let expected = options.checkpoint?.hash ?? genesisHash(options.account)
  let count = 0
  let failure: VerifyResult | null = null

  function fail (record: AuditRecord, reason: VerifyFailure): false {
    failure = { valid: false, records: count, first_invalid_id: typeof record.id === 'string' ? record.id : null, reason }
    return false
  }

  return {
    /** Feeds the next record; false once the chain is broken (later records change nothing). */
    push (record: AuditRecord): boolean {
      if (failure !== null) return false
      count++
      if (record.account !== options.account) return fail(record, 'account')
      if (record.prev_hash !== expected) return fail(record, 'prev_hash')
      let hash: string
      try {
        hash = chainHash(expected, record)
      } catch {
        return fail(record, 'malformed')
      }
      if (record.hash !== hash) return fail(record, 'hash')
      expected = hash
      return true
    },
    result (): VerifyResult {
      if (failure !== null) return failure
      if (options.head != null && options.head !== expected) {
        return { valid: false, records: count, first_invalid_id: null, reason: 'head' }
      }
      return { valid: true, records: count, first_invalid_id: null }
    }
  }
}

export function verify (records: Iterable<AuditRecord>, options: VerifyOptions): VerifyResult {
  const verifier = createVerifier(options)
  for (const record of records) {
    if (!verifier.push(record)) break
  }
  return verifier.result()
}

export async function verifyStream (records: AsyncIterable<AuditRecord>, options: VerifyOptions): Promise<VerifyResult> {
  const verifier = createVerifier(options)
  for await (const record of records) {
    if (!verifier.push(record)) break
  }
  return verifier.result()
}
