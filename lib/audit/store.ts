/** What the audit engine needs of a store. The store links each record into its account's chain. */
import type { UnitOfWork, WriteOp } from '../shared/unit-of-work.js'
import { defineError } from '../shared/errors.js'
import type { AuditEntry, AuditRecord, AuditType } from './types.js'

export { append as linkRecord } from './chain.js'

/** A record as stored: its place in the account's chain (1, 2, 3, … in append order) beside its fields. */
export interface StoredAudit extends AuditRecord {
  seq: number
}

/**
 * Link `entry` to the account's chain head and store it, the head locked for the rest of the transaction, so
 * concurrent writers (instances on one PostgreSQL) never fork the chain. `data_key` names the data key its
 * texts are under; the append fails with `DataKeyErased` when that key was erased meanwhile.
 */
export interface AppendAuditOp extends WriteOp<'audit.append', { seq: number, hash: string } | null> {
  readonly entry: AuditEntry
  readonly data_key: string | null
}

/**
 * Retention: remove up to `max` of the account's oldest records older than `before` (ISO 8601), oldest first,
 * keeping the hash of the newest removed one as the checkpoint the rest verifies from. The number removed.
 */
export interface PruneAuditOp extends WriteOp<'audit.prune', number> {
  readonly account: string
  readonly before: string
  readonly max: number
}

export type AuditOp = AppendAuditOp | PruneAuditOp

export const appendAuditOp = (entry: AuditEntry, dataKey: string | null, when?: (previous: unknown) => boolean): AppendAuditOp =>
  when === undefined ? { op: 'audit.append', entry, data_key: dataKey } : { op: 'audit.append', entry, data_key: dataKey, when }
export const pruneAuditOp = (account: string, before: string, max: number): PruneAuditOp => ({ op: 'audit.prune', account, before, max })

/** A data key named by an append no longer exists (the contact was erased since it was looked up). */
export const DataKeyErased = defineError('SELLIFY_DATA_KEY_ERASED', 409, (id: string) => `data key ${id} was erased`)

export interface AuditHead {
  /** The newest record's seq (0: none yet) and hash (null: none yet). */
  seq: number
  hash: string | null
  /** Retention removed records up to this seq (0: none); the oldest kept record links to `checkpoint_hash`. */
  checkpoint_seq: number
  checkpoint_hash: string | null
}

export interface AuditQuery {
  account: string
  type?: AuditType
  action?: string
  /** Only records whose texts are under one of these data keys (a contact's); an empty list matches nothing. */
  data_keys?: readonly string[]
  /** ISO 8601 instants, inclusive. */
  from?: string
  to?: string
  /** Newest first, records with a smaller seq than this. */
  before_seq?: number
  limit: number
}

export interface AuditRangeQuery {
  account: string
  /** Oldest first, records with a greater seq than this, up to `until_seq` inclusive. */
  after_seq: number
  until_seq?: number
  from?: string
  to?: string
  limit: number
}

export interface AuditReads {
  listAudit: (query: AuditQuery) => Promise<StoredAudit[]>
  auditRange: (query: AuditRangeQuery) => Promise<StoredAudit[]>
  getAudit: (id: string) => Promise<StoredAudit | null>
  auditHead: (account: string) => Promise<AuditHead | null>
  /** Every account that has an audit chain, by id. */
  auditAccounts: () => Promise<string[]>
}

export type AuditStore = AuditReads & UnitOfWork<AuditOp>
