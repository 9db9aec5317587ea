import t from 'tap'
import { randomBytes } from 'node:crypto'
import { inspect } from 'node:util'
import { ConfigError } from '../../../lib/shared/errors.js'
import {
  blindIndex, blindIndexes, derivedKid, encryptionKey, memoryKeyring, parseKeyring, type Keyring
} from '../../../lib/crypto/index.js'

const K1 = Buffer.alloc(32, 0xfb) // base64 '+/v7…': tells the standard alphabet from the url-safe one
const K2 = Buffer.from('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff', 'hex')
const hex = (key: Buffer): string => key.toString('hex')

function ring (env: { SELLIFY_ENCRYPTION_KEY?: string, SELLIFY_ENCRYPTION_KEYS?: string }): Keyring {
  const keyring = parseKeyring(env)
  if (keyring === null) throw new Error('expected a keyring')
  return keyring
}

type TapTest = Parameters<Parameters<typeof t.test>[0]>[0]

/** The ConfigError of `fn`, checked to name `variable` and to quote none of `secrets`. */
function configError (t: TapTest, fn: () => unknown, variable: string, secrets: string[] = []): ConfigError | undefined {
  try {
    fn()
  } catch (err) {
    t.ok(err instanceof ConfigError, 'a ConfigError')
    const error = err as ConfigError
    t.equal(error.variable, variable, `names ${variable}`)
    t.match(error.message, variable)
    for (const secret of secrets) t.notOk(error.message.includes(secret), 'the message quotes no key')
    return error
  }
  t.fail('expected a ConfigError')
  return undefined
}

t.test('SELLIFY_ENCRYPTION_KEY: 64 hex characters or base64, standard or url-safe, padded or not', async (t) => {
  const kid = derivedKid(K1)
  t.match(kid, /^k[0-9a-f]{8}$/)
  const spellings = [
    hex(K1), hex(K1).toUpperCase(), ` ${hex(K1)}\n`,
    K1.toString('base64'), K1.toString('base64').replace(/=+$/, ''),
    K1.toString('base64url'), `${K1.toString('base64url')}=`
  ]
  t.ok(K1.toString('base64').includes('+') && K1.toString('base64').includes('/'), 'the key exercises + and /')
  for (const spelling of spellings) {
    const keyring = ring({ SELLIFY_ENCRYPTION_KEY: spelling })
    t.equal(keyring.current, kid, `${JSON.stringify(spelling.slice(0, 6))}… is the same key`)
    t.same(keyring.kids, [kid])
    t.same(encryptionKey(keyring, kid), encryptionKey(ring({ SELLIFY_ENCRYPTION_KEY: hex(K1) }), kid))
  }
  t.not(derivedKid(K2), kid, 'another key, another id')
  t.equal(parseKeyring({}), null, 'neither variable: no keyring')
  t.equal(parseKeyring({ SELLIFY_ENCRYPTION_KEY: '', SELLIFY_ENCRYPTION_KEYS: '  ' }), null, 'empty counts as unset')
})

t.test('a value that is not exactly 32 bytes is refused naming the variable, never quoting it', async (t) => {
  const bad = [
    randomBytes(31).toString('hex'), randomBytes(33).toString('hex'),
    randomBytes(31).toString('base64'), randomBytes(33).toString('base64url'),
    'correct horse battery staple', 'not-a-key!', hex(K1).slice(0, 63),
    // Non-canonical base64: the last character's unused bits set, another spelling of the same bytes.
    `${K1.toString('base64url').slice(0, 42)}t`,
    // Both alphabets at once.
    `${K1.toString('base64').slice(0, 20)}-${K1.toString('base64').slice(21)}`
  ]
  for (const value of bad) {
    const error = configError(t, () => parseKeyring({ SELLIFY_ENCRYPTION_KEY: value }), 'SELLIFY_ENCRYPTION_KEY', [value.trim()])
    t.match(error?.message, /32 bytes/)
  }
  t.match(configError(t, () => parseKeyring({ SELLIFY_ENCRYPTION_KEY: randomBytes(31).toString('hex') }), 'SELLIFY_ENCRYPTION_KEY')?.message, /got 31/)
  t.match(configError(t, () => parseKeyring({ SELLIFY_ENCRYPTION_KEY: randomBytes(33).toString('base64') }), 'SELLIFY_ENCRYPTION_KEY')?.message, /got 33/)
})

t.test('SELLIFY_ENCRYPTION_KEYS: the first encrypts, all are held; kids are checked, unique, keys too', async (t) => {
  const keyring = ring({ SELLIFY_ENCRYPTION_KEYS: `new:${K2.toString('base64')}, old_1-x:${hex(K1)}` })
  t.equal(keyring.current, 'new')
  t.same(keyring.kids, ['new', 'old_1-x'])
  t.same(encryptionKey(keyring, 'old_1-x'), encryptionKey(ring({ SELLIFY_ENCRYPTION_KEY: hex(K1) }), derivedKid(K1)), 'same key, same sub-key')

  const variable = 'SELLIFY_ENCRYPTION_KEYS'
  const cases: Array<[string, string, RegExp]> = [
    [hex(K1), 'no kid at all: the key alone', /entry 1 is not kid:key/],
    [`a:${hex(K1)},${hex(K2)}`, 'second entry without kid', /entry 2 is not kid:key/],
    [`:${hex(K1)}`, 'empty kid', /entry 1 has an invalid key id/],
    [`bad kid:${hex(K1)}`, 'space in kid', /invalid key id/],
    [`${'x'.repeat(33)}:${hex(K1)}`, '33-character kid', /invalid key id/],
    [`a:${hex(K1)},`, 'trailing comma', /entry 2 is not kid:key/],
    [`a:${hex(K1)},,b:${hex(K2)}`, 'empty entry', /entry 2 is not kid:key/],
    [`a:${hex(K1)},b:${randomBytes(31).toString('hex')}`, '31-byte key', /entry 2 must be exactly 32 bytes \(got 31\)/],
    [`a:${hex(K1)},b:${randomBytes(33).toString('base64')}`, '33-byte key', /entry 2 must be exactly 32 bytes \(got 33\)/],
    [`a:${hex(K1)},b:passphrase`, 'passphrase', /entry 2 must be 32 bytes/],
    [`a:${hex(K1)},a:${hex(K2)}`, 'duplicate kid', /key id "a" appears twice/],
    [`a:${hex(K1)},b:${K1.toString('base64')}`, 'the same key twice', /entry 2 repeats the key/],
    [`${derivedKid(K1)}:${hex(K2)},b:${hex(K1)}`, 'a kid that is another key\'s derived id', /derived id of another configured key/]
  ]
  for (const [value, name, message] of cases) {
    t.test(name, async (t) => {
      const error = configError(t, () => parseKeyring({ SELLIFY_ENCRYPTION_KEYS: value }), variable, [hex(K1), hex(K2), K1.toString('base64')])
      t.match(error?.message, message)
    })
  }
})

t.test('both variables: the list wins when the single key is one of its keys, else refused naming both', async (t) => {
  const keyring = ring({ SELLIFY_ENCRYPTION_KEY: K1.toString('base64url'), SELLIFY_ENCRYPTION_KEYS: `new:${hex(K2)},old:${hex(K1)}` })
  t.equal(keyring.current, 'new')
  t.same(keyring.kids, ['new', 'old'])
  const error = configError(t, () => parseKeyring({ SELLIFY_ENCRYPTION_KEY: hex(K1), SELLIFY_ENCRYPTION_KEYS: `new:${hex(K2)}` }), 'SELLIFY_ENCRYPTION_KEY', [hex(K1), hex(K2)])
  t.match(error?.message, /SELLIFY_ENCRYPTION_KEYS/)
  configError(t, () => parseKeyring({ SELLIFY_ENCRYPTION_KEY: 'short', SELLIFY_ENCRYPTION_KEYS: `new:${hex(K2)}` }), 'SELLIFY_ENCRYPTION_KEY', ['short'])
})

t.test('a keyring carries no key material a log or JSON could print', async (t) => {
  const keyring = ring({ SELLIFY_ENCRYPTION_KEYS: `a:${hex(K1)},b:${hex(K2)}` })
  for (const shown of [JSON.stringify(keyring), inspect(keyring, { depth: 10, showHidden: true }), String(Object.values(keyring))]) {
    for (const secret of [hex(K1), hex(K2), K1.toString('base64'), K1.toString('base64url'), 'fb, fb', '251, 251']) {
      t.notOk(shown.includes(secret), `${shown.slice(0, 40)} quotes no key`)
    }
  }
  t.throws(() => encryptionKey({ current: 'a', kids: ['a'] }, 'a'), TypeError, 'a look-alike object is no keyring')
  t.throws(() => encryptionKey(keyring, 'zz'), { code: 'SELLIFY_UNKNOWN_ENCRYPTION_KEY' })
})

t.test('memoryKeyring: a fresh random key per call', async (t) => {
  const a = memoryKeyring()
  const b = memoryKeyring()
  t.match(a.current, /^k[0-9a-f]{8}$/)
  t.not(a.current, b.current)
  t.notSame(encryptionKey(a, a.current), encryptionKey(b, b.current))
})

t.test('sub-keys are separate: the encryption key differs from the master, the blind index shows neither', async (t) => {
  const keyring = ring({ SELLIFY_ENCRYPTION_KEY: hex(K1) })
  const keys = [K1, encryptionKey(keyring, keyring.current)]
  t.equal(new Set(keys.map(hex)).size, 2)
  t.ok(keys.every((key) => key.length === 32))
  t.notOk(blindIndex(keyring, 'shop', '+33612345678').includes(hex(K1)))
})

t.test('blindIndex: deterministic HMAC of (account, contact), unambiguous, found after a rotation', async (t) => {
  const old = ring({ SELLIFY_ENCRYPTION_KEY: hex(K1) })
  const index = blindIndex(old, 'shop', '+33612345678')
  t.match(index, /^[A-Za-z0-9_-]{43}$/)
  t.equal(blindIndex(old, 'shop', '+33612345678'), index, 'stable')
  t.not(blindIndex(old, 'other', '+33612345678'), index, 'per account')
  t.not(blindIndex(old, 'shop', '+33612345679'), index, 'per contact')
  t.not(blindIndex(old, 'a', 'bc'), blindIndex(old, 'ab', 'c'), 'the fields cannot run into each other')
  t.not(blindIndex(ring({ SELLIFY_ENCRYPTION_KEY: hex(K2) }), 'shop', '+33612345678'), index, 'per key')

  // Rotation: K2 is new and encrypts, K1 (moved from the single variable into the list) still decrypts.
  const rotated = ring({ SELLIFY_ENCRYPTION_KEYS: `new:${hex(K2)},old:${hex(K1)}` })
  const indexes = blindIndexes(rotated, 'shop', '+33612345678')
  t.equal(indexes.length, 2)
  t.equal(indexes[0], blindIndex(rotated, 'shop', '+33612345678'), 'current first: what a write uses')
  t.equal(indexes[0], blindIndex(ring({ SELLIFY_ENCRYPTION_KEY: hex(K2) }), 'shop', '+33612345678'), 'the current key decides the written index')
  t.ok(indexes.includes(index), 'a contact written before the rotation is still found')
  t.notOk(blindIndexes(ring({ SELLIFY_ENCRYPTION_KEYS: `new:${hex(K2)}` }), 'shop', '+33612345678').includes(index), 'not once the old key is gone')
  t.same(blindIndexes(old, 'shop', '+33612345678'), [index], 'one key, one index')
})
