import type { ErrorObject } from 'ajv'

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
