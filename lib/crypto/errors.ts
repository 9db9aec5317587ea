import { SellifyError, defineError } from '../shared/errors.js'

/** Why a stored value could not be read. Each message is fixed text: no input, plaintext or key ever reaches it. */
export const DECRYPT_FAILURES = {
  malformed: 'the stored value is not in the encrypted text format',
  unknown_version: 'the stored value has an unknown format version',
  unknown_kid: 'the stored value was encrypted under a key id that is not configured',
  data_key: 'the stored value is under a data key that is not the one given (missing, erased, or a value under a master key)',
  authentication: 'the stored value failed authentication (tampered, moved to another place, or another key)'
} as const

export type DecryptFailure = keyof typeof DECRYPT_FAILURES

/**
 * A stored value that cannot be decrypted: never answered as garbage text. A 500, since it means the data or
 * the key configuration is wrong, not the request.
 */
export class DecryptionError extends SellifyError {
  static readonly code = 'SELLIFY_DECRYPT_FAILED'
  readonly reason: DecryptFailure

  constructor (reason: DecryptFailure) {
    super(500, DecryptionError.code, `Cannot decrypt: ${DECRYPT_FAILURES[reason]}`)
    this.name = 'DecryptionError'
    this.reason = reason
  }
}

/** Encrypting or deriving under a key id the keyring does not hold: a programming error, not bad data. */
export const UnknownEncryptionKey = defineError('SELLIFY_UNKNOWN_ENCRYPTION_KEY', 500, (kid: string) => `key id ${JSON.stringify(kid)} is not configured`)

/** A text that would not come back the same after a round trip through UTF-8 (a lone surrogate). */
export const NotWellFormedText = defineError('SELLIFY_BAD_REQUEST', 400, () => 'text is not well-formed Unicode (lone surrogate)')
