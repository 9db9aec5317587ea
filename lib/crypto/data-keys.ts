import { decrypt, encrypt, reencrypt } from './cipher.js'
import { DATA_KEY_BYTES, KID_PATTERN, type DataKey, type Keyring } from './keys.js'
import { DecryptionError } from './errors.js'

/**
 * Envelope encryption: each data key is stored wrapped (encrypted) by a master key, bound to its account and id.
 * Rotating the master key re-wraps the data keys and leaves every value under them as it is.
 */
const place = (account: string, id: string, column: 'key' | 'contact') => ({ table: 'data_keys', column, row: `${account}\n${id}` })

export function wrapDataKey (keyring: Keyring, account: string, dataKey: DataKey): string {
  return encrypt(keyring, dataKey.key.toString('base64url'), place(account, dataKey.id, 'key'))
}

/** The data key of a stored row; a `DecryptionError` when the wrapping fails authentication or its key id is not configured. */
export function unwrapDataKey (keyring: Keyring, account: string, id: string, wrapped: string): DataKey {
  if (!KID_PATTERN.test(id)) throw new DecryptionError('malformed')
  const key = Buffer.from(decrypt(keyring, wrapped, place(account, id, 'key')), 'base64url')
  if (key.length !== DATA_KEY_BYTES) throw new DecryptionError('malformed')
  return { id, key }
}

/** The contact id a data key belongs to, stored beside it so that a rotation can compute its blind index again. */
export function sealContact (keyring: Keyring, account: string, id: string, contact: string): string {
  return encrypt(keyring, contact, place(account, id, 'contact'))
}

export function openContact (keyring: Keyring, account: string, id: string, sealed: string): string {
  return decrypt(keyring, sealed, place(account, id, 'contact'))
}

/** A stored row's wrapping and contact under the current master key (unchanged when already under it). */
export function rewrap (keyring: Keyring, account: string, id: string, stored: { wrapped: string, contact: string | null }): { wrapped: string, contact: string | null } {
  return {
    wrapped: reencrypt(keyring, stored.wrapped, place(account, id, 'key')),
    contact: stored.contact === null ? null : reencrypt(keyring, stored.contact, place(account, id, 'contact'))
  }
}
