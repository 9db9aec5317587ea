import type { Clock } from '../shared/clock.js'
import {
  blindIndex, blindIndexes, dataKeyIdOf, DecryptionError, decryptUnder, encryptUnder, newDataKey, openContact, rewrap, sealContact,
  unwrapDataKey, wrapDataKey, type DataKey, type Keyring, type Place
} from '../crypto/index.js'
import { ACCOUNT_KEY_INDEX, ensureDataKeyOp, eraseDataKeysOp, rewrapDataKeyOp, type DataKeyStore, type EraseDataKeysOp, type StoredDataKey } from './store.js'

/** How long an unwrapped data key is trusted: an erasure on another instance stops its reads within this. */
const TRUST_MS = 2000
const CACHE_MAX = 10_000
/** Data keys re-wrapped per transaction by a rotation: small, so requests keep being answered meanwhile. */
const ROTATE_SLICE = 100

export interface EncryptionStatus {
  /** The master key id new data keys are wrapped by. */
  current: string
  /** Every configured key id, current first. */
  kids: string[]
  /** Data keys wrapped by each key id. */
  by_key: Record<string, number>
}

/**
 * A contact's data key in hand, for writers that must encrypt inside a transaction (a decision's plan): `seal`
 * and `open` need nothing from the store. Fetched before the plan is committed.
 */
export interface ContactKey {
  /** The data key id: what the contact's rows are keyed by. */
  readonly id: string
  seal: (text: string, place: Place) => string
  open: (value: string, place: Place) => string
}

export interface RotationResult {
  rotated: number
  by_key: Record<string, number>
}

/**
 * Envelope encryption over the master keyring. Every customer text is encrypted under a data key: one per
 * (account, contact), and one per account for texts tied to no contact (webhook secrets, say). Data keys are
 * stored wrapped by the current master key and found by the contact's blind index, so no contact id is stored
 * in clear. Erasing a contact deletes its data key: every text under it, wherever it is stored, is then
 * unreadable for good.
 */
export function createEncryptionService (options: { store: DataKeyStore, keyring: Keyring, now: Clock }) {
  const { store, keyring, now } = options
  /** Unwrapped keys by id; wall-clock trust, like the API key cache. */
  const cache = new Map<string, { key: DataKey, until: number }>()
  /** (account, contact index) → data key id, for writers. */
  const ids = new Map<string, string>()

  function remember (key: DataKey, account: string, index: string): void {
    if (cache.size >= CACHE_MAX) cache.clear()
    if (ids.size >= CACHE_MAX) ids.clear()
    cache.set(key.id, { key, until: Date.now() + TRUST_MS })
    ids.set(`${account}\n${index}`, key.id)
  }

  function unwrap (row: StoredDataKey): DataKey {
    return unwrapDataKey(keyring, row.account, row.id, row.wrapped)
  }

  /** The data key of (account, contact), created (wrapped, stored) on first use. */
  async function keyFor (account: string, contact: string | null): Promise<DataKey> {
    const current = contact === null ? ACCOUNT_KEY_INDEX : blindIndex(keyring, account, contact)
    const id = ids.get(`${account}\n${current}`)
    const hit = id === undefined ? undefined : cache.get(id)
    if (hit !== undefined && hit.until > Date.now()) return hit.key
    const indexes = contact === null ? [ACCOUNT_KEY_INDEX] : blindIndexes(keyring, account, contact)
    const found = await store.findDataKey(account, indexes)
    if (found !== null) {
      const key = unwrap(found)
      remember(key, account, current)
      return key
    }
    const fresh = newDataKey()
    const [stored] = await store.commit([ensureDataKeyOp({
      id: fresh.id,
      account,
      contact_index: current,
      contact: contact === null ? null : sealContact(keyring, account, fresh.id, contact),
      wrapped: wrapDataKey(keyring, account, fresh),
      kid: keyring.current,
      created_at: now().toISOString()
    }, indexes)])
    // Another writer may have created the contact's key first: theirs is the one.
    const key = stored.id === fresh.id ? fresh : unwrap(stored)
    remember(key, account, current)
    return key
  }

  /** The data key a stored value names, or null when it was erased. */
  async function keyById (id: string): Promise<DataKey | null> {
    const hit = cache.get(id)
    if (hit !== undefined && hit.until > Date.now()) return hit.key
    const row = await store.getDataKey(id)
    if (row === null) {
      cache.delete(id)
      return null
    }
    const key = unwrap(row)
    remember(key, row.account, row.contact_index)
    return key
  }

  return {
    /** Encrypt a text under the data key of (account, contact): the value and the data key id it names. */
    async seal (account: string, contact: string | null, text: string, place: Place): Promise<{ value: string, data_key: string }> {
      const key = await keyFor(account, contact)
      return { value: encryptUnder(key, text, place), data_key: key.id }
    },

    /**
     * A keyed hash of a value that identifies a customer indirectly (a gateway's message id: the Cloud API's
     * embed the phone number), to look it up by without storing it. Under the current master key.
     */
    lookupKey (account: string, value: string): string {
      return blindIndex(keyring, account, `\u0000lookup:${value}`)
    },

    /** The data key with this id as a handle (null when it was erased): to write more under a contact's key. */
    async keyHandle (id: string): Promise<ContactKey | null> {
      const key = await keyById(id)
      return key === null ? null : { id: key.id, seal: (text, place) => encryptUnder(key, text, place), open: (value, place) => decryptUnder(key, value, place) }
    },

    /** The data key of (account, contact), created on first use, as a handle that encrypts without the store. */
    async contactKey (account: string, contact: string): Promise<ContactKey> {
      const key = await keyFor(account, contact)
      return {
        id: key.id,
        seal: (text, place) => encryptUnder(key, text, place),
        open: (value, place) => decryptUnder(key, value, place)
      }
    },

    /** The text of a value under a data key; null when that key was erased. A tampered value throws. */
    async open (id: string, value: string, place: Place): Promise<string | null> {
      const key = await keyById(id)
      return key === null ? null : decryptUnder(key, value, place)
    },

    /** The text of a value under a data key that must exist (an account's own): a `DecryptionError` otherwise. */
    async openOrFail (value: string, place: Place): Promise<string> {
      const id = dataKeyIdOf(value)
      const key = id === null ? null : await keyById(id)
      if (key === null) throw new DecryptionError('data_key')
      return decryptUnder(key, value, place)
    },

    /** The contact's data key ids (their records' lookup), without creating one. */
    async contactKeyIds (account: string, contact: string): Promise<string[]> {
      const found = await store.findDataKey(account, blindIndexes(keyring, account, contact))
      return found === null ? [] : [found.id]
    },

    /** The operation that erases a contact's data key (to commit with the rest of an erasure). */
    eraseOp (account: string, contact: string): EraseDataKeysOp {
      return eraseDataKeysOp(account, blindIndexes(keyring, account, contact))
    },

    /** After an erasure committed: forget the keys here at once (other instances within TRUST_MS). */
    forget (erased: readonly string[]): void {
      for (const id of erased) cache.delete(id)
      ids.clear()
    },

    /** Forget a key an append found erased, so the next write looks it up (and creates a new one). */
    forgetAll (): void {
      cache.clear()
      ids.clear()
    },

    async status (): Promise<EncryptionStatus> {
      return { current: keyring.current, kids: [...keyring.kids], by_key: await store.dataKeyCounts() }
    },

    /**
     * Re-wrap every data key under the current master key, `ROTATE_SLICE` at a time, each slice its own
     * transaction; the values under the keys are not touched. A key under a master key id that is no longer
     * configured cannot be unwrapped: the rotation stops with that error (nothing of the failed slice kept).
     * A key changed meanwhile (another rotation) is skipped and picked up by the next pass.
     */
    async rotate (): Promise<RotationResult> {
      let rotated = 0
      for (;;) {
        const slice = await store.dataKeysNotUnder(keyring.current, ROTATE_SLICE)
        if (slice.length === 0) break
        const plan = slice.map((row) => {
          const moved = rewrap(keyring, row.account, row.id, { wrapped: row.wrapped, contact: row.contact })
          const index = row.contact === null ? ACCOUNT_KEY_INDEX : blindIndex(keyring, row.account, openContact(keyring, row.account, row.id, row.contact))
          return rewrapDataKeyOp(row.id, row.wrapped, { ...moved, contact_index: index, kid: keyring.current })
        })
        const results = await store.commit(plan)
        const done = results.filter(Boolean).length
        rotated += done
        if (done === 0) break
      }
      ids.clear()
      return { rotated, by_key: await store.dataKeyCounts() }
    }
  }
}

export type EncryptionService = ReturnType<typeof createEncryptionService>
