/** TypeBox helpers shared by the domain schemas and the routes (TypeBox is plain JSON Schema, not Fastify). */
import { Type, type Static, type TSchema } from '@sinclair/typebox'

/** A string enum that ajv reports as "must be one of a, b, c" (a Union of literals would say "anyOf"). */
export function StringEnum<const T extends readonly string[]> (values: T, options: { description?: string, default?: T[number] } = {}) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options })
}

/**
 * A nullable value as OpenAPI 3.0 writes it (`nullable: true`). A Union with Null would make
 * fast-json-stringify run ajv on every answer to pick the branch; this serializes directly.
 */
export function Nullable<T extends TSchema> (schema: T) {
  // An enum lists null too: `nullable` lets the type be null, but an enum that lacks it would still refuse it.
  const values = (schema as { enum?: unknown[] }).enum
  return Type.Unsafe<Static<T> | null>({ ...schema, ...(Array.isArray(values) ? { enum: [...values, null] } : {}), nullable: true })
}

export const IsoTimestampSchema = Type.String({ format: 'date-time', examples: ['2026-01-18T00:00:00.000Z'] })
