/**
 * The matcher: what a message says, found by whole words and phrases against one account's knowledge
 * base and its language's word lists. Deterministic and explainable (every hit names the keyword or
 * trigger behind it), and built from user text without regular expressions, so no keyword can make
 * matching slow or match inside another word.
 *
 * A knowledge-base version is compiled once into a `PhraseIndex`: every distinct phrase word gets an
 * id; phrases are looked up by their first word's id; typo matches come from a deletion neighbourhood
 * (each tolerant word and its one-letter deletions point to the word), so a message word finds its
 * one-typo relatives with a handful of map lookups whatever the size of the catalogue.
 */
import { languagePack } from './language.js'
import { words } from './normalize.js'
import type { EventName, KnowledgeBase, Language, Product } from './types.js'

/** Words of this many letters or more also match with one typo; shorter ones ("ai", "tuer", "prix") only as written. */
export const TYPO_MIN_LETTERS = 5
/** Only words made of letters are typo-tolerant: "12500" and "12501" are different numbers. */
const LETTERS = /^\p{L}+$/u

export interface PhraseEntry<T> {
  /** One word or a phrase, in any case and with any accents: it is normalised like the messages. */
  phrase: string
  /** `words(phrase)`, when the caller has it already. */
  words?: string[]
  owner: T
  /** Normalised words that, in this phrase, match only as written. */
  exact?: ReadonlySet<string>
}

export interface PhraseHit<T> {
  owner: T
  /** The number of words of the phrase that matched. */
  words: number
}

/**
 * True when `a` and `b` differ by at most one edit: a letter added, removed or replaced, or two adjacent
 * letters swapped (the optimal string alignment distance is ≤ 1).
 */
export function withinOneEdit (a: string, b: string): boolean {
  const la = a.length
  const lb = b.length
  if (la - lb > 1 || lb - la > 1) return false
  let i = 0
  while (i < la && i < lb && a.charCodeAt(i) === b.charCodeAt(i)) i++
  if (i === la && i === lb) return true
  if (la > lb) return a.slice(i + 1) === b.slice(i)
  if (lb > la) return a.slice(i) === b.slice(i + 1)
  if (a.slice(i + 1) === b.slice(i + 1)) return true
  return i + 1 < la && a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2)
}

function push<K, V> (map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key)
  if (list === undefined) map.set(key, [value])
  else if (list[list.length - 1] !== value) list.push(value)
}

/** A set of phrases compiled for whole-word matching with one-typo tolerance; owners say what each phrase stands for. */
export class PhraseIndex<T> {
  /** Phrase word → ids (one for its exact use, one for its tolerant use). */
  readonly #byWord = new Map<string, number[]>()
  /**
   * A tolerant word and each of its one-letter deletions → the tolerant word's id, or ids when several
   * words share a deletion (a bare number for the common case of one: a compile allocates less).
   */
  readonly #byDeletion = new Map<string, number | number[]>()
  readonly #vocabulary: string[] = []
  /** First word id → phrases starting with it. */
  readonly #byFirst = new Map<number, number[]>()
  readonly #phrases: Array<{ ids: number[], owners: T[] }> = []

  constructor (entries: Iterable<PhraseEntry<T>>) {
    const tolerantIds = new Map<string, number>()
    const exactIds = new Map<string, number>()
    /** A one-word phrase is keyed by its word's id, a longer one by its ids joined. */
    const phrases = new Map<number | string, number>()
    for (const entry of entries) {
      const ws = entry.words ?? words(entry.phrase)
      if (ws.length === 0) continue
      const seq = new Array<number>(ws.length)
      for (let i = 0; i < ws.length; i++) {
        const w = ws[i]
        const tolerant = w.length >= TYPO_MIN_LETTERS && entry.exact?.has(w) !== true && LETTERS.test(w)
        const ids = tolerant ? tolerantIds : exactIds
        let id = ids.get(w)
        if (id === undefined) {
          id = this.#addWord(w, tolerant)
          ids.set(w, id)
        }
        seq[i] = id
      }
      const key = seq.length === 1 ? seq[0] : seq.join(' ')
      let p = phrases.get(key)
      if (p === undefined) {
        p = this.#phrases.length
        this.#phrases.push({ ids: seq, owners: [] })
        phrases.set(key, p)
        push(this.#byFirst, seq[0], p)
      }
      this.#phrases[p].owners.push(entry.owner)
    }
  }

  #addWord (word: string, tolerant: boolean): number {
    const id = this.#vocabulary.length
    this.#vocabulary.push(word)
    push(this.#byWord, word, id)
    if (tolerant) {
      this.#addDeletion(word, id)
      for (let i = 0; i < word.length; i++) this.#addDeletion(word.slice(0, i) + word.slice(i + 1), id)
    }
    return id
  }

  #addDeletion (key: string, id: number): void {
    const known = this.#byDeletion.get(key)
    if (known === undefined) this.#byDeletion.set(key, id)
    else if (typeof known === 'number') { if (known !== id) this.#byDeletion.set(key, [known, id]) } else if (known[known.length - 1] !== id) known.push(id)
  }

  /** The ids of the phrase words that message word `w` stands for: itself, and the tolerant words one typo away. */
  #candidates (w: string): number[] | undefined {
    const exact = this.#byWord.get(w)
    // A tolerant word has ≥ 5 letters, so a message word one edit away has ≥ 4.
    if (w.length < TYPO_MIN_LETTERS - 1) return exact
    let typos: number[] | undefined
    const one = (id: number): void => {
      if (exact?.includes(id) === true || typos?.includes(id) === true || !withinOneEdit(this.#vocabulary[id], w)) return
      (typos ??= []).push(id)
    }
    const add = (found: number | number[] | undefined): void => {
      if (found === undefined) return
      if (typeof found === 'number') one(found)
      else for (const id of found) one(id)
    }
    // w is a tolerant word with one letter removed.
    add(this.#byDeletion.get(w))
    if (w.length >= TYPO_MIN_LETTERS) {
      // w has a letter added (its deletion is the word), or replaced or swapped (both deletions meet).
      for (let i = 0; i < w.length; i++) add(this.#byDeletion.get(w.slice(0, i) + w.slice(i + 1)))
    }
    if (typos === undefined) return exact
    return exact === undefined ? typos : [...exact, ...typos]
  }

  /** Every phrase found in the message's words (each once, however often it occurs), with its owners. */
  match (ws: readonly string[]): Array<PhraseHit<T>> {
    const n = ws.length
    const candidates: Array<number[] | undefined> = new Array(n)
    for (let i = 0; i < n; i++) candidates[i] = this.#candidates(ws[i])
    const found = new Set<number>()
    for (let i = 0; i < n; i++) {
      const here = candidates[i]
      if (here === undefined) continue
      for (const first of here) {
        const starting = this.#byFirst.get(first)
        if (starting === undefined) continue
        for (const p of starting) {
          if (found.has(p)) continue
          const seq = this.#phrases[p].ids
          if (i + seq.length > n) continue
          let whole = true
          for (let j = 1; j < seq.length; j++) {
            if (candidates[i + j]?.includes(seq[j]) !== true) { whole = false; break }
          }
          if (whole) found.add(p)
        }
      }
    }
    const hits: Array<PhraseHit<T>> = []
    for (const p of found) {
      const { ids, owners } = this.#phrases[p]
      for (const owner of owners) hits.push({ owner, words: ids.length })
    }
    return hits
  }

  get size (): number {
    return this.#phrases.length
  }
}

/** Compiles a plain list of words and phrases; `find` answers the entries found in a text, in list order, each once. */
export function compilePhrases (phrases: readonly string[], exact: readonly string[] = []): { find (text: string): string[] } {
  const exactWords = new Set(exact.flatMap((w) => words(w)))
  const index = new PhraseIndex(phrases.map((phrase, i) => ({ phrase, owner: i, exact: exactWords })))
  return {
    find (text: string): string[] {
      const at = index.match(words(text)).map((h) => h.owner).sort((a, b) => a - b)
      return [...new Set(at.map((i) => phrases[i]))]
    }
  }
}

export interface Analysis {
  event: EventName | null
  /** Matched active products, best first: score (keyword words matched), then catalogue order. */
  products: Array<{ id: string, score: number, keywords: string[] }>
  /** The first matching objection of the best product, else the first matching account-wide one. */
  objection: { product: string | null, triggers: string[], answer: string } | null
  faq: { id: string, answer: string } | null
  alert: { trigger: 'threat' | 'legal_situation' | 'anger' | 'sensitive_word', severity: 'critical' | 'high' } | null
}

export interface CompileOptions {
  language: Language
  /** The account's `escalation.sensitive_keywords`. */
  sensitive_keywords?: string[]
  /** The account's `forbidden_words`, added to the language's. */
  forbidden_words?: string[]
}

export interface CompiledKnowledge {
  readonly version: number
  /** The knowledge base it was compiled from (never changed: a change compiles a new one). */
  readonly knowledge: KnowledgeBase
  /** Its active products (the only ones that ever match), by id. */
  readonly products: ReadonlyMap<string, Product>
  analyse (text: string): Analysis
  /** The forbidden words and phrases (the language's, then the account's) found in a text, each once. */
  forbidden (text: string): string[]
}

const EVENT_LISTS = ['threat', 'legal', 'anger', 'negative', 'purchase', 'price', 'sensitive'] as const
type EventList = typeof EVENT_LISTS[number]

type Owner =
  | { kind: 'list', list: EventList }
  | { kind: 'keyword', product: number, keyword: number }
  | { kind: 'faq', faq: number, trigger: number }
  /** `product` -1: an account-wide objection. */
  | { kind: 'objection', product: number, objection: number, trigger: number }

/** Adds `words` under `key` once per `sub` (a keyword or trigger that occurs twice counts once). */
function tally (map: Map<number, Map<number, number>>, key: number, sub: number, words: number): void {
  let inner = map.get(key)
  if (inner === undefined) map.set(key, inner = new Map())
  inner.set(sub, words)
}

const total = (m: Map<number, number>): number => { let s = 0; for (const v of m.values()) s += v; return s }
const sortedKeys = (m: Map<number, unknown>): number[] => [...m.keys()].sort((a, b) => a - b)

/**
 * Compiles one version of an account's knowledge base with its language's word lists and the account's
 * own lists. Inactive products (and their objections) are left out: they never match.
 */
export function compileKnowledge (kb: KnowledgeBase, version: number, options: CompileOptions): CompiledKnowledge {
  const pack = languagePack(options.language)
  const exact = new Set(pack.exact.flatMap((w) => words(w)))
  const products = kb.products.map((p, index) => ({ p, index })).filter(({ p }) => p.active)
  const entries: Array<PhraseEntry<Owner>> = []
  for (const list of EVENT_LISTS) {
    const phrases = list === 'sensitive' ? options.sensitive_keywords ?? [] : pack.words[list]
    for (const phrase of phrases) entries.push({ phrase, owner: { kind: 'list', list }, exact })
  }
  for (const { p, index } of products) {
    // Two spellings of one keyword ("crème", "creme") are one keyword: the first one counts.
    const seen = new Set<string>()
    p.keywords.forEach((keyword, k) => {
      const ws = words(keyword)
      const key = ws.join(' ')
      if (seen.has(key)) return
      seen.add(key)
      entries.push({ phrase: keyword, words: ws, owner: { kind: 'keyword', product: index, keyword: k } })
    })
    p.objections.forEach((o, oi) => o.triggers.forEach((trigger, ti) => {
      entries.push({ phrase: trigger, owner: { kind: 'objection', product: index, objection: oi, trigger: ti } })
    }))
  }
  kb.objections.forEach((o, oi) => o.triggers.forEach((trigger, ti) => {
    entries.push({ phrase: trigger, owner: { kind: 'objection', product: -1, objection: oi, trigger: ti } })
  }))
  kb.faq.forEach((f, fi) => f.triggers.forEach((trigger, ti) => {
    entries.push({ phrase: trigger, owner: { kind: 'faq', faq: fi, trigger: ti } })
  }))
  const index = new PhraseIndex(entries)
  const forbiddenList = [...pack.words.forbidden, ...options.forbidden_words ?? []]
  const forbidden = compilePhrases(forbiddenList, pack.exact)

  function analyse (text: string): Analysis {
    const lists = new Set<EventList>()
    const keywordHits = new Map<number, Map<number, number>>()
    const faqHits = new Map<number, Map<number, number>>()
    const objectionHits = new Map<number, Map<number, Map<number, number>>>()
    for (const { owner, words: n } of index.match(words(text))) {
      switch (owner.kind) {
        case 'list': lists.add(owner.list); break
        case 'keyword': tally(keywordHits, owner.product, owner.keyword, n); break
        case 'faq': tally(faqHits, owner.faq, owner.trigger, n); break
        case 'objection': {
          let of = objectionHits.get(owner.product)
          if (of === undefined) objectionHits.set(owner.product, of = new Map())
          tally(of, owner.objection, owner.trigger, n)
        }
      }
    }

    const ranked = [...keywordHits].map(([product, hits]) => ({ product, score: total(hits), hits }))
      .sort((a, b) => b.score - a.score || a.product - b.product)
    const matched = ranked.map(({ product, score, hits }) => ({
      id: kb.products[product].id,
      score,
      keywords: sortedKeys(hits).map((k) => kb.products[product].keywords[k])
    }))

    let objection: Analysis['objection'] = null
    for (const owner of ranked.length > 0 ? [ranked[0].product, -1] : [-1]) {
      const hits = objectionHits.get(owner)
      if (hits === undefined) continue
      const first = sortedKeys(hits)[0]
      const o = owner === -1 ? kb.objections[first] : kb.products[owner].objections[first]
      const triggers = sortedKeys(hits.get(first) as Map<number, number>).map((t) => o.triggers[t])
      objection = { product: owner === -1 ? null : kb.products[owner].id, triggers, answer: o.answer }
      break
    }

    let faq: Analysis['faq'] = null
    let faqScore = 0
    for (const fi of sortedKeys(faqHits)) {
      const score = total(faqHits.get(fi) as Map<number, number>)
      if (score > faqScore) { faqScore = score; faq = { id: kb.faq[fi].id, answer: kb.faq[fi].answer } }
    }

    let event: EventName | null = null
    if (lists.has('threat') || lists.has('legal')) event = 'threat_detected'
    else if (lists.has('negative')) event = 'negative_response'
    else if (objection !== null) event = 'objection_raised'
    else if (lists.has('purchase')) event = 'purchase_intent'
    else if (lists.has('price')) event = 'price_interest'
    else if (matched.length > 0 || faq !== null) event = 'product_question'

    let alert: Analysis['alert'] = null
    if (lists.has('threat')) alert = { trigger: 'threat', severity: 'critical' }
    else if (lists.has('legal')) alert = { trigger: 'legal_situation', severity: 'critical' }
    else if (lists.has('anger')) alert = { trigger: 'anger', severity: 'high' }
    else if (lists.has('sensitive')) alert = { trigger: 'sensitive_word', severity: 'high' }

    return { event, products: matched, objection, faq, alert }
  }

  return { version, knowledge: kb, products: new Map(products.map(({ p }) => [p.id, p])), analyse, forbidden: (text: string) => forbidden.find(text) }
}
