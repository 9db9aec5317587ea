export { encrypt, decrypt, reencrypt, kidOf, type Place, type CipherOptions } from './cipher.js'
export {
  parseKeyring, keyFile, memoryKeyring, derivedKid, hasKid, blindIndex, blindIndexes, contactKey, newContactSalt,
  encryptionKey, KID_PATTERN, KEY_BYTES, CONTACT_SALT_BYTES, type Keyring
} from './keys.js'
export { DecryptionError, UnknownEncryptionKey, NotWellFormedText, DECRYPT_FAILURES, type DecryptFailure } from './errors.js'
