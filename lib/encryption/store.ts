/** What the encryption engine needs of a store: the data keys, each stored wrapped by a master key. */
import type { UnitOfWork, WriteOp } from '../shared/unit-of-work.js'

/** The contact index of an account's own data key (a blind index is never empty). */
export const ACCOUNT_KEY_INDEX = ''

export interface StoredDataKey {
  id: string
  account: string
  /** The contact's blind index under the key that wrapped it last; `ACCOUNT_KEY_INDEX` for the account's own key. */
  contact_index: string
  /** The contact id encrypted under the master key (null for the account's own key): a rotation re-indexes with it. */
  contact: string | null
  /** The data key encrypted under master key `kid`. */
  wrapped: string
  kid: string
  created_at: string
}

/**
 * The data key stored for (account, one of `indexes`), or `key` inserted under `key.contact_index` when there
 * is none. Two instances ensuring one contact at once end with one key, the first one's.
 */
export interface EnsureDataKeyOp extends WriteOp<'dataKeys.ensure', StoredDataKey> {
  readonly key: StoredDataKey
  /** Every index the contact may be stored under (one per configured master key). */
  readonly indexes: readonly string[]
}

/** Replace a key's wrapping (a rotation step), only while it is still `from`: false when it changed or is gone. */
export interface RewrapDataKeyOp extends WriteOp<'dataKeys.rewrap', boolean> {
  readonly id: string
  readonly from: string
  readonly to: Pick<StoredDataKey, 'wrapped' | 'contact' | 'contact_index' | 'kid'>
}

/** Delete the contact's data keys (crypto-shredding): the ids of the keys deleted. */
export interface EraseDataKeysOp extends WriteOp<'dataKeys.erase', string[]> {
  readonly account: string
  readonly indexes: readonly string[]
}

export type DataKeyOp = EnsureDataKeyOp | RewrapDataKeyOp | EraseDataKeysOp

export const ensureDataKeyOp = (key: StoredDataKey, indexes: readonly string[]): EnsureDataKeyOp => ({ op: 'dataKeys.ensure', key, indexes })
export const rewrapDataKeyOp = (id: string, from: string, to: RewrapDataKeyOp['to']): RewrapDataKeyOp => ({ op: 'dataKeys.rewrap', id, from, to })
export const eraseDataKeysOp = (account: string, indexes: readonly string[]): EraseDataKeysOp => ({ op: 'dataKeys.erase', account, indexes })

export interface DataKeyReads {
  getDataKey: (id: string) => Promise<StoredDataKey | null>
  /** The account's data key stored under one of `indexes`, if any. */
  findDataKey: (account: string, indexes: readonly string[]) => Promise<StoredDataKey | null>
  /** How many data keys each master key id wraps. */
  dataKeyCounts: () => Promise<Record<string, number>>
  /** One data key wrapped by `kid` (the first by id), if any: what a start-up check unwraps. */
  dataKeyUnder: (kid: string) => Promise<StoredDataKey | null>
  /** Up to `limit` data keys not wrapped by `kid`, by id. */
  dataKeysNotUnder: (kid: string, limit: number) => Promise<StoredDataKey[]>
}

export type DataKeyStore = DataKeyReads & UnitOfWork<DataKeyOp>
