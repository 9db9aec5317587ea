import t from 'tap'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import sellify from '../app.js'
import { build, call, DEV_KEY, type TapTest } from './helper.js'

/*
 * The dashboard in a real browser (README, "Dashboard"): Debian's Chromium driven by Playwright against the
 * service listening on a socket, with the real clock and a SQLite file. What a shop owner does: sign in, see a
 * decision made through the API appear without reloading, acknowledge an alert, pause a conversation, change a
 * price and have the bot quote it; and what must never happen: a customer's text run as HTML, an inline
 * script run, the key written anywhere but the tab's sessionStorage. Screenshots of each page go to
 * docs/dashboard/ (shown in the README).
 */

const CHROMIUM = process.env.SELLIFY_CHROMIUM ?? '/usr/bin/chromium'
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run']
const SHOTS = join(process.cwd(), 'docs', 'dashboard')
const XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script> je vais porter plainte'
const ANGRY = '+221770000001'
const BUYER = '+221770000002'

if (!existsSync(CHROMIUM)) {
  // CI installs it (.ci/run); anywhere else the test says why it did not run.
  if (process.env.CI === 'true') t.fail(`${CHROMIUM} is missing: .ci/run installs Debian's chromium package`)
  else t.pass(`skipped: ${CHROMIUM} is missing (apt-get install chromium)`, { skip: true })
} else {
  t.test('the dashboard in Chromium', { timeout: 240_000 }, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'sellify-dashboard-'))
    t.teardown(() => rm(dir, { recursive: true, force: true }))
    // The real clock and the service's own hourly cap (the helper's tests lift it), as a shop would see them.
    const app = await build(t, { now: () => new Date(), random: Math.random, defaults: { limits: { messages_per_hour: 30 } }, store: { sqlitePath: join(dir, 'sellify.db') } })
    await app.listen({ port: 0, host: '127.0.0.1' })
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
    await shop(t, app)

    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS })
    t.teardown(() => browser.close())

    await t.test('sign-in: a wrong key is refused with a message; the right one is kept in the tab only', async (t) => {
      const { page, context, requests } = await open(t, browser, `${base}/dashboard`)
      t.equal(new URL(page.url()).pathname, '/dashboard/', '/dashboard redirects to /dashboard/')
      await page.fill('#api-key', 'sk_not_a_key')
      await page.click('button[type=submit]')
      await page.waitForSelector('.notice-error')
      t.match(await page.textContent('.notice'), /refused \(401\)/, 'a 401 says the key was refused')
      t.equal(await page.evaluate(() => (globalThis as any).sessionStorage.length), 0, 'a refused key is not kept')

      await signIn(page)
      t.equal(await page.evaluate(() => (globalThis as any).sessionStorage.getItem('sellify.key')), DEV_KEY, 'the key is in sessionStorage')
      t.equal(await page.evaluate(() => (globalThis as any).localStorage.length), 0, 'nothing in localStorage')
      t.equal(await page.evaluate(() => (globalThis as any).document.cookie), '', 'no cookie')
      t.strictSame(await context.cookies(), [], 'none set by the service either')
      t.notOk(requests.some((u) => u.includes(DEV_KEY)), 'no request URL carries the key')
      t.ok(requests.some((u) => u.includes('/api/v1/quota/status')), 'the page called the API')

      await page.click('#signout')
      await page.waitForSelector('#api-key')
      t.equal(await page.evaluate(() => (globalThis as any).sessionStorage.getItem('sellify.key')), null, 'signing out forgets the key')
    })

    await t.test('overview: counters, resets and health; a decision made through the API appears without a reload', async (t) => {
      const { page } = await open(t, browser, `${base}/dashboard/`, { key: DEV_KEY })
      await page.selectOption('#refresh', '2000')
      await page.waitForSelector('.account[data-account="default"] .meter')
      t.match(await page.textContent('.account[data-account="default"]'), /Today.*\/ 200.*This week.*\/ 1000.*Next day\s*in/s, 'bars against the limits, and the next resets')
      const before = Number(await page.getAttribute('.chart-total', 'data-total'))
      await page.evaluate(() => { (globalThis as any).stayed = true })
      const decided = await say(t, app, BUYER, 'Bonjour, combien coûte la crème ?')
      t.equal(decided.action, 'respond_text')
      await page.waitForFunction((n) => Number((globalThis as any).document.querySelector('.chart-total')?.getAttribute('data-total')) === n, before + 1, { timeout: 15_000 })
      t.pass('the chart counted the new decision')
      t.equal(await page.evaluate(() => (globalThis as any).stayed), true, 'without reloading the page')
      await page.screenshot({ path: join(SHOTS, 'overview.png'), fullPage: true })
    })

    await t.test('alerts: a customer\'s markup is shown as text and never runs; acknowledging it', async (t) => {
      const decided = await say(t, app, ANGRY, XSS)
      t.equal(decided.action, 'alert_human')
      const { page, violations } = await open(t, browser, `${base}/dashboard/#/alerts`, { key: DEV_KEY })
      const card = page.locator(`[data-alert="${decided.alert.id as string}"]`)
      await card.waitFor()
      t.equal(await card.locator('.alert-message').textContent(), XSS, 'the message is the characters the customer sent')
      t.equal(await page.locator('main img').count(), 0, 'no image element was made of it')
      t.equal(await page.locator('main script').count(), 0, 'nor a script')
      t.equal(await page.evaluate(() => (globalThis as any).__xss), undefined, 'nothing ran')

      // A script added inline by anything on the page is refused by the Content-Security-Policy.
      await page.evaluate(() => {
        const doc = (globalThis as any).document
        const s = doc.createElement('script')
        s.textContent = 'window.__inline = 1'
        doc.body.append(s)
      })
      t.equal(await page.evaluate(() => (globalThis as any).__inline), undefined, 'an inline script does not run')
      t.ok(violations.some((v) => v.includes('script-src')), 'the browser reports the policy refusing it')

      await page.screenshot({ path: join(SHOTS, 'alerts.png'), fullPage: true })
      await card.locator('button.ack').click()
      await card.waitFor({ state: 'detached' })
      const stored = (await call(app, 'GET', `/api/v1/alerts/${decided.alert.id as string}`)).json()
      t.match(stored, { status: 'acknowledged', acknowledged_by: { id: 'bootstrap' } }, 'acknowledged in the service, by the signed-in key')
      await page.click('button[data-status="acknowledged"]')
      await card.waitFor()
      t.match(await card.textContent(), /Acknowledged .* by SELLIFY_API_KEY/, 'listed under acknowledged, with who did it')
      await card.locator('button:text("Deliveries")').click()
      await card.locator('.deliveries .empty').waitFor()
      t.match(await card.locator('.deliveries').textContent(), /No webhook is set/, 'its deliveries: none without a webhook')
    })

    await t.test('conversations: the list, one conversation\'s messages as text, and pausing it', async (t) => {
      const { page } = await open(t, browser, `${base}/dashboard/#/conversations`, { key: DEV_KEY })
      await page.waitForSelector(`tr[data-contact="${ANGRY}"]`)
      t.equal(await page.locator('tr[data-contact]').count(), 2, 'both conversations are listed')
      await page.selectOption('#state-filter', 'escalated')
      await rows(page, 'tr[data-contact]', 1)
      t.equal(await page.getAttribute('tr[data-contact]', 'data-contact'), ANGRY, 'filtered by state')
      await page.screenshot({ path: join(SHOTS, 'conversations.png'), fullPage: true })

      await page.fill('#contact-search', BUYER)
      await page.click('form[role=search] button[type=submit]')
      await page.waitForSelector('.message')
      const texts = await page.locator('.message-text').allTextContents()
      t.equal(texts[0], 'Bonjour, combien coûte la crème ?', 'the customer\'s message, decrypted')
      t.match(texts[1], /12500 XOF/, 'and the bot\'s reply')
      await page.fill('#pause-minutes', '30')
      await page.click('#pause')
      await page.waitForSelector('.notice-ok')
      t.match(await page.textContent('.conversation-meta'), /Paused until/, 'the page shows the pause')
      const stored = (await call(app, 'GET', `/api/v1/conversations/${encodeURIComponent(BUYER)}`)).json()
      t.ok(stored.paused_until !== null && Date.parse(stored.paused_until) - Date.now() > 29 * 60_000, 'paused for 30 minutes in the service')
      const after = await say(t, app, BUYER, 'Vous êtes là ?')
      t.match(after, { action: 'ignore', rule: 'human_takeover' }, 'and the bot now stays silent for that contact')
      await page.screenshot({ path: join(SHOTS, 'conversation.png'), fullPage: true })
      await page.click('#resume')
      await page.locator('.conversation-meta', { hasText: 'The bot answers' }).waitFor()
      t.pass('resumed')
    })

    await t.test('knowledge base: a new price saved in the page is the price the bot quotes', async (t) => {
      const { page } = await open(t, browser, `${base}/dashboard/#/knowledge`, { key: DEV_KEY })
      await page.click('tr[data-product="creme"] button.edit')
      await page.fill('.product-form input[name=price]', '9900')
      await page.click('.product-form button[type=submit]')
      await page.waitForSelector('.notice-ok')
      await page.locator('tr[data-product=creme] .price', { hasText: /^9900 XOF$/ }).waitFor()
      t.pass('the list shows the new price')
      const product = (await call(app, 'GET', '/api/v1/products/creme')).json()
      t.match(product, { price: '9900', name: 'Crème au karité 200 ml', keywords: ['creme', 'karite'] }, 'stored, the other fields kept')
      const quoted = await say(t, app, '+221770000003', 'Combien coûte la crème ?')
      t.match(quoted.reply.text, /9900 XOF/, 'the bot quotes the new price')
      t.notMatch(quoted.reply.text, /12500/, 'not the old one')

      await page.fill('#match-text', 'je veux commander la crème')
      await page.click('#match-text ~ button[type=submit]')
      await page.waitForSelector('[data-field=event]')
      t.equal(await page.textContent('[data-field=event]'), 'purchase_intent', 'what the bot sees in a message')
      t.match(await page.textContent('[data-field=products]'), /^creme /, 'and the product it matched')
      await page.screenshot({ path: join(SHOTS, 'knowledge.png'), fullPage: true })

      // The whole document: loaded, changed, imported at once.
      await page.click('details.card summary')
      await page.click('button:text("Load the current one")')
      await page.waitForFunction(() => ((globalThis as any).document.querySelector('#kb-json')?.value ?? '').includes('"creme"'))
      const doc = JSON.parse(await page.inputValue('#kb-json'))
      doc.products.push({ id: 'savon', name: 'Savon noir', price: '2500', currency: 'XOF', keywords: ['savon'] })
      await page.fill('#kb-json', JSON.stringify(doc))
      await page.click('button:text("Import")')
      await page.waitForSelector('tr[data-product="savon"]')
      t.match(await page.textContent('.notice'), /imported: 2 products/, 'imported, and said so')
      t.strictSame((await call(app, 'GET', '/api/v1/products')).json().map((p: { id: string }) => p.id), ['creme', 'savon'], 'both products stored')
      await page.fill('#kb-json', '{"products": [{"id": "x"}]}')
      await page.click('button:text("Import")')
      await page.waitForSelector('.notice-error')
      t.match(await page.textContent('.notice'), /body\/products\/0/, 'an invalid document is refused, naming the field')
      t.equal((await call(app, 'GET', '/api/v1/products')).json().length, 2, 'and nothing changed')
    })

    await t.test('audit: the trail, a record in full, the verification', async (t) => {
      const { page } = await open(t, browser, `${base}/dashboard/#/audit`, { key: DEV_KEY })
      await page.waitForSelector('tr[data-record]')
      await page.selectOption('#audit-type', 'alert_acknowledged')
      await page.click('form[role=search] button[type=submit]')
      await rows(page, 'tr[data-record]', 1)
      t.pass('searched by type')
      await page.click('#verify')
      await page.waitForSelector('[data-valid]')
      t.equal(await page.getAttribute('[data-valid]', 'data-valid'), 'true')
      t.match(await page.textContent('.verify-result'), /intact: \d+ records verified/)
      await page.screenshot({ path: join(SHOTS, 'audit.png'), fullPage: true })
      await page.click('tr[data-record] a')
      await page.waitForSelector('table.record')
      t.match(await page.textContent('table.record'), /alert_acknowledged/, 'one record in full')

      await page.goto(`${base}/dashboard/#/audit`)
      await page.waitForSelector('tr[data-record]')
      for (const [button, first] of [['Export CSV', /^id,timestamp,account,actor,type,/], ['Export NDJSON', /^\{".*"hash":"[0-9a-f]{64}"/]] as const) {
        const [download] = await Promise.all([page.waitForEvent('download'), page.click(`button:text("${button}")`)])
        const text = await readFile(await download.path(), 'utf8')
        t.match(text, first, `${button}: the API's export, saved as ${download.suggestedFilename()}`)
        t.match(text, /alert_acknowledged/, `${button}: with the trail's records`)
      }
    })

    await t.test('errors: 403, 429 and 503 are said in words; a phone\'s width does not overflow', async (t) => {
      const { page } = await open(t, browser, `${base}/dashboard/#/overview`, { key: DEV_KEY, viewport: { width: 390, height: 844 } })
      await page.waitForSelector('.account .meter')
      t.ok(await fits(page), 'the overview fits 390 px')
      await page.screenshot({ path: join(SHOTS, 'phone.png'), fullPage: true })
      for (const [page_, selector] of [['conversations', 'tr[data-contact]'], ['alerts', '.tabs'], ['knowledge', 'tr[data-product]'], ['audit', 'tr[data-record]']]) {
        await page.goto(`${base}/dashboard/#/${page_}`)
        await page.waitForSelector(selector)
        t.ok(await fits(page), `${page_} fits 390 px`)
      }
      const answers: Array<[number, Record<string, string>, RegExp]> = [
        [403, {}, /may not do that \(403\)/],
        [429, { 'retry-after': '7' }, /Too many requests.*waits 7 s/],
        [503, { 'retry-after': '1' }, /store does not answer \(503\)/]
      ]
      await page.goto(`${base}/dashboard/#/alerts`)
      await page.waitForSelector('.tabs')
      for (const [status, headers, said] of answers) {
        await page.route('**/api/v1/alerts?*', (route) => route.fulfill({ status, headers, contentType: 'application/json', body: JSON.stringify({ statusCode: status, error: 'x', message: 'as the API says it' }) }))
        await page.click('button[data-status="open"]')
        // The notice of the answer before stays until this one replaces it: wait for its words (the match below says if they never come).
        await page.locator('.notice-error', { hasText: said }).waitFor({ timeout: 5000 }).catch(() => {})
        t.match(await page.textContent('.notice'), said, `${status} is explained`)
        await page.unroute('**/api/v1/alerts?*')
      }
    })

    await t.test('an agent key sees its own account only', async (t) => {
      t.equal((await call(app, 'PUT', '/api/v1/accounts/shop-2', { active_hours: 'always' })).statusCode, 201)
      const created = (await call(app, 'POST', '/api/v1/keys', { name: 'bot of shop-2', role: 'agent', account: 'shop-2' })).json()
      const { page } = await open(t, browser, `${base}/dashboard/`, { key: created.key })
      await page.waitForSelector('.account[data-account="shop-2"]')
      t.strictSame(await page.locator('#account option').allTextContents(), ['shop-2'], 'the account chooser offers its account alone')
      t.equal(await page.locator('.account').count(), 1, 'one account on the overview')
      await page.goto(`${base}/dashboard/#/audit`)
      await page.waitForSelector('.page[data-page=audit] .empty')
      t.match(await page.textContent('.page'), /for admin keys/, 'the audit page says it is for admins')
      await page.goto(`${base}/dashboard/#/knowledge`)
      await page.waitForSelector('.page[data-page=knowledge] .empty')
      t.equal(await page.locator('button.edit').count(), 0, 'no editing for an agent')
    })
  })

  t.test('under an embedding prefix, the dashboard calls the API under the same prefix', { timeout: 120_000 }, async (t) => {
    const host: FastifyInstance = Fastify({ logger: false })
    await host.register(sellify, { prefix: '/sellify', env: {}, store: { sqlitePath: ':memory:' } })
    await host.listen({ port: 0, host: '127.0.0.1' })
    t.teardown(() => host.close())
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS })
    t.teardown(() => browser.close())
    const { page, requests } = await open(t, browser, `http://127.0.0.1:${(host.server.address() as { port: number }).port}/sellify/dashboard`, { key: DEV_KEY })
    await page.waitForSelector('.account[data-account="default"]')
    const api = requests.filter((u) => u.includes('/api/v1/'))
    t.ok(api.length > 0 && api.every((u) => new URL(u).pathname.startsWith('/sellify/api/v1/')), 'every API call under /sellify')
  })
}

async function shop (t: TapTest, app: FastifyInstance): Promise<void> {
  t.equal((await call(app, 'PUT', '/api/v1/accounts/default', { active_hours: 'always' })).statusCode, 200)
  const res = await call(app, 'PUT', '/api/v1/knowledge', {
    business_name: 'Karité & Co',
    products: [{ id: 'creme', name: 'Crème au karité 200 ml', price: '12500', currency: 'XOF', short_description: 'Crème hydratante au beurre de karité.', keywords: ['creme', 'karite'] }]
  })
  t.equal(res.statusCode, 200, res.body)
}

async function say (t: TapTest, app: FastifyInstance, contact: string, text: string): Promise<Record<string, any>> {
  const res = await call(app, 'POST', '/api/v1/messages/incoming', { contact, text })
  t.equal(res.statusCode, 200, res.body)
  return res.json()
}

/**
 * A new tab (its own sessionStorage) at `url`, signed in with `key` when one is given, with the URLs it
 * requests and the policy violations it reports.
 */
async function open (t: TapTest, browser: Browser, url: string, { key, viewport = { width: 1280, height: 860 } }: { key?: string, viewport?: { width: number, height: number } } = {}): Promise<{ page: Page, context: BrowserContext, requests: string[], violations: string[] }> {
  const context = await browser.newContext({ viewport })
  t.teardown(() => context.close())
  const page = await context.newPage()
  const requests: string[] = []
  const violations: string[] = []
  page.on('request', (r) => { requests.push(r.url()) })
  page.on('pageerror', (err) => { t.fail(`a script error on the page: ${err.message}`) })
  page.on('console', (m) => { if (m.type() === 'error' && /Content Security Policy/.test(m.text())) violations.push(m.text()) })
  await page.goto(url)
  if (key !== undefined) await signIn(page, key)
  return { page, context, requests, violations }
}

async function signIn (page: Page, key = DEV_KEY): Promise<void> {
  await page.fill('#api-key', key)
  await page.click('button[type=submit]')
  await page.waitForSelector('#nav:not([hidden])')
}

/** Until the page lists exactly `n` elements matching `selector`. */
async function rows (page: Page, selector: string, n: number): Promise<void> {
  await page.waitForFunction(([s, count]) => (globalThis as any).document.querySelectorAll(s).length === count, [selector, n] as const)
}

/** Whether the page is no wider than the window (nothing scrolls sideways). */
async function fits (page: Page): Promise<boolean> {
  return await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth <= (globalThis as any).innerWidth)
}
