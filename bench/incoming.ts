/**
 * The decision pipeline's load (bench/README.md, "The decision pipeline"): a shop of 200 products with FAQ and
 * objections, random contacts out of 10 000 writing a greeting, a price question, a purchase, an FAQ, an
 * objection or a thank-you, each with a new gateway message id; and, after the run, the decisions the store
 * kept, to compare with the answers the bench saw. `npm run bench` runs it; alone:
 * `node dist/bench/run.js --only pipeline`.
 */
import Database from 'better-sqlite3'
import pg from 'pg'
import type { Where } from './accounts.js'
import type { Load } from './load.js'

export const CONTACTS = 10_000
export const INCOMING_PATH = '/api/v1/messages/incoming'
/** A shop's messages: a greeting, a price, a purchase, an FAQ, an objection, and one nothing matches. */
const TEXTS = ['Bonjour', 'Combien coûte le produit12 ?', 'je prends le produit7', 'et la livraison ?', 'c est trop cher 3', 'merci']

/** The knowledge base: 200 products, each with two keywords and an objection, one FAQ and a shop-wide objection. */
export function shop (): Record<string, unknown> {
  const products = Array.from({ length: 200 }, (_, i) => ({
    id: `p-${i}`,
    name: `Produit ${i}`,
    short_description: 'Une crème hydratante au beurre de karité.',
    price: String(1000 + i * 50),
    currency: 'XOF',
    keywords: [`produit${i}`, `gamme${i}`],
    objections: [{ triggers: [`trop cher ${i}`], answer: 'Un pot dure trois mois.' }],
    media: []
  }))
  return {
    business_name: 'Boutique',
    products,
    faq: [{ id: 'livraison', triggers: ['livraison'], answer: 'Livraison en 48 h.' }],
    objections: [{ triggers: ['pas confiance'], answer: 'Paiement à la livraison.' }]
  }
}

/** The default account answers at any hour (the bench runs whenever it runs), and knows the shop. */
export async function setUpShop (base: string, key: string): Promise<void> {
  const headers = { 'x-api-key': key }
  const patch = await fetch(`${base}/api/v1/accounts/default`, {
    method: 'PATCH', headers: { ...headers, 'content-type': 'application/merge-patch+json' }, body: JSON.stringify({ active_hours: 'always' })
  })
  if (!patch.ok) throw new Error(`PATCH /api/v1/accounts/default answered ${patch.status}: ${await patch.text()}`)
  const put = await fetch(`${base}/api/v1/knowledge`, { method: 'PUT', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(shop()) })
  if (!put.ok) throw new Error(`PUT /api/v1/knowledge answered ${put.status}: ${await put.text()}`)
}

/** Incoming messages from random contacts, and what was answered: decisions (200) by action, other statuses. */
export class Decisions implements Load {
  sent = 0
  decided = 0
  lost = 0
  readonly actions = new Map<string, number>()
  readonly other = new Map<number, number>()
  /** A prefix of the message ids, so that two targets or two runs never share one. */
  constructor (private readonly prefix: string, private readonly contacts = CONTACTS) {}

  next (): { body: string, tag: number } {
    const n = this.sent++
    const contact = `+2217${String(Math.floor(Math.random() * this.contacts)).padStart(8, '0')}`
    return { body: JSON.stringify({ contact, message_id: `${this.prefix}-${n}`, text: TEXTS[n % TEXTS.length] }), tag: n }
  }

  answer (status: number, body: string): void {
    if (status !== 200) {
      this.other.set(status, (this.other.get(status) ?? 0) + 1)
      return
    }
    this.decided++
    const action = /"action":"([a-z_]+)"/.exec(body)?.[1] ?? '?'
    this.actions.set(action, (this.actions.get(action) ?? 0) + 1)
  }

  get otherTotal (): number {
    let sum = 0
    for (const n of this.other.values()) sum += n
    return sum
  }
}

/** Decisions the store kept (one per message id: every request had its own), read after the servers stopped. */
export async function storedDecisions (where: Where): Promise<number> {
  if (where.store === 'sqlite') {
    const db = new Database(where.sqlitePath ?? '', { readonly: true })
    try {
      return (db.prepare('SELECT COUNT(*) AS n FROM decisions').get() as { n: number }).n
    } finally {
      db.close()
    }
  }
  const client = new pg.Client({ connectionString: where.databaseUrl })
  await client.connect()
  try {
    const { rows } = await client.query<{ n: string }>(`SELECT COUNT(*) AS n FROM ${pg.escapeIdentifier(where.schema ?? '')}.decisions`)
    return Number(rows[0].n)
  } finally {
    await client.end()
  }
}
