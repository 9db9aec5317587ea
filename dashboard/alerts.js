// Alerts: open and acknowledged, each with its webhook deliveries on demand, and acknowledgement.
import { badge, field, fill, h, relative, table, when } from './dom.js'
import { seg } from './api.js'

export default {
  title: 'Alerts',
  mount (root, ctx) {
    let status = 'open'
    let severity = ''
    /** Alerts whose deliveries are shown: kept open across refreshes. */
    const expanded = new Set()
    const list = h('div', { class: 'alert-list' })
    const tabs = h('div', { class: 'tabs', role: 'tablist' }, ['open', 'acknowledged'].map((s) =>
      h('button', { type: 'button', role: 'tab', 'data-status': s, 'aria-selected': String(s === status), onclick: () => { status = s; select(); return refresh() } }, s)))
    const severities = h('select', { id: 'severity-filter', onchange: (e) => { severity = e.target.value; return refresh() } },
      h('option', { value: '' }, 'every severity'), ['critical', 'high', 'warning'].map((s) => h('option', { value: s }, s)))
    fill(root, h('h1', {}, 'Alerts'), h('div', { class: 'toolbar' }, tabs, field('Severity', severities)), list)

    function select () {
      for (const b of tabs.children) b.setAttribute('aria-selected', String(b.dataset.status === status))
    }

    async function ack (alert) {
      await ctx.api.post(`/api/v1/alerts/${seg(alert.id)}/ack`, { account: alert.account })
      ctx.notify(`Alert ${alert.trigger} acknowledged.`, 'ok')
      await refresh()
    }

    async function deliveries (alert) {
      const detail = await ctx.api.get(`/api/v1/alerts/${seg(alert.id)}`, { account: alert.account })
      return table(['Webhook', 'Status', 'Attempts', 'Last answer', 'Next attempt', 'Delivered'], detail.deliveries.map((d) =>
        h('tr', {}, h('td', { class: 'url' }, d.url), h('td', {}, badge(d.status)), h('td', {}, d.attempts),
          h('td', {}, d.last_error ?? (d.last_status === null ? '—' : String(d.last_status))),
          h('td', {}, d.status === 'pending' ? relative(d.next_attempt_at) : '—'), h('td', {}, when(d.delivered_at)))),
      { empty: 'No webhook is set for this account: the alert is only here.', label: 'Deliveries' })
    }

    async function refresh () {
      const { alerts } = await ctx.api.get('/api/v1/alerts', { account: ctx.account, status, severity, limit: 100 })
      const cards = await Promise.all(alerts.map(async (a) => {
        const more = h('div', { class: 'deliveries' })
        if (expanded.has(a.id)) fill(more, await deliveries(a))
        const toggle = h('button', {
          type: 'button',
          class: 'link',
          onclick: async () => {
            if (expanded.has(a.id)) {
              expanded.delete(a.id)
              fill(more)
              return
            }
            expanded.add(a.id)
            fill(more, await deliveries(a))
          }
        }, 'Deliveries')
        return h('article', { class: `card alert severity-${a.severity}`, 'data-alert': a.id, 'data-trigger': a.trigger },
          h('header', { class: 'card-head' }, badge(a.severity), h('h2', {}, a.trigger.replaceAll('_', ' ')), h('span', { class: 'muted', title: when(a.created_at) }, relative(a.created_at))),
          a.contact === null ? null : h('p', {}, 'Contact ', h('a', { href: `#/conversations/${seg(a.contact)}` }, a.contact), a.state === null ? '' : ` (${a.state})`),
          a.message === null ? null : h('blockquote', { class: 'alert-message' }, a.message),
          a.limit === null ? null : h('p', {}, `${a.limit} crossed for ${a.period}.`),
          a.status === 'open'
            ? h('div', { class: 'toolbar' }, h('button', { type: 'button', class: 'primary ack', onclick: () => ack(a) }, 'Acknowledge'), toggle)
            : h('div', { class: 'toolbar' }, h('span', { class: 'muted' }, `Acknowledged ${when(a.acknowledged_at)} by ${a.acknowledged_by === 'system' ? 'the system' : a.acknowledged_by?.name ?? '—'}`), toggle),
          more)
      }))
      fill(list, cards.length === 0 ? h('p', { class: 'empty' }, status === 'open' ? 'No open alert: nothing needs a person now.' : 'No acknowledged alert.') : cards)
    }
    return { refresh }
  }
}
