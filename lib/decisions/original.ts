/**
 * The original's stateless decision (`POST /api/v1/decision`): its four rules over what the caller says
 * about hours, quota and sentiment, plus what the account's matcher finds in the message. It reads no
 * stored state and writes none: no conversation moves, no quota is consumed.
 */
import { ORIGINAL_STATES, STATES, type State } from '../conversations/machine.js'
import type { Analysis, CompiledKnowledge } from '../knowledge/matcher.js'
import { BadRequest } from '../shared/errors.js'

/** The original's closed set of actions, in its PascalCase spelling (its four rules answer four of them). */
export const ORIGINAL_ACTIONS = ['RespondText', 'RespondWithMedia', 'Ignore', 'Delay', 'AlertHuman', 'StopAutomation'] as const
export type OriginalAction = typeof ORIGINAL_ACTIONS[number]

/** The sentiments that raise an alert, as the gateway's analysis names them (compared case-insensitively). */
export const ALERT_SENTIMENTS = ['anger', 'threat'] as const
type AlertSentiment = typeof ALERT_SENTIMENTS[number]

/** The original's fixed wait when no quota is left. */
export const NO_QUOTA_DETAILS = '3600 seconds'
export const OUTSIDE_HOURS_DETAILS = 'outside_active_hours'

export interface OriginalDecisionInput {
  incoming_message: string
  quotas_available: boolean
  is_active_hours: boolean
  /** Any string: only `anger` and `threat` (any case) mean something; others ("neutral", "joy") raise nothing. */
  sentiment_detected?: string | null
}

export interface OriginalDecision {
  action: OriginalAction
  /** Why: `outside_active_hours`, `3600 seconds`, the alert's reason; null for a reply. */
  details: string | null
}

/**
 * A conversation state named in either style (`Discovery` or `discovery`). The original's rules do not read
 * it, but an unknown one is still a 400, as on the transition route: a typo must not pass unnoticed.
 */
export function originalState (name: string): State {
  if (Object.hasOwn(ORIGINAL_STATES, name)) return ORIGINAL_STATES[name]
  if ((STATES as readonly string[]).includes(name)) return name as State
  throw BadRequest(`body/conversation_state ${JSON.stringify(name)} is not a state: one of ${STATES.join(', ')} (or ${Object.keys(ORIGINAL_STATES).join(', ')})`)
}

type Severity = 'critical' | 'high'
const RANK: Record<Severity, number> = { critical: 0, high: 1 }
/** As the matcher's triggers of the same name (README, "Alerts"). */
const SENTIMENT_SEVERITY: Record<AlertSentiment, Severity> = { threat: 'critical', anger: 'high' }

/**
 * The alert's reason, or null. The gateway's sentiment and the matcher's trigger can both be present; the
 * more severe one is named (README, "Alerts": threat and legal words are critical, anger and sensitive words high, as is
 * an angry sentiment), and on a tie the message's own trigger, which says more than a sentiment.
 */
function alertReason (input: OriginalDecisionInput, matcher: Pick<CompiledKnowledge, 'analyse'>): string | null {
  const found: Analysis['alert'] = matcher.analyse(input.incoming_message).alert
  const sentiment = input.sentiment_detected?.toLowerCase() ?? ''
  const felt = (ALERT_SENTIMENTS as readonly string[]).includes(sentiment)
    ? { reason: `sentiment:${sentiment}`, severity: SENTIMENT_SEVERITY[sentiment as AlertSentiment] }
    : null
  if (found !== null && (felt === null || RANK[found.severity] <= RANK[felt.severity])) return found.trigger
  return felt?.reason ?? null
}

/** The original's four rules, in its order; the first that applies decides. */
export function decideOriginal (input: OriginalDecisionInput, matcher: Pick<CompiledKnowledge, 'analyse'>): OriginalDecision {
  if (!input.is_active_hours) return { action: 'Ignore', details: OUTSIDE_HOURS_DETAILS }
  if (!input.quotas_available) return { action: 'Delay', details: NO_QUOTA_DETAILS }
  const reason = alertReason(input, matcher)
  if (reason !== null) return { action: 'AlertHuman', details: reason }
  return { action: 'RespondText', details: null }
}
