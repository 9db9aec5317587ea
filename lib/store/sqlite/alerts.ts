import type { AlertQuery, StoredAlert, StoredDelivery } from '../../alerts/store.js'
import { ALERT_SQL as SQL, alertValues, attemptedValues, claimSql, deliveryValues, listAlertsSql, rowToAlert, rowToDelivery } from '../sql/alerts.js'
import { num, toIso } from '../sql/rows.js'
import type { SqliteAppliers, SqliteConn } from './index.js'

const CLAIM = claimSql(false)

/** Alerts and their outbox. A claim runs inside the batch's write transaction: no other writer can take the same row. */
export function sqliteAlerts (c: SqliteConn) {
  const appliers: Pick<SqliteAppliers, 'alerts.create' | 'alerts.ack' | 'alerts.claim' | 'alerts.attempted'> = {
    'alerts.create': {
      run: ({ alert, deliveries }) => {
        if (c.get(SQL.insert, ...alertValues(alert)) === undefined) return false
        for (const d of deliveries) c.run(SQL.insertDelivery, ...deliveryValues(d))
        return true
      }
    },
    'alerts.ack': { run: ({ id, at, by }) => c.run(SQL.ack, toIso(at), JSON.stringify(by), id).changes > 0, atomic: true },
    'alerts.claim': {
      run: ({ now, until, claim, limit }) => c.all(CLAIM, claim, toIso(until), toIso(now), toIso(now), limit).map(rowToDelivery),
      atomic: true
    },
    'alerts.attempted': { run: ({ id, claim, outcome }) => c.run(SQL.attempted, ...attemptedValues(id, claim, outcome)).changes > 0, atomic: true }
  }
  return {
    reads: {
      listAlerts: (q: AlertQuery): StoredAlert[] => {
        const { sql, params } = listAlertsSql(q)
        return c.all(sql, ...params).map(rowToAlert)
      },
      getAlert: (id: string): StoredAlert | null => {
        const row = c.get(SQL.get, id)
        return row === undefined ? null : rowToAlert(row)
      },
      alertDeliveries: (alertId: string): StoredDelivery[] => c.all(SQL.deliveries, alertId).map(rowToDelivery),
      pendingDeliveries: (): number => num(c.get(SQL.pending)?.n)
    },
    appliers
  }
}
