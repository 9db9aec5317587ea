import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { DecryptionError, NotWellFormedText, UnknownEncryptionKey } from './errors.js'
import { CONTACT_SALT_BYTES, KID_PATTERN, contactKey, encodeFields, encryptionKey, hasKid, type Keyring } from './keys.js'

const ALGORITHM = 'aes-256-gcm'
const IV_BYTES = 12
const TAG_BYTES = 16

/** `v1`: under the key id's encryption key; `v1c`: under a per-contact data key (its salt is kept apart). */
const VERSIONS = ['v1', 'v1c'] as const
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

/**
 * A value tied to one contact: encrypted under that contact's data key (`contactKey`), readable only while the
 * contact's salt (`newContactSalt()`, stored once per account and contact) exists. Deleting the salt erases it.
 */
export type CipherOptions = { contactSalt?: undefined, account?: undefined } | { contactSalt: Buffer, account: string }

/** The additional authenticated data: a length-prefixed encoding, so no two places share one. */
function additionalData (version: Version, kid: string, place: Place): Buffer {
  return encodeFields(['sellify-aad', version, kid, place.table, place.column, String(place.row)])
}

function keyFor (keyring: Keyring, kid: string, opts: CipherOptions): Buffer {
  return opts.contactSalt === undefined ? encryptionKey(keyring, kid) : contactKey(keyring, kid, opts.account, opts.contactSalt)
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

/**
 * AES-256-GCM with a fresh random 12-byte IV and a 16-byte tag, as `v1.<kid>.<iv>.<ciphertext>.<tag>` (base64url
 * parts; `v1c` when encrypted under a contact key). Random IVs stay far from a repeat for up to 2^32 values
 * per key; rotate well before that.
 */
export function encrypt (keyring: Keyring, plaintext: string, place: Place, opts: CipherOptions = {}): string {
  // A lone surrogate would be replaced by U+FFFD in UTF-8: the text read back would not be the one written.
  if (/\p{Surrogate}/u.test(plaintext)) throw NotWellFormedText()
  const kid = place.kid ?? keyring.current
  if (!hasKid(keyring, kid)) throw UnknownEncryptionKey(kid)
  const version: Version = opts.contactSalt === undefined ? 'v1' : 'v1c'
  const key = keyFor(keyring, kid, opts)
  const iv = randomBytes(IV_BYTES)
  const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES })
  cipher.setAAD(additionalData(version, kid, place))
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  const tag = cipher.getAuthTag()
  return [version, kid, iv.toString('base64url'), ciphertext.toString('base64url'), tag.toString('base64url')].join('.')
}

/**
 * The plaintext of a stored value, or a `DecryptionError`: malformed text, unknown version or key id, a missing
 * contact salt, a wrong place, any changed bit. Nothing is returned before GCM's `final()` has checked the tag.
 */
export function decrypt (keyring: Keyring, text: string, place: Place, opts: CipherOptions = {}): string {
  const { version, kid, iv, ciphertext, tag } = parse(text)
  if (place.kid !== undefined && place.kid !== kid) throw new DecryptionError('authentication')
  if (!hasKid(keyring, kid)) throw new DecryptionError('unknown_kid')
  // The version is authenticated (it is part of the AAD), so it says truthfully which key was used.
  const salt = opts.contactSalt
  if (version === 'v1c' ? salt?.length !== CONTACT_SALT_BYTES : salt !== undefined) throw new DecryptionError('contact_salt')
  const key = keyFor(keyring, kid, opts)
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
 * The value under the current key, same plaintext and place (a rotation step). A value already under the current
 * key id is checked and answered unchanged, so a rotation that is run twice rewrites nothing the second time.
 */
export function reencrypt (keyring: Keyring, text: string, place: Place, opts: CipherOptions = {}): string {
  const plaintext = decrypt(keyring, text, { ...place, kid: undefined }, opts)
  if (kidOf(text) === keyring.current) return text
  return encrypt(keyring, plaintext, { ...place, kid: keyring.current }, opts)
}
