export { encrypt, decrypt, encryptUnder, decryptUnder, dataKeyIdOf, reencrypt, kidOf, type Place } from './cipher.js'
export {
  parseKeyring, keyFile, memoryKeyring, derivedKid, hasKid, blindIndex, blindIndexes, newDataKey,
  encryptionKey, KID_PATTERN, KEY_BYTES, DATA_KEY_BYTES, type DataKey, type Keyring
} from './keys.js'
export { wrapDataKey, unwrapDataKey, sealContact, openContact, rewrap } from './data-keys.js'
export { freshBytes, randomFraction } from './random.js'
export { DecryptionError, UnknownEncryptionKey, NotWellFormedText, DECRYPT_FAILURES, type DecryptFailure } from './errors.js'
