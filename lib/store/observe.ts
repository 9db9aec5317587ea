/**
 * The store with its commits told to a listener after they committed: how an engine learns what another
 * engine's plan wrote (the audit records counted per type) without being part of it.
 */
import type { Store, StoreOp } from './contract.js'

export type CommitListener = (plan: readonly StoreOp[], results: readonly unknown[]) => void

export function observeCommits<S extends Store> (store: S, listener: CommitListener): S {
  const commit = store.commit.bind(store)
  return {
    ...store,
    commit: async (plan: readonly StoreOp[]) => {
      const results = await commit(plan)
      listener(plan, results as readonly unknown[])
      return results
    }
  } as S
}
