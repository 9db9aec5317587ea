/**
 * Where a key could surface in a log line: the request headers, whichever name a serializer or a plugin
 * logs them under. Node lower-cases incoming header names and pino's redact paths are case-sensitive,
 * so the lower-case spelling is the one that matters.
 */
export const REDACT = [
  'req.headers["x-api-key"]', 'req.headers.authorization',
  'request.headers["x-api-key"]', 'request.headers.authorization',
  'headers["x-api-key"]', 'headers.authorization'
]

/**
 * pino options of the standalone server (and of tests that want the same logs): a level and the redaction
 * that keeps keys out of every line. A plain object, so it can be checked without starting a server.
 */
export function loggerOptions (level: string) {
  return {
    level,
    redact: { paths: [...REDACT], censor: '[redacted]' }
  }
}
