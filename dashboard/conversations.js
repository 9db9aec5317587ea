// Conversations: the list by state with a search by contact, and one conversation's messages with
// pause / resume / freeze. Every text is shown as text.
import { badge, field, fill, h, relative, table, when } from './dom.js'
import { pagesOf, seg } from './api.js'

const STATES = ['discovery', 'interest', 'intent', 'objection', 'negative', 'escalated', 'frozen']
const PAGE = 50

function listPage (root, ctx) {
  let stateFilter = ''
  /** How many pages are shown: the refresh reloads them all, so "more" stays open. */
  let pages = 1
  const list = h('div', {})
  const more = h('button', { type: 'button', hidden: true, onclick: () => { pages += 1; return refresh() } }, 'Show more')
  const select = h('select', { id: 'state-filter', onchange: (e) => { stateFilter = e.target.value; pages = 1; return refresh() } },
    h('option', { value: '' }, 'every state'), STATES.map((s) => h('option', { value: s }, s)))
  const search = h('input', { id: 'contact-search', type: 'search', placeholder: '+33612345678 or …@s.whatsapp.net', autocomplete: 'off', spellcheck: 'false' })
  const form = h('form', { class: 'toolbar', role: 'search', onsubmit: (e) => { e.preventDefault(); if (search.value.trim() !== '') ctx.go(`#/conversations/${seg(search.value.trim())}`) } },
    field('State', select), field('Contact', search), h('button', { type: 'submit' }, 'Open'))
  fill(root, h('h1', {}, 'Conversations'), form, list, more)

  async function refresh () {
    const { items: rows, more: left } = await pagesOf('/api/v1/conversations', { account: ctx.account, state: stateFilter, limit: PAGE }, 'conversations', pages)
    more.hidden = !left
    fill(list, table(['Contact', 'State', 'Last event', 'Last message', 'Paused'], rows.map((c) =>
      h('tr', { 'data-contact': c.contact },
        h('td', {}, h('a', { href: `#/conversations/${seg(c.contact)}` }, c.contact)),
        h('td', {}, badge(c.state)),
        h('td', {}, c.last_event ?? '—'),
        h('td', { title: when(c.last_message_at) }, relative(c.last_message_at)),
        h('td', {}, c.paused_until === null ? '—' : `until ${when(c.paused_until)}`))),
    { empty: stateFilter === '' ? 'No conversation yet: they start with the first incoming message.' : `No conversation is ${stateFilter}.`, label: 'Conversations' }))
  }
  return { refresh }
}

function detailPage (root, ctx, contact) {
  const head = h('div', {})
  const messages = h('ol', { class: 'messages', 'aria-label': 'Messages' })
  const minutes = h('input', { id: 'pause-minutes', type: 'number', min: 1, max: 525600, placeholder: 'account default', inputmode: 'numeric' })
  const path = `/api/v1/conversations/${seg(contact)}`

  async function act (action, body) {
    await ctx.api.post(`${path}/${action}`, { account: ctx.account, ...body })
    ctx.notify(`Conversation ${action === 'pause' ? 'paused' : action === 'resume' ? 'resumed' : 'frozen'}.`, 'ok')
    await refresh()
  }
  const actions = h('div', { class: 'toolbar' },
    field('Pause for (minutes)', minutes),
    h('button', { type: 'button', id: 'pause', onclick: () => act('pause', minutes.value === '' ? {} : { minutes: Number(minutes.value) }) }, 'Pause the bot'),
    h('button', { type: 'button', id: 'resume', onclick: () => act('resume', {}) }, 'Resume'),
    h('button', { type: 'button', id: 'freeze', class: 'danger', onclick: () => act('freeze', {}) }, 'Freeze'))
  fill(root, h('p', {}, h('a', { href: '#/conversations' }, '← All conversations')), head, actions, messages)

  async function refresh () {
    let view
    try {
      view = await ctx.api.get(path, { account: ctx.account })
    } catch (err) {
      if (err.status !== 404) throw err
      fill(head, h('h1', {}, contact), h('p', { class: 'empty' }, `No conversation with ${contact} in ${ctx.account}.`))
      actions.hidden = true
      fill(messages)
      return
    }
    actions.hidden = false
    fill(head,
      h('h1', { class: 'contact' }, view.contact),
      h('p', { class: 'conversation-meta' }, badge(view.state), ' ',
        view.paused_until === null ? 'The bot answers.' : `Paused until ${when(view.paused_until)}: the bot stays silent.`,
        view.previous_state === null ? '' : ` Was ${view.previous_state}.`,
        ` Misunderstandings: ${view.misunderstandings}.`))
    fill(messages, view.messages.length === 0
      ? h('li', { class: 'empty' }, 'No message stored.')
      : view.messages.map((m) => h('li', { class: `message message-${m.direction} sender-${m.sender}` },
        h('div', { class: 'message-text' }, m.text ?? (m.media_type === null ? '' : `[${m.media_type}]`)),
        h('div', { class: 'message-meta' }, `${m.sender} · ${when(m.at)}`, m.media_type === null || m.text === null ? '' : ` · ${m.media_type}`))))
  }
  return { refresh }
}

export default {
  title: 'Conversations',
  mount (root, ctx, param) {
    return param === null ? listPage(root, ctx) : detailPage(root, ctx, param)
  }
}
