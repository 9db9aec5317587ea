import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

/** The bootstrap key's id: stable, so rate limits and logs can name it without the secret. */
export const BOOTSTRAP_KEY_ID = 'bootstrap'

/** SHA-256 of the secret: what is stored and compared, so a leaked table leaks no usable key. */
export function digestKey (secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest()
}

/** Constant-time comparison of two digests; both are 32 bytes, as timingSafeEqual requires equal lengths. */
export function sameDigest (a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}

/** A new key: a public id and a 256-bit secret from the system CSPRNG (not the pacing RNG). */
export function generateKey (): { id: string, secret: string } {
  return {
    id: `key_${randomBytes(9).toString('base64url')}`,
    secret: `sk_${randomBytes(32).toString('base64url')}`
  }
}
