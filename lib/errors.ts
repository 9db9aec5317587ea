/**
 * Errors thrown by the domain code. Each carries an HTTP `statusCode` and a stable `code`;
 * the root error handler turns them into the SPEC §5 error shape.
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

export const badRequest = (message: string, code = 'SELLIFY_BAD_REQUEST'): SellifyError => new SellifyError(400, code, message)
export const notFound = (message: string, code = 'SELLIFY_NOT_FOUND'): SellifyError => new SellifyError(404, code, message)
export const conflict = (message: string, code = 'SELLIFY_CONFLICT'): SellifyError => new SellifyError(409, code, message)
export const forbidden = (message: string, code = 'SELLIFY_FORBIDDEN'): SellifyError => new SellifyError(403, code, message)

/** The store did not answer: quota decisions fail closed. */
export function storeUnavailable (cause: unknown): SellifyError {
  return new SellifyError(503, 'SELLIFY_STORE_UNAVAILABLE', 'Quota store unavailable; no send is allowed until it answers', { cause })
}

/** Await a store call; any failure of the store becomes a 503, so quota decisions fail closed. */
export async function guardStore<T> (work: Promise<T>): Promise<T> {
  try {
    return await work
  } catch (err) {
    if (err instanceof SellifyError) throw err
    throw storeUnavailable(err)
  }
}

/** Invalid configuration, named by its variable. */
export class ConfigError extends Error {
  readonly variable: string
  constructor (variable: string, message: string) {
    super(`${variable}: ${message}`)
    this.name = 'ConfigError'
    this.variable = variable
  }
}
