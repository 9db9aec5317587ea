import { Counter, type Registry } from 'prom-client'
import type { ResetJobs } from './jobs.js'
import type { ResetService } from './service.js'

/** The resets engine's collectors: resets recorded by type and source, failed job runs by job id. */
export function registerResetMetrics (register: Registry, resets: ResetService, jobs: ResetJobs): void {
  const registers = [register]
  const recorded = new Counter({ name: 'sellify_quota_resets_total', help: 'Resets recorded, by type and source', labelNames: ['reset_type', 'source'], registers })
  const jobErrors = new Counter({ name: 'sellify_scheduler_errors_total', help: 'Failed reset job runs, catch-up passes and re-plans, by job id', labelNames: ['job'], registers })
  resets.observe((event) => { recorded.inc({ reset_type: event.reset_type, source: event.source }) })
  jobs.onError((event) => { jobErrors.inc({ job: event.job }) })
}
