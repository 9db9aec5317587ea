/**
 * The whole store: every engine's narrow contract (its `store.ts`) in one object, and one unit of work whose
 * plans may hold any engine's operations. Engines never import this file; they ask for their own contract.
 */
import type { AccountOp, AccountReads } from '../accounts/store.js'
import type { AlertOp, AlertReads } from '../alerts/store.js'
import type { AuditOp, AuditReads } from '../audit/store.js'
import type { DataKeyOp, DataKeyReads } from '../encryption/store.js'
import type { KeyOp, KeyReads } from '../keys/store.js'
import type { KnowledgeOp, KnowledgeReads } from '../knowledge/store.js'
import type { ConversationOp, ConversationReads } from '../conversations/store.js'
import type { DecisionOp, DecisionReads } from '../decisions/store.js'
import type { HealthOp, HealthReads } from '../health/store.js'
import type { ConsumeOp, QuotaReads, ReleaseOp } from '../quota/store.js'
import type { RecordResetOp, ResetReads } from '../resets/store.js'
import type { ThenOp, UnitOfWork } from '../shared/unit-of-work.js'

/** Every write operation a store applies. */
export type StoreOp = AccountOp | ConsumeOp | ReleaseOp | RecordResetOp | KeyOp | KnowledgeOp | DataKeyOp | AuditOp | ConversationOp | DecisionOp | AlertOp | HealthOp | StoreThenOp
/** The rest of a plan, built from the results before it: any operations, a `plan.then` among them. */
export interface StoreThenOp extends ThenOp<StoreOp> {}
export type OpName = StoreOp['op']
export type OpOf<K extends OpName> = Extract<StoreOp, { op: K }>

export interface Lifecycle {
  readonly kind: 'sqlite' | 'postgres'
  /** Create or upgrade the schema. Idempotent; safe with several instances starting at once. */
  migrate: () => Promise<void>
  /** Cheap liveness probe (a trivial query). */
  ping: () => Promise<void>
  close: () => Promise<void>
}

/**
 * What a store does. `commit` is durable when its promise resolves (committed, on disk) and atomic: a plan
 * happens whole or not at all. Errors reject the promise; callers fail closed.
 */
export type Store = Lifecycle & AccountReads & QuotaReads & ResetReads & KeyReads & KnowledgeReads & DataKeyReads & AuditReads &
  ConversationReads & DecisionReads & AlertReads & HealthReads & UnitOfWork<StoreOp>

export type { AccountOp, AlertOp, AuditOp, ConsumeOp, ConversationOp, DataKeyOp, DecisionOp, HealthOp, KeyOp, KnowledgeOp, RecordResetOp, ReleaseOp }
export type { ConsumeInput, ConsumeResult } from '../quota/store.js'
export type { ResetInput, ResetQuery } from '../resets/store.js'
export type { NewApiKey, StoredApiKey } from '../keys/store.js'
export type { UsagePair } from '../quota/types.js'
