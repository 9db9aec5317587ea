import { STATUS_CODES } from 'node:http'
import { Ajv, type ErrorObject } from 'ajv'
import addFormats from 'ajv-formats'
import fp from 'fastify-plugin'
import type { FastifyError } from 'fastify'
import { defineError, SellifyError, StoreUnavailable } from '../../lib/shared/errors.js'
import { describeValidation } from '../../lib/shared/validation.js'

/** Bodies larger than this are refused with 413. */
export const BODY_LIMIT = 64 * 1024

function makeAjv (coerce: boolean): Ajv {
  // Unknown fields are errors (removeAdditional: false) and body types are never coerced: "3" is not 3.
  const ajv = new Ajv({ coerceTypes: coerce ? 'array' : false, useDefaults: true, removeAdditional: false, allErrors: false, strict: false })
  addFormats.default(ajv)
  return ajv
}

const InvalidJson = defineError('FST_ERR_CTP_INVALID_JSON_BODY', 400, (why: string) => `Body is not valid JSON: ${why}`)
const NotAnObject = defineError('FST_ERR_VALIDATION', 400, () => 'body must be object')
const ForbiddenKey = defineError('SELLIFY_FORBIDDEN_KEY', 400, (path: string) =>
  `${path} is refused: a JSON key that could change object prototypes (__proto__, constructor.prototype) is never accepted`)
const UnsupportedMergePatch = defineError('SELLIFY_UNSUPPORTED_MEDIA_TYPE', 415, () =>
  'Content-Type application/merge-patch+json is for PATCH only; send application/json')
const UnsupportedCharset = defineError('SELLIFY_UNSUPPORTED_CHARSET', 415, (charset: string) =>
  `Content-Type charset ${JSON.stringify(charset)} is not supported; send application/json in UTF-8`)

/** The `charset` parameter of a Content-Type, lower-cased, or undefined when there is none. */
function charsetOf (contentType: string | undefined): string | undefined {
  const match = /;\s*charset\s*=\s*("?)([^";\s]*)\1/i.exec(contentType ?? '')
  return match === null ? undefined : match[2].toLowerCase()
}

/** Only bodies that could hold such a key (possibly written with \u escapes) are walked. */
const MAYBE_FORBIDDEN = /proto|constructor|\\u/

function parseJson (body: string): unknown {
  let value: unknown
  try {
    value = JSON.parse(body)
  } catch (err) {
    // The position only: the parser's message quotes the body, which is a customer's text.
    const at = /position (\d+)/.exec((err as Error).message)
    throw InvalidJson(at === null ? 'it ends too early or is malformed' : `malformed at position ${at[1]}`)
  }
  // Every JSON body here is an object; `null` must not pass for "no body" (a reset of every account).
  if (value === null) throw NotAnObject()
  if (MAYBE_FORBIDDEN.test(body)) refuseForbiddenKeys(value, 'body')
  return value
}

function refuseForbiddenKeys (value: unknown, path: string): void {
  if (value === null || typeof value !== 'object') return
  if (Array.isArray(value)) {
    value.forEach((item, i) => { refuseForbiddenKeys(item, `${path}/${i}`) })
    return
  }
  const record = value as Record<string, unknown>
  if (Object.hasOwn(record, '__proto__')) throw ForbiddenKey(`${path}/__proto__`)
  const ctor = Object.hasOwn(record, 'constructor') ? record.constructor : undefined
  if (ctor !== null && typeof ctor === 'object' && Object.hasOwn(ctor, 'prototype')) throw ForbiddenKey(`${path}/constructor/prototype`)
  for (const key of Object.keys(record)) refuseForbiddenKeys(record[key], `${path}/${key}`)
}

/** Query schemas say which parameters exist; any other is an error, as in bodies. */
function strictObject<S extends object> (schema: S): S {
  const s = schema as { type?: unknown, additionalProperties?: unknown }
  return s.type === 'object' && s.additionalProperties === undefined ? { ...schema, additionalProperties: false } : schema
}

/**
 * Sellify's error contract for its own routes only (README, "Errors"): one JSON error shape, field-naming validation
 * messages, JSON-only bodies up to 64 KiB, and no internals in a 5xx. It is registered inside Sellify's
 * encapsulated scope, so a host app that embeds Sellify keeps its own handlers and parsers.
 */
export default fp(async function httpContract (fastify) {
  const bodyAjv = makeAjv(false)
  const queryAjv = makeAjv(true)
  fastify.setValidatorCompiler(({ schema, httpPart }) => {
    // Unknown query parameters are refused like unknown body fields: `?acount=shop-2` must not act on `default`.
    if (httpPart === 'querystring') return queryAjv.compile(strictObject(schema))
    if (httpPart !== 'body') return queryAjv.compile(schema)
    const validate = bodyAjv.compile(schema)
    const required = (schema as { required?: string[] }).required ?? []
    if (required.length > 0) return validate
    // Every field optional: no body at all (Fastify hands null) means "all defaults" (the README's
    // `curl -X POST` resets send none). A JSON `null` never gets here: the parser refuses it.
    const optionalBody = (data: unknown): boolean => data === null || data === undefined || validate(data) as boolean
    return Object.defineProperty(optionalBody, 'errors', { get: () => validate.errors })
  })
  fastify.setSchemaErrorFormatter((errs, dataVar) => new Error(describeValidation(errs as ErrorObject[], dataVar)))

  fastify.addHook('onRoute', (route) => {
    route.bodyLimit ??= BODY_LIMIT
    // A route with a schema but no query parameters takes none. The docs pages (whose schema is only
    // `{ hide: true }`) take what they like.
    const schema = route.schema as { hide?: boolean, querystring?: unknown } | undefined
    const docsPage = schema?.hide === true && Object.keys(schema).length === 1
    if (schema !== undefined && !docsPage && schema.querystring === undefined) {
      schema.querystring = { type: 'object', properties: {}, additionalProperties: false }
    }
  })

  // JSON only, UTF-8 only: anything else is a 415. A body-less POST is fine where every field is optional.
  // A JSON merge patch (RFC 7396) is JSON too, for PATCH only.
  fastify.removeAllContentTypeParsers()
  const parser: Parameters<typeof fastify.addContentTypeParser>[2] = (request, body, done) => {
    if (request.method !== 'PATCH' && /^application\/merge-patch\+json/i.test(request.headers['content-type'] ?? '')) {
      done(UnsupportedMergePatch(), undefined)
      return
    }
    const charset = charsetOf(request.headers['content-type'])
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      done(UnsupportedCharset(charset), undefined)
      return
    }
    if (body === '') {
      done(null, undefined)
      return
    }
    try {
      done(null, parseJson(body as string))
    } catch (err) {
      done(err as Error, undefined)
    }
  }
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, parser)
  fastify.addContentTypeParser('application/merge-patch+json', { parseAs: 'string' }, parser)

  fastify.setErrorHandler(function sellifyErrorHandler (err: FastifyError | SellifyError, request, reply) {
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500
    if (err instanceof SellifyError && err.headers !== undefined) reply.headers(err.headers)
    // Keyed on the code: a 503 of another engine (an AI gateway) is never reported as the store's outage.
    if (err.code === StoreUnavailable.code) {
      request.log.error({ err: (err as SellifyError).cause ?? err }, 'store unavailable: failing closed')
      return reply.code(503).send({ statusCode: 503, error: STATUS_CODES[503], message: err.message, code: err.code })
    }
    if (err instanceof SellifyError && status >= 500) {
      request.log.error({ err: err.cause ?? err, code: err.code }, err.message)
      return reply.code(status).send({ statusCode: status, error: STATUS_CODES[status] ?? 'Error', message: err.message, code: err.code })
    }
    if (status >= 500) {
      request.log.error({ err }, 'unexpected error')
      return reply.code(500).send({
        statusCode: 500,
        error: STATUS_CODES[500],
        message: `Internal error; quote request id ${request.id} when reporting it`
      })
    }
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      err.message = `Content-Type ${JSON.stringify(request.headers['content-type'] ?? '')} is not supported; send application/json`
    }
    if (status >= 400) request.log.info({ statusCode: status, code: err.code, reason: err.message }, 'request refused')
    return reply.code(status).send({
      statusCode: status,
      error: STATUS_CODES[status] ?? 'Error',
      message: err.message,
      ...(err.code === undefined ? {} : { code: err.code })
    })
  })
}, { name: 'http-contract', fastify: '5.x' })
