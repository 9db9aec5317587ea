/** A synchronous, typed listener list: how an engine tells observers (metrics, jobs, caches) after the fact. */
export interface Events<E> {
  emit: (event: E) => void
  /** Be told of every event from now on. */
  observe: (listener: (event: E) => void) => void
}

export function createEvents<E> (): Events<E> {
  const listeners: Array<(event: E) => void> = []
  return {
    emit (event) {
      for (const listener of listeners) listener(event)
    },
    observe (listener) {
      listeners.push(listener)
    }
  }
}
