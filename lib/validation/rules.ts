/**
 * The checks a text must pass before it can be sent: every rule below, against one account's knowledge base
 * (its version), language and settings, compiled once. Matching is the knowledge base's: whole words,
 * accent- and case-insensitive, one typo for words of five letters or more, never inside another word
 * ("aider" is not "ai", "statuer" is not "tuer", "bottes" is not "bot").
 *
 * Links, e-mail addresses and phone numbers are checked as such; their words are no words of the text
 * ("https://shop.example/promo.jpg" promises nothing).
 *
 * Choices where the rules leave room, each made so that a correct text is not refused:
 * - `unknown_price`: the known amounts are the prices of the active products (an inactive product is not
 *   for sale) and the amounts written in the knowledge base's own texts (a delivery fee in a FAQ answer).
 * - `unknown_link`: besides media hosts and `allowed_domains` (which allow their subdomains too), the hosts,
 *   e-mail addresses and phone numbers written in the knowledge base's texts are known.
 * - `forbidden_word`: a built-in word that the facts of the message contain ("human hair" in a matched
 *   product's name) is not held against the text; the account's own `forbidden_words` always are.
 * - `unknown_product`: a product (active or not) is named by its name, or by its name without its
 *   quantities ("Crème au karité" for "Crème au karité 200 ml"). Without matched products nothing can be
 *   confused, so naming a product is then allowed; a name that is part of a matched product's name
 *   ("Huile" within "Huile d'argan") is not another product.
 */
import { languagePack } from '../knowledge/language.js'
import { PhraseIndex, TYPO_MIN_LETTERS, withinOneEdit, type PhraseEntry } from '../knowledge/matcher.js'
import { words } from '../knowledge/normalize.js'
import type { KnowledgeBase, Language } from '../knowledge/types.js'
import { findLinks, hostKey, samePhone, urlHost } from './links.js'
import { canonicalPrice, currencyNear, findAmounts, PriceBook } from './prices.js'

/** The rules, in the order their violations are listed. */
export const RULES = ['empty', 'max_length', 'forbidden_word', 'unknown_price', 'unknown_link', 'unauthorized_promise', 'unknown_product'] as const
export type Rule = typeof RULES[number]

export interface Violation {
  rule: Rule
  /** What broke it: the word, the amount or link as written, the promise, the product's id, the length. */
  detail: string
}

export interface ValidationResult {
  valid: boolean
  violations: Violation[]
}

/** What of an account's settings the rules use. */
export interface ValidationSettings {
  language: Language
  /** `ai.max_length`, in characters (code points). */
  max_length: number
  forbidden_words: readonly string[]
  allowed_domains: readonly string[]
}

export interface ValidationContext {
  /** The ids of the products matched for the message the text answers: their texts are the facts. */
  matched_products?: readonly string[]
  /** More facts the text was written from (the matched FAQ's or objection's answer). */
  facts?: readonly string[]
}

export interface CompiledValidator {
  readonly version: number
  validate: (text: string, context?: ValidationContext) => ValidationResult
  /** Whether the knowledge base has a product with this id. */
  hasProduct: (id: string) => boolean
}

/** How each violation reads in one sentence (the `error` of POST /api/v1/validate). */
export function violationMessage (v: Violation): string {
  switch (v.rule) {
    case 'empty': return 'the text is empty'
    case 'max_length': return `the text is too long: ${v.detail}`
    case 'forbidden_word': return `the text contains the forbidden word ${JSON.stringify(v.detail)}`
    case 'unknown_price': return `the amount ${JSON.stringify(v.detail)} is not a price of the knowledge base`
    case 'unknown_link': return `the link, e-mail address or phone number ${JSON.stringify(v.detail)} is not in the knowledge base or the allowed domains`
    case 'unauthorized_promise': return `the promise ${JSON.stringify(v.detail)} is not in the facts of the message`
    case 'unknown_product': return `the text names the product ${JSON.stringify(v.detail)}, which was not matched for this message`
  }
}

/** Spaces of every kind, and the invisible characters that make a text look empty. */
const BLANK = /^[\s\u200b-\u200d\u2060]*$/u
const DIGIT = /\d/
/** Words that follow a quantity in a product's name ("200 ml"), left out of the name's short form. */
const UNITS = new Set(['ml', 'cl', 'dl', 'l', 'litre', 'litres', 'liter', 'liters', 'g', 'gr', 'kg', 'mg', 'grammes', 'grams', 'oz', 'lb', 'lbs', 'cm', 'mm', 'm', 'x', 'pc', 'pcs', 'pieces', 'pecas', 'piezas', 'unites', 'units', 'unidades'])
/** "-20 %", "−15%", and "20% off": a discount written as a percentage. */
const MINUS_PERCENT = /(?:^|[^\p{L}\p{N}])([-−–]\s?(\d{1,3}(?:[.,]\d{1,2})?)\s?[%％])/gu
const PERCENT_OFF = /(?:^|[^\p{L}\p{N}\-−–])((\d{1,3}(?:[.,]\d{1,2})?)\s?[%％]\s?off)(?![\p{L}\p{N}])/giu

function codePoints (text: string): number {
  let n = text.length
  for (let i = 1; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c >= 0xdc00 && c <= 0xdfff) {
      const p = text.charCodeAt(i - 1)
      if (p >= 0xd800 && p <= 0xdbff) n--
    }
  }
  return n
}

/** Discounts written as percentages, in order, each with the key it is compared by ("-20%"). */
function percentPromises (text: string): Array<{ text: string, key: string }> {
  if (!text.includes('%') && !text.includes('％')) return []
  const out: Array<{ text: string, key: string, start: number }> = []
  // "-20 % off" is one discount: PERCENT_OFF does not start after a minus sign.
  for (const re of [MINUS_PERCENT, PERCENT_OFF]) {
    for (const m of text.matchAll(re)) {
      out.push({ text: m[1], key: `-${canonicalPrice(m[2].replace(',', '.'))}%`, start: (m.index ?? 0) + m[0].length - m[1].length })
    }
  }
  return out.sort((x, y) => x.start - y.start)
}

type Owner =
  /** A phrase of the forbidden or promise lists; `id` is its place among all list phrases. */
  | { kind: 'list', id: number }
  /** A word of a product's name; `id` is its place in the names' vocabulary. */
  | { kind: 'name_word', id: number }

interface ListPhrase {
  rule: 'forbidden_word' | 'unauthorized_promise'
  phrase: string
  words: string[]
  /** Built in (the language's), rather than the account's own. */
  builtin: boolean
  /** Phrases of the same list that contain it (each word within one typo): when both are found, one is reported. */
  shadowedBy: number[]
}

const LETTERS = /^\p{L}+$/u

/** Whether a phrase word also matches with one typo, as the index matches it: a word of letters long enough. */
const tolerant = (word: string): boolean => word.length >= TYPO_MIN_LETTERS && LETTERS.test(word)

/** Whether `inner`'s words appear contiguously in `outer`, each within one edit. */
function contains (outer: readonly string[], inner: readonly string[]): boolean {
  for (let i = 0; i + inner.length <= outer.length; i++) {
    let all = true
    for (let j = 0; j < inner.length; j++) if (!withinOneEdit(outer[i + j], inner[j])) { all = false; break }
    if (all) return true
  }
  return false
}

/** The words of a product's name without its quantities: "Crème au karité 200 ml" → "creme au karite". */
function shortName (ws: readonly string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < ws.length; i++) {
    if (DIGIT.test(ws[i])) continue
    if (i > 0 && DIGIT.test(ws[i - 1]) && UNITS.has(ws[i])) continue
    out.push(ws[i])
  }
  return out
}

/** The texts of a knowledge base that state facts, each product's apart (what a matched product brings). */
function productTexts (p: KnowledgeBase['products'][number]): string[] {
  return [p.name, p.short_description, p.long_description, ...p.objections.map((o) => o.answer), ...p.media.map((m) => m.caption ?? '')]
}

/** Compiles the rules for one version of an account's knowledge base and its settings. */
export function compileValidator (kb: KnowledgeBase, version: number, settings: ValidationSettings): CompiledValidator {
  const pack = languagePack(settings.language)
  const exact = new Set(pack.exact.flatMap((w) => words(w)))
  const entries: Array<PhraseEntry<Owner>> = []

  const lists: ListPhrase[] = []
  const addList = (rule: ListPhrase['rule'], phrase: string, builtin: boolean): void => {
    const ws = words(phrase)
    if (ws.length === 0) return
    const id = lists.length
    lists.push({ rule, phrase, words: ws, builtin, shadowedBy: [] })
    entries.push({ phrase, words: ws, owner: { kind: 'list', id }, exact })
  }
  for (const phrase of pack.words.forbidden) addList('forbidden_word', phrase, true)
  for (const phrase of settings.forbidden_words) addList('forbidden_word', phrase, false)
  for (const phrase of pack.words.promises) addList('unauthorized_promise', phrase, true)
  lists.forEach((a, ai) => {
    lists.forEach((b, bi) => {
      if (ai === bi || a.rule !== b.rule || b.words.length < a.words.length) return
      if (contains(b.words, a.words)) a.shadowedBy.push(bi)
    })
  })

  // Product names: the full name and its short form, each distinct phrase once with the products it names.
  // Catalogues name many products alike ("Crème au karité 200 ml", "Crème au karité 500 ml"), so a name is
  // looked for only when its rarest word is in the text, where the index finds the names' words.
  const nameIds = new Map<string, number>()
  const nameOwners: number[][] = []
  const nameWords: string[][] = []
  const addName = (ws: string[], product: number): void => {
    if (ws.length === 0) return
    const key = ws.join(' ')
    let id = nameIds.get(key)
    if (id === undefined) {
      id = nameOwners.length
      nameIds.set(key, id)
      nameOwners.push([])
      nameWords.push(ws)
    }
    if (!nameOwners[id].includes(product)) nameOwners[id].push(product)
  }
  const productIndex = new Map<string, number>()
  kb.products.forEach((p, i) => {
    productIndex.set(p.id, i)
    const ws = words(p.name)
    addName(ws, i)
    const short = shortName(ws)
    if (short.length >= 2 && short.length < ws.length) addName(short, i)
  })
  const vocabulary = new Map<string, number>()
  const namesWith: number[] = []
  const nameSeqs = nameWords.map((ws) => {
    const ids = ws.map((w) => {
      let id = vocabulary.get(w)
      if (id === undefined) {
        id = vocabulary.size
        vocabulary.set(w, id)
        namesWith.push(0)
        entries.push({ phrase: w, words: [w], owner: { kind: 'name_word', id } })
      }
      return id
    })
    for (const id of new Set(ids)) namesWith[id]++
    return ids
  })
  /** Name word → the names whose rarest word it is. */
  const anchored = new Map<number, number[]>()
  nameSeqs.forEach((ids, name) => {
    const anchor = ids.reduce((best, id) => namesWith[id] < namesWith[best] ? id : best, ids[0])
    const list = anchored.get(anchor)
    if (list === undefined) anchored.set(anchor, [name])
    else list.push(name)
  })
  /** Name phrases that are part of a longer name phrase (up to 8 words long). */
  const partsOf: number[][] = nameWords.map((ws) => {
    const parts: number[] = []
    for (let len = 1; len < ws.length && len <= 8; len++) {
      for (let i = 0; i + len <= ws.length; i++) {
        const part = nameIds.get(ws.slice(i, i + len).join(' '))
        if (part !== undefined && !parts.includes(part)) parts.push(part)
      }
    }
    return parts
  })
  const nameTolerant = nameWords.map((ws) => ws.map(tolerant))
  /** Whether a name's words appear contiguously in the text's words, as the index matches them. */
  const occurs = (textWords: readonly string[], name: number): boolean => {
    const ws = nameWords[name]
    const typos = nameTolerant[name]
    for (let i = 0; i + ws.length <= textWords.length; i++) {
      let all = true
      for (let j = 0; j < ws.length; j++) {
        const w = textWords[i + j]
        if (w !== ws[j] && !(typos[j] && withinOneEdit(ws[j], w))) { all = false; break }
      }
      if (all) return true
    }
    return false
  }

  const index = new PhraseIndex(entries)
  /** No phrase word is longer: a longer word of a text matches nothing, and is not looked up (its typo neighbourhood grows with its square). */
  const longest = entries.reduce((max, e) => Math.max(max, ...(e.words ?? []).map((w) => w.length)), 0) + 1
  const indexWords = (text: string): string[] => {
    const ws = words(text)
    for (let i = 0; i < ws.length; i++) if (ws[i].length > longest) ws[i] = ''
    return ws
  }
  // A bare number is an amount right after a price word ("coûte 15000"): one of the last three words of its sentence.
  const priceKeys = new Set(pack.words.price.map((phrase) => words(phrase).join(' ')))
  const priceWordSet = new Set(pack.words.price.flatMap((phrase) => words(phrase)))
  const priceContext = (before: string): boolean => {
    const cut = Math.max(before.lastIndexOf('.'), before.lastIndexOf('!'), before.lastIndexOf('?'), before.lastIndexOf('\n'))
    const ws = words(before.slice(cut + 1)).slice(-3)
    for (let i = 0; i < ws.length; i++) {
      let key = ws[i]
      if (priceKeys.has(key)) return true
      for (let j = i + 1; j < ws.length; j++) if (priceKeys.has(key += ` ${ws[j]}`)) return true
    }
    return false
  }
  const codes = new Set(kb.products.map((p) => p.currency))
  /** The text without its links, e-mail addresses and phone numbers: the words of a URL are no words of the text. */
  const scan = (text: string) => findLinks(text, (start, end) => currencyNear(text, start, end, codes))
  /** The list phrases and percentages a fact states. */
  const factsIn = (text: string, lists: Set<number>, percents: Set<string>): void => {
    if (text === '') return
    const { rest } = scan(text)
    for (const hit of index.match(indexWords(rest))) if (hit.owner.kind === 'list') lists.add(hit.owner.id)
    for (const p of percentPromises(rest)) percents.add(p.key)
  }

  // What the knowledge base states: prices, amounts, hosts, addresses and numbers of its texts.
  const book = new PriceBook()
  const hosts = new Set<string>()
  const emails = new Set<string>()
  const phones: string[] = []
  const learn = (text: string): void => {
    if (text === '') return
    const { links, rest } = scan(text)
    for (const link of links) {
      if (link.kind === 'url') hosts.add(link.key)
      else if (link.kind === 'email') emails.add(link.key)
      else if (!phones.includes(link.key)) phones.push(link.key)
    }
    for (const amount of findAmounts(rest, { codes, priceContext })) for (const value of amount.values) book.add(value, amount.currencies)
  }
  for (const p of kb.products) {
    if (p.active) book.add(canonicalPrice(p.price), [p.currency])
    for (const m of p.media) {
      const host = urlHost(m.url)
      if (host !== null) hosts.add(host)
    }
    for (const text of productTexts(p)) learn(text)
  }
  learn(kb.business_name)
  for (const f of kb.faq) learn(f.answer)
  for (const o of kb.objections) learn(o.answer)
  for (const template of Object.values(kb.templates)) if (template !== undefined) learn(template)
  const allowed = settings.allowed_domains.map(hostKey)
  const knownHost = (host: string): boolean =>
    host !== '' && (hosts.has(host) || allowed.some((d) => host === d || host.endsWith(`.${d}`)))

  // The list phrases each product's texts contain, found once: the facts a matched product brings.
  const none = { lists: new Set<number>(), percents: new Set<string>() }
  const productFacts = kb.products.map((p) => {
    const found = new Set<number>()
    const percents = new Set<string>()
    for (const text of productTexts(p)) factsIn(text, found, percents)
    // Most products state no list phrase: they share one empty entry.
    return found.size === 0 && percents.size === 0 ? none : { lists: found, percents }
  })
  const businessFacts = new Set<number>()
  const businessPercents = new Set<string>()
  factsIn(kb.business_name, businessFacts, businessPercents)

  function validate (text: string, context: ValidationContext = {}): ValidationResult {
    if (BLANK.test(text)) return { valid: false, violations: [{ rule: 'empty', detail: 'empty or only spaces' }] }
    const violations: Violation[] = []
    const seen = new Set<string>()
    const report = (rule: Rule, detail: string): void => {
      const key = `${rule}\n${detail}`
      if (seen.has(key)) return
      seen.add(key)
      violations.push({ rule, detail })
    }
    const length = codePoints(text)
    if (length > settings.max_length) report('max_length', `${length} characters, at most ${settings.max_length}`)

    const matched = new Set<number>()
    for (const id of context.matched_products ?? []) {
      const i = productIndex.get(id)
      if (i !== undefined) matched.add(i)
    }
    const facts = new Set<number>(businessFacts)
    const factPercents = new Set<string>(businessPercents)
    for (const i of matched) {
      for (const id of productFacts[i].lists) facts.add(id)
      for (const key of productFacts[i].percents) factPercents.add(key)
    }
    for (const fact of context.facts ?? []) factsIn(fact, facts, factPercents)
    const { links, rest } = scan(text)

    const found = new Set<number>()
    const nameWordsFound = new Set<number>()
    const textWords = indexWords(rest)
    for (const hit of index.match(textWords)) {
      if (hit.owner.kind === 'list') found.add(hit.owner.id)
      else nameWordsFound.add(hit.owner.id)
    }
    // A list phrase counts when the facts do not hold it (the account's forbidden words always count).
    const counts = (id: number): boolean => {
      const l = lists[id]
      return l.rule === 'forbidden_word' ? !(l.builtin && facts.has(id)) : !facts.has(id)
    }
    const reported = [...found].filter(counts)
    // "livraison gratuite" is reported rather than "gratuit" within it; of two spellings ("gratuit",
    // "gratuite") the one written, else the list's first.
    let written: Set<string> | undefined
    const asWritten = (id: number): boolean => lists[id].words.every((w) => (written ??= new Set(textWords)).has(w))
    const wins = (b: number, a: number): boolean => {
      if (lists[b].words.length !== lists[a].words.length) return lists[b].words.length > lists[a].words.length
      const wb = asWritten(b)
      return wb !== asWritten(a) ? wb : b < a
    }
    const shown = reported.filter((a) => !lists[a].shadowedBy.some((b) => reported.includes(b) && wins(b, a)))
    for (const id of shown) if (lists[id].rule === 'forbidden_word') report('forbidden_word', lists[id].phrase)

    const priced = textWords.some((w) => priceWordSet.has(w))
    for (const amount of findAmounts(rest, { codes, priceContext: priced ? priceContext : undefined })) {
      if (!book.knows(amount)) report('unknown_price', amount.text)
    }
    for (const link of links) {
      const known = link.kind === 'url'
        ? knownHost(link.key)
        : link.kind === 'email' ? emails.has(link.key) : phones.some((p) => samePhone(p, link.key))
      if (!known) report('unknown_link', link.text)
    }

    for (const id of shown) if (lists[id].rule === 'unauthorized_promise') report('unauthorized_promise', lists[id].phrase)
    for (const p of percentPromises(rest)) if (!factPercents.has(p.key)) report('unauthorized_promise', p.text)

    if (matched.size > 0 && nameWordsFound.size > 0) {
      const names: number[] = []
      for (const word of nameWordsFound) {
        for (const name of anchored.get(word) ?? []) {
          if (nameSeqs[name].every((id) => nameWordsFound.has(id)) && occurs(textWords, name)) names.push(name)
        }
      }
      const covered = new Set<number>()
      for (const id of names) {
        if (!nameOwners[id].some((p) => matched.has(p))) continue
        covered.add(id)
        for (const part of partsOf[id]) covered.add(part)
      }
      for (const id of names) {
        if (covered.has(id)) continue
        for (const p of nameOwners[id]) if (!matched.has(p)) report('unknown_product', kb.products[p].id)
      }
    }

    violations.sort((a, b) => RULES.indexOf(a.rule) - RULES.indexOf(b.rule))
    return { valid: violations.length === 0, violations }
  }

  return { version, validate, hasProduct: (id: string) => productIndex.has(id) }
}
