import { badRequest, guardStore, notFound } from './errors.js'
import { digestKey, generateKey } from './keys.js'
import type { Store } from './store/types.js'
import type { ApiKeyRecord, Role } from './types.js'

export interface NewKeyRequest {
  name: string
  role: Role
  account?: string
}

/** Key management: secrets are generated here, returned once, and only their SHA-256 digest is stored. */
export function createKeyService (options: { store: Store, now: () => Date }) {
  const { store, now } = options
  return {
    async create (req: NewKeyRequest): Promise<ApiKeyRecord & { key: string }> {
      if (req.role === 'agent' && req.account === undefined) throw badRequest('body/account is required for an agent key')
      if (req.role === 'admin' && req.account !== undefined) throw badRequest('body/account must be omitted for an admin key (admins act on every account)')
      if (req.account !== undefined && await guardStore(store.getAccount(req.account)) === null) {
        throw badRequest(`body/account ${JSON.stringify(req.account)} does not exist; create it with PUT /api/v1/accounts/${req.account} first`)
      }
      const { id, secret } = generateKey()
      const record: ApiKeyRecord = { id, name: req.name, role: req.role, account: req.account ?? null, created_at: now().toISOString(), last_used_at: null }
      await guardStore(store.createKey({ id, name: record.name, role: record.role, account: record.account, digest: digestKey(secret), created_at: record.created_at }))
      return { ...record, key: secret }
    },
    async list (): Promise<ApiKeyRecord[]> {
      return await guardStore(store.listKeys())
    },
    async revoke (id: string): Promise<void> {
      if (!await guardStore(store.revokeKey(id, now().toISOString()))) throw notFound(`key ${JSON.stringify(id)} does not exist or is already revoked`, 'SELLIFY_UNKNOWN_KEY')
    }
  }
}

export type KeyService = ReturnType<typeof createKeyService>
