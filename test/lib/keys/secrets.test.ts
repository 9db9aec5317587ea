import t from 'tap'
import { createHash } from 'node:crypto'
import { BOOTSTRAP_KEY_ID, digestKey, generateKey, sameDigest } from '../../../lib/keys/secrets.js'

t.test('digestKey is the SHA-256 of the secret, 32 bytes', async (t) => {
  const digest = digestKey('sk_example')
  t.equal(digest.length, 32)
  t.same(digest, createHash('sha256').update('sk_example').digest())
  t.notSame(digestKey('sk_example'), digestKey('sk_Example'), 'case matters')
})

t.test('sameDigest compares digests and never throws on a length mismatch', async (t) => {
  const a = digestKey('one')
  t.ok(sameDigest(a, digestKey('one')))
  t.notOk(sameDigest(a, digestKey('two')))
  // timingSafeEqual throws on unequal lengths; sameDigest must answer false instead.
  t.notOk(sameDigest(a, a.subarray(0, 16)))
  t.notOk(sameDigest(a, Buffer.alloc(0)))
})

t.test('generateKey: a public id and a 256-bit secret, unique every time', async (t) => {
  const keys = Array.from({ length: 200 }, () => generateKey())
  t.ok(keys.every((k) => /^key_[A-Za-z0-9_-]+$/.test(k.id)), 'ids are key_…')
  t.ok(keys.every((k) => /^sk_[A-Za-z0-9_-]{43}$/.test(k.secret)), 'secrets are 32 random bytes in base64url')
  t.ok(keys.every((k) => !k.secret.includes(k.id.slice(4))), 'the id gives nothing of the secret away')
  t.equal(new Set(keys.flatMap((k) => [k.id, k.secret])).size, 400, 'no repeats')
  t.not(BOOTSTRAP_KEY_ID, '')
})
