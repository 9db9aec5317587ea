/**
 * The built-in data of each language: message templates, the fallback and holding messages, the alert
 * template and the word lists of event detection, alerts and validation. The data lives in
 * `lib/knowledge/data/<language>.json`, one file per language; it is checked once, when this module loads,
 * so a broken file stops the process at start-up rather than a decision later.
 */
import en from './data/en.json' with { type: 'json' }
import es from './data/es.json' with { type: 'json' }
import fr from './data/fr.json' with { type: 'json' }
import pt from './data/pt.json' with { type: 'json' }
import { words } from './normalize.js'
import { LANGUAGES, TEMPLATE_NAMES, type Language, type TemplateName } from './types.js'

export const WORD_LISTS = ['threat', 'legal', 'anger', 'negative', 'purchase', 'price', 'forbidden', 'promises'] as const
export type WordList = typeof WORD_LISTS[number]

export interface LanguagePack {
  templates: Readonly<Record<TemplateName, string>>
  /** Sent when nothing in a message was understood (an account's `fallback_message` overrides it). */
  fallback_message: string
  /** Sent while a person is alerted: neutral, it never mentions a human, a transfer or a robot. */
  holding_message: string
  /** The WhatsApp text of an alert; placeholders {contact} {state} {message}. */
  alert_template: string
  words: Readonly<Record<WordList, readonly string[]>>
  /**
   * Words of the lists that match only as written, without the one-typo tolerance: each is one letter
   * away from a common word that means something else ("police"/"policy", "voleur"/"valeur",
   * "commander"/"commande", "conseiller"/"conseille"), which would raise false alerts and events.
   */
  exact: readonly string[]
}

const TEMPLATE_PLACEHOLDERS = new Set(['name', 'price', 'currency', 'short_description', 'business_name'])
const ALERT_PLACEHOLDERS = new Set(['contact', 'state', 'message'])
const PLACEHOLDER = /\{([^{}]*)\}/g

function fail (language: string, path: string, message: string): never {
  throw new Error(`language data ${language}: ${path} ${message}`)
}

function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function onlyKeys (language: string, path: string, value: Record<string, unknown>, keys: readonly string[]): void {
  for (const key of Object.keys(value)) if (!keys.includes(key)) fail(language, `${path}${key}`, 'is not a known key')
  for (const key of keys) if (!(key in value)) fail(language, `${path}${key}`, 'is missing')
}

function text (language: string, path: string, value: unknown, placeholders: ReadonlySet<string>): string {
  if (typeof value !== 'string' || value.trim() === '') fail(language, path, 'must be a non-empty string')
  for (const [, name] of value.matchAll(PLACEHOLDER)) {
    if (!placeholders.has(name)) fail(language, path, `has an unknown placeholder {${name}}`)
  }
  return value
}

/** Checks one language's data as read from its file: every key present, nothing unknown, every entry usable. */
export function checkLanguagePack (language: string, data: unknown): LanguagePack {
  if (!isRecord(data)) fail(language, '', 'must be an object')
  onlyKeys(language, '', data, ['templates', 'fallback_message', 'holding_message', 'alert_template', 'words', 'exact'])
  const { templates, words: lists, exact } = data
  if (!isRecord(templates)) fail(language, 'templates', 'must be an object')
  onlyKeys(language, 'templates/', templates, TEMPLATE_NAMES)
  if (!isRecord(lists)) fail(language, 'words', 'must be an object')
  onlyKeys(language, 'words/', lists, WORD_LISTS)
  const vocabulary = new Set<string>()
  for (const list of WORD_LISTS) {
    const entries = lists[list]
    if (!Array.isArray(entries) || entries.length === 0) fail(language, `words/${list}`, 'must be a non-empty array')
    entries.forEach((entry: unknown, i) => {
      if (typeof entry !== 'string' || words(entry).length === 0) fail(language, `words/${list}/${i}`, 'must be a string with at least one word')
      for (const w of words(entry)) vocabulary.add(w)
    })
  }
  if (!Array.isArray(exact)) fail(language, 'exact', 'must be an array')
  exact.forEach((entry: unknown, i) => {
    const ws = typeof entry === 'string' ? words(entry) : []
    if (ws.length !== 1) fail(language, `exact/${i}`, 'must be one word')
    if (!vocabulary.has(ws[0])) fail(language, `exact/${i}`, 'must be a word of one of the lists')
  })
  const pack: LanguagePack = {
    templates: Object.fromEntries(TEMPLATE_NAMES.map((name) => [name, text(language, `templates/${name}`, templates[name], TEMPLATE_PLACEHOLDERS)])) as Record<TemplateName, string>,
    fallback_message: text(language, 'fallback_message', data.fallback_message, new Set()),
    holding_message: text(language, 'holding_message', data.holding_message, new Set()),
    alert_template: text(language, 'alert_template', data.alert_template, ALERT_PLACEHOLDERS),
    words: Object.fromEntries(WORD_LISTS.map((list) => [list, Object.freeze([...(lists[list] as string[])])])) as Record<WordList, readonly string[]>,
    exact: Object.freeze([...(exact as string[])])
  }
  Object.freeze(pack.templates)
  Object.freeze(pack.words)
  return Object.freeze(pack)
}

const DATA: Record<Language, unknown> = { fr, en, es, pt }
const PACKS = Object.fromEntries(LANGUAGES.map((language) => [language, checkLanguagePack(language, DATA[language])])) as Record<Language, LanguagePack>

/** The built-in data of a language (frozen: shared by every account). */
export function languagePack (language: Language): LanguagePack {
  if (!Object.hasOwn(PACKS, language)) throw new Error(`unknown language ${JSON.stringify(language)}`)
  return PACKS[language]
}
