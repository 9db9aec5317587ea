import type { Account } from '../accounts/types.js'
import { auditOps, type AuditActor, type AuditRecorder } from '../audit/recorder.js'
import type { AppendAuditOp } from '../audit/store.js'
import type { UnitOfWork } from '../shared/unit-of-work.js'
import { UnknownProduct } from './errors.js'
import { compileKnowledge, type CompileOptions, type CompiledKnowledge } from './matcher.js'
import { validKnowledge, validProduct } from './rules.js'
import { deleteProductOp, emptyKnowledge, putKnowledgeOp, putProductOp, type KnowledgeOp, type KnowledgeReads } from './store.js'
import { LANGUAGES, type Language, type Product, type VersionedKnowledge } from './types.js'

/**
 * How long a compiled matcher is used without looking at the stored version. A knowledge-base change must
 * reach every instance within 5 s (README, "Knowledge base"); this instance's own changes are seen at once.
 */
const TRUST_MS = 1000
const CACHE_MAX = 10_000
const DEFAULT_LANGUAGE: Language = 'fr'

export interface KnowledgeServiceOptions {
  store: KnowledgeReads & UnitOfWork<KnowledgeOp | AppendAuditOp>
  /** Each change on record, in the change's transaction. */
  audit?: AuditRecorder
  /** The account a request acts on: `default` when none is named (created on first use), else one that exists. */
  accounts: { get: (id?: string) => Promise<Account> }
  /** How long a compiled matcher is trusted before its version is read again (default 1000 ms). */
  trustMs?: number
}

interface Entry {
  version: number
  /** The account settings it was compiled with (and the account's creation, so a re-created account is new). */
  settings: string
  compiled: CompiledKnowledge
  checkedAt: number
}

/** What the matcher takes of an account; its settings are read defensively (an older row may lack them). */
function compileOptions (account: Account): CompileOptions {
  const a = account as Partial<Account> & { language?: unknown, escalation?: { sensitive_keywords?: unknown }, forbidden_words?: unknown }
  const strings = (value: unknown): string[] => Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []
  return {
    language: (LANGUAGES as readonly unknown[]).includes(a.language) ? a.language as Language : DEFAULT_LANGUAGE,
    sensitive_keywords: strings(a.escalation?.sensitive_keywords),
    forbidden_words: strings(a.forbidden_words)
  }
}

/**
 * Each account's knowledge base: the only facts the bot may state. Writes are validated whole (all valid or
 * nothing changes); the matcher is compiled once per (account, version) and shared by every caller.
 */
export function createKnowledgeService (options: KnowledgeServiceOptions) {
  const { store, accounts, audit } = options
  const trustMs = options.trustMs ?? TRUST_MS
  const cache = new Map<string, Entry>()

  async function read (account: string): Promise<VersionedKnowledge> {
    return await store.getKnowledge(account) ?? { ...emptyKnowledge(), version: 0 }
  }

  /** The account's knowledge base (empty, version 0, when never written). */
  async function get (account?: string): Promise<VersionedKnowledge> {
    return await read((await accounts.get(account)).id)
  }

  return {
    get,

    /** Replace the whole knowledge base; `input` is checked whole first (a 400 names the first bad path). */
    async put (account: string | undefined, input: unknown, actor: AuditActor = 'system'): Promise<VersionedKnowledge> {
      const knowledge = validKnowledge(input)
      const id = (await accounts.get(account)).id
      const [version] = await store.commit([
        putKnowledgeOp(id, knowledge),
        ...await auditOps(audit, { account: id, actor, type: 'knowledge_changed', action: 'put', details: { products: knowledge.products.length } })
      ])
      cache.delete(id)
      return { ...knowledge, version }
    },

    async products (account?: string): Promise<Product[]> {
      return (await get(account)).products
    },

    async product (account: string | undefined, id: string): Promise<Product> {
      const found = (await get(account)).products.find((p) => p.id === id)
      if (found === undefined) throw UnknownProduct(id)
      return found
    },

    /** Insert or replace one product (a new one goes last in the catalogue). */
    async putProduct (account: string | undefined, id: string, input: unknown, actor: AuditActor = 'system'): Promise<{ product: Product, created: boolean, version: number }> {
      const product = validProduct(id, input)
      const owner = (await accounts.get(account)).id
      const [{ created, version }] = await store.commit([
        putProductOp(owner, product),
        ...await auditOps(audit, { account: owner, actor, type: 'knowledge_changed', action: 'put_product', details: { product: id } })
      ])
      cache.delete(owner)
      return { product, created, version }
    },

    async deleteProduct (account: string | undefined, id: string, actor: AuditActor = 'system'): Promise<void> {
      const owner = (await accounts.get(account)).id
      const [{ existed }] = await store.commit([
        deleteProductOp(owner, id),
        ...await auditOps(audit, { account: owner, actor, type: 'knowledge_changed', action: 'delete_product', details: { product: id } },
          (result) => (result as { existed: boolean }).existed)
      ])
      cache.delete(owner)
      if (!existed) throw UnknownProduct(id)
    },

    /**
     * The matcher of the account's current knowledge base. Another instance's change is seen within about
     * `trustMs` (the stored version is read again after that long), this instance's at once.
     */
    async compiled (account?: string): Promise<CompiledKnowledge> {
      const owner = await accounts.get(account)
      const compile = compileOptions(owner)
      const settings = JSON.stringify([compile, owner.created_at])
      // Wall-clock on purpose: it bounds staleness, not business time.
      const now = Date.now()
      const hit = cache.get(owner.id)
      if (hit !== undefined && hit.settings === settings) {
        if (now - hit.checkedAt < trustMs) return hit.compiled
        if (await store.knowledgeVersion(owner.id) === hit.version) {
          hit.checkedAt = now
          return hit.compiled
        }
      }
      const kb = await read(owner.id)
      const compiled = compileKnowledge(kb, kb.version, compile)
      if (cache.size >= CACHE_MAX) cache.clear()
      cache.set(owner.id, { version: kb.version, settings, compiled, checkedAt: now })
      return compiled
    },

    /** Forget what is compiled for the account (it was deleted or its settings changed). */
    forget (account: string): void {
      cache.delete(account)
    }
  }
}

export type KnowledgeService = ReturnType<typeof createKnowledgeService>
