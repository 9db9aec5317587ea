// Knowledge base: the products with their price and media, one product edited and saved, the whole document
// imported, and what the matcher sees in a message. Admin keys write; agent keys read.
import { badge, field, fill, h, table } from './dom.js'
import { seg } from './api.js'

function productForm (ctx, product, done) {
  const isNew = product === null
  const p = product ?? { id: '', name: '', price: '', currency: 'XOF', short_description: '', keywords: [], active: true }
  const id = h('input', { name: 'id', required: true, value: p.id, readonly: !isNew, pattern: '[A-Za-z0-9][A-Za-z0-9._\\-]{0,63}' })
  const name = h('input', { name: 'name', required: true, maxlength: 200, value: p.name })
  const price = h('input', { name: 'price', required: true, value: p.price, inputmode: 'decimal', pattern: '(0|[1-9][0-9]*)(\\.[0-9]{1,4})?', title: 'A decimal number: 12500 or 19.90' })
  const currency = h('input', { name: 'currency', required: true, value: p.currency, maxlength: 3, pattern: '[A-Z]{3}', title: 'Three capital letters: XOF, EUR' })
  const short = h('textarea', { name: 'short_description', rows: 2, maxlength: 2000 })
  short.value = p.short_description ?? ''
  const keywords = h('input', { name: 'keywords', value: (p.keywords ?? []).join(', ') })
  const active = h('input', { name: 'active', type: 'checkbox', checked: p.active !== false })
  const form = h('form', {
    class: 'card product-form',
    'data-product': p.id,
    onsubmit: async (e) => {
      e.preventDefault()
      const body = {
        ...(isNew ? {} : product),
        id: id.value.trim(),
        name: name.value.trim(),
        price: price.value.trim(),
        currency: currency.value.trim(),
        short_description: short.value,
        keywords: keywords.value.split(',').map((k) => k.trim()).filter((k) => k !== ''),
        active: active.checked
      }
      const saved = await ctx.api.put(`/api/v1/products/${seg(body.id)}`, body, { account: ctx.account })
      ctx.notify(`${saved.name} saved: ${saved.price} ${saved.currency}. The bot quotes it from now on.`, 'ok')
      await done(true)
    }
  },
  h('h2', {}, isNew ? 'New product' : `Edit ${p.name}`),
  h('div', { class: 'grid' }, field('Id', id), field('Name', name), field('Price', price, 'digits, a dot for decimals'), field('Currency', currency)),
  field('Short description', short),
  field('Keywords', keywords, 'comma-separated words or phrases customers use'),
  h('label', { class: 'check' }, active, ' Active (the bot may offer it)'),
  (product?.media?.length ?? 0) === 0 ? null : h('p', { class: 'muted' }, `Media kept as they are: ${product.media.map((m) => `${m.type} ${m.id}`).join(', ')}.`),
  h('div', { class: 'toolbar' }, h('button', { type: 'submit', class: 'primary' }, 'Save'), h('button', { type: 'button', onclick: () => done(false) }, 'Cancel')))
  return form
}

function importBox (ctx, reload) {
  const text = h('textarea', { id: 'kb-json', rows: 10, spellcheck: 'false', placeholder: '{"business_name": "…", "products": [ … ], "faq": [ … ]}' })
  const file = h('input', {
    type: 'file',
    accept: 'application/json,.json',
    onchange: async (e) => {
      const chosen = e.target.files?.[0]
      if (chosen !== undefined) text.value = await chosen.text()
    }
  })
  return h('details', { class: 'card' },
    h('summary', {}, 'Import a whole knowledge base (JSON)'),
    h('p', { class: 'muted' }, 'Replaces the products, FAQ, objections and templates at once; nothing changes if any part is invalid.'),
    h('div', { class: 'toolbar' },
      field('From a file', file),
      h('button', {
        type: 'button',
        onclick: async () => {
          const { version, ...current } = await ctx.api.get('/api/v1/knowledge', { account: ctx.account })
          text.value = JSON.stringify(current, null, 2)
        }
      }, 'Load the current one')),
    text,
    h('button', {
      type: 'button',
      class: 'primary',
      onclick: async () => {
        let doc
        try {
          doc = JSON.parse(text.value)
        } catch (err) {
          ctx.notify(`That is not JSON: ${err.message}`)
          return
        }
        const saved = await ctx.api.put('/api/v1/knowledge', doc, { account: ctx.account })
        ctx.notify(`Knowledge base imported: ${saved.products.length} products, version ${saved.version}.`, 'ok')
        await reload()
      }
    }, 'Import'))
}

function matchBox (ctx) {
  const text = h('textarea', { id: 'match-text', rows: 2, maxlength: 4096, placeholder: 'Combien coûte la crème ?' })
  const out = h('div', { class: 'match-result', 'aria-live': 'polite' })
  return h('form', {
    class: 'card',
    onsubmit: async (e) => {
      e.preventDefault()
      const m = await ctx.api.post('/api/v1/knowledge/match', { account: ctx.account, text: text.value })
      fill(out, h('dl', {},
        h('dt', {}, 'Event'), h('dd', { 'data-field': 'event' }, m.event ?? 'none'),
        h('dt', {}, 'Products'), h('dd', { 'data-field': 'products' }, m.products.length === 0 ? 'none' : m.products.map((p) => `${p.id} (score ${p.score}: ${p.keywords.join(', ')})`).join('; ')),
        h('dt', {}, 'FAQ'), h('dd', {}, m.faq === null ? 'none' : `${m.faq.id}: ${m.faq.answer}`),
        h('dt', {}, 'Objection'), h('dd', {}, m.objection === null ? 'none' : `${m.objection.triggers.join(', ')} → ${m.objection.answer}`),
        h('dt', {}, 'Alert'), h('dd', {}, m.alert === null ? 'none' : `${m.alert.trigger} (${m.alert.severity})`)))
    }
  }, h('h2', {}, 'What does the bot see in this message?'), text, h('button', { type: 'submit' }, 'Look'), out)
}

export default {
  title: 'Knowledge base',
  mount (root, ctx) {
    const list = h('div', {})
    const editor = h('div', {})
    let editing = false

    function edit (product) {
      editing = true
      fill(editor, productForm(ctx, product, async (saved) => {
        editing = false
        fill(editor)
        if (saved) await refresh()
      }))
      editor.querySelector('input:not([readonly])')?.focus()
    }

    const add = ctx.admin ? h('button', { type: 'button', id: 'new-product', onclick: () => edit(null) }, 'Add a product') : null
    fill(root, h('h1', {}, 'Knowledge base'),
      ctx.admin ? null : h('p', { class: 'muted' }, 'An agent key reads the knowledge base; an admin key edits it.'),
      h('div', { class: 'toolbar' }, add), editor, list, matchBox(ctx), ctx.admin ? importBox(ctx, () => refresh()) : null)

    async function refresh () {
      if (editing) return
      const products = await ctx.api.get('/api/v1/products', { account: ctx.account })
      fill(list, table(['Product', 'Price', 'Media', 'Keywords', ''], products.map((p) =>
        h('tr', { 'data-product': p.id },
          h('td', {}, h('strong', {}, p.name), h('br'), h('small', { class: 'muted' }, p.id), p.active ? '' : [' ', badge('inactive')]),
          h('td', { class: 'price' }, `${p.price} ${p.currency}`),
          h('td', {}, p.media.length === 0 ? '—' : p.media.map((m) => h('div', { class: 'url', title: m.url }, `${m.type}: ${m.caption ?? m.id}`))),
          h('td', {}, p.keywords.join(', ')),
          h('td', {}, ctx.admin ? h('button', { type: 'button', class: 'edit', onclick: () => edit(p) }, 'Edit') : null))),
      { empty: 'No product yet.', label: 'Products' }))
    }
    return { refresh }
  }
}
