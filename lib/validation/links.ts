/**
 * Links, e-mail addresses and phone numbers in a text. Found by scanning, not by regular expressions run
 * over the whole text, so a long text without spaces costs one pass. What is found is also blanked out of
 * the text the amounts are read from: the digits of a phone number or a URL are no price.
 */
import { domainToASCII } from 'node:url'
import { readings } from './prices.js'

export interface Link {
  kind: 'url' | 'email' | 'phone'
  /** As written. */
  text: string
  index: number
  /**
   * What it is compared by: the host of a URL (lower case, punycode, without "www."), the address of an
   * e-mail (lower case), the digits of a phone number without leading zeros.
   */
  key: string
}

/** Top-level domains that make a bare "name.tld" a link (besides "www." and a path, which always do). */
const TLDS = new Set([
  'com', 'net', 'org', 'info', 'biz', 'io', 'co', 'me', 'app', 'dev', 'shop', 'store', 'online', 'site', 'website', 'link',
  'ly', 'gl', 'to', 'gg', 'tv', 'xyz', 'page', 'africa', 'example', 'fr', 'sn', 'ci', 'ml', 'bf', 'ne', 'tg', 'bj', 'gn',
  'cm', 'ga', 'cg', 'cd', 'td', 'mr', 'ma', 'dz', 'tn', 'be', 'ch', 'ca', 'us', 'uk', 'de', 'es', 'pt', 'br', 'it', 'nl',
  'ng', 'gh', 'ke', 'za', 'mx', 'ar', 'cl', 'eu'
])

const LEAD = new Set(['(', '[', '{', '<', '«', '"', "'", '“', '‘', '¿', '¡'])
const TRAIL = new Set([')', ']', '}', '>', '»', '"', "'", '”', '’', '.', ',', ';', ':', '!', '?', '…'])
const EMAIL_LOCAL = /[A-Za-z0-9._%+-]/
const EMAIL_DOMAIN = /[A-Za-z0-9.-]/
const BARE = /^(?:www\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)+(?:[/?#:][^\s]*)?$/i
const LETTERS = /^[a-z]{2,}$/i

/** A host as compared: lower case, punycode, without a trailing dot or a leading "www.". */
export function hostKey (host: string): string {
  const ascii = domainToASCII(host.toLowerCase().replace(/\.$/, '')) || host.toLowerCase()
  return ascii.startsWith('www.') ? ascii.slice(4) : ascii
}

/** The host of an http(s) URL, as compared; null when it is no URL. */
export function urlHost (url: string): string | null {
  try {
    const parsed = new URL(url)
    return parsed.hostname === '' ? null : hostKey(parsed.hostname)
  } catch {
    return null
  }
}

/** The digits of a phone number as compared: no "+", no "00" or trunk "0". */
export function phoneKey (digits: string): string {
  let i = 0
  while (i < digits.length - 1 && digits[i] === '0') i++
  return digits.slice(i)
}

/** Two phone numbers are one when they are equal, or one is the other with its country code (at least 8 digits in common). */
export function samePhone (a: string, b: string): boolean {
  if (a === b) return true
  const [short, long] = a.length < b.length ? [a, b] : [b, a]
  return short.length >= 8 && long.endsWith(short)
}

function emailsIn (token: string, at: number, out: Link[]): Array<[number, number]> {
  const spans: Array<[number, number]> = []
  let from = 0
  for (;;) {
    const sign = token.indexOf('@', from)
    if (sign === -1) break
    let start = sign
    while (start > 0 && EMAIL_LOCAL.test(token[start - 1])) start--
    let end = sign + 1
    while (end < token.length && EMAIL_DOMAIN.test(token[end])) end++
    while (end > sign + 1 && (token[end - 1] === '.' || token[end - 1] === '-')) end--
    const domain = token.slice(sign + 1, end)
    const labels = domain.split('.')
    if (start < sign && labels.length >= 2 && labels.every((l) => l !== '') && LETTERS.test(labels[labels.length - 1])) {
      const text = token.slice(start, end)
      out.push({ kind: 'email', text, index: at + start, key: text.toLowerCase() })
      spans.push([at + start, at + end])
    }
    from = Math.max(end, sign + 1)
  }
  return spans
}

/** The URL in a token: one with a scheme, one starting with "www.", or a bare host with a known top-level domain or a path. */
function urlIn (token: string): { start: number, host: string | null } | null {
  const scheme = token.indexOf('://')
  if (scheme !== -1) {
    let start = scheme
    while (start > 0 && /[A-Za-z0-9+.-]/.test(token[start - 1])) start--
    if (start === scheme) return null
    return { start, host: urlHost(token.slice(start)) }
  }
  if (!BARE.test(token)) return null
  const cut = token.search(/[/?#:]/)
  const host = cut === -1 ? token : token.slice(0, cut)
  const labels = host.split('.')
  const tld = labels[labels.length - 1]
  if (!LETTERS.test(tld)) return null
  // A bare "name.tld" must end in a known top-level domain written in lower case: "bon.De" is a missing space.
  if (!/^www\./i.test(token) && cut === -1 && !TLDS.has(tld)) return null
  return { start: 0, host: hostKey(host) }
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57
const PHONE_SEPARATORS = new Set([' ', '\u00a0', '\u202f', '.', '-', '(', ')'])
const DATE = /^(?:\d{1,2}[.-]\d{1,2}[.-]\d{2,4}|\d{4}[.-]\d{1,2}[.-]\d{1,2})$/
const WORD_CHAR = /[\p{L}\p{N}_]/u
const SPACE = /\s/
/** Letters and digits of any script, and the underscore: what a phone number cannot touch. */
function isWordChar (ch: string | undefined): boolean {
  if (ch === undefined) return false
  const c = ch.charCodeAt(0)
  if (c < 128) return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95
  return WORD_CHAR.test(ch)
}

/**
 * Whether a run of digits and separators is a phone number rather than an amount: an international "+…", or
 * 8 to 15 digits that are not a number as people write amounts ("12 500 000" is one; "77 123 45 67",
 * "06 12 34 56 78" are phone numbers), or an unbroken run starting with 0 or of 9 digits or more.
 */
function isPhone (written: string, digits: string): boolean {
  if (digits.length < 8 || digits.length > 15 || DATE.test(written)) return false
  if (written.startsWith('+')) return true
  const groups = written.split(/[^0-9]+/).filter((g) => g !== '')
  if (groups.length === 1) return digits.startsWith('0') || digits.length >= 9
  if (/[()]/.test(written) || /[^0-9 .,]/.test(written.replace(/[\u00a0\u202f]/g, ' '))) return true
  const seps = [...written.matchAll(/[^0-9]+/g)].map((m) => m[0] === '.' || m[0] === ',' ? m[0] : ' ')
  return seps.length !== groups.length - 1 || readings(groups, seps).length === 0
}

/** Separators between two digit groups of one phone number: one character, or a space with a dash or a parenthesis (never a full stop and a space, which ends a sentence). */
function joins (run: string): boolean {
  if (run.length === 1) return true
  if (run.includes('.')) return false
  return (run.match(/[-()]/g)?.length ?? 0) <= 1
}

function phonesIn (text: string, out: Link[], isAmount: (start: number, end: number) => boolean): Array<[number, number]> {
  const spans: Array<[number, number]> = []
  let i = 0
  while (i < text.length) {
    const c = text.charCodeAt(i)
    const opens = (text[i] === '+' || text[i] === '(') && isDigit(text.charCodeAt(i + 1))
    if ((!opens && !isDigit(c)) || isWordChar(text[i - 1])) { i++; continue }
    const start = i
    let end = i + 1
    let digits = isDigit(c) ? text[i] : ''
    let run = ''
    for (let j = i + 1; j < text.length; j++) {
      const ch = text[j]
      if (isDigit(text.charCodeAt(j))) {
        if (run !== '' && !joins(run)) break
        digits += ch
        end = j + 1
        run = ''
      } else if (PHONE_SEPARATORS.has(ch) && run.length < 3) {
        run += ch
      } else {
        break
      }
    }
    if (text[end] === ')' && text.slice(start, end).includes('(')) end++
    const written = text.slice(start, end)
    if (!isWordChar(text[end]) && isPhone(written, digits) && !isAmount(start, end)) {
      out.push({ kind: 'phone', text: written, index: start, key: phoneKey(digits) })
      spans.push([start, end])
    }
    i = end
  }
  return spans
}

function blank (text: string, spans: ReadonlyArray<[number, number]>): string {
  if (spans.length === 0) return text
  let out = ''
  let at = 0
  for (const [start, end] of [...spans].sort((a, b) => a[0] - b[0])) {
    if (start < at) continue
    out += text.slice(at, start) + ' '.repeat(end - start)
    at = end
  }
  return out + text.slice(at)
}

/**
 * The links, e-mail addresses and phone numbers of a text, in order, and the text with them blanked out.
 * `isAmount(start, end)` says whether digits there are an amount after all (a currency stands next to them).
 */
export function findLinks (text: string, isAmount: (start: number, end: number) => boolean = () => false): { links: Link[], rest: string } {
  const links: Link[] = []
  const spans: Array<[number, number]> = []
  // Only a token with a dot, an at sign or "://" can be a link or an address: each such token is read once.
  let from = 0
  let dot = -1
  let sign = -1
  let scheme = -1
  for (;;) {
    if (dot !== -2 && dot < from) dot = text.indexOf('.', from)
    if (sign !== -2 && sign < from) sign = text.indexOf('@', from)
    if (scheme !== -2 && scheme < from) scheme = text.indexOf('://', from)
    // -2: none left from here on, so each indexOf runs over the text once in all.
    if (dot === -1) dot = -2
    if (sign === -1) sign = -2
    if (scheme === -1) scheme = -2
    const mark = Math.min(...[dot, sign, scheme].filter((m) => m >= 0))
    if (mark === Infinity) break
    let start = mark
    while (start > 0 && !SPACE.test(text[start - 1])) start--
    let end = mark + 1
    while (end < text.length && !SPACE.test(text[end])) end++
    from = end
    let token = text.slice(start, end)
    let at = start
    while (token.length > 0 && LEAD.has(token[0])) { token = token.slice(1); at++ }
    while (token.length > 0 && TRAIL.has(token[token.length - 1])) token = token.slice(0, -1)
    if (token.length === 0) continue
    if (token.includes('@')) {
      const found = emailsIn(token, at, links)
      if (found.length > 0) { spans.push(...found); continue }
    }
    if (!token.includes('.') && !token.includes('://')) continue
    const url = urlIn(token)
    if (url === null) continue
    const written = token.slice(url.start)
    links.push({ kind: 'url', text: written, index: at + url.start, key: url.host ?? '' })
    spans.push([at + url.start, at + token.length])
  }
  const withoutUrls = blank(text, spans)
  const phoneSpans = phonesIn(withoutUrls, links, isAmount)
  if (links.length > 1) links.sort((a, b) => a.index - b.index)
  return { links, rest: blank(withoutUrls, phoneSpans) }
}
