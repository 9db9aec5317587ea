import { createCipheriv, createDecipheriv } from 'node:crypto'
import { freshBytes } from './random.js'
import { DecryptionError, NotWellFormedText, UnknownEncryptionKey } from './errors.js'
import { DATA_KEY_BYTES, KID_PATTERN, encodeFields, encryptionKey, hasKid, type DataKey, type Keyring } from './keys.js'

const ALGORITHM = 'aes-256-gcm'
const IV_BYTES = 12
const TAG_BYTES = 16

/**
 * `v1`: under the encryption key of the master key id it names; `v1d`: under the data key it names (envelope
 * encryption: the data key is stored wrapped by a master key, and a rotation re-wraps it without touching
 * the values, so values a hash chain covers never change; deleting the data key erases every value under it).
 */
const VERSIONS = ['v1', 'v1d'] as const
type Version = typeof VERSIONS[number]

/**
 * Where a value is stored. It is bound into the ciphertext (with the key id and format version), so a value
 * copied to another table, column or row fails to decrypt. `kid` on encryption picks a key other than the
 * current one; on decryption the key id comes from the text and, if given here, must be the same.
 */
export interface Place {
  table: string
  column: string
  row: string | number | bigint
  kid?: string
}

/** `dataKey`: encrypt (or decrypt) under this data key instead of a master key (a `v1d` value). */
export interface CipherOptions { dataKey?: DataKey }

/** The additional authenticated data: a length-prefixed encoding, so no two places share one. */
function additionalData (version: Version, kid: string, place: Place): Buffer {
  return encodeFields(['sellify-aad', version, kid, place.table, place.column, String(place.row)])
}

function checkDataKey (dataKey: DataKey): void {
  if (!KID_PATTERN.test(dataKey.id) || dataKey.key.length !== DATA_KEY_BYTES) throw new TypeError(`a data key is an id and ${DATA_KEY_BYTES} bytes`)
}

/** Canonical base64url without padding: any other spelling of the same bytes is refused. */
function decodePart (text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return undefined
  const bytes = Buffer.from(text, 'base64url')
  return bytes.toString('base64url') === text ? bytes : undefined
}

interface Parsed {
  version: Version
  kid: string
  iv: Buffer
  ciphertext: Buffer
  tag: Buffer
}

function parse (text: string): Parsed {
  if (typeof text !== 'string') throw new DecryptionError('malformed')
  const parts = text.split('.')
  if (parts.length !== 5) throw new DecryptionError('malformed')
  const [version, kid, iv, ciphertext, tag] = parts
  if (!(VERSIONS as readonly string[]).includes(version)) throw new DecryptionError('unknown_version')
  if (!KID_PATTERN.test(kid)) throw new DecryptionError('malformed')
  const ivBytes = decodePart(iv)
  const ciphertextBytes = decodePart(ciphertext)
  const tagBytes = decodePart(tag)
  // The tag is checked here and by `authTagLength`: a truncated tag (4, 12 bytes) is refused, never accepted.
  if (ivBytes?.length !== IV_BYTES || ciphertextBytes === undefined || tagBytes?.length !== TAG_BYTES) {
    throw new DecryptionError('malformed')
  }
  return { version: version as Version, kid, iv: ivBytes, ciphertext: ciphertextBytes, tag: tagBytes }
}

/** The key id a stored value was encrypted under (for counting values per key during a rotation). */
export function kidOf (text: string): string {
  return parse(text).kid
}

function seal (version: Version, kid: string, key: Buffer, plaintext: string, place: Place): string {
  // A lone surrogate would be replaced by U+FFFD in UTF-8: the text read back would not be the one written.
  if (/\p{Surrogate}/u.test(plaintext)) throw NotWellFormedText()
  const iv = freshBytes(IV_BYTES)
  const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES })
  cipher.setAAD(additionalData(version, kid, place))
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  const tag = cipher.getAuthTag()
  return [version, kid, iv.toString('base64url'), ciphertext.toString('base64url'), tag.toString('base64url')].join('.')
}

function open ({ version, kid, iv, ciphertext, tag }: Parsed, key: Buffer, place: Place): string {
  let plaintext: Buffer
  try {
    const decipher = createDecipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES })
    decipher.setAuthTag(tag)
    decipher.setAAD(additionalData(version, kid, place))
    const head = decipher.update(ciphertext)
    const tail = decipher.final()
    plaintext = Buffer.concat([head, tail])
  } catch {
    throw new DecryptionError('authentication')
  }
  return plaintext.toString('utf8')
}

/**
 * AES-256-GCM with a fresh random 12-byte IV and a 16-byte tag, as `v1.<kid>.<iv>.<ciphertext>.<tag>` (base64url
 * parts), under the current master key (or `place.kid`). Random IVs stay far from a repeat for up to 2^32
 * values per key; rotate well before that.
 */
export function encrypt (keyring: Keyring, plaintext: string, place: Place): string {
  const kid = place.kid ?? keyring.current
  if (!hasKid(keyring, kid)) throw UnknownEncryptionKey(kid)
  return seal('v1', kid, encryptionKey(keyring, kid), plaintext, place)
}

/**
 * The plaintext of a `v1` value, or a `DecryptionError`: malformed text, unknown version or key id, a value
 * under a data key, a wrong place, any changed bit. Nothing is returned before GCM's `final()` has checked the tag.
 */
export function decrypt (keyring: Keyring, text: string, place: Place): string {
  const parsed = parse(text)
  // The version is authenticated (it is part of the AAD), so it says truthfully which kind of key was used.
  if (parsed.version !== 'v1') throw new DecryptionError('data_key')
  if (place.kid !== undefined && place.kid !== parsed.kid) throw new DecryptionError('authentication')
  if (!hasKid(keyring, parsed.kid)) throw new DecryptionError('unknown_kid')
  return open(parsed, encryptionKey(keyring, parsed.kid), place)
}

/** As `encrypt`, under a data key: `v1d.<data key id>.<iv>.<ciphertext>.<tag>`. */
export function encryptUnder (dataKey: DataKey, plaintext: string, place: Place): string {
  checkDataKey(dataKey)
  return seal('v1d', dataKey.id, dataKey.key, plaintext, place)
}

/** As `decrypt`, for a `v1d` value; `DecryptionError('data_key')` when it names another data key (or none). */
export function decryptUnder (dataKey: DataKey, text: string, place: Place): string {
  checkDataKey(dataKey)
  const parsed = parse(text)
  if (parsed.version !== 'v1d' || parsed.kid !== dataKey.id) throw new DecryptionError('data_key')
  return open(parsed, dataKey.key, place)
}

/** The id of the data key a `v1d` value is under, or null for a value under a master key. */
export function dataKeyIdOf (text: string): string | null {
  const { version, kid } = parse(text)
  return version === 'v1d' ? kid : null
}

/**
 * The value under the current key, same plaintext and place (a rotation step). A value already under the current
 * key id is checked and answered unchanged, so a rotation that is run twice rewrites nothing the second time.
 */
export function reencrypt (keyring: Keyring, text: string, place: Place): string {
  const plaintext = decrypt(keyring, text, { ...place, kid: undefined })
  if (kidOf(text) === keyring.current) return text
  return encrypt(keyring, plaintext, { ...place, kid: keyring.current })
}
