/**
 * The unit of work (docs/architecture.md): an engine's rules describe what to write as data, a plan of
 * operations, and the store commits the whole plan in one transaction or none of it. Every write goes
 * through `commit`, so a later plan that spans engines (a decision: its messages, conversation, quota,
 * alert and audit record) is the same call with more operations in it.
 *
 * Each engine declares its operations in its own `store.ts` as `WriteOp<'engine.verb', Result>`; the
 * result type rides along, so `commit` answers a typed tuple, one result per operation in plan order.
 */
export interface WriteOp<Name extends string = string, Result = unknown> {
  readonly op: Name
  /**
   * Applied only when this answers true for the result of the operation before it in the plan (say, record
   * an audit entry only when the reset before it was recorded); otherwise skipped, its result null.
   */
  readonly when?: (previous: unknown) => boolean
  /** Never set: carries the result type of the operation for `Results`. */
  readonly __result?: Result
}

/**
 * The rest of a plan that depends on what its first operations answered (a decision's messages and record
 * depend on whether its consume was granted): `build` is called inside the transaction with the results so
 * far, and the operations it gives are applied there and then, in the same transaction. It must not wait
 * for anything: it only builds data (what it needs, a data key say, is fetched before the plan is
 * committed). Its result is the list of their results; a throw undoes the whole plan.
 */
export interface ThenOp<O extends WriteOp = WriteOp> extends WriteOp<'plan.then', unknown[]> {
  readonly build: (results: readonly unknown[]) => readonly O[]
}

export const thenOp = <O extends WriteOp>(build: (results: readonly unknown[]) => readonly O[]): ThenOp<O> => ({ op: 'plan.then', build })

export type ResultOf<O> = O extends WriteOp<string, infer R> ? R : never

/** One result per operation of the plan, in order. */
export type Results<P extends readonly WriteOp[]> = { -readonly [K in keyof P]: ResultOf<P[K]> }

/**
 * Applies a plan: every operation, in order, in one transaction; durable (committed, on disk) when the
 * promise resolves; when any operation fails, nothing of the plan was kept and the promise rejects.
 */
export interface UnitOfWork<O extends WriteOp = WriteOp> {
  commit: <const P extends readonly O[]> (plan: P) => Promise<Results<P>>
}
