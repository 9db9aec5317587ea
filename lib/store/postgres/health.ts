import type { SignalResult } from '../../health/store.js'
import { afterSignal } from '../../health/rules.js'
import { SIGNAL_WINDOW_MS, type StoredSignal } from '../../health/types.js'
import type { AccountState } from '../../quota/store.js'
import { HEALTH_SQL, rowToSignal, signalValues } from '../sql/health.js'
import { num, rowToState } from '../sql/rows.js'
import { dialect } from '../sql/statements.js'
import type { PostgresAppliers, PostgresConn, Queryable } from './index.js'

const SQL = Object.fromEntries(Object.entries(HEALTH_SQL).map(([name, sql]) => [name, dialect.pg(sql)])) as Record<keyof typeof HEALTH_SQL, string>
// The state row's lock serialises the signals of one account: two instances never both miss a pause.
const LOCK_STATE = `${SQL.state} FOR UPDATE`

/** Signals, pause and resume, each in the plan's transaction under the account's state row lock. */
export function postgresHealth (c: PostgresConn) {
  async function state (q: Queryable, account: string): Promise<AccountState> {
    await q.query(SQL.ensureState, [account])
    return rowToState((await q.query(LOCK_STATE, [account]))[0])
  }

  async function signal (q: Queryable, s: StoredSignal): Promise<SignalResult> {
    const before = await state(q, s.account)
    await q.query(SQL.forget, [s.account, s.at - SIGNAL_WINDOW_MS])
    await q.query(SQL.insertSignal, signalValues(s))
    const window = (await q.query(SQL.window, [s.account, s.at - SIGNAL_WINDOW_MS])).map((r) => ({ type: String(r.type) as StoredSignal['type'], at: num(r.at) }))
    const next = afterSignal(before, window, s.at)
    await q.query(SQL.setHealth, [next.paused_until, next.pause_reason, next.slow_until, s.account])
    return { score: next.score, paused_until: next.paused_until, slow_until: next.slow_until, paused: next.paused }
  }

  const appliers: Pick<PostgresAppliers, 'health.signal' | 'health.pause'> = {
    'health.signal': { transactional: true, run: async (q, { signal: s }) => await signal(q, s) },
    'health.pause': {
      transactional: true,
      async run (q, { account, until, reason }) {
        const before = await state(q, account)
        await q.query(SQL.setPause, [until, reason, account])
        return before
      }
    }
  }

  return {
    reads: {
      listSignals: async (account: string, since: number, limit: number): Promise<StoredSignal[]> =>
        (await c.pool.query(SQL.list, [account, since, limit])).map(rowToSignal)
    },
    appliers
  }
}
