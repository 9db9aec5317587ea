import t from 'tap'
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'
import {
  append, canonical, chainHash, checkpointOf, genesisHash, verify, verifyStream
} from '../../../lib/audit/chain.js'
import { createIdGenerator } from '../../../lib/audit/id.js'
import type { AuditEntry, AuditRecord } from '../../../lib/audit/types.js'

const nextId = createIdGenerator(() => new Date('2026-05-05T10:00:00Z'), Math.random)

function entry (account: string, extra: Partial<AuditEntry> = {}): AuditEntry {
  return {
    id: nextId(),
    timestamp: '2026-05-05T10:00:00.000Z',
    account,
    actor: { id: 'key_1', name: 'ops' },
    type: 'decision',
    contact: 'v1.k1.ciphertext-of-contact',
    action: 'reply',
    quotas_before: { messages_today: 3, messages_this_week: 10 },
    quotas_after: { messages_today: 4, messages_this_week: 11 },
    duration_ms: 12.5,
    ...extra
  }
}

function chainOf (account: string, n: number, extra: Partial<AuditEntry> = {}): AuditRecord[] {
  const records: AuditRecord[] = []
  for (let i = 0; i < n; i++) {
    records.push(append(records.at(-1)?.hash ?? null, entry(account, { reason: `r${i}`, ...extra })))
  }
  return records
}

const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex')

t.test('canonical: sorted keys at every depth, no whitespace, the chain fields left out', async (t) => {
  const record = {
    type: 'decision',
    id: 'id1',
    timestamp: '2026-05-05T10:00:00.000Z',
    actor: 'system',
    account: 'shop',
    validation: { z: [1, { b: true, a: null }], a: 'x' },
    prev_hash: 'p'.repeat(64),
    hash: 'h'.repeat(64)
  } as unknown as AuditRecord
  t.equal(canonical(record),
    '{"account":"shop","actor":"system","id":"id1","timestamp":"2026-05-05T10:00:00.000Z","type":"decision",' +
    '"validation":{"a":"x","z":[1,{"a":null,"b":true}]}}')
})

t.test('canonical does not depend on the order keys were set in', async (t) => {
  const a = entry('shop', { validation: { grounded: true, checks: { price: 'ok', name: 'ok' } } })
  const reversed = Object.fromEntries(Object.entries(a).reverse().map(([k, v]) =>
    [k, typeof v === 'object' && v !== null ? Object.fromEntries(Object.entries(v).reverse()) : v]))
  const validation = reversed.validation as { checks: Record<string, string> }
  validation.checks = { name: 'ok', price: 'ok' }
  t.not(JSON.stringify(reversed), JSON.stringify(a), 'the inputs really differ in key order')
  t.equal(canonical(reversed as unknown as AuditEntry), canonical(a))
  t.equal(chainHash(genesisHash('shop'), reversed as unknown as AuditEntry), chainHash(genesisHash('shop'), a))
})

t.test('canonical: undefined and top-level null are absent; null inside JSON is kept', async (t) => {
  const base = entry('shop')
  t.equal(canonical({ ...base, rule: undefined }), canonical(base))
  t.equal(canonical({ ...base, rule: null } as unknown as AuditEntry), canonical(base), 'a NULL column reads back as null')
  t.not(canonical({ ...base, validation: { a: null } }), canonical({ ...base, validation: {} }))
  t.equal(canonical({ ...base, validation: { a: undefined } } as unknown as AuditEntry), canonical({ ...base, validation: {} }))
})

t.test('canonical: numbers as JavaScript prints them, and the unprintable refused', async (t) => {
  const base = entry('shop')
  t.equal(canonical({ ...base, duration_ms: -0 }), canonical({ ...base, duration_ms: 0 }))
  t.equal(canonical({ ...base, duration_ms: 1e21 }), canonical({ ...base, duration_ms: 1000000000000000000000 }))
  t.match(canonical({ ...base, duration_ms: 0.1 + 0.2 }), /"duration_ms":0\.30000000000000004/)
  t.not(canonical({ ...base, duration_ms: 1 }), canonical({ ...base, duration_ms: '1' } as unknown as AuditEntry),
    'a number and a string of its digits differ')
  for (const bad of [NaN, Infinity, -Infinity]) {
    t.throws(() => canonical({ ...base, duration_ms: bad }), TypeError, String(bad))
  }
  t.throws(() => canonical({ ...base, validation: { at: new Date() } } as unknown as AuditEntry), TypeError)
  t.throws(() => canonical({ ...base, validation: { n: 1n } } as unknown as AuditEntry), TypeError)
  t.throws(() => canonical({ ...base, validation: { list: [1, undefined] } } as unknown as AuditEntry), TypeError)
})

t.test('canonical refuses an unknown field and a missing required one', async (t) => {
  const base = entry('shop')
  t.throws(() => canonical({ ...base, note: 'x' } as unknown as AuditEntry), /unknown audit field "note"/)
  for (const name of ['id', 'timestamp', 'account', 'actor', 'type'] as const) {
    const { [name]: _, ...rest } = base
    t.throws(() => canonical(rest as AuditEntry), new RegExp(`without ${name}`))
  }
})

t.test('canonical: Unicode kept as stored, unambiguous, lone surrogates escaped', async (t) => {
  const base = entry('café')
  const nfc = 'Crème brûlée 🍮 “12 500 F”'
  const nfd = nfc.normalize('NFD')
  t.not(canonical({ ...base, reason: nfc }), canonical({ ...base, reason: nfd }), 'not normalised: what is stored is hashed')
  t.match(canonical({ ...base, reason: nfc }), nfc, 'kept as UTF-8, not escaped')
  // "\ud800" and "\ud801" would both become U+FFFD in UTF-8; escaped, they stay apart.
  t.not(chainHash(genesisHash('café'), { ...base, reason: '\ud800' }), chainHash(genesisHash('café'), { ...base, reason: '\ud801' }))
  t.match(canonical({ ...base, reason: '\ud800' }), '"reason":"\\ud800"')
  t.not(canonical({ ...base, reason: 'a","action":"b' }), canonical({ ...base, reason: 'a', action: 'b' }), 'quotes cannot forge a field')
})

t.test('chainHash is SHA-256 of the previous hash followed by the canonical form', async (t) => {
  const record = entry('shop')
  const prev = genesisHash('shop')
  t.equal(chainHash(prev, record), sha(prev + canonical(record)))
  t.equal(genesisHash('shop'), sha('sellify-audit-genesis\nshop'))
  t.not(genesisHash('shop'), genesisHash('shop2'))
  t.throws(() => chainHash('abc', record), TypeError)
})

t.test('append links to the head, or to the account genesis for the first record', async (t) => {
  const first = append(null, entry('shop'))
  t.equal(first.prev_hash, genesisHash('shop'))
  t.equal(first.hash, chainHash(first.prev_hash, first))
  const second = append(first.hash, entry('shop'))
  t.equal(second.prev_hash, first.hash)
  const again = append(first.hash, { ...second, hash: 'f'.repeat(64), prev_hash: '0'.repeat(64) })
  t.equal(again.hash, second.hash, 'old chain fields are replaced, not hashed')
})

t.test('verify accepts an intact chain, an empty one, and one ending at the recorded head', async (t) => {
  const records = chainOf('shop', 20)
  t.same(verify(records, { account: 'shop' }), { valid: true, records: 20, first_invalid_id: null })
  t.same(verify(records, { account: 'shop', head: records.at(-1)!.hash }), { valid: true, records: 20, first_invalid_id: null })
  t.same(verify([], { account: 'shop' }), { valid: true, records: 0, first_invalid_id: null })
  t.same(verify([], { account: 'shop', head: genesisHash('shop') }), { valid: true, records: 0, first_invalid_id: null })
  async function * stream () { yield * records }
  t.same(await verifyStream(stream(), { account: 'shop' }), { valid: true, records: 20, first_invalid_id: null })
})

t.test('verify names the first invalid record', async (t) => {
  const records = chainOf('shop', 10)

  t.test('an edited field', async (t) => {
    const edited = records.map((r) => ({ ...r }))
    edited[4].action = 'delay'
    edited[7].reason = 'also edited'
    t.same(verify(edited, { account: 'shop' }), { valid: false, records: 5, first_invalid_id: records[4].id, reason: 'hash' })
  })

  t.test('an edited nested counter', async (t) => {
    const edited = structuredClone(records)
    edited[2].quotas_after!.messages_today = 0
    t.match(verify(edited, { account: 'shop' }), { valid: false, first_invalid_id: records[2].id, reason: 'hash' })
  })

  t.test('an edited record whose own hash was recomputed', async (t) => {
    const edited = records.map((r) => ({ ...r }))
    edited[3] = append(edited[3].prev_hash, { ...edited[3], action: 'delay' })
    t.match(verify(edited, { account: 'shop' }), { valid: false, first_invalid_id: records[4].id, reason: 'prev_hash' })
  })

  t.test('a deleted record', async (t) => {
    const deleted = records.filter((_, i) => i !== 6)
    t.match(verify(deleted, { account: 'shop' }), { valid: false, records: 7, first_invalid_id: records[7].id, reason: 'prev_hash' })
  })

  t.test('the first record deleted', async (t) => {
    t.match(verify(records.slice(1), { account: 'shop' }), { valid: false, first_invalid_id: records[1].id })
  })

  t.test('the newest records deleted: seen against the recorded head', async (t) => {
    const head = records.at(-1)!.hash
    t.same(verify(records.slice(0, 8), { account: 'shop', head }),
      { valid: false, records: 8, first_invalid_id: null, reason: 'head' })
    t.same(verify([], { account: 'shop', head }), { valid: false, records: 0, first_invalid_id: null, reason: 'head' })
  })

  t.test('two records swapped', async (t) => {
    const swapped = [...records]
    ;[swapped[3], swapped[4]] = [swapped[4], swapped[3]]
    t.match(verify(swapped, { account: 'shop' }), { valid: false, records: 4, first_invalid_id: records[4].id })
  })

  t.test('a record inserted', async (t) => {
    const forged = append(records[4].hash, entry('shop', { action: 'reply', reason: 'forged' }))
    const inserted = [...records.slice(0, 5), forged, ...records.slice(5)]
    t.match(verify(inserted, { account: 'shop' }), { valid: false, records: 7, first_invalid_id: records[5].id, reason: 'prev_hash' })
  })

  t.test('a record moved in from another account', async (t) => {
    const other = chainOf('other', 3)
    const moved = [...records.slice(0, 5), other[1], ...records.slice(5)]
    t.match(verify(moved, { account: 'shop' }), { valid: false, first_invalid_id: other[1].id, reason: 'account' })
    const relabelled = [...records.slice(0, 5), { ...other[1], account: 'shop' }, ...records.slice(5)]
    t.match(verify(relabelled, { account: 'shop' }), { valid: false, first_invalid_id: other[1].id })
  })

  t.test("another account's whole chain, relabelled, fails at its first record", async (t) => {
    const other = chainOf('other', 3).map((r) => ({ ...r, account: 'shop' }))
    t.match(verify(other, { account: 'shop' }), { valid: false, first_invalid_id: other[0].id, reason: 'prev_hash' })
  })

  t.test('a malformed record', async (t) => {
    const bad = [...records.slice(0, 2), { ...records[2], extra_column: 1 } as AuditRecord, ...records.slice(3)]
    t.match(verify(bad, { account: 'shop' }), { valid: false, first_invalid_id: records[2].id, reason: 'malformed' })
  })
})

t.test('a record read back with NULL columns still verifies', async (t) => {
  const records = chainOf('shop', 3)
  const fromSql = records.map((r) => ({ ...r, rule: null, event: null, validation: null }) as unknown as AuditRecord)
  t.same(verify(fromSql, { account: 'shop' }), { valid: true, records: 3, first_invalid_id: null })
})

t.test('retention: a chain cut at a checkpoint still verifies, and cutting more is seen', async (t) => {
  const records = chainOf('shop', 12)
  const checkpoint = checkpointOf(records[4])
  t.same(checkpoint, { after_id: records[4].id, hash: records[4].hash })
  const kept = records.slice(5)
  t.same(verify(kept, { account: 'shop', checkpoint, head: records.at(-1)!.hash }), { valid: true, records: 7, first_invalid_id: null })
  t.match(verify(kept, { account: 'shop' }), { valid: false, first_invalid_id: records[5].id }, 'without the checkpoint the cut is seen')
  t.match(verify(records.slice(6), { account: 'shop', checkpoint }), { valid: false, first_invalid_id: records[6].id },
    'a record removed after the checkpoint is seen')
  t.same(verify([], { account: 'shop', checkpoint, head: records[4].hash }), { valid: true, records: 0, first_invalid_id: null },
    'everything removed: the head is the checkpoint')
  const forgedCheckpoint = { after_id: records[4].id, hash: 'a'.repeat(64) }
  t.match(verify(kept, { account: 'shop', checkpoint: forgedCheckpoint }), { valid: false, first_invalid_id: records[5].id })
})

t.test('erasure: a record whose ciphertext can no longer be decrypted still verifies', async (t) => {
  // A real AES-256-GCM ciphertext under a per-contact key; erasure destroys the key, the ciphertext stays.
  let contactKey: Buffer | null = randomBytes(32)
  function encrypt (text: string): string {
    const iv = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', contactKey!, iv)
    const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()])
    return ['v1', iv.toString('base64url'), body.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.')
  }
  function decrypt (stored: string): string {
    if (contactKey === null) throw new Error('key erased')
    const [, iv, body, tag] = stored.split('.')
    const decipher = createDecipheriv('aes-256-gcm', contactKey, Buffer.from(iv, 'base64url'))
    decipher.setAuthTag(Buffer.from(tag, 'base64url'))
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8')
  }
  const records: AuditRecord[] = []
  for (const text of ['Bonjour, le prix ?', 'Je prends deux']) {
    records.push(append(records.at(-1)?.hash ?? null, entry('shop', {
      contact: encrypt('+22501020304'), incoming_message: encrypt(text), sent_message: encrypt('Merci !')
    })))
  }
  t.equal(decrypt(records[0].incoming_message!), 'Bonjour, le prix ?')
  contactKey = null
  t.throws(() => decrypt(records[0].incoming_message!), /erased/)
  t.same(verify(records, { account: 'shop' }), { valid: true, records: 2, first_invalid_id: null })
  const rewritten = records.map((r) => ({ ...r, incoming_message: 'v1.erased' }))
  t.match(verify(rewritten, { account: 'shop' }), { valid: false, first_invalid_id: records[0].id },
    'replacing the ciphertext is an edit')
})
