import { BadRequest } from '../shared/errors.js'
import { compileStrict, describeValidation } from '../shared/validation.js'
import { isValidTimeZone, parseResetTime } from '../periods/periods.js'
import { InvalidAccountId } from './errors.js'
import { AccountBodySchema } from './schema.js'
import { defaultSettings, isRecord } from './settings.js'
import {
  ACCOUNT_ID_PATTERN, SECRET_MASK,
  type Account, type AccountConfig, type ActiveHours, type AccountConfiguration, type AccountInput, type AccountSettings, type AlertWebhook
} from './types.js'

const ACCOUNT_ID = new RegExp(ACCOUNT_ID_PATTERN)
const MIN_SECRET_LENGTH = 16

export function assertAccountId (id: string, field = 'account'): void {
  if (!ACCOUNT_ID.test(id)) throw InvalidAccountId(field)
}

/** Whether a body carries a masked webhook secret (so the stored ones are needed to resolve it). */
export function hasMaskedSecret (input: AccountInput): boolean {
  return input.alert_webhooks?.some((w) => w.secret === SECRET_MASK) ?? false
}

/** `null` or "always": always open; an object fills what it omits from the default hours. */
function activeHours (input: AccountInput['active_hours']): AccountSettings['active_hours'] {
  if (input === null || input === 'always') return 'always'
  const d = defaultSettings().active_hours as ActiveHours
  const hours = { start: input?.start ?? d.start, end: input?.end ?? d.end, days: [...(input?.days ?? d.days)] }
  if (hours.start === hours.end) throw BadRequest(`body/active_hours/end must differ from body/active_hours/start (${hours.start}); use "always" for always open`)
  return hours
}

/** Secrets given as the mask keep the stored secret of the webhook with the same URL. */
function webhooks (input: AlertWebhook[], previous: Account | null, checkUrl?: (url: string) => string | null): AlertWebhook[] {
  const seen = new Set<string>()
  return input.map(({ url, secret }, i) => {
    const at = `body/alert_webhooks/${i}`
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      throw BadRequest(`${at}/url is not a valid URL`)
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw BadRequest(`${at}/url must be an http(s) URL`)
    const refused = checkUrl?.(url) ?? null
    if (refused !== null) throw BadRequest(`${at}/url is refused: ${refused}`)
    if (seen.has(url)) throw BadRequest(`${at}/url is listed twice`)
    seen.add(url)
    if (secret === SECRET_MASK) {
      const kept = previous?.alert_webhooks.find((w) => w.url === url)
      if (kept === undefined) throw BadRequest(`${at}/secret is "${SECRET_MASK}" but no stored webhook has this url: send the secret itself`)
      return { url, secret: kept.secret }
    }
    if (secret.length < MIN_SECRET_LENGTH) throw BadRequest(`${at}/secret must NOT have fewer than ${MIN_SECRET_LENGTH} characters`)
    return { url, secret }
  })
}

/**
 * The configuration a PUT asks for, over `base` (omitted fields take the defaults), checked for what JSON
 * Schema cannot say. `previous` is the stored account, whose webhook secrets a masked secret keeps.
 */
export function resolveConfig (input: AccountInput, base: AccountConfig, previous: Account | null = null, checkUrl?: (url: string) => string | null): AccountConfiguration {
  const d = defaultSettings()
  const config: AccountConfiguration = {
    timezone: input.timezone ?? base.timezone,
    reset_time: input.reset_time ?? base.reset_time,
    week_start: input.week_start ?? base.week_start,
    limits: { ...base.limits, ...input.limits },
    delays: { ...base.delays, ...input.delays },
    // An existing account keeps whether it warms up unless told: an established number is never throttled by a PUT that omits it.
    warmup: { ...base.warmup, enabled: previous?.warmup.enabled ?? base.warmup.enabled, ...input.warmup },
    language: input.language ?? d.language,
    active_hours: activeHours(input.active_hours),
    outside_hours: input.outside_hours ?? d.outside_hours,
    ai: { ...d.ai, ...input.ai },
    alert_numbers: [...(input.alert_numbers ?? d.alert_numbers)],
    alert_webhooks: webhooks(input.alert_webhooks ?? d.alert_webhooks, previous, checkUrl),
    escalation: { ...d.escalation, ...input.escalation },
    forbidden_words: [...(input.forbidden_words ?? d.forbidden_words)],
    allowed_domains: [...(input.allowed_domains ?? d.allowed_domains)],
    human_takeover_minutes: input.human_takeover_minutes ?? d.human_takeover_minutes,
    session_expiry_minutes: input.session_expiry_minutes ?? d.session_expiry_minutes,
    typing: { ...d.typing, ...input.typing },
    fallback_message: input.fallback_message === undefined ? d.fallback_message : input.fallback_message,
    automation: input.automation ?? d.automation
  }
  config.escalation.sensitive_keywords = [...config.escalation.sensitive_keywords]
  if (!isValidTimeZone(config.timezone)) throw BadRequest(`timezone ${JSON.stringify(config.timezone)} is not a known IANA time zone`)
  if (parseResetTime(config.reset_time) === null) throw BadRequest('reset_time must be HH:MM, from 00:00 to 23:59')
  if (config.delays.min_seconds > config.delays.max_seconds) throw BadRequest('delays.min_seconds must not exceed delays.max_seconds')
  return config
}

const validateBody = compileStrict(AccountBodySchema)

/** A configuration built in code (a PATCH's result) checked exactly as a PUT body is. */
export function checkAccountBody (body: unknown): AccountInput {
  if (!isRecord(body)) throw BadRequest('body must be object')
  if (!validateBody(body)) throw BadRequest(describeValidation(validateBody.errors ?? [], 'body'))
  return body as AccountInput
}
