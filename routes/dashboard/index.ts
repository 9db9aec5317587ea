import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import { Type } from '@sinclair/typebox'
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { extname, join } from 'node:path'
import { packageDir } from '../../lib/shared/version.js'
import { errorResponses } from '../common/schema.js'

/** What a dashboard file may be; anything else in the folder is not served. */
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml'
}

/**
 * Scripts and styles from these files only: no inline script or style, no eval, no other origin; the API is
 * called on this origin. Product images are not loaded (their URLs are shown as text).
 */
export const DASHBOARD_CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
  "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'"
].join('; ')

interface Asset { body: Buffer, type: string, etag: string }

/** The folder's files, read once: a request never touches the disk, and a path outside the list is a 404. */
function loadAssets (dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>()
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch (err) {
    throw new Error(`the dashboard's files are missing: cannot read ${dir} (the package ships it beside dist/)`, { cause: err })
  }
  for (const name of names) {
    const type = TYPES[extname(name)]
    if (type === undefined) continue
    const body = readFileSync(join(dir, name))
    assets.set(name, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` })
  }
  return assets
}

const FileParamsSchema = Type.Object({
  file: Type.String({ pattern: '^[a-z0-9-]+\\.(html|js|css|svg)$', description: 'A file of the dashboard (app.js, style.css, …)' })
})
const Page = Type.String({ description: 'The file (HTML, JavaScript, CSS or SVG)' })
/** A page's query means nothing to the files (a link's tracking tag, a cache-buster): taken and ignored, as by any web server. */
const AnyQuerySchema = Type.Object({}, { additionalProperties: true })

/** Whether an If-None-Match header names `etag` (a list, a weak tag or `*` included). */
function matches (header: string | undefined, etag: string): boolean {
  if (header === undefined) return false
  return header.split(',').some((tag) => {
    const t = tag.trim()
    return t === '*' || t === etag || t === `W/${etag}`
  })
}

/**
 * The dashboard (README, "Dashboard"): static files from the package's `dashboard/` folder, public like
 * /docs, which call the public API with the key the person signs in with. No build step: plain ES modules.
 */
const dashboard: FastifyPluginAsyncTypebox = async function dashboardRoutes (fastify) {
  const assets = loadAssets(join(packageDir(), 'dashboard'))
  const config = { access: 'public' as const, rateLimit: false as const }
  const tags = ['dashboard']

  async function send (reply: FastifyReply, asset: Asset, ifNoneMatch: string | undefined): Promise<FastifyReply> {
    reply.header('content-security-policy', DASHBOARD_CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('x-frame-options', 'DENY')
      .header('cache-control', 'no-cache')
      .header('etag', asset.etag)
    if (matches(ifNoneMatch, asset.etag)) return await reply.code(304).send()
    return await reply.type(asset.type).send(asset.body)
  }

  // One route for `/dashboard` and `/dashboard/` (so that a host's ignoreTrailingSlash finds no duplicate):
  // without the slash it redirects, so that the page's relative URLs (./app.js, ../api/v1/…) resolve under it.
  fastify.get('/', {
    config,
    schema: {
      tags,
      summary: 'The dashboard\'s page (sign in with an API key; it is kept in the tab only); /dashboard redirects to /dashboard/',
      security: [],
      querystring: AnyQuerySchema,
      response: { 200: Page, 302: Type.Null({ description: 'To /dashboard/' }), 304: Type.Null() }
    }
  }, async (request, reply) => {
    const mark = request.url.indexOf('?')
    const path = mark === -1 ? request.url : request.url.slice(0, mark)
    if (!path.endsWith('/')) return await reply.redirect(`${path}/${mark === -1 ? '' : request.url.slice(mark)}`)
    const page = assets.get('index.html')
    if (page === undefined) return reply.callNotFound()
    return await send(reply, page, request.headers['if-none-match'])
  })

  fastify.get('/:file', {
    config,
    schema: { tags, summary: 'A file of the dashboard', security: [], params: FileParamsSchema, querystring: AnyQuerySchema, response: { 200: Page, 304: Type.Null(), ...errorResponses(400, 404) } }
  }, async (request, reply) => {
    const asset = assets.get(request.params.file)
    if (asset === undefined) return reply.callNotFound()
    return await send(reply, asset, request.headers['if-none-match'])
  })
}

export default dashboard
