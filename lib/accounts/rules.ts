import { BadRequest } from '../shared/errors.js'
import { isValidTimeZone, parseResetTime } from '../periods/periods.js'
import { InvalidAccountId } from './errors.js'
import { ACCOUNT_ID_PATTERN, type AccountConfig, type AccountInput } from './types.js'

const ACCOUNT_ID = new RegExp(ACCOUNT_ID_PATTERN)

export function assertAccountId (id: string, field = 'account'): void {
  if (!ACCOUNT_ID.test(id)) throw InvalidAccountId(field)
}

/** The configuration a PUT asks for, over `base`, checked for what JSON Schema cannot say. */
export function resolveConfig (input: AccountInput, base: AccountConfig): AccountConfig {
  const config: AccountConfig = {
    timezone: input.timezone ?? base.timezone,
    reset_time: input.reset_time ?? base.reset_time,
    week_start: input.week_start ?? base.week_start,
    limits: { ...base.limits, ...input.limits },
    delays: { ...base.delays, ...input.delays }
  }
  if (!isValidTimeZone(config.timezone)) throw BadRequest(`timezone ${JSON.stringify(config.timezone)} is not a known IANA time zone`)
  if (parseResetTime(config.reset_time) === null) throw BadRequest('reset_time must be HH:MM, from 00:00 to 23:59')
  if (config.delays.min_seconds > config.delays.max_seconds) throw BadRequest('delays.min_seconds must not exceed delays.max_seconds')
  return config
}
