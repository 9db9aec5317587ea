import type { ResetInput, ResetQuery } from '../../resets/store.js'
import { zeroUsage } from '../../quota/rules.js'
import type { PeriodUsage } from '../../quota/types.js'
import type { ResetRecord, ResetType } from '../../resets/types.js'
import { checkResetQuery, rowToReset, rowToUsage, toIso } from '../sql/rows.js'
import { listResetsSql, SHARED_SQL } from '../sql/statements.js'
import type { SqliteAppliers, SqliteConn } from './index.js'

const SQL = {
  lastReset: 'SELECT * FROM resets WHERE account = ? AND reset_type = ? ORDER BY id DESC LIMIT 1'
} as const

export function sqliteResets (c: SqliteConn) {
  const usage = (account: string, period: string): PeriodUsage => rowToUsage(c.get(SHARED_SQL.getPeriodUsage, account, period))

  function record (input: ResetInput): ResetRecord | null {
    const recorded = c.run(SHARED_SQL.insertLedger, input.account, input.reset_type, input.period).changes > 0
    let before: PeriodUsage
    if (input.source === 'manual') {
      before = usage(input.account, input.period)
      c.run(SHARED_SQL.clearUsage, input.account, input.period)
    } else {
      if (!recorded) return null
      before = input.previous_period === undefined ? zeroUsage() : usage(input.account, input.previous_period)
      if (input.reset_type === 'daily') c.run(SHARED_SQL.pruneHours, input.account, input.period)
    }
    const row = c.get(SHARED_SQL.insertReset, input.account, input.reset_type, input.source, input.period, toIso(input.timestamp),
      before.messages, before.images, before.videos)
    if (row === undefined) throw new Error('store: the reset row was not returned')
    return rowToReset(row)
  }

  function lastReset (account: string, type: ResetType): ResetRecord | null {
    const row = c.get(SQL.lastReset, account, type)
    return row === undefined ? null : rowToReset(row)
  }

  const appliers: Pick<SqliteAppliers, 'resets.record'> = {
    'resets.record': {
      run: (op) => record(op.input)
    }
  }

  return {
    reads: {
      lastResets: (account: string) => ({ daily: lastReset(account, 'daily'), weekly: lastReset(account, 'weekly') }),
      listResets (query: ResetQuery): ResetRecord[] {
        checkResetQuery(query)
        const { sql, params } = listResetsSql(query)
        return c.all(sql, ...params).map(rowToReset)
      }
    },
    appliers
  }
}
