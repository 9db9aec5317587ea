import type { Account } from '../accounts/types.js'
import { languagePack } from '../knowledge/language.js'
import { LANGUAGES, type Language, type VersionedKnowledge } from '../knowledge/types.js'
import { createEvents } from '../shared/events.js'
import { UnknownMatchedProduct } from './errors.js'
import { compileValidator, violationMessage, type CompiledValidator, type Rule, type ValidationContext, type ValidationResult, type ValidationSettings } from './rules.js'

/** Compiled validators kept (one per account); the least recently used goes first. */
const CACHE_MAX = 1000
const DEFAULT_LANGUAGE: Language = 'fr'
const DEFAULT_MAX_LENGTH = 500

export interface ValidationServiceOptions {
  /** The account a request acts on: `default` when none is named (created on first use), else one that exists. */
  accounts: { get: (id?: string) => Promise<Account> }
  /**
   * The knowledge base: `compiled` tells its current version cheaply (the matcher is cached per version, and
   * another instance's change is seen within its trust window); `get` reads it when that version is new here.
   */
  knowledge: {
    compiled: (account?: string) => Promise<{ readonly version: number }>
    get: (account?: string) => Promise<VersionedKnowledge>
  }
  cacheMax?: number
}

export interface ValidateInput extends ValidationContext {
  account?: string
  text: string
}

export interface ValidationOutcome extends ValidationResult {
  /** The text when it may be sent as it is, else null. */
  validated_text: string | null
  /** The first violation in one sentence, or null. */
  error: string | null
  /** What to send instead: the account's `fallback_message`, else its language's. */
  fallback_text: string
}

/** What observers (the metrics) are told of each validation: the rules broken, never the text or the account. */
export interface ValidationEvent {
  valid: boolean
  rules: Rule[]
}

const strings = (value: unknown): string[] => Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []

/** What the rules take of an account; read defensively (an older row may lack a setting). */
export function validationSettings (account: Account): ValidationSettings {
  const a = account as Partial<Account> & { language?: unknown, ai?: { max_length?: unknown }, forbidden_words?: unknown, allowed_domains?: unknown }
  const max = a.ai?.max_length
  return {
    language: (LANGUAGES as readonly unknown[]).includes(a.language) ? a.language as Language : DEFAULT_LANGUAGE,
    max_length: typeof max === 'number' && Number.isInteger(max) && max > 0 ? max : DEFAULT_MAX_LENGTH,
    forbidden_words: strings(a.forbidden_words),
    allowed_domains: strings(a.allowed_domains)
  }
}

/** The message sent when no checked text can be: the account's own, else its language's. */
export function fallbackText (account: Account): string {
  const own = (account as Partial<Account>).fallback_message
  return typeof own === 'string' && own !== '' ? own : languagePack(validationSettings(account).language).fallback_message
}

interface Entry {
  /** The settings it was compiled with, and the account's creation (a re-created account is new). */
  key: string
  validator: CompiledValidator
}

/**
 * Output validation: every text an AI wrote is checked against the account's knowledge base and settings
 * before it can be sent. The rules are compiled once per (account, knowledge-base version, settings).
 */
export function createValidationService (options: ValidationServiceOptions) {
  const { accounts, knowledge } = options
  const cacheMax = options.cacheMax ?? CACHE_MAX
  const cache = new Map<string, Entry>()
  const events = createEvents<ValidationEvent>()

  /** The account and its compiled rules, for its current knowledge base and settings. */
  async function validator (account?: string): Promise<{ account: Account, validator: CompiledValidator }> {
    const owner = await accounts.get(account)
    const settings = validationSettings(owner)
    const key = JSON.stringify([settings, owner.created_at])
    const { version } = await knowledge.compiled(owner.id)
    const hit = cache.get(owner.id)
    // Versions only grow: an entry compiled from a newer read than the matcher's cached version is current.
    if (hit !== undefined && hit.key === key && hit.validator.version >= version) {
      cache.delete(owner.id)
      cache.set(owner.id, hit)
      return { account: owner, validator: hit.validator }
    }
    const kb = await knowledge.get(owner.id)
    const compiled = compileValidator(kb, kb.version, settings)
    cache.delete(owner.id)
    if (cache.size >= cacheMax) cache.delete(cache.keys().next().value as string)
    cache.set(owner.id, { key, validator: compiled })
    return { account: owner, validator: compiled }
  }

  return {
    validator,

    /**
     * Checks a text for the account. With `strict`, a matched product the knowledge base lacks is a 400 naming
     * `body/matched_products/<i>` (what the HTTP route wants); otherwise it is left out.
     */
    async validate (input: ValidateInput, { strict = false }: { strict?: boolean } = {}): Promise<ValidationOutcome> {
      const { account, validator: rules } = await validator(input.account)
      if (strict) {
        input.matched_products?.forEach((id, i) => {
          if (!rules.hasProduct(id)) throw UnknownMatchedProduct(`body/matched_products/${i}`, id)
        })
      }
      const result = rules.validate(input.text, input)
      events.emit({ valid: result.valid, rules: result.violations.map((v) => v.rule) })
      return {
        valid: result.valid,
        validated_text: result.valid ? input.text : null,
        error: result.violations.length === 0 ? null : violationMessage(result.violations[0]),
        violations: result.violations,
        fallback_text: fallbackText(account)
      }
    },

    /** Forget what is compiled for the account (it was deleted or its settings changed). */
    forget (account: string): void {
      cache.delete(account)
    },

    observe: events.observe
  }
}

export type ValidationService = ReturnType<typeof createValidationService>
