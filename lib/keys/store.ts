/** What the keys engine needs of a store. */
import type { UnitOfWork, WriteOp } from '../shared/unit-of-work.js'
import type { ApiKeyRecord, Role } from './types.js'

export interface NewApiKey {
  id: string
  name: string
  role: Role
  account: string | null
  digest: Buffer
  created_at: string
}

export interface StoredApiKey extends ApiKeyRecord {
  digest: Buffer
  revoked_at: string | null
}

export interface CreateKeyOp extends WriteOp<'keys.create', void> { readonly key: NewApiKey }
/** Marks it revoked; false when unknown or already revoked. */
export interface RevokeKeyOp extends WriteOp<'keys.revoke', boolean> { readonly id: string, readonly at: string }
export interface TouchKeyOp extends WriteOp<'keys.touch', void> { readonly id: string, readonly at: string }
export type KeyOp = CreateKeyOp | RevokeKeyOp | TouchKeyOp

export const createKeyOp = (key: NewApiKey): CreateKeyOp => ({ op: 'keys.create', key })
export const revokeKeyOp = (id: string, at: string): RevokeKeyOp => ({ op: 'keys.revoke', id, at })
export const touchKeyOp = (id: string, at: string): TouchKeyOp => ({ op: 'keys.touch', id, at })

export interface KeyReads {
  /** Keys not revoked, oldest first; never their digests. */
  listKeys: () => Promise<ApiKeyRecord[]>
  /** The key with this digest, revoked or not. */
  findKeyByDigest: (digest: Buffer) => Promise<StoredApiKey | null>
}

export type KeyStore = KeyReads & UnitOfWork<KeyOp>
