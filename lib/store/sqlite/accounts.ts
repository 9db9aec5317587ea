import type { Account } from '../../accounts/types.js'
import { accountValues, rowToAccount, toIso, type Row } from '../sql/rows.js'
import { SHARED_SQL } from '../sql/statements.js'
import type { SqliteAppliers, SqliteConn } from './index.js'

/** How often the accounts kept in memory are checked against other connections' commits. */
const ACCOUNT_CHECK_MS = 100

const SQL = {
  upsert: `${SHARED_SQL.insertAccount} ON CONFLICT (id) DO UPDATE SET ${SHARED_SQL.accountUpdates}`,
  insert: `${SHARED_SQL.insertAccount} ON CONFLICT (id) DO NOTHING`,
  delete: 'DELETE FROM accounts WHERE id = ?',
  deleteUsage: 'DELETE FROM usage WHERE account = ?',
  deleteLedger: 'DELETE FROM reset_periods WHERE account = ?',
  deleteResets: 'DELETE FROM resets WHERE account = ?',
  revokeAccountKeys: 'UPDATE api_keys SET revoked_at = ? WHERE account = ? AND revoked_at IS NULL'
} as const

export function sqliteAccounts (c: SqliteConn) {
  const dataVersion = c.pluck('PRAGMA data_version')

  /** PRAGMA data_version moves with every other connection's commit; looked at (it is not free) at most every ACCOUNT_CHECK_MS. */
  function account (id: string): Account | null {
    const now = Date.now()
    if (now - c.accounts.observedAt >= ACCOUNT_CHECK_MS) c.accounts.observe(String(dataVersion.get()), now)
    const hit = c.accounts.get(id, now)
    if (hit !== undefined) return hit
    const token = c.accounts.token()
    const row = c.get(SHARED_SQL.getAccount, id)
    if (row === undefined) return null
    const found = rowToAccount(row)
    c.accounts.remember(found, token)
    return found
  }

  const stored = (id: string): Account => rowToAccount(c.get(SHARED_SQL.getAccount, id) as Row)

  const appliers: Pick<SqliteAppliers, 'accounts.put' | 'accounts.ensure' | 'accounts.delete'> = {
    'accounts.put': {
      run: ({ account }) => {
        const created = c.get(SHARED_SQL.getAccount, account.id) === undefined
        c.accounts.forget(account.id)
        c.run(SQL.upsert, ...accountValues(account))
        return { account: stored(account.id), created }
      }
    },
    'accounts.ensure': {
      run: ({ account }) => {
        c.accounts.forget(account.id)
        c.run(SQL.insert, ...accountValues(account))
        return stored(account.id)
      }
    },
    'accounts.delete': {
      run: ({ id, at }) => {
        c.accounts.forget(id)
        const existed = c.run(SQL.delete, id).changes > 0
        c.run(SQL.deleteUsage, id)
        c.run(SQL.deleteLedger, id)
        c.run(SQL.deleteResets, id)
        c.run(SQL.revokeAccountKeys, toIso(at), id)
        c.run('DELETE FROM knowledge WHERE account = ?', id)
        for (const table of ['conversation_messages', 'decisions', 'conversations', 'alert_deliveries', 'alerts', 'account_state', 'account_signals']) c.run(`DELETE FROM ${table} WHERE account = ?`, id)
        return existed
      }
    }
  }

  return {
    reads: {
      getAccount: account,
      listAccounts: (): Account[] => c.all(SHARED_SQL.listAccounts).map(rowToAccount)
    },
    appliers
  }
}
