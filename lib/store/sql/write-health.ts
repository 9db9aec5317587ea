/**
 * Whether the database can take a write, as both backends judge it: a write that failed for the database's
 * own reason (full, read-only, I/O, its file gone) marks it unwritable until a write commits again. Meanwhile
 * reads are refused as well, so a store that cannot count never lets `check` say a send may go: it answers
 * 503 like `consume`. Refused operations (a constraint, a bad input) are not the database's fault and change
 * nothing here.
 */
export class WriteHealth {
  readonly #cannotWrite: (err: unknown) => boolean
  #failure: Error | null = null

  constructor (cannotWrite: (err: unknown) => boolean) {
    this.#cannotWrite = cannotWrite
  }

  /** The error that made the database unwritable, or null while writes commit. */
  get failure (): Error | null {
    return this.#failure
  }

  committed (): void {
    this.#failure = null
  }

  failed (err: unknown): void {
    if (this.#cannotWrite(err)) this.#failure = err as Error
  }

  /** A write's promise, followed: it settles as the write did. */
  track<T> (write: Promise<T>): Promise<T> {
    return write.then((value) => {
      this.committed()
      return value
    }, (err: unknown) => {
      this.failed(err)
      throw err
    })
  }
}
