import t from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { readdirSync, readFileSync } from 'node:fs'
import { extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import sellify from '../../app.js'
import { DASHBOARD_CSP } from '../../routes/dashboard/index.js'
import { build, call, DEV_KEY, type TapTest } from '../helper.js'

/*
 * The dashboard's static files (README, "Dashboard") as a browser gets them: public, with headers that let the page run
 * its own files only. The folder is being written by someone else: only index.html is relied on; the other checks
 * run over whatever files it holds when the test runs.
 */

const DIR = fileURLToPath(new URL('../../dashboard/', import.meta.url))
const FILES = readdirSync(DIR).filter((f) => /^[a-z0-9-]+\.(html|js|css|svg)$/.test(f)).sort()
const HTML = FILES.filter((f) => f.endsWith('.html'))
const TYPES: Record<string, RegExp> = {
  '.html': /^text\/html; charset=utf-8$/,
  '.js': /^(text|application)\/javascript; charset=utf-8$/,
  '.css': /^text\/css; charset=utf-8$/,
  '.svg': /^image\/svg\+xml/
}
const ERROR_SHAPE = { statusCode: Number, error: String, message: String }
const STRONG = 'k'.repeat(40)

type Res = Awaited<ReturnType<FastifyInstance['inject']>>

async function get (app: FastifyInstance, url: string, headers: Record<string, string> = {}): Promise<Res> {
  return await app.inject({ method: 'GET', url, headers })
}

/** The CSP as directive → sources. */
function csp (header: string | string[] | number | undefined): Map<string, string[]> {
  return new Map(String(header).split(';').map((d) => d.trim()).filter((d) => d !== '').map((d) => {
    const [name, ...sources] = d.split(/\s+/)
    return [name.toLowerCase(), sources]
  }))
}

/** The headers every dashboard file is served with, on a 200 and a 304 alike. */
function securityHeaders (t: TapTest, res: Res, what: string): void {
  t.equal(res.headers['content-security-policy'], DASHBOARD_CSP, `${what}: the CSP`)
  t.equal(res.headers['x-content-type-options'], 'nosniff', `${what}: nosniff`)
  t.equal(res.headers['referrer-policy'], 'no-referrer', `${what}: no referrer (the key never leaks in one)`)
  t.equal(res.headers['x-frame-options'], 'DENY', `${what}: never in a frame`)
  t.match(res.headers.etag, /^"[^"]+"$/, `${what}: a strong ETag`)
  t.notOk('x-ratelimit-limit' in res.headers, `${what}: not rate limited`)
}

t.test('the CSP allows the dashboard\'s own files only: no inline script or style, no eval, no framing', async (t) => {
  const policy = csp(DASHBOARD_CSP)
  t.strictSame(policy.get('script-src'), ["'self'"], 'script-src \'self\' and nothing else')
  t.strictSame(policy.get('default-src'), ["'none'"])
  t.strictSame(policy.get('frame-ancestors'), ["'none'"])
  t.ok(policy.has('style-src'), 'styles restricted too')
  t.notOk(policy.get('style-src')?.includes("'unsafe-inline'"), 'no inline style')
  for (const [name, sources] of policy) {
    t.notOk(sources.some((s) => /^'unsafe-(inline|eval|hashes)'$|^'wasm-unsafe-eval'$/.test(s)), `${name}: nothing unsafe`)
    t.notOk(sources.some((s) => s === '*' || /^https?:$|^https?:\/\//.test(s)), `${name}: no other origin`)
  }
  t.notMatch(DASHBOARD_CSP, /unsafe-inline/i)
})

t.test('GET /dashboard/: the page, public, with its security headers; /dashboard/index.html is the same file', async (t) => {
  const app = await build(t)
  const page = readFileSync(join(DIR, 'index.html'))
  for (const key of [null, 'sk_wrong', DEV_KEY]) {
    const res = await call(app, 'GET', '/dashboard/', undefined, key)
    t.equal(res.statusCode, 200, `with key ${String(key)}`)
    t.match(res.headers['content-type'], TYPES['.html'])
    t.ok(res.rawPayload.equals(page), 'the bytes of dashboard/index.html')
    securityHeaders(t, res, `/dashboard/ with key ${String(key)}`)
  }
  const direct = await get(app, '/dashboard/index.html')
  t.equal(direct.statusCode, 200)
  t.ok(direct.rawPayload.equals(page))
  t.equal(direct.headers.etag, (await get(app, '/dashboard/')).headers.etag, 'one file, one ETag')
  securityHeaders(t, direct, '/dashboard/index.html')

  const head = await app.inject({ method: 'HEAD', url: '/dashboard/' })
  t.equal(head.statusCode, 200, 'HEAD')
  t.equal(head.body, '')
  t.equal((await app.inject({ method: 'POST', url: '/dashboard/', payload: {} })).statusCode, 404, 'GET only')
})

t.test('every file of the folder is served with its content type; the .js and .css ones too', async (t) => {
  const app = await build(t)
  const etags = new Set<string>()
  for (const file of FILES) {
    const res = await get(app, `/dashboard/${file}`)
    t.equal(res.statusCode, 200, file)
    t.match(res.headers['content-type'], TYPES[extname(file)], `${file}: ${String(res.headers['content-type'])}`)
    t.ok(res.rawPayload.equals(readFileSync(join(DIR, file))), `${file}: its bytes`)
    securityHeaders(t, res, file)
    etags.add(String(res.headers.etag))
  }
  t.equal(etags.size, new Set(FILES.map((f) => readFileSync(join(DIR, f)).toString('base64'))).size, 'one ETag per distinct content')

  for (const ext of ['.js', '.css']) {
    const file = FILES.find((f) => f.endsWith(ext))
    t.test(`a ${ext} file`, { skip: file === undefined ? `no ${ext} file in dashboard/ yet` : false }, async (t) => {
      const res = await get(app, `/dashboard/${file as string}`)
      t.equal(res.statusCode, 200)
      t.match(res.headers['content-type'], TYPES[ext], `${file as string} is ${String(res.headers['content-type'])}, as a module script or stylesheet needs under nosniff`)
    })
  }
})

t.test('/dashboard redirects to /dashboard/ (302), so that the page\'s relative URLs resolve under it', async (t) => {
  const app = await build(t)
  for (const key of [null, 'sk_wrong', DEV_KEY]) {
    const res = await call(app, 'GET', '/dashboard', undefined, key)
    t.equal(res.statusCode, 302, `with key ${String(key)}`)
    t.equal(res.headers.location, '/dashboard/')
  }
  const follow = await get(app, String((await get(app, '/dashboard')).headers.location))
  t.equal(follow.statusCode, 200, 'where it points is the page')
  t.equal((await get(app, '/dashboard//')).statusCode, 404, 'no other spelling')
})

t.test('a query is kept by the redirect and ignored by the files', async (t) => {
  const app = await build(t)
  for (const [url, location] of [
    ['/dashboard?lang=en', '/dashboard/?lang=en'],
    ['/dashboard?a=1&b=%2F%3F', '/dashboard/?a=1&b=%2F%3F'],
    // Everything after the first "?", a second one included.
    ['/dashboard?next=/x?y=1', '/dashboard/?next=/x?y=1']
  ]) {
    const res = await get(app, url)
    t.equal(res.statusCode, 302, url)
    t.equal(res.headers.location, location, `${url} → ${location}`)
  }
  t.equal((await get(app, '/dashboard/?utm_source=email')).statusCode, 200, 'the page with a query (a link from an e-mail)')
  t.equal((await get(app, '/dashboard/index.html?v=2')).statusCode, 200, 'a file with a cache-busting query')

  const host = Fastify({ logger: false })
  await host.register(sellify, { prefix: '/sellify', env: {}, scheduler: false, store: { sqlitePath: ':memory:' } })
  await host.ready()
  t.teardown(() => host.close())
  t.equal((await get(host, '/sellify/dashboard?lang=en')).headers.location, '/sellify/dashboard/?lang=en', 'under a prefix too')
})

t.test('a host with ignoreTrailingSlash: one route for /dashboard and /dashboard/, the redirect still made', async (t) => {
  for (const options of [{ routerOptions: { ignoreTrailingSlash: true } }, {}]) {
    const host = Fastify({ logger: false, ...options })
    await host.register(sellify, { env: {}, scheduler: false, store: { sqlitePath: ':memory:' } })
    await host.ready()
    t.teardown(() => host.close())
    const label = JSON.stringify(options)
    t.equal((await get(host, '/dashboard')).headers.location, '/dashboard/', `${label}: /dashboard redirects`)
    t.equal((await get(host, '/dashboard/')).statusCode, 200, `${label}: /dashboard/ is the page`)
  }
})

t.test('unknown files are 404; names that are not a dashboard file name are 400; nothing outside the folder is served', async (t) => {
  const app = await build(t)
  for (const url of ['/dashboard/missing.js', '/dashboard/nothing.html', '/dashboard/none.css', '/dashboard/logo-x.svg', '/dashboard/sub/app.js', '/dashboard/../package.json']) {
    const res = await get(app, url)
    t.equal(res.statusCode, 404, url)
    t.match(res.json(), { ...ERROR_SHAPE, statusCode: 404 }, `${url}: the error shape`)
  }
  const pkg = readFileSync(new URL('../../package.json', import.meta.url), 'utf8')
  for (const name of [
    '..%2Fpackage.json', '..%2F..%2Fpackage.json', '%2E%2E%2Fpackage.json', 'foo%2Fapp.js', 'a.b.js', '..js', '.hidden.js', 'App.js',
    'index.HTML', 'index.htm', 'index.html%00', 'index.html.bak', 'package.json', 'README.md', 'x%5Capp.js'
  ]) {
    const res = await get(app, `/dashboard/${name}`)
    t.equal(res.statusCode, 400, name)
    t.match(res.json(), { ...ERROR_SHAPE, statusCode: 400, error: 'Bad Request', message: /params\/file/ }, `${name}: ${res.json().message as string}`)
    t.notOk(res.body.includes('sellify-core') || res.body.includes(pkg.slice(0, 40)), `${name}: nothing of package.json`)
  }
})

t.test('ETag: a matching If-None-Match is a 304 with the same headers and no body; another one is a 200', async (t) => {
  const app = await build(t)
  for (const file of ['', ...FILES]) {
    const url = `/dashboard/${file}`
    const first = await get(app, url)
    const etag = String(first.headers.etag)
    const again = await get(app, url, { 'if-none-match': etag })
    t.equal(again.statusCode, 304, `${url}: not modified`)
    t.equal(again.body, '', `${url}: no body`)
    t.equal(again.headers.etag, etag)
    securityHeaders(t, again, `${url} (304)`)
    const stale = await get(app, url, { 'if-none-match': '"an-older-version"' })
    t.equal(stale.statusCode, 200, `${url}: another ETag gets the file`)
    t.ok(stale.rawPayload.equals(first.rawPayload))
    for (const header of [`"older", ${etag}`, `W/${etag}`, '*']) {
      t.equal((await get(app, url, { 'if-none-match': header })).statusCode, 304, `${url}: If-None-Match ${header}`)
    }
  }
})

t.test('public even when SELLIFY_API_KEY is set, and never rate limited', async (t) => {
  const app = await build(t, { env: { SELLIFY_API_KEY: STRONG }, rateLimit: { max: 2, timeWindow: '1 minute' } })
  for (let i = 1; i <= 6; i++) {
    for (const url of ['/dashboard', '/dashboard/', '/dashboard/index.html']) {
      const res = await get(app, url)
      t.equal(res.statusCode, url === '/dashboard' ? 302 : 200, `${url} #${i} without a key`)
      t.notOk('x-ratelimit-limit' in res.headers, `${url} #${i}: no rate limit`)
    }
  }
  t.equal((await get(app, '/dashboard/', { 'x-api-key': 'sk_wrong' })).statusCode, 200, 'a wrong key sent along is ignored')
  t.equal((await call(app, 'GET', '/api/v1/keys/me', undefined, null)).statusCode, 401, 'while the API it calls needs the key')
  t.equal((await call(app, 'GET', '/api/v1/keys/me', undefined, STRONG)).statusCode, 200)
  t.equal((await call(app, 'GET', '/api/v1/keys/me', undefined, STRONG)).statusCode, 200)
  t.equal((await call(app, 'GET', '/api/v1/keys/me', undefined, STRONG)).statusCode, 429, 'and is rate limited')
  t.equal((await get(app, '/dashboard/')).statusCode, 200, 'the dashboard still answers')
})

t.test('embedded under a prefix: /sellify/dashboard/ serves it, /sellify/dashboard redirects under the prefix', async (t) => {
  const host = Fastify({ logger: false })
  host.get('/dashboard/', async () => ({ host: true }))
  await host.register(sellify, { prefix: '/sellify', env: {}, scheduler: false, store: { sqlitePath: ':memory:' }, apiKey: STRONG })
  await host.ready()
  t.teardown(() => host.close())

  const page = await get(host, '/sellify/dashboard/')
  t.equal(page.statusCode, 200)
  t.ok(page.rawPayload.equals(readFileSync(join(DIR, 'index.html'))))
  securityHeaders(t, page, '/sellify/dashboard/')
  t.equal((await get(host, '/sellify/dashboard/index.html')).statusCode, 200)
  t.equal((await get(host, '/sellify/dashboard/', { 'if-none-match': String(page.headers.etag) })).statusCode, 304)
  const redirect = await get(host, '/sellify/dashboard')
  t.equal(redirect.statusCode, 302)
  t.equal(redirect.headers.location, '/sellify/dashboard/', 'under the prefix, so the page\'s relative URLs reach /sellify/api/v1')
  t.equal((await get(host, '/sellify/dashboard/missing.js')).statusCode, 404)
  t.equal((await get(host, '/sellify/dashboard/..%2Fpackage.json')).statusCode, 400)
  t.strictSame((await get(host, '/dashboard/')).json(), { host: true }, 'the host\'s own /dashboard/ is the host\'s')
  t.equal((await get(host, '/dashboard/index.html')).statusCode, 404, 'nothing of Sellify outside the prefix')
})

/** Every start tag of `html` (comments left out): its name, its attributes (lowercased names) and where it ends. */
function tags (html: string): Array<{ name: string, attrs: Map<string, string>, end: number, raw: string }> {
  const text = html.replace(/<!--[\s\S]*?-->/g, (c) => ' '.repeat(c.length))
  const found: Array<{ name: string, attrs: Map<string, string>, end: number, raw: string }> = []
  const tag = /<([a-zA-Z][\w-]*)((?:\s+[^\s"'>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*)\s*\/?>/g
  for (const m of text.matchAll(tag)) {
    const attrs = new Map<string, string>()
    for (const a of m[2].matchAll(/([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g)) {
      attrs.set(a[1].toLowerCase(), a[2] ?? a[3] ?? a[4] ?? '')
    }
    found.push({ name: m[1].toLowerCase(), attrs, end: (m.index ?? 0) + m[0].length, raw: m[0] })
  }
  return found
}

t.test('the HTML runs under the CSP: no inline script, event handler, style attribute or element, javascript: URL', async (t) => {
  t.ok(HTML.includes('index.html'), 'index.html exists')
  const app = await build(t)
  for (const file of HTML) {
    const html = readFileSync(join(DIR, file), 'utf8')
    const all = tags(html)
    t.ok(all.length > 0, `${file}: has tags`)
    for (const { name, attrs, end, raw } of all) {
      const handlers = [...attrs.keys()].filter((a) => /^on[a-z]+$/.test(a))
      t.strictSame(handlers, [], `${file}: ${raw.slice(0, 80)} has no inline event handler`)
      t.notOk(attrs.has('style'), `${file}: ${raw.slice(0, 80)} has no style attribute`)
      t.notOk([...attrs.values()].some((v) => /^\s*javascript:/i.test(v)), `${file}: ${raw.slice(0, 80)} has no javascript: URL`)
      if (name === 'script') {
        const body = html.slice(end, html.toLowerCase().indexOf('</script', end))
        // A JSON data block is never run, so the CSP lets it be; anything else inline is refused by the browser.
        const data = /json/i.test(attrs.get('type') ?? '')
        if (!data) t.ok(attrs.has('src') && attrs.get('src') !== '', `${file}: ${raw} has a src`)
        if (!data) t.match(body, /^\s*$/, `${file}: ${raw} has no inline code`)
      }
      t.not(name, 'style', `${file}: no <style> element (style-src 'self' refuses it)`)
    }
    t.notMatch(html, /<script(?![^>]*\bsrc=)[^>]*>\s*[^<\s]/i, `${file}: no inline script, by a plain search too`)
    t.notMatch(html, /\son[a-z]+\s*=/i, `${file}: no on…= attribute, by a plain search too`)
    t.notMatch(html, /\sstyle\s*=/i, `${file}: no style=, by a plain search too`)

    // What the page loads must be files of this folder that the route serves (the CSP refuses other origins).
    const refs = all.flatMap(({ name, attrs }) => {
      if ((name === 'script' || name === 'img') && attrs.has('src')) return [attrs.get('src') as string]
      if (name === 'link' && /\b(stylesheet|icon|modulepreload)\b/.test(attrs.get('rel') ?? '') && attrs.has('href')) return [attrs.get('href') as string]
      return []
    })
    for (const ref of refs) {
      t.notMatch(ref, /^(?:[a-z]+:)?\/\//i, `${file}: ${ref} is on this origin`)
      const url = new URL(ref, 'http://sellify.test/dashboard/')
      const res = await get(app, url.pathname)
      t.equal(res.statusCode, 200, `${file}: ${ref} is served (${url.pathname})`)
    }
  }
})

t.test('the scripts load under the CSP: every module they import is served, and none evaluates strings', async (t) => {
  const app = await build(t)
  const scripts = FILES.filter((f) => f.endsWith('.js'))
  t.test('modules', { skip: scripts.length === 0 ? 'no .js file in dashboard/ yet' : false }, async (t) => {
    for (const file of scripts) {
      const code = readFileSync(join(DIR, file), 'utf8')
      t.notMatch(code, /\beval\s*\(|\bnew\s+Function\s*\(|\bset(?:Timeout|Interval)\s*\(\s*['"`]/, `${file}: no eval, new Function or string timer (script-src 'self' refuses them)`)
      t.notMatch(code, /setAttribute\(\s*['"`](?:style|on[a-z]+)['"`]/, `${file}: no style or on… attribute set from script`)
      const imports = [
        ...code.matchAll(/^\s*(?:import|export)\s[^;'"]*?\bfrom\s*['"]([^'"]+)['"]/gm), // import … from '…', export … from '…'
        ...code.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm), // import '…'
        ...code.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g) // import('…')
      ].map((m) => m[1])
      for (const spec of imports) {
        t.match(spec, /^\.\.?\//, `${file}: ${spec} is a relative import (no bundler, no other origin)`)
        const url = new URL(spec, 'http://sellify.test/dashboard/')
        const res = await get(app, url.pathname)
        t.equal(res.statusCode, 200, `${file}: its import ${spec} is served`)
        t.match(res.headers['content-type'], TYPES['.js'], `${file}: ${spec} as JavaScript`)
      }
    }
  })
})
