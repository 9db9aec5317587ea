import type { StoredApiKey } from '../../keys/store.js'
import type { ApiKeyRecord } from '../../keys/types.js'
import { checkDigest, rowToKeyRecord, rowToStoredKey, toIso } from '../sql/rows.js'
import { dialect, SHARED_SQL } from '../sql/statements.js'
import type { PostgresAppliers, PostgresConn } from './index.js'

export function postgresKeys (c: PostgresConn) {
  const appliers: Pick<PostgresAppliers, 'keys.create' | 'keys.revoke' | 'keys.touch'> = {
    'keys.create': {
      async run (q, { key }) {
        await q.query(dialect.pg(SHARED_SQL.createKey), [key.id, key.name, key.role, key.account, key.digest, toIso(key.created_at)])
      }
    },
    'keys.revoke': {
      run: async (q, { id, at }) => ((await q.result(dialect.pg(SHARED_SQL.revokeKey), [toIso(at), id])).rowCount ?? 0) > 0
    },
    'keys.touch': {
      async run (q, { id, at }) {
        await q.query(dialect.pg(SHARED_SQL.touchKey), [toIso(at), id])
      }
    }
  }

  return {
    reads: {
      async listKeys (): Promise<ApiKeyRecord[]> {
        return (await c.pool.query(SHARED_SQL.listKeys)).map(rowToKeyRecord)
      },
      async findKeyByDigest (digest: Buffer): Promise<StoredApiKey | null> {
        checkDigest(digest)
        const rows = await c.pool.query(dialect.pg(SHARED_SQL.findKey), [digest])
        return rows.length === 0 ? null : rowToStoredKey(rows[0])
      }
    },
    appliers
  }
}
