/** The bot's settings of an account: their defaults, copies, the stored form and the answered form. */
import { SECRET_MASK, WEEK_DAYS, type Account, type AccountSettings } from './types.js'

/** The settings of an account that never set them (README, "Account settings"). */
export function defaultSettings (): AccountSettings {
  return {
    language: 'fr',
    active_hours: { start: '09:00', end: '18:00', days: [...WEEK_DAYS] },
    outside_hours: 'delay',
    ai: { enabled: true, tone: 'professional and friendly', max_length: 500, temperature: 0.3, reask: 1 },
    alert_numbers: [],
    alert_webhooks: [],
    escalation: { max_misunderstandings: 3, sensitive_keywords: ['avocat', 'tribunal', 'police'], reply: 'none' },
    forbidden_words: [],
    allowed_domains: [],
    human_takeover_minutes: 60,
    session_expiry_minutes: 1440,
    typing: { enabled: true, chars_per_second: 12, max_seconds: 15 },
    fallback_message: null,
    automation: 'on'
  }
}

/** A copy that shares nothing mutable with `s` (the account cache hands these out). */
export function copySettings (s: AccountSettings): AccountSettings {
  return {
    language: s.language,
    active_hours: typeof s.active_hours === 'string' ? s.active_hours : { ...s.active_hours, days: [...s.active_hours.days] },
    outside_hours: s.outside_hours,
    ai: { ...s.ai },
    alert_numbers: [...s.alert_numbers],
    alert_webhooks: s.alert_webhooks.map((w) => ({ ...w })),
    escalation: { ...s.escalation, sensitive_keywords: [...s.escalation.sensitive_keywords] },
    forbidden_words: [...s.forbidden_words],
    allowed_domains: [...s.allowed_domains],
    human_takeover_minutes: s.human_takeover_minutes,
    session_expiry_minutes: s.session_expiry_minutes,
    typing: { ...s.typing },
    fallback_message: s.fallback_message,
    automation: s.automation
  }
}

const SETTING_KEYS = Object.keys(defaultSettings()) as Array<keyof AccountSettings>
const NESTED = ['ai', 'escalation', 'typing'] as const

/** Just the settings of an account (or of anything that has them). */
export function settingsOf (a: AccountSettings): AccountSettings {
  return Object.fromEntries(SETTING_KEYS.map((k) => [k, a[k]])) as unknown as AccountSettings
}

export const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)

/**
 * Settings as stored (a JSON document), with the defaults filled in for what it lacks: accounts stored
 * before a setting existed read as if they had the default.
 */
export function settingsFromStored (stored: unknown): AccountSettings {
  const raw = typeof stored === 'string' ? JSON.parse(stored) as unknown : stored
  const doc = isRecord(raw) ? raw : {}
  const out = defaultSettings() as unknown as Record<string, unknown>
  for (const key of SETTING_KEYS) {
    if (!Object.hasOwn(doc, key)) continue
    const value = doc[key]
    out[key] = (NESTED as readonly string[]).includes(key) && isRecord(value) ? { ...(out[key] as object), ...value } : value
  }
  return out as unknown as AccountSettings
}

/** The settings as stored: a JSON document of every setting. */
export function settingsToStored (a: AccountSettings): string {
  return JSON.stringify(settingsOf(a))
}

/** An account as answered. */
export type PublicAccount = Omit<Account, 'alert_webhooks'> & { alert_webhooks: Array<{ url: string, secret: typeof SECRET_MASK }> }

/** The account as answered: webhook secrets are write-only. */
export function publicAccount (a: Account): PublicAccount {
  return { ...a, alert_webhooks: a.alert_webhooks.map((w) => ({ url: w.url, secret: SECRET_MASK })) }
}

/** The account's configuration as a PUT body would give it (what a PATCH applies to), secrets masked: they keep the stored ones. */
export function accountAsInput (a: Account): Record<string, unknown> {
  const { id: _id, created_at: _created, ...config } = publicAccount(a)
  return JSON.parse(JSON.stringify(config)) as Record<string, unknown>
}
