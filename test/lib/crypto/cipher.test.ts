import t from 'tap'
import { createDecipheriv } from 'node:crypto'
import {
  DecryptionError, dataKeyIdOf, decrypt, decryptUnder, derivedKid, encrypt, encryptUnder, encryptionKey, kidOf, newDataKey,
  openContact, parseKeyring, reencrypt, rewrap, sealContact, unwrapDataKey, wrapDataKey,
  type DecryptFailure, type Keyring, type Place
} from '../../../lib/crypto/index.js'

const K1 = '4f'.repeat(32)
const K2 = '9a'.repeat(16) + '01'.repeat(16)
const K3 = Buffer.alloc(32, 7).toString('base64')

function ring (env: { SELLIFY_ENCRYPTION_KEY?: string, SELLIFY_ENCRYPTION_KEYS?: string }): Keyring {
  const keyring = parseKeyring(env)
  if (keyring === null) throw new Error('expected a keyring')
  return keyring
}

const keyring = ring({ SELLIFY_ENCRYPTION_KEYS: `a:${K1},b:${K2}` })
const place: Place = { table: 'messages', column: 'text', row: 42 }
const SECRET = 'Je veux 3 pots de crème, mon numéro est le +33612345678'
const FORMAT = /^v1d?\.[A-Za-z0-9_-]{1,32}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]{22}$/

type TapTest = Parameters<Parameters<typeof t.test>[0]>[0]

/** `fn` throws a DecryptionError (of `reason`, when given) whose message quotes neither plaintext nor key. */
function refused (t: TapTest, fn: () => unknown, reason?: DecryptFailure, name = 'refused'): void {
  let error: unknown
  try {
    const answer = fn()
    t.fail(`${name}: answered ${JSON.stringify(answer)} instead of failing`)
    return
  } catch (err) {
    error = err
  }
  if (!(error instanceof DecryptionError)) {
    t.fail(`${name}: not a DecryptionError: ${String(error)}`)
    return
  }
  const problems: string[] = []
  if (reason !== undefined && error.reason !== reason) problems.push(`reason ${error.reason}, expected ${reason}`)
  if (error.code !== 'SELLIFY_DECRYPT_FAILED' || error.statusCode !== 500) problems.push(`code ${error.code}`)
  if ([SECRET, 'crème', K1, K2, K3].some((secret) => error.message.includes(secret))) problems.push('the message quotes a secret')
  if (problems.length === 0) t.pass(name)
  else t.fail(`${name}: ${problems.join(', ')}`)
}

/** The text with one part replaced. */
function withPart (text: string, index: number, part: string): string {
  const parts = text.split('.')
  parts[index] = part
  return parts.join('.')
}

function flipBit (part: string, byte: number, bit: number): string {
  const bytes = Buffer.from(part, 'base64url')
  bytes[byte] ^= 1 << bit
  return bytes.toString('base64url')
}

t.test('round trips: empty, ASCII, Unicode and emoji, 64 KiB', async (t) => {
  const emoji = 'Crème brûlée — 日本語 — مرحبا — 👍🏽 👨‍👩‍👧 🇸🇳'
  const large = Array.from({ length: 65536 }, (_, i) => String.fromCodePoint(i % 3 === 0 ? 0x1f600 + (i % 50) : 0x61 + (i % 26))).join('')
  t.ok(Buffer.byteLength(large) > 65536)
  for (const text of ['', 'a', SECRET, emoji, 'a\u0000b\n\t', large]) {
    const stored = encrypt(keyring, text, place)
    t.match(stored, FORMAT)
    t.ok(stored.startsWith('v1.a.'), 'under the current key')
    t.notOk(text.length > 3 && stored.includes(Buffer.from(text).toString('base64url').slice(0, 8)), 'not the plaintext in base64')
    t.equal(decrypt(keyring, stored, place), text, `${text.length} characters come back the same`)
  }
  t.not(encrypt(keyring, SECRET, place), encrypt(keyring, SECRET, place), 'same text twice, two ciphertexts')
  t.equal(decrypt(keyring, encrypt(keyring, SECRET, { ...place, row: 42 }), { ...place, row: '42' }), SECRET, 'row 42 and "42" are one place')
  t.equal(decrypt(keyring, encrypt(keyring, SECRET, { ...place, row: 42n }), place), SECRET, 'a bigint id too')
})

t.test('a text with a lone surrogate is refused, since it would not come back the same', async (t) => {
  t.throws(() => encrypt(keyring, 'a\ud800b', place), { code: 'SELLIFY_BAD_REQUEST', statusCode: 400 })
  t.throws(() => encrypt(keyring, '\udc00', place), { code: 'SELLIFY_BAD_REQUEST' })
  t.equal(decrypt(keyring, encrypt(keyring, '\ud83d\ude00', place), place), '😀', 'a surrogate pair is one code point')
})

t.test('every bit of the IV, the ciphertext and the tag is authenticated', async (t) => {
  const stored = encrypt(keyring, SECRET, place)
  let cases = 0
  for (const index of [2, 3, 4]) {
    const part = stored.split('.')[index]
    const length = Buffer.from(part, 'base64url').length
    for (let byte = 0; byte < length; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        refused(t, () => decrypt(keyring, withPart(stored, index, flipBit(part, byte, bit)), place), 'authentication', `part ${index} byte ${byte} bit ${bit}`)
        cases++
      }
    }
  }
  t.equal(cases, (12 + Buffer.byteLength(SECRET) + 16) * 8)
})

t.test('any character of the stored text changed is refused, never decrypted', async (t) => {
  const stored = encrypt(keyring, SECRET, place)
  for (let i = 0; i < stored.length; i++) {
    for (const replacement of new Set(['A', 'B', 't', '-', '_', '.', '=', '+'])) {
      if (stored[i] === replacement) continue
      const changed = stored.slice(0, i) + replacement + stored.slice(i + 1)
      // Changing the kid `a` into `b` names the other configured key: authentication fails all the same.
      refused(t, () => decrypt(keyring, changed, place), undefined, `character ${i} → ${replacement}`)
    }
  }
  // Non-canonical base64url: the last tag character's unused low bits set decodes to the same 16 bytes.
  const tag = stored.split('.')[4]
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  // 16 bytes are 128 of the 132 bits of 22 characters: the last character's 4 low bits are unused.
  const sameBytes = tag.slice(0, -1) + alphabet[alphabet.indexOf(tag.slice(-1)) + 1]
  t.same(Buffer.from(sameBytes, 'base64url'), Buffer.from(tag, 'base64url'), 'Node decodes both spellings alike')
  refused(t, () => decrypt(keyring, withPart(stored, 4, sameBytes), place), 'malformed', 'another spelling of the same tag')
})

t.test('a truncated or lengthened tag is refused: 4, 12, 15 and 17 bytes', async (t) => {
  const stored = encrypt(keyring, SECRET, place)
  const tag = Buffer.from(stored.split('.')[4], 'base64url')
  for (const bytes of [4, 12, 15]) {
    refused(t, () => decrypt(keyring, withPart(stored, 4, tag.subarray(0, bytes).toString('base64url')), place), 'malformed', `${bytes}-byte tag`)
  }
  refused(t, () => decrypt(keyring, withPart(stored, 4, Buffer.concat([tag, Buffer.alloc(1)]).toString('base64url')), place), 'malformed', '17-byte tag')
  refused(t, () => decrypt(keyring, withPart(stored, 4, ''), place), 'malformed', 'no tag')
})

t.test('a value moved to another table, column or row, or given another key id, does not decrypt', async (t) => {
  const stored = encrypt(keyring, SECRET, place)
  refused(t, () => decrypt(keyring, stored, { ...place, row: 43 }), 'authentication', 'another row')
  refused(t, () => decrypt(keyring, stored, { ...place, row: '042' }), 'authentication', 'row "042"')
  refused(t, () => decrypt(keyring, stored, { ...place, column: 'prompt' }), 'authentication', 'another column')
  refused(t, () => decrypt(keyring, stored, { ...place, table: 'alerts' }), 'authentication', 'another table')
  // Field boundaries are part of the encoding: (ab, c) is not (a, bc).
  const split = encrypt(keyring, SECRET, { table: 'ab', column: 'c', row: 1 })
  refused(t, () => decrypt(keyring, split, { table: 'a', column: 'bc', row: 1 }), 'authentication', 'boundaries moved')
  refused(t, () => decrypt(keyring, withPart(stored, 1, 'b'), place), 'authentication', 'kid a swapped for kid b')
  refused(t, () => decrypt(keyring, stored, { ...place, kid: 'b' }), 'authentication', 'the place expects another kid')
  t.equal(decrypt(keyring, stored, { ...place, kid: 'a' }), SECRET, 'the place may name the kid it expects')
  refused(t, () => decrypt(keyring, withPart(stored, 1, 'zz'), place), 'unknown_kid', 'a kid not configured')
})

t.test('malformed texts and unknown versions are refused', async (t) => {
  const stored = encrypt(keyring, SECRET, place)
  const [, kid, iv, ciphertext, tag] = stored.split('.')
  const malformed = [
    '', 'hello', SECRET, stored.split('.').slice(0, 4).join('.'), `${stored}.x`, `${stored}=`,
    withPart(stored, 2, Buffer.from(iv, 'base64url').subarray(0, 11).toString('base64url')),
    withPart(stored, 2, `${iv}AA`), withPart(stored, 3, `${ciphertext}=`), withPart(stored, 3, ciphertext.replace(/^./, '+')),
    withPart(stored, 1, ''), withPart(stored, 1, 'x'.repeat(33)), ['v1', kid, iv, ciphertext, tag].join('. ')
  ]
  for (const text of malformed) refused(t, () => decrypt(keyring, text, place), 'malformed', JSON.stringify(text.slice(0, 30)))
  refused(t, () => decrypt(keyring, null as unknown as string, place), 'malformed', 'not a string')
  for (const version of ['v2', 'v0', 'V1', 'v1x', '']) {
    refused(t, () => decrypt(keyring, withPart(stored, 0, version), place), 'unknown_version', `version ${JSON.stringify(version)}`)
  }
  refused(t, () => kidOf('nonsense'), 'malformed', 'kidOf of nonsense')
  t.equal(kidOf(stored), 'a')
})

t.test('rotation: old values readable while their key is configured, re-encrypted, refused once it is gone', async (t) => {
  const before = ring({ SELLIFY_ENCRYPTION_KEYS: `old:${K1}` })
  const stored = encrypt(before, SECRET, place)
  t.equal(kidOf(stored), 'old')

  const during = ring({ SELLIFY_ENCRYPTION_KEYS: `new:${K2},old:${K1}` })
  t.equal(decrypt(during, stored, place), SECRET, 'written under the old key, read while it is configured')
  t.equal(kidOf(encrypt(during, SECRET, place)), 'new', 'new values under the first key')
  const rotated = reencrypt(during, stored, place)
  t.equal(kidOf(rotated), 'new')
  t.equal(decrypt(during, rotated, place), SECRET, 'same plaintext')
  t.equal(reencrypt(during, rotated, place), rotated, 'a value under the current key is left as it is')
  refused(t, () => reencrypt(during, stored, { ...place, row: 7 }), 'authentication', 'reencrypt checks the place')

  const after = ring({ SELLIFY_ENCRYPTION_KEYS: `new:${K2}` })
  t.equal(decrypt(after, rotated, place), SECRET, 'the rotated value needs only the new key')
  refused(t, () => decrypt(after, stored, place), 'unknown_kid', 'the old key removed: an error, not garbage')
  refused(t, () => decrypt(ring({ SELLIFY_ENCRYPTION_KEYS: `old:${K3}` }), stored, place), 'authentication', 'another key under the old name')
})

t.test('a single key moved into the list keeps its values readable under its derived id', async (t) => {
  const single = ring({ SELLIFY_ENCRYPTION_KEY: K1 })
  const stored = encrypt(single, SECRET, place)
  t.equal(kidOf(stored), derivedKid(Buffer.from(K1, 'hex')))
  const listed = ring({ SELLIFY_ENCRYPTION_KEYS: `new:${K2},legacy:${K1}` })
  t.equal(decrypt(listed, stored, place), SECRET)
  t.equal(kidOf(reencrypt(listed, stored, place)), 'new')
  refused(t, () => decrypt(ring({ SELLIFY_ENCRYPTION_KEY: K3 }), stored, place), 'unknown_kid', 'another single key: its id tells it apart')
})

t.test('data keys: a value under one opens with that key only, and no master key opens it', async (t) => {
  const dataKey = newDataKey()
  t.match(dataKey.id, /^d[A-Za-z0-9_-]{22}$/)
  t.equal(dataKey.key.length, 32)
  const stored = encryptUnder(dataKey, SECRET, place)
  t.match(stored, FORMAT)
  t.ok(stored.startsWith(`v1d.${dataKey.id}.`), 'names its data key')
  t.equal(dataKeyIdOf(stored), dataKey.id)
  t.equal(dataKeyIdOf(encrypt(keyring, SECRET, place)), null, 'a master-key value names none')
  t.equal(decryptUnder(dataKey, stored, place), SECRET)
  refused(t, () => decryptUnder(newDataKey(), stored, place), 'data_key', 'another data key')
  refused(t, () => decryptUnder({ id: dataKey.id, key: newDataKey().key }, stored, place), 'authentication', 'the same id with other bytes')
  refused(t, () => decryptUnder(dataKey, stored, { ...place, row: 8 }), 'authentication', 'another row')
  refused(t, () => decrypt(keyring, stored, place), 'data_key', 'the keyring alone does not open it')
  refused(t, () => decrypt(keyring, withPart(stored, 0, 'v1'), place), 'unknown_kid', 'relabelled v1: its id is no master key id')
  refused(t, () => decryptUnder(dataKey, withPart(encrypt(keyring, SECRET, place), 1, dataKey.id), place), 'data_key', 'a v1 value given a data key id')
  refused(t, () => decryptUnder(dataKey, withPart(withPart(encrypt(keyring, SECRET, place), 0, 'v1d'), 1, dataKey.id), place), 'authentication', 'and relabelled v1d')
  t.throws(() => encryptUnder({ id: dataKey.id, key: Buffer.alloc(16) }, SECRET, place), TypeError, 'a short data key is refused')

  // Not even with the master's encryption key and the right AAD layout.
  const [, , iv, ciphertext, tag] = stored.split('.')
  const decipher = createDecipheriv('aes-256-gcm', encryptionKey(keyring, 'a'), Buffer.from(iv, 'base64url'), { authTagLength: 16 })
  decipher.setAuthTag(Buffer.from(tag, 'base64url'))
  decipher.update(Buffer.from(ciphertext, 'base64url'))
  t.throws(() => decipher.final(), 'the master encryption key does not open it')
})

t.test('a wrapped data key: bound to its account and id, re-wrapped by a rotation, the values under it untouched', async (t) => {
  const dataKey = newDataKey()
  const wrapped = wrapDataKey(keyring, 'shop', dataKey)
  t.match(wrapped, /^v1\.a\./)
  t.same(unwrapDataKey(keyring, 'shop', dataKey.id, wrapped), dataKey)
  refused(t, () => unwrapDataKey(keyring, 'other', dataKey.id, wrapped), 'authentication', 'another account')
  refused(t, () => unwrapDataKey(keyring, 'shop', newDataKey().id, wrapped), 'authentication', 'another id')
  const value = encryptUnder(dataKey, SECRET, place)
  const contact = sealContact(keyring, 'shop', dataKey.id, '+33612345678')
  t.notOk(contact.includes('3361'), 'the contact id is not in clear')
  t.equal(openContact(keyring, 'shop', dataKey.id, contact), '+33612345678')

  const rotated = ring({ SELLIFY_ENCRYPTION_KEYS: `c:${K3},a:${K1}` })
  const moved = rewrap(rotated, 'shop', dataKey.id, { wrapped, contact })
  t.ok(moved.wrapped.startsWith('v1.c.') && moved.contact?.startsWith('v1.c.'), 'both under the new key')
  t.same(rewrap(rotated, 'shop', dataKey.id, moved), moved, 'a second rotation changes nothing')
  t.equal(decryptUnder(unwrapDataKey(rotated, 'shop', dataKey.id, moved.wrapped), value, place), SECRET, 'the old value opens with the re-wrapped key')
  t.same(rewrap(rotated, 'shop', dataKey.id, { wrapped, contact: null }).contact, null)
  refused(t, () => unwrapDataKey(ring({ SELLIFY_ENCRYPTION_KEYS: `c:${K3}` }), 'shop', dataKey.id, wrapped), 'unknown_kid', 'the old wrapping once its key is gone')
})

t.test('IVs are fresh: 10 000 encryptions, 10 000 different IVs', async (t) => {
  const ivs = new Set<string>()
  for (let i = 0; i < 10_000; i++) ivs.add(encrypt(keyring, 'same text', place).split('.')[2])
  t.equal(ivs.size, 10_000)
})

t.test('encrypting under a key id that is not configured is a programming error', async (t) => {
  t.throws(() => encrypt(keyring, SECRET, { ...place, kid: 'zz' }), { code: 'SELLIFY_UNKNOWN_ENCRYPTION_KEY' })
  t.ok(encrypt(keyring, SECRET, { ...place, kid: 'b' }).startsWith('v1.b.'), 'an older configured key on request')
})
