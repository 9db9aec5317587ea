/** JSON merge patch (RFC 7396). */

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)

/**
 * `patch` applied to `target`: objects merge member by member, recursively; a `null` member removes the
 * target's member; anything else (arrays and scalars included) replaces it. Neither input is changed.
 */
export function mergePatch (target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {}
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key]
    // Defined, not assigned: a member named __proto__ stays a member.
    else Object.defineProperty(out, key, { value: mergePatch(out[key], value), enumerable: true, writable: true, configurable: true })
  }
  return out
}
