import { createHmac, hkdfSync, randomBytes } from 'node:crypto'
import { readFile, link, open, unlink } from 'node:fs/promises'
import { ConfigError } from '../shared/errors.js'
import { UnknownEncryptionKey } from './errors.js'

/** A key id: what a stored value names its key by. */
export const KID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/

/** Bytes of a master key and of a data key (AES-256). */
export const KEY_BYTES = 32
export const DATA_KEY_BYTES = 32

/**
 * A data key: 32 random bytes that values are encrypted under directly (`v1d`), stored only wrapped by a master
 * key (`wrapDataKey`). Its id is part of every value under it.
 */
export interface DataKey {
  readonly id: string
  readonly key: Buffer
}

/**
 * The configured master keys. The object itself holds no key material (it is safe to log or serialise): the
 * keys live in a module-private map, reached only through the functions of this module.
 */
export interface Keyring {
  /** The key id new values are encrypted under. */
  readonly current: string
  /** The configured key ids, current first. */
  readonly kids: readonly string[]
}

interface Material {
  /** Every key id a value may carry (configured ids and their derived aliases) → master key. */
  readonly masters: Map<string, Buffer>
  /** Derived sub-keys, per purpose and master key id, computed once. */
  readonly subkeys: Map<string, Buffer>
}

const material = new WeakMap<Keyring, Material>()

// Fixed HKDF salt: the master keys are uniformly random, so the salt only separates this application's
// derivations from any other use of the same key; the `info` of each derivation separates its purposes.
const HKDF_SALT = Buffer.from('sellify-core/hkdf/v1', 'utf8')

/** Length-prefixed concatenation: no two different field lists encode to the same bytes. */
export function encodeFields (fields: readonly string[]): Buffer {
  const parts: Buffer[] = []
  for (const field of fields) {
    const bytes = Buffer.from(field, 'utf8')
    const length = Buffer.alloc(4)
    length.writeUInt32BE(bytes.length)
    parts.push(length, bytes)
  }
  return Buffer.concat(parts)
}

function hkdf (key: Buffer, salt: Buffer, info: readonly string[], length = KEY_BYTES): Buffer {
  return Buffer.from(hkdfSync('sha256', key, salt, encodeFields(info), length))
}

/**
 * The key id of a key configured without one (`SELLIFY_ENCRYPTION_KEY`, the key file, `:memory:`): `k` and 8 hex
 * characters of an HKDF output, never of the raw key. Derived rather than a fixed `k1` so that a different key
 * (an edited variable, another machine's key file) reads as "key id not configured" instead of as if every
 * stored value had been tampered with, and two deployments with different keys never share an id. 32 bits of a
 * pseudorandom function of a 256-bit key tell nothing about the key.
 */
export function derivedKid (key: Buffer): string {
  return `k${hkdf(key, HKDF_SALT, ['kid'], 4).toString('hex')}`
}

function makeKeyring (entries: ReadonlyArray<{ kid: string, key: Buffer }>, variable: string): Keyring {
  const masters = new Map<string, Buffer>()
  for (const { kid, key } of entries) masters.set(kid, Buffer.from(key))
  // Each key also answers to its derived id, so values written while it was `SELLIFY_ENCRYPTION_KEY` (or the key
  // file) stay readable after it moves into `SELLIFY_ENCRYPTION_KEYS` under a name of the operator's choice.
  for (const { kid, key } of entries) {
    const alias = derivedKid(key)
    const holder = masters.get(alias)
    if (holder !== undefined && !holder.equals(key)) {
      throw new ConfigError(variable, `key id ${JSON.stringify(alias)} is the derived id of another configured key; choose another id`)
    }
    if (alias !== kid) masters.set(alias, masters.get(kid) as Buffer)
  }
  const keyring: Keyring = Object.freeze({ current: entries[0].kid, kids: Object.freeze(entries.map((e) => e.kid)) })
  material.set(keyring, { masters, subkeys: new Map() })
  return keyring
}

function materialOf (keyring: Keyring): Material {
  const found = material.get(keyring)
  if (found === undefined) throw new TypeError('not a keyring made by parseKeyring, keyFile or memoryKeyring')
  return found
}

/** The master key a value's key id names, configured or derived alias; undefined when there is none. */
function masterOf (keyring: Keyring, kid: string): Buffer | undefined {
  return materialOf(keyring).masters.get(kid)
}

/** Whether a value carrying `kid` can be decrypted with this keyring. */
export function hasKid (keyring: Keyring, kid: string): boolean {
  return masterOf(keyring, kid) !== undefined
}

function subkey (keyring: Keyring, kid: string, purpose: 'encryption' | 'blind-index'): Buffer {
  const { subkeys } = materialOf(keyring)
  const master = masterOf(keyring, kid)
  if (master === undefined) throw UnknownEncryptionKey(kid)
  // Cached per key id and purpose (an alias and its configured id derive the same sub-key from one master).
  const cacheKey = `${purpose}:${kid}`
  let key = subkeys.get(cacheKey)
  if (key === undefined) {
    key = hkdf(master, HKDF_SALT, [purpose])
    subkeys.set(cacheKey, key)
  }
  return key
}

/** The AES-256-GCM key of a `v1` value under master key `kid`. */
export function encryptionKey (keyring: Keyring, kid: string): Buffer {
  return subkey(keyring, kid, 'encryption')
}

/** A new data key: a `d` and 22 random base64url characters as its id, 32 bytes from the system CSPRNG. */
export function newDataKey (): DataKey {
  return { id: `d${randomBytes(16).toString('base64url')}`, key: randomBytes(DATA_KEY_BYTES) }
}

function indexUnder (keyring: Keyring, kid: string, account: string, contact: string): string {
  return createHmac('sha256', subkey(keyring, kid, 'blind-index'))
    .update(encodeFields(['contact', account, contact]))
    .digest('base64url')
}

/**
 * The blind index a contact is written with: HMAC-SHA-256 of (account, contact) under the current key's index
 * key, base64url (43 characters). The contact id is taken byte for byte: normalise it before.
 */
export function blindIndex (keyring: Keyring, account: string, contact: string): string {
  return indexUnder(keyring, keyring.current, account, contact)
}

/**
 * Every blind index a contact may be stored under: one per configured key, current first. Looking up with all of
 * them keeps finding contacts written before a rotation until they are rewritten; once the old key is removed,
 * its entries can no longer be found, so rotation rewrites blind indexes along with the values.
 */
export function blindIndexes (keyring: Keyring, account: string, contact: string): string[] {
  const seen = new Set<string>()
  for (const kid of keyring.kids) seen.add(indexUnder(keyring, kid, account, contact))
  return [...seen]
}

/**
 * 32 bytes as 64 hex characters or base64 (standard or url-safe, padded or not), surrounding whitespace ignored.
 * The message names the variable and the decoded length, never the value.
 */
function decodeKey (value: string, variable: string, where = ''): Buffer {
  const text = value.trim()
  let key: Buffer | undefined
  if (/^[0-9a-fA-F]+$/.test(text) && text.length % 2 === 0) {
    // Hex first: 64 hex characters are also valid base64 (of 48 bytes), while base64 of 32 bytes is 43 characters
    // unpadded or ends in `=`, so it never looks like hex of an even length.
    key = Buffer.from(text, 'hex')
  } else {
    const raw = /^([A-Za-z0-9+/_-]+)={0,2}$/.exec(text)?.[1]
    const mixed = raw !== undefined && /[+/]/.test(raw) && /[-_]/.test(raw)
    const body = mixed ? undefined : raw?.replace(/-/g, '+').replace(/_/g, '/')
    if (body !== undefined && body.length % 4 !== 1) {
      const bytes = Buffer.from(body, 'base64')
      // Canonical only: unused low bits of the last character must be zero, so one key has one spelling.
      if (bytes.toString('base64').replace(/=+$/, '') === body) key = bytes
    }
  }
  if (key === undefined) throw new ConfigError(variable, `${where}must be ${KEY_BYTES} bytes as 64 hex characters or base64`)
  if (key.length !== KEY_BYTES) {
    throw new ConfigError(variable, `${where}must be exactly ${KEY_BYTES} bytes (got ${key.length}); a passphrase is not accepted, generate a key with \`openssl rand -hex 32\``)
  }
  return key
}

function parseKeys (value: string): Array<{ kid: string, key: Buffer }> {
  const variable = 'SELLIFY_ENCRYPTION_KEYS'
  const entries: Array<{ kid: string, key: Buffer }> = []
  const parts = value.split(',')
  parts.forEach((part, i) => {
    const where = `entry ${i + 1} `
    const colon = part.indexOf(':')
    // The kid is never echoed unless valid: a key pasted in its place must not reach a log.
    if (colon < 0) throw new ConfigError(variable, `${where}is not kid:key (the list is kid1:key1,kid2:key2,…)`)
    const kid = part.slice(0, colon).trim()
    if (!KID_PATTERN.test(kid)) throw new ConfigError(variable, `${where}has an invalid key id (1 to 32 of A-Z a-z 0-9 _ -)`)
    if (entries.some((e) => e.kid === kid)) throw new ConfigError(variable, `key id ${JSON.stringify(kid)} appears twice`)
    const key = decodeKey(part.slice(colon + 1), variable, where)
    if (entries.some((e) => e.key.equals(key))) throw new ConfigError(variable, `${where}repeats the key of an earlier entry`)
    entries.push({ kid, key })
  })
  return entries
}

/**
 * The keyring of the environment, or null when neither variable is set (an empty value counts as unset).
 * `SELLIFY_ENCRYPTION_KEYS` lists every key, the first encrypts. Both variables may be set only while moving from
 * one to the other: the single key must then be one of the list's keys, and the list is the keyring; otherwise
 * the two disagree about which key encrypts, and that is refused naming both.
 */
export function parseKeyring (env: { SELLIFY_ENCRYPTION_KEY?: string, SELLIFY_ENCRYPTION_KEYS?: string }): Keyring | null {
  const single = env.SELLIFY_ENCRYPTION_KEY?.trim() ?? ''
  const list = env.SELLIFY_ENCRYPTION_KEYS?.trim() ?? ''
  if (list !== '') {
    const entries = parseKeys(list)
    if (single !== '') {
      const key = decodeKey(single, 'SELLIFY_ENCRYPTION_KEY')
      if (!entries.some((e) => e.key.equals(key))) {
        throw new ConfigError('SELLIFY_ENCRYPTION_KEY', 'is set together with SELLIFY_ENCRYPTION_KEYS but is not one of its keys; set only SELLIFY_ENCRYPTION_KEYS')
      }
    }
    return makeKeyring(entries, 'SELLIFY_ENCRYPTION_KEYS')
  }
  if (single === '') return null
  const key = decodeKey(single, 'SELLIFY_ENCRYPTION_KEY')
  return makeKeyring([{ kid: derivedKid(key), key }], 'SELLIFY_ENCRYPTION_KEY')
}

/** A keyring of one random key, for a `:memory:` database: a fresh key on every call, kept by nobody. */
export function memoryKeyring (): Keyring {
  const key = randomBytes(KEY_BYTES)
  return makeKeyring([{ kid: derivedKid(key), key }], 'memory')
}

function errorCode (err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code
}

/**
 * The key file beside the database (`sellify.key`): read it, or create it with 32 random bytes as hex, mode 0600.
 * Created complete under a temporary name and then hard-linked into place, which fails if the file exists: two
 * processes starting at once both end with the first one's key, and no process ever reads a half-written file.
 * An existing file that does not hold a key is refused (naming the path), never replaced: values encrypted under
 * it would be lost.
 */
export async function keyFile (path: string): Promise<{ keyring: Keyring, created: boolean }> {
  const read = async (): Promise<Keyring> => {
    const key = decodeKey(await readFile(path, 'utf8'), path, 'key file ')
    return makeKeyring([{ kid: derivedKid(key), key }], path)
  }
  try {
    return { keyring: await read(), created: false }
  } catch (err) {
    if (errorCode(err) !== 'ENOENT') throw err
  }
  const key = randomBytes(KEY_BYTES)
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
  const handle = await open(temporary, 'wx', 0o600)
  try {
    await handle.writeFile(`${key.toString('hex')}\n`, 'utf8')
    await handle.sync()
  } finally {
    await handle.close()
  }
  let created = true
  try {
    await link(temporary, path)
  } catch (err) {
    if (errorCode(err) !== 'EEXIST') throw err
    created = false
  } finally {
    await unlink(temporary)
  }
  if (!created) return { keyring: await read(), created }
  return { keyring: makeKeyring([{ kid: derivedKid(key), key }], path), created }
}
