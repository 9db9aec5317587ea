import type { AlertQuery, StoredAlert, StoredDelivery } from '../../alerts/store.js'
import { ALERT_SQL, alertValues, attemptedValues, claimSql, deliveryValues, listAlertsSql, rowToAlert, rowToDelivery } from '../sql/alerts.js'
import { num, toIso } from '../sql/rows.js'
import { dialect } from '../sql/statements.js'
import type { PostgresAppliers, PostgresConn } from './index.js'

const SQL = Object.fromEntries(Object.entries(ALERT_SQL).map(([name, sql]) => [name, dialect.pg(sql)])) as Record<keyof typeof ALERT_SQL, string>
// SKIP LOCKED: two instances claiming at once each take other rows, never the same one.
const CLAIM = dialect.pg(claimSql(true))

export function postgresAlerts (c: PostgresConn) {
  const appliers: Pick<PostgresAppliers, 'alerts.create' | 'alerts.ack' | 'alerts.claim' | 'alerts.attempted'> = {
    'alerts.create': {
      transactional: true,
      async run (q, { alert, deliveries }) {
        if ((await q.query(SQL.insert, alertValues(alert))).length === 0) return false
        for (const d of deliveries) await q.query(SQL.insertDelivery, deliveryValues(d))
        return true
      }
    },
    'alerts.ack': { run: async (q, { id, at, by }) => ((await q.result(SQL.ack, [toIso(at), JSON.stringify(by), id])).rowCount ?? 0) > 0 },
    'alerts.claim': { run: async (q, { now, until, claim, limit }) => (await q.query(CLAIM, [claim, toIso(until), toIso(now), toIso(now), limit])).map(rowToDelivery) },
    'alerts.attempted': { run: async (q, { id, claim, outcome }) => ((await q.result(SQL.attempted, attemptedValues(id, claim, outcome))).rowCount ?? 0) > 0 }
  }
  return {
    reads: {
      async listAlerts (q: AlertQuery): Promise<StoredAlert[]> {
        const { sql, params } = listAlertsSql(q)
        return (await c.pool.query(dialect.pg(sql), params)).map(rowToAlert)
      },
      async getAlert (id: string): Promise<StoredAlert | null> {
        const rows = await c.pool.query(SQL.get, [id])
        return rows.length === 0 ? null : rowToAlert(rows[0])
      },
      async alertDeliveries (alertId: string): Promise<StoredDelivery[]> {
        return (await c.pool.query(SQL.deliveries, [alertId])).map(rowToDelivery)
      },
      async pendingDeliveries (): Promise<number> {
        return num((await c.pool.query(SQL.pending))[0]?.n)
      }
    },
    appliers
  }
}
