import type { ResetInput, ResetQuery } from '../../resets/store.js'
import type { ResetRecord } from '../../resets/types.js'
import { checkResetQuery, rowToReset, rowToUsage, toIso, type Row } from '../sql/rows.js'
import { dialect, listResetsSql, RESET_COLUMNS, SHARED_SQL } from '../sql/statements.js'
import type { PostgresAppliers, PostgresConn, Queryable } from './index.js'

const SQL = {
  // The ledger row and the reset row in one statement: a racing instance waits on the ledger key,
  // then finds it taken and records nothing. Exactly once.
  periodic: `WITH ledger AS (
      INSERT INTO reset_periods (account, reset_type, period) VALUES ($1, $2, $4) ON CONFLICT DO NOTHING RETURNING account
    ), prev AS (
      SELECT messages, images, videos FROM usage WHERE account = $1 AND period = $6::text
    )
    INSERT INTO resets (${RESET_COLUMNS})
    SELECT $1::text, $2::text, $3::text, $4::text, $5::timestamptz,
      coalesce(prev.messages, 0), coalesce(prev.images, 0), coalesce(prev.videos, 0)
    FROM ledger LEFT JOIN prev ON true
    RETURNING *`,
  insertLedger: dialect.pg(SHARED_SQL.insertLedger),
  pruneHours: dialect.pg(SHARED_SQL.pruneHours),
  lockUsage: 'SELECT messages, images, videos FROM usage WHERE account = $1 AND period = $2 FOR UPDATE',
  clearUsage: dialect.pg(SHARED_SQL.clearUsage),
  insertReset: dialect.pg(SHARED_SQL.insertReset),
  lastResets: `(SELECT * FROM resets WHERE account = $1 AND reset_type = 'daily' ORDER BY id DESC LIMIT 1)
    UNION ALL
    (SELECT * FROM resets WHERE account = $1 AND reset_type = 'weekly' ORDER BY id DESC LIMIT 1)`
} as const

async function record (q: Queryable, input: ResetInput): Promise<ResetRecord | null> {
  const timestamp = toIso(input.timestamp)
  const { account, reset_type: type, source, period } = input
  if (source !== 'manual') {
    const rows = await q.query(SQL.periodic, [account, type, source, period, timestamp, input.previous_period ?? null])
    if (rows.length === 0) return null
    if (type === 'daily') await q.query(SQL.pruneHours, [account, period])
    return rowToReset(rows[0])
  }
  await q.query(SQL.insertLedger, [account, type, period])
  // Locked so that no consume slips in between the read of `before` and the clearing.
  const old = await q.query(SQL.lockUsage, [account, period])
  const before = rowToUsage(old[0] as Row | undefined)
  await q.query(SQL.clearUsage, [account, period])
  const rows = await q.query(SQL.insertReset, [account, type, source, period, timestamp, before.messages, before.images, before.videos])
  return rowToReset(rows[0])
}

export function postgresResets (c: PostgresConn) {
  const appliers: Pick<PostgresAppliers, 'resets.record'> = {
    'resets.record': {
      run: (q, op) => record(q, op.input),
      // A manual reset is four statements; a periodic one is one, but the flag is per operation kind.
      transactional: true
    }
  }

  return {
    reads: {
      async lastResets (account: string) {
        const rows = (await c.pool.query(SQL.lastResets, [account])).map(rowToReset)
        return {
          daily: rows.find(r => r.reset_type === 'daily') ?? null,
          weekly: rows.find(r => r.reset_type === 'weekly') ?? null
        }
      },
      async listResets (query: ResetQuery): Promise<ResetRecord[]> {
        checkResetQuery(query)
        const { sql, params } = listResetsSql(query)
        return (await c.pool.query(dialect.pg(sql), params)).map(rowToReset)
      }
    },
    appliers
  }
}
