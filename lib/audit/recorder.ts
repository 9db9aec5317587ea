/**
 * How an engine puts an audit record into the plan of the change it records: the audit service's `entry`.
 * Engines take it as an option (tests may leave it out); the application always passes it.
 */
import type { AuditInput } from './service.js'
import type { AppendAuditOp } from './store.js'
import type { AuditActor, JsonObject } from './types.js'

export type AuditRecorder = (input: AuditInput, when?: (previous: unknown) => boolean) => Promise<AppendAuditOp>

/** The record's operation in a list to spread into a plan; none without a recorder. */
export async function auditOps (audit: AuditRecorder | undefined, input: AuditInput, when?: (previous: unknown) => boolean): Promise<AppendAuditOp[]> {
  return audit === undefined ? [] : [await audit(input, when)]
}

export type { AuditActor, AuditInput }

/** A plain object as the JSON a record holds (dates as strings, undefined left out). */
export function asJson (value: object): JsonObject {
  return JSON.parse(JSON.stringify(value)) as JsonObject
}
