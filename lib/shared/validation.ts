import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'
import { BadRequest } from './errors.js'

/** One readable sentence that names the field (`body/count must be >= 1`, `body/colour is not an allowed field`). */
export function describeValidation (errors: ErrorObject[], part: string): string {
  const e = errors[0]
  const at = `${part}${e.instancePath}`
  switch (e.keyword) {
    case 'additionalProperties': return `${at}/${String(e.params.additionalProperty)} is not an allowed field`
    case 'required': return `${at}/${String(e.params.missingProperty)} is required`
    case 'enum': return `${at} must be one of ${(e.params.allowedValues as unknown[]).map((v) => v === null ? 'null' : String(v)).join(', ')}`
    default: return `${at} ${e.message ?? 'is invalid'}`
  }
}

// The HTTP body validator's options: unknown fields are errors, types are never coerced, defaults filled in.
const ajv = new Ajv({ coerceTypes: false, useDefaults: true, removeAdditional: false, allErrors: false, strict: false })
addFormats.default(ajv)

/** A JSON schema compiled as the routes' body validator compiles it (one validator for every engine that checks a body in code). */
export function compileStrict (schema: object): ValidateFunction {
  return ajv.compile(schema)
}

/**
 * A check of a value against a JSON schema, worded as the routes' own validation words it: for a body a route
 * can only check itself (one hidden twin serving several bodies). Throws a 400 naming the field.
 */
export function bodyChecker<T> (schema: object): (value: unknown) => T {
  const validate = compileStrict(schema)
  return (value) => {
    if (!validate(value)) throw BadRequest(describeValidation(validate.errors ?? [], 'body'))
    return value as T
  }
}
