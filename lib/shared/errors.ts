/**
 * The error catalogue's machinery. Each engine defines its errors once, in its own `errors.ts`, with
 * `defineError(code, statusCode, message)`; the root error handler keys on `code`, never on a status or a
 * class, so a 503 of one engine is never reported as another's outage.
 */
export class SellifyError extends Error {
  readonly statusCode: number
  readonly code: string
  /** Extra headers the answer must carry (for example `Retry-After`). */
  readonly headers?: Record<string, string>

  constructor (statusCode: number, code: string, message: string, options?: { cause?: unknown, headers?: Record<string, string> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'SellifyError'
    this.statusCode = statusCode
    this.code = code
    if (options?.headers !== undefined) this.headers = options.headers
  }
}

/** A catalogue entry: call it to make the error; `code` and `statusCode` tell it apart without making one. */
export interface ErrorFactory<A extends unknown[]> {
  (...args: A): SellifyError
  readonly code: string
  readonly statusCode: number
  /** Whether `err` is an error of this entry. */
  is: (err: unknown) => err is SellifyError
}

/**
 * One catalogue entry (platformatic's `createError` pattern, without a Fastify dependency): a stable code,
 * its status and how its message reads.
 */
export function defineError<A extends unknown[]> (
  code: string,
  statusCode: number,
  message: (...args: A) => string,
  options: { headers?: Record<string, string> } = {}
): ErrorFactory<A> {
  const make = (...args: A): SellifyError => new SellifyError(statusCode, code, message(...args), options.headers === undefined ? undefined : { headers: options.headers })
  return Object.assign(make, {
    code,
    statusCode,
    is: (err: unknown): err is SellifyError => err instanceof SellifyError && err.code === code
  })
}

/** Input the schemas cannot judge (a time zone that does not exist, min above max); the message names the field. */
export const BadRequest = defineError('SELLIFY_BAD_REQUEST', 400, (message: string) => message)

/** The store did not answer: decisions fail closed. Shared by every engine that reads or writes the store. */
export const StoreUnavailable = Object.assign(
  (cause: unknown): SellifyError => new SellifyError(503, 'SELLIFY_STORE_UNAVAILABLE', 'Store unavailable; no send is allowed until it answers', { cause, headers: { 'retry-after': '1' } }),
  { code: 'SELLIFY_STORE_UNAVAILABLE', statusCode: 503 }
)

/** Invalid configuration, named by its variable. */
export class ConfigError extends Error {
  readonly variable: string
  constructor (variable: string, message: string) {
    super(`${variable}: ${message}`)
    this.name = 'ConfigError'
    this.variable = variable
  }
}
