/**
 * The one normalisation every matcher input goes through, knowledge base and messages alike, so that
 * "Crème", "CREME" and "crème" are the same word and "l'huile" is the words "l" and "huile".
 */

const MARKS = /\p{M}+/gu
/** Letters of any script and digits; everything else (punctuation, apostrophes ' and ’, symbols, emoji) separates words. */
const WORD = /[\p{L}\p{N}]+/gu
const NOT_WORD = /[^\p{L}\p{N}]/gu
/** Letters that NFKD keeps whole but that people type as two letters (or as the bare letter). */
const FOLDS: Record<string, string> = { œ: 'oe', æ: 'ae', ß: 'ss', ø: 'o', đ: 'd', ð: 'd', ł: 'l', ı: 'i', þ: 'th' }
const FOLDABLE = /[œæßøđðłıþ]/g

/**
 * The text in lower case, compatibility-decomposed (NFKD: "ﬁ" is "fi", "²" is "2") and without
 * diacritics. Lower case comes first because lowering some capitals adds a mark ("İ" → "i̇").
 */
export function normalize (text: string): string {
  return text.toLowerCase().normalize('NFKD').replace(MARKS, '').replace(FOLDABLE, (c) => FOLDS[c])
}

/** The words of a text by the general rule: any script, any decomposition. */
export function wordsSlow (text: string): string[] {
  return normalize(text).match(WORD) ?? []
}

/**
 * Latin text (below U+0250: ASCII, Latin-1, Latin Extended-A and B) without combining marks, character
 * by character: each precomposed letter has one decomposition whatever its neighbours, so a table of
 * what the general rule makes of each character (a space for a separator) gives the same words without
 * the cost of NFKD and Unicode regular expressions on every keyword and message.
 */
const LATIN_END = 0x250
const LATIN: string[] = Array.from({ length: LATIN_END }, (_, c) => normalize(String.fromCharCode(c)).replace(NOT_WORD, ' '))
const ASCII = /^[\x20-\x7e]*$/
const ASCII_WORD = /[a-z0-9]+/g

/** The normalised words of a text, in order; numbers are words ("12 500" is "12" and "500"). */
export function words (text: string): string[] {
  if (ASCII.test(text)) return text.toLowerCase().match(ASCII_WORD) ?? []
  let folded = ''
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c >= LATIN_END) return wordsSlow(text)
    folded += LATIN[c]
  }
  const out: string[] = []
  for (const w of folded.split(' ')) if (w !== '') out.push(w)
  return out
}
