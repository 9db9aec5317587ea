// The dashboard's shell: sign-in, the page router (#/page/param), the account chooser and the refresh loop.
import { api, ApiError, session } from './api.js'
import { fill, h } from './dom.js'
import overview from './overview.js'
import conversations from './conversations.js'
import alerts from './alerts.js'
import knowledge from './knowledge.js'
import audit from './audit.js'

const PAGES = { overview, conversations, alerts, knowledge, audit }
const REFRESH = 'sellify.refresh'
const ACCOUNT = 'sellify.account'

const $ = (id) => document.getElementById(id)
const view = $('view')
const notice = $('notice')

const state = {
  /** The key's own view: { id, name, role, account }. */
  me: null,
  accounts: [],
  account: null,
  /** The page on screen: { name, param, refresh }. */
  page: null,
  timer: null,
  busy: false,
  /** A first load asked for while a refresh was running. */
  again: false,
  /** Until when (ms) the loop waits after a 429. */
  holdUntil: 0
}

/** Say something at the top of the page; `null` clears it. */
function notify (message, kind = 'error') {
  notice.hidden = message === null
  notice.className = `notice notice-${kind}`
  fill(notice, message ?? '')
}

/** What every page gets: the key, the account in scope, the API, and a way to report an error. */
const ctx = {
  get me () { return state.me },
  get account () { return state.account },
  get admin () { return state.me?.role === 'admin' },
  api,
  notify,
  /** The accounts this key may see, read again (an admin's list changes as accounts come and go); the chooser follows. */
  accounts: loadAccounts,
  /** Report an error the way every page does: 401 signs out, 429 holds the refresh loop. */
  failed (err) {
    if (!(err instanceof ApiError)) {
      notify(`Something went wrong in the page: ${err?.message ?? err}`)
      return
    }
    if (err.status === 401) {
      signOut(err.message)
      return
    }
    if (err.status === 429) state.holdUntil = Date.now() + (err.retryAfter ?? 5) * 1000
    notify(err.message)
  },
  go (hash) { location.hash = hash }
}

function signOut (message) {
  session.key = null
  state.me = null
  clearTimeout(state.timer)
  $('nav').hidden = true
  $('controls').hidden = true
  fill($('updated'))
  renderSignIn(message)
}

function renderSignIn (message) {
  notify(message ?? null)
  const input = h('input', { id: 'api-key', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false', placeholder: 'sk_…' })
  const form = h('form', { class: 'card signin', onsubmit: (e) => { e.preventDefault(); signIn(input.value.trim()) } },
    h('h1', {}, 'Sign in'),
    h('p', {}, 'Use an API key of this service: an admin key sees every account, an agent key its own. ',
      'The key stays in this tab only and is forgotten when the tab closes.'),
    h('label', { class: 'field' }, h('span', {}, 'API key'), input),
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'))
  fill(view, form)
  input.focus()
}

async function signIn (key) {
  if (key === '') return
  session.key = key
  try {
    await start()
  } catch (err) {
    session.key = null
    renderSignIn(err instanceof ApiError ? err.message : String(err))
  }
}

/**
 * The accounts the key may see (an agent: its own), into the chooser. The chosen one stays while it exists;
 * otherwise the one chosen earlier in this tab, `default`, or the first.
 */
async function loadAccounts () {
  const ids = state.me.role === 'admin' ? (await api.get('/api/v1/accounts')).accounts.map((a) => a.id) : [state.me.account]
  const wanted = [state.account, sessionStorage.getItem(ACCOUNT), 'default'].find((id) => ids.includes(id)) ?? ids[0]
  const changed = wanted !== state.account
  if (changed || ids.join('\n') !== state.accounts.join('\n')) {
    state.accounts = ids
    state.account = wanted
    const select = $('account')
    fill(select, ids.map((id) => h('option', { value: id, selected: id === wanted }, id)))
    select.disabled = ids.length < 2
  }
  return ids
}

/** With a key in the tab: who it is, the accounts it may see, then the page in the address. */
async function start () {
  state.me = await api.get('/api/v1/keys/me')
  state.account = null
  await loadAccounts()
  fill($('who'), `${state.me.name} (${state.me.role})`)
  $('nav').hidden = false
  $('controls').hidden = false
  notify(null)
  route()
}

/** Show the page the address names; an unknown one is the overview. */
function route () {
  if (state.me === null) return
  const [, name = 'overview', ...rest] = location.hash.split('/')
  const page = PAGES[name] ?? overview
  const pageName = PAGES[name] === undefined ? 'overview' : name
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.page === pageName) a.setAttribute('aria-current', 'page')
    else a.removeAttribute('aria-current')
  }
  const param = rest.length === 0 ? null : decoded(rest.join('/'))
  document.title = `${page.title} · Sellify Core`
  notify(null)
  const root = h('section', { class: 'page', 'data-page': pageName })
  fill(view, root)
  state.page = { name: pageName, param, ...page.mount(root, ctx, param) }
  tick(true)
}

/** A page parameter from the address; one typed by hand that is not valid percent-encoding is taken as written. */
function decoded (text) {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

/** One refresh of the page on screen, then the next one after the chosen interval (none while the tab is hidden). */
async function tick (now = false) {
  clearTimeout(state.timer)
  if (state.busy) {
    // A page shown while the previous one was still loading gets its own first load right after.
    state.again = state.again || now
    return
  }
  const page = state.page
  if (page !== null && (now || (!document.hidden && Date.now() >= state.holdUntil))) {
    state.busy = true
    try {
      await page.refresh()
      if (state.page === page) {
        if (notice.classList.contains('notice-error')) notify(null)
        fill($('updated'), `Updated ${new Date().toLocaleTimeString()}`)
      }
    } catch (err) {
      if (state.page === page) ctx.failed(err)
    } finally {
      state.busy = false
    }
  }
  if (state.again) {
    state.again = false
    return tick(true)
  }
  const every = Number($('refresh').value)
  if (every > 0 && state.me !== null) state.timer = setTimeout(tick, every)
}

$('refresh').value = sessionStorage.getItem(REFRESH) ?? '5000'
$('refresh').addEventListener('change', (e) => {
  sessionStorage.setItem(REFRESH, e.target.value)
  tick()
})
$('account').addEventListener('change', (e) => {
  state.account = e.target.value
  sessionStorage.setItem(ACCOUNT, state.account)
  route()
})
$('signout').addEventListener('click', () => signOut('Signed out. The key was removed from this tab.'))
window.addEventListener('hashchange', route)
// A button's or a field's action that the API refused is told the way a refresh's failure is, so the pages
// need no try/catch of their own. Anything else is a bug: it is told too, and left to reach the console.
window.addEventListener('unhandledrejection', (e) => {
  if (state.me === null) return
  if (e.reason instanceof ApiError) e.preventDefault()
  ctx.failed(e.reason)
})
document.addEventListener('visibilitychange', () => { if (!document.hidden) tick() })

if (session.key === null) {
  renderSignIn()
} else {
  start().catch((err) => {
    if (err instanceof ApiError && err.status === 401) signOut(err.message)
    else renderSignIn(err instanceof ApiError ? err.message : String(err))
  })
}
