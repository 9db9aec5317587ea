import type { Account } from '../../accounts/types.js'
import { accountValues, rowToAccount, toIso } from '../sql/rows.js'
import { dialect, SHARED_SQL } from '../sql/statements.js'
import type { PostgresAppliers, PostgresConn } from './index.js'

const INSERT = dialect.pg(SHARED_SQL.insertAccount)
const SQL = {
  getAccount: dialect.pg(SHARED_SQL.getAccount),
  // xmax is 0 only on a row version this statement inserted: it tells a creation from a replacement.
  put: `${INSERT} ON CONFLICT (id) DO UPDATE SET ${SHARED_SQL.accountUpdates} RETURNING *, (xmax = 0) AS created`,
  ensure: `WITH ins AS (${INSERT} ON CONFLICT (id) DO NOTHING RETURNING *)
    SELECT * FROM ins UNION ALL SELECT * FROM accounts WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM ins)`,
  // One statement, so one transaction: every part happens or none. The usage rows go with the account
  // (ON DELETE CASCADE, which also refuses a consume that races the delete).
  delete: `WITH gone AS (DELETE FROM accounts WHERE id = $1 RETURNING id),
    l AS (DELETE FROM reset_periods WHERE account = $1),
    r AS (DELETE FROM resets WHERE account = $1),
    k AS (UPDATE api_keys SET revoked_at = $2 WHERE account = $1 AND revoked_at IS NULL)
    SELECT count(*)::int AS n FROM gone`
} as const

export function postgresAccounts (c: PostgresConn) {
  /** Forgets the account before and after the write, so no read that raced with it is kept. */
  async function changing<T> (id: string, write: () => Promise<T>): Promise<T> {
    c.accounts.forget(id)
    try {
      return await write()
    } finally {
      c.accounts.forget(id)
    }
  }

  const appliers: Pick<PostgresAppliers, 'accounts.put' | 'accounts.ensure' | 'accounts.delete'> = {
    'accounts.put': {
      run: (q, { account }) => changing(account.id, async () => {
        const rows = await q.query(SQL.put, accountValues(account))
        return { account: rowToAccount(rows[0]), created: rows[0].created === true }
      })
    },
    'accounts.ensure': {
      async run (q, { account }) {
        // Empty only when another instance inserted it after this statement's snapshot: look again.
        for (let attempt = 0; attempt < 3; attempt++) {
          const rows = await q.query(SQL.ensure, accountValues(account))
          if (rows.length > 0) return rowToAccount(rows[0])
        }
        throw new Error(`store: account ${JSON.stringify(account.id)} could not be created or read`)
      }
    },
    'accounts.delete': {
      run: (q, { id, at }) => changing(id, async () => Number((await q.query(SQL.delete, [id, toIso(at)]))[0]?.n) > 0)
    }
  }

  return {
    reads: {
      async getAccount (id: string): Promise<Account | null> {
        const hit = c.accounts.get(id)
        if (hit !== undefined) return hit
        const token = c.accounts.token()
        const rows = await c.pool.query(SQL.getAccount, [id])
        if (rows.length === 0) return null
        const account = rowToAccount(rows[0])
        c.accounts.remember(account, token)
        return account
      },
      async listAccounts (): Promise<Account[]> {
        return (await c.pool.query(SHARED_SQL.listAccounts)).map(rowToAccount)
      }
    },
    appliers
  }
}
