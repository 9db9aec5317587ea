/**
 * The store, wrapped once: any rejection of a store call that is not already a Sellify error becomes
 * SELLIFY_STORE_UNAVAILABLE (503), so every engine fails closed without a guard of its own.
 */
import { SellifyError, StoreUnavailable } from '../shared/errors.js'
import type { Store } from './contract.js'

export function failClosed<S extends Store> (store: S): S {
  const wrapped: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(store)) {
    if (typeof value !== 'function' || name === 'close') {
      wrapped[name] = value
      continue
    }
    const fn = value as (...args: unknown[]) => unknown
    wrapped[name] = (...args: unknown[]) => {
      let result: unknown
      try {
        result = fn(...args)
      } catch (err) {
        throw err instanceof SellifyError ? err : StoreUnavailable(err)
      }
      if (!(result instanceof Promise)) return result
      return result.catch((err: unknown) => {
        throw err instanceof SellifyError ? err : StoreUnavailable(err)
      })
    }
  }
  return wrapped as S
}
