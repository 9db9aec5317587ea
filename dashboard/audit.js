// Audit: search the trail by contact, type and date, one record in full, the chain's verification and export.
// Admin keys only, as the API's audit routes.
import { badge, field, fill, h, table, when } from './dom.js'
import { pagesOf, seg } from './api.js'

const TYPES = ['decision', 'sent', 'failed', 'human_message', 'account_changed', 'account_deleted', 'knowledge_changed', 'key_created',
  'key_revoked', 'conversation_paused', 'conversation_resumed', 'conversation_frozen', 'conversation_erased', 'reset', 'alert_acknowledged', 'client.log']
const PAGE = 50

const actorName = (actor) => actor === 'system' ? 'system' : actor?.name ?? '—'

function recordPage (root, ctx, id) {
  const body = h('div', {})
  fill(root, h('p', {}, h('a', { href: '#/audit' }, '← The trail')), h('h1', {}, 'Audit record'), body)
  return {
    async refresh () {
      const r = await ctx.api.get(`/api/v1/audit/${seg(id)}`)
      const rows = Object.entries(r).map(([name, value]) => h('tr', {}, h('th', { scope: 'row' }, name),
        h('td', {}, value !== null && typeof value === 'object' ? h('pre', {}, JSON.stringify(value, null, 2)) : value === null ? '—' : String(value))))
      fill(body, h('div', { class: 'table-wrap' }, h('table', { class: 'record', 'aria-label': 'Record' }, h('tbody', {}, rows))))
    }
  }
}

function trailPage (root, ctx) {
  const contact = h('input', { id: 'audit-contact', type: 'search', autocomplete: 'off', spellcheck: 'false', placeholder: 'contact id' })
  const type = h('select', { id: 'audit-type' }, h('option', { value: '' }, 'every type'), TYPES.map((t) => h('option', { value: t }, t)))
  const from = h('input', { id: 'audit-from', type: 'date' })
  const to = h('input', { id: 'audit-to', type: 'date' })
  const list = h('div', {})
  const verdict = h('div', { class: 'verify-result', 'aria-live': 'polite' })
  let pages = 1
  let query = {}
  const more = h('button', { type: 'button', hidden: true, onclick: () => { pages += 1; return refresh() } }, 'Show more')

  const form = h('form', {
    class: 'toolbar',
    role: 'search',
    onsubmit: (e) => {
      e.preventDefault()
      query = { contact: contact.value.trim(), type: type.value, from: from.value, to: to.value }
      pages = 1
      return refresh()
    }
  }, field('Contact', contact), field('Type', type), field('From', from), field('To', to), h('button', { type: 'submit' }, 'Search'))

  async function verify () {
    const v = await ctx.api.get('/api/v1/audit/verify', { account: ctx.account })
    fill(verdict, v.valid
      ? h('p', { class: 'ok', 'data-valid': 'true' }, `The chain of ${ctx.account} is intact: ${v.records} records verified.`)
      : h('p', { class: 'bad', 'data-valid': 'false' }, `The chain of ${ctx.account} is broken at record ${v.first_invalid_id} (${v.reason}): records were changed outside the service.`))
  }
  const exportAs = (format) => () =>
    ctx.api.download('/api/v1/audit/export', { account: ctx.account, format, from: query.from, to: query.to }, `sellify-audit-${ctx.account}.${format === 'csv' ? 'csv' : 'ndjson'}`)

  fill(root, h('h1', {}, 'Audit trail'), form,
    h('div', { class: 'toolbar' },
      h('button', { type: 'button', id: 'verify', onclick: verify }, 'Verify the chain'),
      h('button', { type: 'button', onclick: exportAs('ndjson') }, 'Export NDJSON'),
      h('button', { type: 'button', onclick: exportAs('csv') }, 'Export CSV')),
    verdict, list, more)

  async function refresh () {
    const { items: records, more: left } = await pagesOf('/api/v1/audit', { account: ctx.account, ...query, limit: PAGE }, 'records', pages)
    more.hidden = !left
    fill(list, table(['When', 'Type', 'Action', 'Contact', 'By'], records.map((r) =>
      h('tr', { 'data-record': r.id },
        h('td', {}, h('a', { href: `#/audit/${seg(r.id)}` }, when(r.timestamp))),
        h('td', {}, badge(r.type, 'type')),
        h('td', {}, r.action ?? '—'),
        h('td', {}, r.erased ? badge('erased') : r.contact ?? '—'),
        h('td', {}, actorName(r.actor)))),
    { empty: 'No record matches.', label: 'Audit records' }))
  }
  return { refresh }
}

export default {
  title: 'Audit',
  mount (root, ctx, param) {
    if (!ctx.admin) {
      fill(root, h('h1', {}, 'Audit trail'), h('p', { class: 'empty' }, 'The audit trail is for admin keys: this key is an agent key of ' + ctx.account + '.'))
      return { async refresh () {} }
    }
    return param === null ? trailPage(root, ctx) : recordPage(root, ctx, param)
  }
}
