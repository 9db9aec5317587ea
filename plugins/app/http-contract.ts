import { STATUS_CODES } from 'node:http'
import { Ajv, type ErrorObject } from 'ajv'
import addFormats from 'ajv-formats'
import fp from 'fastify-plugin'
import type { FastifyError } from 'fastify'
import { SellifyError, StoreUnavailable } from '../../lib/shared/errors.js'

/** Bodies larger than this are refused with 413. */
export const BODY_LIMIT = 64 * 1024

function makeAjv (coerce: boolean): Ajv {
  // Unknown fields are errors (removeAdditional: false) and body types are never coerced: "3" is not 3.
  const ajv = new Ajv({ coerceTypes: coerce ? 'array' : false, useDefaults: true, removeAdditional: false, allErrors: false, strict: false })
  addFormats.default(ajv)
  return ajv
}

/** One readable sentence that names the field (`body/count must be >= 1`, `body/colour is not an allowed field`). */
export function describeValidation (errors: ErrorObject[], part: string): string {
  const e = errors[0]
  const at = `${part}${e.instancePath}`
  switch (e.keyword) {
    case 'additionalProperties': return `${at}/${String(e.params.additionalProperty)} is not an allowed field`
    case 'required': return `${at}/${String(e.params.missingProperty)} is required`
    case 'enum': return `${at} must be one of ${(e.params.allowedValues as unknown[]).join(', ')}`
    default: return `${at} ${e.message ?? 'is invalid'}`
  }
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
    if (httpPart !== 'body') return queryAjv.compile(schema)
    const validate = bodyAjv.compile(schema)
    const required = (schema as { required?: string[] }).required ?? []
    if (required.length > 0) return validate
    // Every field optional: no body at all means "all defaults" (the seed's `curl -X POST` resets send none).
    const optionalBody = (data: unknown): boolean => data === null || data === undefined || validate(data) as boolean
    return Object.defineProperty(optionalBody, 'errors', { get: () => validate.errors })
  })
  fastify.setSchemaErrorFormatter((errs, dataVar) => new Error(describeValidation(errs as ErrorObject[], dataVar)))

  fastify.addHook('onRoute', (route) => { route.bodyLimit ??= BODY_LIMIT })

  // JSON only: anything else is a 415. A body-less POST is fine where every field is optional (the seed's resets).
  const json = fastify.getDefaultJsonParser('error', 'error')
  fastify.removeAllContentTypeParsers()
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') {
      done(null, undefined)
      return
    }
    json(request, body as string, done)
  })

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
