/**
 * Amounts in a text, in the formats people write them: "12 500 FCFA" (a space, U+00A0 or U+202F between
 * thousands), "12.500" and "12,500" (a dot or a comma between thousands), "19,90 €", "$19.90", "XOF 12500".
 * Values are kept as canonical decimal strings ("19.90" is "19.9", "012500" is "12500"), so two amounts are
 * equal exactly when their strings are: no float ever rounds a price.
 *
 * A number is an amount when a currency stands next to it, or when it is written like a price (with a
 * thousands or decimal separator, "12 500", "19,90") and no word follows it ("200 ml", "3 500 clients" are
 * quantities), or when it comes right after a price word of the language ("coûte 15000"). Percentages ("-20 %")
 * are never amounts.
 *
 * A number whose separator can be read two ways ("12.500": twelve thousand five hundred, or 12.5) carries
 * both readings; it is a known price when either reading is one. The validator must never refuse a correct
 * price written in another convention, and a catalogue holding both 12.5 and 12500 in one currency is rarer
 * than a text written in the other convention.
 */

/** One amount found in a text. */
export interface Amount {
  /** As written, its currency marker included ("12 500 FCFA"). */
  text: string
  /** Where it starts in the text (UTF-16 index). */
  index: number
  /** The canonical decimal values it can be read as: one, or two when its separator is ambiguous. */
  values: readonly string[]
  /** The ISO 4217 codes its currency marker stands for; null when the text states no currency. */
  currencies: readonly string[] | null
}

export interface FindOptions {
  /** Currency codes known besides the built-in ones (an account's product currencies). */
  codes?: ReadonlySet<string>
  /** Whether the text before a bare number ends with a price word ("le prix est de", "coûte"). */
  priceContext?: (before: string) => boolean
}

const CFA = ['XOF', 'XAF']
const DOLLARS = ['USD', 'CAD', 'AUD', 'NZD', 'SGD', 'HKD', 'LRD', 'NAD']
/** "$" is also the peso sign of much of Latin America. */
const DOLLAR_SIGN = [...DOLLARS, 'MXN', 'ARS', 'CLP', 'COP', 'UYU', 'DOP']

/**
 * Markers written in any case, longest first so that "f cfa" wins over "f" and "r$" over "$". Each word
 * marker must stand as a whole word; symbols need no space.
 */
const WORD_MARKERS: ReadonlyArray<readonly [string, readonly string[]]> = ([
  ['francs cfa', CFA], ['franc cfa', CFA], ['f cfa', CFA], ['fcfa', CFA], ['cfa', CFA], ['francs', CFA], ['franc', CFA],
  ['euros', ['EUR']], ['euro', ['EUR']], ['€', ['EUR']],
  ['us$', ['USD']], ['r$', ['BRL']], ['reais', ['BRL']], ['$', DOLLAR_SIGN], ['dollars', DOLLARS], ['dollar', DOLLARS],
  ['£', ['GBP']], ['livres sterling', ['GBP']],
  ['₦', ['NGN']], ['naira', ['NGN']], ['₵', ['GHS']], ['cedis', ['GHS']], ['ghc', ['GHS']],
  ['dirhams', ['MAD']], ['dhs', ['MAD']], ['dh', ['MAD']], ['ksh', ['KES']], ['pesos', ['MXN', 'ARS', 'CLP', 'COP', 'UYU', 'DOP']]
] as Array<[string, string[]]>).sort((a, b) => b[0].length - a[0].length)

/** The first and last characters of the markers: most numbers have none next to them, and are passed at once. */
const MARKER_FIRST = new Set(WORD_MARKERS.map(([m]) => m[0]))
const MARKER_LAST = new Set(WORD_MARKERS.map(([m]) => m[m.length - 1]))

/** Markers that count only as written: "F" is the franc, "f" is a letter. */
const CASED_MARKERS: ReadonlyArray<readonly [string, readonly string[]]> = [['F', CFA]]

/**
 * ISO 4217 codes recognised in capitals (never in lower case: "top", "all" and "cup" are words).
 * An account's own currencies are added to them.
 */
const ISO_CODES = new Set([
  'XOF', 'XAF', 'EUR', 'USD', 'GBP', 'CHF', 'CAD', 'AUD', 'NZD', 'JPY', 'CNY', 'INR', 'BRL', 'MXN', 'ARS', 'CLP',
  'COP', 'PEN', 'UYU', 'BOB', 'PYG', 'DOP', 'MAD', 'DZD', 'TND', 'EGP', 'NGN', 'GHS', 'KES', 'ZAR', 'GNF', 'CDF',
  'RWF', 'UGX', 'TZS', 'ETB', 'XPF', 'HTG', 'AOA', 'MZN', 'CVE', 'STN', 'MRU', 'MGA', 'KMF', 'BIF', 'SLE', 'GMD',
  'LRD', 'NAD', 'BWP', 'ZMW', 'MUR', 'SCR', 'DJF'
])

const isDigit = (c: number): boolean => c >= 48 && c <= 57
const isUpper = (c: number): boolean => c >= 65 && c <= 90
/** Letters and digits of any script (so "gpt4" and "é12" are words, not numbers). */
const WORD_CHAR = /[\p{L}\p{N}_]/u
const isWordChar = (ch: string | undefined): boolean => ch !== undefined && WORD_CHAR.test(ch)
const isLetter = (ch: string | undefined): boolean => ch !== undefined && /\p{L}/u.test(ch)

/** Horizontal spaces people put between a number and its currency, or between thousands. */
const SPACES = new Set([' ', '\u00a0', '\u202f', '\u2009', '\t'])
const THOUSANDS_SPACES = new Set([' ', '\u00a0', '\u202f', '\u2009'])
const APOSTROPHES = new Set(["'", '’'])

/** A decimal string in canonical form: no leading zeros in the integer part, no trailing zeros in the fraction. */
function canonical (integer: string, fraction: string): string {
  let i = 0
  while (i < integer.length - 1 && integer[i] === '0') i++
  let f = fraction.length
  while (f > 0 && fraction[f - 1] === '0') f--
  const int = integer.slice(i)
  return f === 0 ? (int === '' ? '0' : int) : `${int === '' ? '0' : int}.${fraction.slice(0, f)}`
}

/** The canonical form of a knowledge-base price ("19.90" → "19.9", "12500" → "12500"). */
export function canonicalPrice (price: string): string {
  const dot = price.indexOf('.')
  return dot === -1 ? canonical(price, '') : canonical(price.slice(0, dot), price.slice(dot + 1))
}

/** Groups of 1–3 digits, then groups of exactly 3, one separator throughout. */
function thousands (groups: readonly string[], seps: readonly string[]): boolean {
  if (groups[0].length > 3) return false
  for (let i = 1; i < groups.length; i++) if (groups[i].length !== 3 || seps[i - 1] !== seps[0]) return false
  return true
}

/**
 * What a number written as `groups` joined by `seps` can be read as: with every separator between thousands,
 * and with the last one (a dot or a comma other than the others) before decimals. Empty: not a number
 * ("18.01.2026" is neither).
 */
export function readings (groups: readonly string[], seps: readonly string[]): string[] {
  if (seps.length === 0) return [canonical(groups[0], '')]
  const out: string[] = []
  if (thousands(groups, seps)) out.push(canonical(groups.join(''), ''))
  const last = seps[seps.length - 1]
  if (last === '.' || last === ',') {
    const head = groups.slice(0, -1)
    const headSeps = seps.slice(0, -1)
    if (headSeps.length === 0 || (headSeps[0] !== last && thousands(head, headSeps))) {
      const value = canonical(head.join(''), groups[groups.length - 1])
      if (!out.includes(value)) out.push(value)
    }
  }
  return out
}

interface NumberToken {
  start: number
  end: number
  groups: string[]
  /** Separators between the groups: '.', ',', "'" or ' ' (every kind of space). */
  seps: string[]
}

/** The number starting at `start` (a digit): digit groups joined by one separator each. */
function readNumber (text: string, start: number): NumberToken {
  const groups: string[] = []
  const seps: string[] = []
  let i = start
  for (;;) {
    const from = i
    while (i < text.length && isDigit(text.charCodeAt(i))) i++
    groups.push(text.slice(from, i))
    const sep = text[i]
    if (sep === undefined || !isDigit(text.charCodeAt(i + 1))) break
    let next = i + 1
    while (next < text.length && isDigit(text.charCodeAt(next))) next++
    const groupLength = next - i - 1
    if (THOUSANDS_SPACES.has(sep) || APOSTROPHES.has(sep)) {
      // A space groups thousands only between groups of three: "lot de 2 500 ml" is not read past the 2
      // unless 500 is a full group, and "2 15" is two numbers.
      const current = groups[groups.length - 1].length
      if (groupLength !== 3 || current > 3 || (groups.length > 1 && current !== 3)) break
      seps.push(THOUSANDS_SPACES.has(sep) ? ' ' : "'")
    } else if (sep === '.' || sep === ',') {
      seps.push(sep)
    } else {
      break
    }
    i++
  }
  return { start, end: i, groups, seps }
}

/** ASCII case-insensitive comparison of `marker` at `at` (markers are lower case). */
function markerAt (text: string, at: number, marker: string): boolean {
  if (at < 0 || at + marker.length > text.length) return false
  for (let k = 0; k < marker.length; k++) {
    let c = text.charCodeAt(at + k)
    if (isUpper(c)) c += 32
    if (c !== marker.charCodeAt(k)) return false
  }
  return true
}

/** The currency marker starting at `at` (after spaces), and where it ends. */
function currencyAfter (text: string, at: number, codes: ReadonlySet<string>): { end: number, currencies: readonly string[] } | null {
  let i = at
  while (i < text.length && SPACES.has(text[i])) i++
  if (i >= text.length) return null
  const first = text.charCodeAt(i)
  if (!MARKER_FIRST.has(text[i].toLowerCase()) && !isUpper(first)) return null
  for (const [marker, currencies] of WORD_MARKERS) {
    if (!markerAt(text, i, marker)) continue
    const end = i + marker.length
    if (/[a-z]$/.test(marker) && isWordChar(text[end])) continue
    return { end, currencies }
  }
  for (const [marker, currencies] of CASED_MARKERS) {
    if (text.startsWith(marker, i) && !isWordChar(text[i + marker.length])) return { end: i + marker.length, currencies }
  }
  const code = text.slice(i, i + 3)
  if (code.length === 3 && /^[A-Z]{3}$/.test(code) && !isWordChar(text[i + 3]) && (ISO_CODES.has(code) || codes.has(code))) {
    return { end: i + 3, currencies: [code] }
  }
  return null
}

/** The currency marker ending at `at` (before spaces), and where it starts. */
function currencyBefore (text: string, at: number, codes: ReadonlySet<string>): { start: number, currencies: readonly string[] } | null {
  let i = at
  while (i > 0 && SPACES.has(text[i - 1])) i--
  if (i === 0) return null
  if (!MARKER_LAST.has(text[i - 1].toLowerCase()) && !isUpper(text.charCodeAt(i - 1))) return null
  for (const [marker, currencies] of WORD_MARKERS) {
    const start = i - marker.length
    if (!markerAt(text, start, marker)) continue
    if (/^[a-z]/.test(marker) && isWordChar(text[start - 1])) continue
    return { start, currencies }
  }
  const code = text.slice(i - 3, i)
  if (i >= 3 && /^[A-Z]{3}$/.test(code) && !isWordChar(text[i - 4]) && (ISO_CODES.has(code) || codes.has(code))) {
    return { start: i - 3, currencies: [code] }
  }
  return null
}

/** Whether the number is part of something else: a word ("gpt4"), a time or date ("12:30", "1/2"), a reference ("n°12"). */
function attachedBefore (text: string, start: number): boolean {
  const prev = text[start - 1]
  if (prev === undefined) return false
  if (isWordChar(prev) || prev === '#' || prev === '°' || prev === '№') return true
  const before = text.charCodeAt(start - 2)
  if ((prev === ':' || prev === '/' || prev === '.' || prev === ',') && isDigit(before)) return true
  return prev === '-' && isWordChar(text[start - 2])
}

function attachedAfter (text: string, end: number): boolean {
  const next = text[end]
  return (next === ':' || next === '/' || next === '-' || next === '×') && isDigit(text.charCodeAt(end + 1))
}

/** What follows the number, spaces skipped: a percent sign, or a word (a unit, a count: "200 ml", "3 pots"). */
function followedBy (text: string, end: number): 'percent' | 'word' | null {
  let i = end
  while (i < text.length && SPACES.has(text[i])) i++
  const next = text[i]
  if (next === '%' || next === '‰' || next === '％') return 'percent'
  return isLetter(next) ? 'word' : null
}

/** Every amount in the text, in order. */
export function findAmounts (text: string, options: FindOptions = {}): Amount[] {
  const codes = options.codes ?? new Set<string>()
  const found: Amount[] = []
  let i = 0
  while (i < text.length) {
    if (!isDigit(text.charCodeAt(i))) { i++; continue }
    const token = readNumber(text, i)
    i = token.end
    if (attachedBefore(text, token.start) || attachedAfter(text, token.end)) continue
    const values = readings(token.groups, token.seps)
    if (values.length === 0) continue
    const after = currencyAfter(text, token.end, codes)
    const before = after === null ? currencyBefore(text, token.start, codes) : null
    const follows = followedBy(text, token.end)
    if (follows === 'percent') continue
    let start = token.start
    let end = token.end
    let currencies: readonly string[] | null = null
    if (after !== null) {
      currencies = after.currencies
      end = after.end
      i = end
    } else if (before !== null) {
      currencies = before.currencies
      start = before.start
    } else {
      if (follows === 'word') continue
      const written = token.seps.length > 0
      if (!written && options.priceContext?.(text.slice(Math.max(0, token.start - 80), token.start)) !== true) continue
    }
    found.push({ text: text.slice(start, end), index: start, values, currencies })
  }
  return found
}

/** The amounts a text may state: each value with the currencies it is known in (null: in any currency). */
export class PriceBook {
  readonly #known = new Map<string, Set<string> | null>()

  /** A product price (a decimal string) in its currency, or an amount of a knowledge-base text. */
  add (value: string, currencies: readonly string[] | null): void {
    if (this.#known.has(value) && this.#known.get(value) === null) return
    if (currencies === null) { this.#known.set(value, null); return }
    let set = this.#known.get(value)
    if (set === undefined || set === null) this.#known.set(value, set = new Set())
    for (const c of currencies) set.add(c)
  }

  /** Whether one reading of the amount is known in a currency the text agrees with (any, when it states none). */
  knows (amount: Pick<Amount, 'values' | 'currencies'>): boolean {
    for (const value of amount.values) {
      if (!this.#known.has(value)) continue
      const currencies = this.#known.get(value)
      if (currencies === null || currencies === undefined || amount.currencies === null) return true
      for (const c of amount.currencies) if (currencies.has(c)) return true
    }
    return false
  }
}

/** Whether a currency marker stands right before or after the digits at [start, end). */
export function currencyNear (text: string, start: number, end: number, codes: ReadonlySet<string> = new Set()): boolean {
  return currencyAfter(text, end, codes) !== null || currencyBefore(text, start, codes) !== null
}
