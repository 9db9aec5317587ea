import type { AccountReads } from '../accounts/store.js'
import { DEFAULT_ACCOUNT } from '../accounts/types.js'
import { auditOps, type AuditActor, type AuditRecorder } from '../audit/recorder.js'
import type { AppendAuditOp } from '../audit/store.js'
import type { UnitOfWork } from '../shared/unit-of-work.js'
import type { Clock } from '../shared/clock.js'
import { InvalidKeyRequest, UnknownKey } from './errors.js'
import { timingSafeEqual } from 'node:crypto'
import { BOOTSTRAP_KEY_ID, digestKey, generateKey, sameDigest } from './secrets.js'
import { createKeyOp, revokeKeyOp, touchKeyOp, type KeyOp, type KeyReads } from './store.js'
import type { ApiKeyRecord, Principal, Role } from './types.js'

/**
 * How long a key lookup is trusted. Revocation must reach every instance within 5 s (README, "Keys");
 * 2 s leaves room for a slow store. This instance forgets a key it revokes at once.
 */
const KEY_CACHE_MS = 2000
const KEY_CACHE_MAX = 10_000
/** last_used_at is written at most this often per key, so a busy key does not write on every request. */
const TOUCH_EVERY_MS = 60_000

export interface NewKeyRequest {
  name: string
  role: Role
  account?: string
}

export interface KeyServiceOptions {
  store: KeyReads & UnitOfWork<KeyOp | AppendAuditOp> & Pick<AccountReads, 'getAccount'>
  /** Key creations and revocations on record: in the agent's account's trail, admin keys in `default`'s. */
  audit?: AuditRecorder
  /** The bootstrap admin key (configuration); never stored. */
  bootstrapKey: string
  now: Clock
  /** Where a failed last_used_at write is reported (it never fails a request). */
  onTouchError?: (err: unknown, key: string) => void
}

/**
 * API keys: secrets are generated here, returned once, and only their SHA-256 digest is stored and compared
 * (in constant time). Lookups are cached briefly, unknown keys included, in a bounded map.
 */
export function createKeyService (options: KeyServiceOptions) {
  const { store, now, onTouchError, audit } = options
  const trailOf = (account: string | null): string => account ?? DEFAULT_ACCOUNT
  const bootstrap = digestKey(options.bootstrapKey)
  const cache = new Map<string, { principal: Principal | null, until: number }>()
  /**
   * Secrets that authenticated in the last KEY_CACHE_MS, by the secret itself, so that a busy key skips its
   * SHA-256 (bench/README.md, "What is left"). Only valid keys get in; a hit is still confirmed by a
   * constant-time comparison of the bytes. Process memory only, under the same bounds as the digest cache.
   */
  const recent = new Map<string, { bytes: Buffer, principal: Principal, until: number }>()
  /** Until the store's answer it rests on expires: never trusted longer than a digest lookup. */
  const remember = (secret: string, principal: Principal | null, until = Date.now() + KEY_CACHE_MS): Principal | null => {
    if (principal === null) return null
    if (recent.size >= KEY_CACHE_MAX) recent.clear()
    recent.set(secret, { bytes: Buffer.from(secret, 'utf8'), principal, until })
    return principal
  }
  /** Bumped by every forget: a lookup that started before a revocation must not cache what it read. */
  let generation = 0
  const forgetAll = (): void => {
    generation++
    cache.clear()
    recent.clear()
  }
  const touched = new Map<string, number>()

  return {
    /** The principal of a secret, or null for an unknown or revoked key. */
    async authenticate (secret: string): Promise<Principal | null> {
      // Wall-clock on purpose, here and below: it bounds staleness, not quota time.
      const seen = recent.get(secret)
      if (seen !== undefined && seen.until > Date.now()) {
        const given = Buffer.from(secret, 'utf8')
        if (given.length === seen.bytes.length && timingSafeEqual(given, seen.bytes)) return seen.principal
      }
      const digest = digestKey(secret)
      if (sameDigest(digest, bootstrap)) return remember(secret, { id: BOOTSTRAP_KEY_ID, name: 'SELLIFY_API_KEY', role: 'admin', account: null })
      const cacheKey = digest.toString('hex')
      const hit = cache.get(cacheKey)
      if (hit !== undefined && hit.until > Date.now()) return remember(secret, hit.principal, hit.until)
      const started = generation
      const stored = await store.findKeyByDigest(digest)
      const principal = stored !== null && stored.revoked_at === null ? { id: stored.id, name: stored.name, role: stored.role, account: stored.account } : null
      if (started !== generation) return principal
      if (cache.size >= KEY_CACHE_MAX) cache.clear()
      const until = Date.now() + KEY_CACHE_MS
      cache.set(cacheKey, { principal, until })
      return remember(secret, principal, until)
    },

    /** Note the key's use (at most once a minute per key); never waits, never fails the request. */
    touch (principal: Principal): void {
      if (principal.id === BOOTSTRAP_KEY_ID) return
      const at = now()
      const last = touched.get(principal.id)
      if (last !== undefined && at.getTime() - last < TOUCH_EVERY_MS) return
      touched.set(principal.id, at.getTime())
      store.commit([touchKeyOp(principal.id, at.toISOString())]).catch((err: unknown) => { onTouchError?.(err, principal.id) })
    },

    /** Forget every cached lookup (an account deleted: its agent keys were revoked in the store). */
    forget (): void {
      forgetAll()
    },

    async create (req: NewKeyRequest, actor: AuditActor = 'system'): Promise<ApiKeyRecord & { key: string }> {
      if (req.role === 'agent' && req.account === undefined) throw InvalidKeyRequest('body/account is required for an agent key')
      if (req.role === 'admin' && req.account !== undefined) throw InvalidKeyRequest('body/account must be omitted for an admin key (admins act on every account)')
      if (req.account !== undefined && await store.getAccount(req.account) === null) {
        throw InvalidKeyRequest(`body/account ${JSON.stringify(req.account)} does not exist; create it with PUT /api/v1/accounts/${req.account} first`)
      }
      const { id, secret } = generateKey()
      const record: ApiKeyRecord = { id, name: req.name, role: req.role, account: req.account ?? null, created_at: now().toISOString(), last_used_at: null }
      await store.commit([
        createKeyOp({ id, name: record.name, role: record.role, account: record.account, digest: digestKey(secret), created_at: record.created_at }),
        ...await auditOps(audit, { account: trailOf(record.account), actor, type: 'key_created', details: { id, name: record.name, role: record.role, account: record.account } })
      ])
      return { ...record, key: secret }
    },

    async list (): Promise<ApiKeyRecord[]> {
      return await store.listKeys()
    },

    async revoke (id: string, actor: AuditActor = 'system'): Promise<void> {
      const key = (await store.listKeys()).find((k) => k.id === id)
      const [revoked] = await store.commit([
        revokeKeyOp(id, now().toISOString()),
        ...key === undefined ? [] : await auditOps(audit, { account: trailOf(key.account), actor, type: 'key_revoked', details: { id, name: key.name, role: key.role, account: key.account } }, (done) => done === true)
      ])
      if (!revoked) throw UnknownKey(id)
      // This instance refuses the key at once; others within KEY_CACHE_MS.
      forgetAll()
    }
  }
}

export type KeyService = ReturnType<typeof createKeyService>
