// The public API, called with the key the person signed in with. The key lives in this tab's sessionStorage
// only: never in a URL, a cookie or localStorage, and it is gone when the tab closes.

const KEY = 'sellify.key'
/** The service's root (where /api/v1 is), wherever the dashboard is mounted: this file is <root>/dashboard/api.js. */
const ROOT = new URL('../', import.meta.url)

export const session = {
  get key () { return sessionStorage.getItem(KEY) },
  set key (value) {
    if (value === null) sessionStorage.removeItem(KEY)
    else sessionStorage.setItem(KEY, value)
  }
}

/** What went wrong, in words a shop owner can act on. */
export class ApiError extends Error {
  constructor (status, body, retryAfter) {
    super(explain(status, body, retryAfter))
    this.status = status
    this.detail = body?.message ?? null
    this.retryAfter = retryAfter
  }
}

function explain (status, body, retryAfter) {
  const detail = typeof body?.message === 'string' ? body.message : ''
  switch (status) {
    case 0: return 'The service does not answer. Is it running? Retrying.'
    case 401: return 'This API key was refused (401): it is unknown or was revoked. Sign in again.'
    case 403: return `This key may not do that (403)${detail === '' ? '' : `: ${detail}`}.`
    case 429: return `Too many requests for this key (429). The dashboard waits ${retryAfter ?? 'a few'} s before asking again.`
    case 503: return 'The store does not answer (503): nothing is sent or counted until it does. Retrying.'
    default: return detail === '' ? `The service answered ${status}.` : `${detail} (${status})`
  }
}

/** `query` values that are undefined, null or '' are left out. */
function url (path, query) {
  const u = new URL(path.replace(/^\//, ''), ROOT)
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== '') u.searchParams.set(name, String(value))
  }
  return u
}

async function call (path, { method = 'GET', body, query, raw = false } = {}) {
  const headers = { 'x-api-key': session.key ?? '' }
  if (body !== undefined) headers['content-type'] = 'application/json'
  let res
  try {
    res = await fetch(url(path, query), { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store', credentials: 'omit' })
  } catch {
    throw new ApiError(0, null)
  }
  if (!res.ok) {
    let parsed = null
    try { parsed = await res.json() } catch {}
    const retry = Number.parseInt(res.headers.get('retry-after') ?? '', 10)
    throw new ApiError(res.status, parsed, Number.isFinite(retry) ? retry : undefined)
  }
  if (raw) return res
  return res.status === 204 ? null : await res.json()
}

export const api = {
  get: (path, query) => call(path, { query }),
  post: (path, body, query) => call(path, { method: 'POST', body: body ?? {}, query }),
  put: (path, body, query) => call(path, { method: 'PUT', body, query }),
  /** A file the API streams (the audit export), saved through a link to a blob: the key stays in the header. */
  async download (path, query, filename) {
    const res = await call(path, { query, raw: true })
    const href = URL.createObjectURL(await res.blob())
    const a = document.createElement('a')
    a.href = href
    a.download = filename
    document.body.append(a)
    a.click()
    a.remove()
    setTimeout(() => URL.revokeObjectURL(href), 10_000)
  }
}

/** A path segment (a contact id such as +33612345678 or 336…@s.whatsapp.net). */
export const seg = (value) => encodeURIComponent(value)

/** The first `pages` pages of a listing paged by `next_before` (conversations, audit): its items, and whether more remain. */
export async function pagesOf (path, query, field, pages) {
  const items = []
  let before = null
  for (let i = 0; i < pages; i++) {
    const page = await api.get(path, { ...query, before })
    items.push(...page[field])
    before = page.next_before
    if (before === null) break
  }
  return { items, more: before !== null }
}
