// Building the page without HTML strings: every text goes in as a text node, so a customer's message that
// looks like markup is shown as the characters it is and never runs.

/**
 * An element: `h('button', { class: 'primary', onclick: fn, disabled: true }, 'Save')`. Attributes named
 * `on…` take a function (added as a listener); `class`, `for` and the rest are set as attributes; `true` sets
 * an empty attribute, `false`, `null` and `undefined` none. Children are nodes, strings or numbers (as text),
 * arrays of those, or null/false (skipped).
 */
export function h (tag, attrs = {}, ...children) {
  const el = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue
    if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value)
    else if (name === 'value') el.value = value
    else el.setAttribute(name, value === true ? '' : String(value))
  }
  append(el, children)
  return el
}

/** An SVG element (the chart), with the same rules as `h`. */
export function svg (tag, attrs = {}, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag)
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined) el.setAttribute(name, String(value))
  }
  append(el, children)
  return el
}

function append (el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue
    el.append(child instanceof Node ? child : document.createTextNode(String(child)))
  }
}

/** Replace what `el` holds. */
export function fill (el, ...children) {
  el.replaceChildren()
  append(el, children)
  return el
}

/** A date-time in the browser's zone and language, or '—'. */
export function when (iso) {
  if (iso === null || iso === undefined) return '—'
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' })
}

/** How far away an instant is, in words: "in 3 h 20 min", "5 min ago". */
export function relative (iso, now = Date.now()) {
  if (iso === null || iso === undefined) return '—'
  const ms = new Date(iso).getTime() - now
  const minutes = Math.round(Math.abs(ms) / 60000)
  const text = minutes < 1 ? 'less than a minute' : minutes < 60 ? `${minutes} min` : minutes < 2880 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min` : `${Math.round(minutes / 1440)} days`
  return ms >= 0 ? `in ${text}` : `${text} ago`
}

/** A small coloured label: state, severity, status. */
export function badge (text, kind = text) {
  return h('span', { class: `badge badge-${String(kind).replace(/[^a-z0-9_-]/gi, '')}` }, text)
}

/** A table whose rows scroll sideways on a phone instead of widening the page. */
export function table (headers, rows, { empty = 'Nothing yet.', label } = {}) {
  if (rows.length === 0) return h('p', { class: 'empty' }, empty)
  return h('div', { class: 'table-wrap' },
    h('table', { 'aria-label': label },
      h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows)))
}

/** A labelled field. */
export function field (label, input, hint) {
  return h('label', { class: 'field' }, h('span', {}, label), input, hint === undefined ? null : h('small', {}, hint))
}
