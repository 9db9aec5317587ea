// Overview: each account's counters against its limits, its next resets and health, open alerts, and the
// selected account's decisions per hour.
import { badge, fill, h, relative, when } from './dom.js'
import { hourlyChart } from './chart.js'
import { seg } from './api.js'

const BARS = [
  ['messages_this_hour', 'messages_per_hour', 'This hour'],
  ['messages_today', 'messages_per_day', 'Today'],
  ['messages_this_week', 'messages_per_week', 'This week'],
  ['images_today', 'images_per_day', 'Images today'],
  ['videos_this_week', 'videos_per_week', 'Videos this week']
]
/** More accounts than this: the overview shows the chosen one (the header's chooser picks another). */
const MAX_CARDS = 12

function meter (used, limit, label) {
  const share = limit === 0 ? 1 : Math.min(1, used / limit)
  const level = share >= 1 ? 'full' : share >= 0.8 ? 'near' : 'ok'
  const bar = h('div', { class: 'meter-fill' })
  // Through the CSSOM: the policy refuses style attributes, not styles set by the page's own script.
  bar.style.width = `${Math.round(share * 100)}%`
  return h('div', { class: 'meter', 'data-counter': label },
    h('div', { class: 'meter-label' }, h('span', {}, label), h('span', { class: 'meter-value' }, `${used} / ${limit}`)),
    h('div', { class: `meter-track meter-${level}`, role: 'progressbar', 'aria-label': label, 'aria-valuemin': 0, 'aria-valuemax': limit, 'aria-valuenow': used },
      bar))
}

function accountCard (status, health) {
  const limits = status.effective_limits
  const paused = status.paused_until !== null
  const score = health.score
  return h('article', { class: 'card account', 'data-account': status.account },
    h('header', { class: 'card-head' },
      h('h2', {}, status.account),
      paused ? badge(`paused ${relative(status.paused_until)}`, 'paused') : badge('sending', 'ok'),
      h('span', { class: `score score-${score >= 70 ? 'ok' : score >= 30 ? 'near' : 'full'}`, title: 'Health score (0–100)' }, `health ${score}`)),
    BARS.map(([used, limit, label]) => meter(status[used], limits[limit], label)),
    status.warmup_day === null ? null : h('p', { class: 'muted' }, `Warming up: day ${status.warmup_day}, ${limits.messages_per_day} a day allowed.`),
    h('dl', { class: 'resets' },
      h('dt', {}, 'Next hour'), h('dd', {}, relative(status.next_hourly_reset)),
      h('dt', {}, 'Next day'), h('dd', { title: when(status.next_daily_reset) }, relative(status.next_daily_reset)),
      h('dt', {}, 'Next week'), h('dd', { title: when(status.next_weekly_reset) }, relative(status.next_weekly_reset))),
    health.advice === null || health.advice === undefined ? null : h('p', { class: 'advice' }, health.advice))
}

export default {
  title: 'Overview',
  mount (root, ctx) {
    const cards = h('div', { class: 'cards' })
    const alertBox = h('div', { class: 'card alerts-summary' })
    const chart = h('div', { class: 'card' })
    fill(root,
      h('h1', {}, 'Overview'),
      h('div', { class: 'overview-top' }, alertBox, chart),
      cards)

    return {
      async refresh () {
        const ids = await ctx.accounts()
        const accounts = ids.length > MAX_CARDS ? [ctx.account] : ids
        const [views, open, hourly] = await Promise.all([
          Promise.all(accounts.map(async (id) => {
            const [status, health] = await Promise.all([
              ctx.api.get('/api/v1/quota/status', { account: id }),
              ctx.api.get(`/api/v1/accounts/${seg(id)}/health`)
            ])
            return accountCard(status, health)
          })),
          ctx.api.get('/api/v1/alerts', { account: ctx.account, status: 'open', limit: 500 }),
          ctx.api.get('/api/v1/decisions/hourly', { account: ctx.account })
        ])
        fill(cards, views)
        const bySeverity = { critical: 0, high: 0, warning: 0 }
        for (const a of open.alerts) bySeverity[a.severity] += 1
        fill(alertBox,
          h('h2', {}, `Open alerts of ${ctx.account}`),
          h('ul', { class: 'severity-list' }, Object.entries(bySeverity).map(([severity, n]) =>
            h('li', { 'data-severity': severity }, badge(severity), h('strong', {}, String(n))))),
          open.next_before === null ? null : h('p', { class: 'muted' }, `The newest ${open.alerts.length} are counted; more are open.`),
          h('a', { href: '#/alerts' }, open.alerts.length === 0 ? 'No alert is waiting.' : 'See and acknowledge them →'))
        fill(chart, h('h2', {}, `Decisions per hour, ${ctx.account}, last 24 h`), hourlyChart(hourly.hours))
      }
    }
  }
}
