// Decisions per hour as stacked bars, drawn as SVG: 24 bars do not need a chart library.
import { h, svg } from './dom.js'

const SERIES = [
  { key: 'sent', label: 'replies sent' },
  { key: 'pending', label: 'replies not yet reported' },
  { key: 'done', label: 'nothing to send' },
  { key: 'failed', label: 'sends failed' }
]

const W = 720
const H = 220
const PAD = { left: 36, right: 8, top: 12, bottom: 28 }

/** A chart of `hours` (GET /api/v1/decisions/hourly's `hours`), hour labels in the browser's zone. */
export function hourlyChart (hours) {
  const max = Math.max(1, ...hours.map((x) => x.total))
  const top = niceCeil(max)
  const plotW = W - PAD.left - PAD.right
  const plotH = H - PAD.top - PAD.bottom
  const slot = plotW / hours.length
  const y = (v) => PAD.top + plotH - (v / top) * plotH
  const grid = [0, top / 2, top].map((v) => [
    svg('line', { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), class: 'grid' }),
    svg('text', { x: PAD.left - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'axis' }, formatCount(v))
  ])
  const bars = hours.map((hour, i) => {
    const x = PAD.left + i * slot + slot * 0.15
    let base = 0
    const parts = SERIES.filter((s) => hour[s.key] > 0).map((s) => {
      const rect = svg('rect', { x, width: slot * 0.7, y: y(base + hour[s.key]), height: y(base) - y(base + hour[s.key]), class: `bar bar-${s.key}` })
      base += hour[s.key]
      return rect
    })
    const at = new Date(hour.hour)
    const label = i % 3 === 0 || i === hours.length - 1
      ? svg('text', { x: x + slot * 0.35, y: H - 10, 'text-anchor': 'middle', class: 'axis' }, at.toLocaleTimeString(undefined, { hour: '2-digit' }))
      : null
    const title = `${at.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' })}: ${hour.total} decisions (` +
      SERIES.map((s) => `${hour[s.key]} ${s.label}`).join(', ') + ')'
    return svg('g', { 'data-hour': hour.hour, 'data-total': hour.total }, svg('title', {}, title),
      svg('rect', { x: PAD.left + i * slot, y: PAD.top, width: slot, height: plotH, class: 'hit' }), parts, label)
  })
  const total = hours.reduce((sum, x) => sum + x.total, 0)
  return h('figure', { class: 'chart' },
    svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `Decisions per hour over the last ${hours.length} hours: ${total} in all` }, grid, bars),
    h('figcaption', {},
      h('span', { class: 'chart-total', 'data-total': total }, `${total} decisions in ${hours.length} h`),
      SERIES.map((s) => h('span', { class: 'legend' }, h('i', { class: `swatch bar-${s.key}` }), s.label))))
}

function niceCeil (v) {
  const step = 10 ** Math.floor(Math.log10(v))
  for (const m of [1, 2, 5, 10]) if (m * step >= v) return m * step
  return 10 * step
}

function formatCount (v) {
  return v >= 1000 ? `${Math.round(v / 100) / 10}k` : String(Math.round(v))
}
