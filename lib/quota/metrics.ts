import { Counter, Gauge, type Registry } from 'prom-client'
import type { AccountService } from '../accounts/service.js'
import type { QuotaService } from './service.js'

/** `sellify_quota_usage` lists at most this many accounts, so a large fleet cannot blow up a scrape. */
const USAGE_ACCOUNTS_MAX = 1000

/** The quota engine's collectors: consume decisions by kind and result, refusals by limit, per-account usage. */
export function registerQuotaMetrics (register: Registry, quota: QuotaService, accounts: AccountService, log: { warn: (obj: object, msg: string) => void }): void {
  const registers = [register]
  const consumes = new Counter({ name: 'sellify_quota_consume_total', help: 'Consume decisions by message kind and result', labelNames: ['kind', 'result'], registers })
  const limitReached = new Counter({ name: 'sellify_quota_limit_reached_total', help: 'Consumes refused, by the limit they would have passed', labelNames: ['limit'], registers })
  // eslint-disable-next-line no-new
  new Gauge({
    name: 'sellify_quota_usage',
    help: `Current period counters per account (first ${USAGE_ACCOUNTS_MAX} accounts)`,
    labelNames: ['account', 'counter'],
    registers,
    async collect () {
      let rows
      try {
        const list = (await accounts.list()).slice(0, USAGE_ACCOUNTS_MAX)
        rows = await Promise.all(list.map(async (account) => ({ id: account.id, u: await quota.usageOf(account) })))
      } catch (err) {
        // A scrape still answers with everything else (process, HTTP, counters) while the store is down.
        log.warn({ err }, 'metrics: could not read the usage of accounts')
        this.reset()
        return
      }
      // Reset and refilled in one synchronous step, so a concurrent scrape never reads it half-filled.
      this.reset()
      for (const { id, u } of rows) {
        this.set({ account: id, counter: 'messages_today' }, u.day.messages)
        this.set({ account: id, counter: 'messages_this_week' }, u.week.messages)
        this.set({ account: id, counter: 'images_today' }, u.day.images)
        this.set({ account: id, counter: 'videos_this_week' }, u.week.videos)
      }
    }
  })
  quota.observe((event) => {
    consumes.inc({ kind: event.kind, result: event.allowed ? 'allowed' : 'denied' })
    if (event.reason !== undefined) limitReached.inc({ limit: event.reason })
  })
}
