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
 * Where a URL is logged (Fastify's request serializer and most custom ones, error messages that quote the
 * URL). A key sent in the query string is refused, but the URL that carried it is logged before that.
 */
export const URL_PATHS = ['req.url', 'request.url', 'url', 'err.message', 'err.stack']

const CENSOR = '[redacted]'
/**
 * Query parameters whose values are secrets: any name that mentions a key, a token, a secret, a password, auth
 * or a signature; and the ones that name a customer (`contact`: a phone number).
 */
const SECRET_NAME = /key|token|secret|passw|auth|sig|credential|contact/i
/** A contact id in a path (`/api/v1/conversations/+33612345678/pause`): personal data, never logged. */
const CONTACT_SEGMENT = /(\/conversations\/)([^/?#\s]+)/g
/** A Sellify key's shape, redacted whatever parameter carries it. */
const SECRET_VALUE = /^sk_[A-Za-z0-9_-]{20,}$/
/** One query parameter (`?name=value`, `&…`, `;…`) anywhere in a text; its value ends at the next separator. */
const PARAM = /([?&;])([^=&;#\s?]*)=([^&;#\s]*)/g

function decoded (text: string): string {
  try {
    return decodeURIComponent(text.replaceAll('+', ' '))
  } catch {
    return text
  }
}

/**
 * The text with the value of every secret query parameter, and a contact id in a conversation's path, replaced
 * by `[redacted]`: a URL, or a message quoting one or more (`Route GET:/x?api_key=… not found`). Names are
 * matched after percent-decoding.
 */
export function redactUrl (text: string): string {
  if (text.includes('/conversations/')) text = text.replace(CONTACT_SEGMENT, `$1${CENSOR}`)
  if (!text.includes('=')) return text
  return text.replace(PARAM, (whole, sep: string, name: string, value: string) =>
    SECRET_NAME.test(decoded(name)) || SECRET_VALUE.test(decoded(value)) ? `${sep}${name}=${CENSOR}` : whole)
}

/** Headers are censored whole; URLs and messages keep everything but their secret parameters. */
function censor (value: unknown, path: string[]): unknown {
  const last = path[path.length - 1]
  if (last === 'x-api-key' || last === 'authorization') return CENSOR
  return typeof value === 'string' ? redactUrl(value) : value
}

/**
 * pino options of the standalone server (and of tests that want the same logs): a level and the redaction
 * that keeps keys out of every line, from headers, from logged URLs, and from messages that quote a URL
 * (Fastify's `Route GET:… not found`). A plain object, so it can be checked without starting a server.
 */
export function loggerOptions (level: string) {
  return {
    level,
    redact: { paths: [...REDACT, ...URL_PATHS], censor },
    hooks: {
      logMethod (this: unknown, args: unknown[], method: (...args: unknown[]) => void): void {
        method.apply(this, args.map((a) => typeof a === 'string' ? redactUrl(a) : a))
      }
    }
  }
}
