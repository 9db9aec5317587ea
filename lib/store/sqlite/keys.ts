import type { StoredApiKey } from '../../keys/store.js'
import type { ApiKeyRecord } from '../../keys/types.js'
import { checkDigest, rowToKeyRecord, rowToStoredKey, toIso } from '../sql/rows.js'
import { SHARED_SQL } from '../sql/statements.js'
import type { SqliteAppliers, SqliteConn } from './index.js'

export function sqliteKeys (c: SqliteConn) {
  const appliers: Pick<SqliteAppliers, 'keys.create' | 'keys.revoke' | 'keys.touch'> = {
    'keys.create': {
      run: ({ key }) => { c.run(SHARED_SQL.createKey, key.id, key.name, key.role, key.account, key.digest, toIso(key.created_at)) }
    },
    'keys.revoke': {
      run: ({ id, at }) => c.run(SHARED_SQL.revokeKey, toIso(at), id).changes > 0
    },
    'keys.touch': {
      run: ({ id, at }) => { c.run(SHARED_SQL.touchKey, toIso(at), id) }
    }
  }

  return {
    reads: {
      listKeys: (): ApiKeyRecord[] => c.all(SHARED_SQL.listKeys).map(rowToKeyRecord),
      findKeyByDigest (digest: Buffer): StoredApiKey | null {
        checkDigest(digest)
        const row = c.get(SHARED_SQL.findKey, digest)
        return row === undefined ? null : rowToStoredKey(row)
      }
    },
    appliers
  }
}
