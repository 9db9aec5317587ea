import type { SignalResult } from '../../health/store.js'
import { afterSignal } from '../../health/rules.js'
import { SIGNAL_WINDOW_MS, type StoredSignal } from '../../health/types.js'
import type { AccountState } from '../../quota/store.js'
import { HEALTH_SQL as SQL, rowToSignal, signalValues } from '../sql/health.js'
import { num, rowToState } from '../sql/rows.js'
import type { SqliteAppliers, SqliteConn } from './index.js'

/** Signals, pause and resume: inside the batch's write transaction, which no other writer shares. */
export function sqliteHealth (c: SqliteConn) {
  function state (account: string): AccountState {
    c.run(SQL.ensureState, account)
    return rowToState(c.get(SQL.state, account))
  }

  function signal (s: StoredSignal): SignalResult {
    const before = state(s.account)
    c.run(SQL.forget, s.account, s.at - SIGNAL_WINDOW_MS)
    c.run(SQL.insertSignal, ...signalValues(s))
    const window = c.all(SQL.window, s.account, s.at - SIGNAL_WINDOW_MS).map((r) => ({ type: String(r.type) as StoredSignal['type'], at: num(r.at) }))
    const next = afterSignal(before, window, s.at)
    c.run(SQL.setHealth, next.paused_until, next.pause_reason, next.slow_until, s.account)
    return { score: next.score, paused_until: next.paused_until, slow_until: next.slow_until, paused: next.paused }
  }

  const appliers: Pick<SqliteAppliers, 'health.signal' | 'health.pause'> = {
    'health.signal': { run: ({ signal: s }) => signal(s) },
    'health.pause': {
      run: ({ account, until, reason }) => {
        const before = state(account)
        c.run(SQL.setPause, until, reason, account)
        return before
      }
    }
  }

  return {
    reads: {
      listSignals: (account: string, since: number, limit: number): StoredSignal[] => c.all(SQL.list, account, since, limit).map(rowToSignal)
    },
    appliers
  }
}
