/**
 * The conversation's states and the one transition table: a pure function, so the pipeline, the original's
 * stateless route and the tests all read the same cells.
 */
import { BadRequest } from '../shared/errors.js'

export const STATES = ['discovery', 'interest', 'intent', 'objection', 'negative', 'escalated', 'frozen'] as const
export type State = typeof STATES[number]

export const EVENTS = [
  'product_question', 'price_interest', 'purchase_intent', 'objection_raised', 'negative_response', 'threat_detected', 'freeze'
] as const
export type ConversationEvent = typeof EVENTS[number]

/** `null`: the state stays as it is. One row per state, one cell per event, in EVENTS order. */
const TABLE: Record<State, ReadonlyArray<State | null>> = {
  //           product_q.  price       purchase    objection    negative    threat       freeze
  discovery: ['interest', 'interest', 'intent', 'objection', 'negative', 'escalated', 'frozen'],
  interest: [null, 'intent', 'intent', 'objection', 'negative', 'escalated', 'frozen'],
  intent: [null, null, null, 'objection', 'negative', 'escalated', 'frozen'],
  objection: ['interest', null, 'intent', null, 'negative', 'escalated', 'frozen'],
  negative: [null, null, null, null, null, 'escalated', 'frozen'],
  escalated: [null, null, null, null, null, null, 'frozen'],
  frozen: [null, null, null, null, null, null, null]
}

/** The state after `event`. `escalated` and `frozen` are left only by an operator (resume → `discovery`). */
export function transition (state: State, event: ConversationEvent): State {
  return TABLE[state][EVENTS.indexOf(event)] ?? state
}

/** The original's PascalCase names (`Discovery`, `ProductQuestion`, …) of our snake_case ones. */
const pascal = (name: string): string => name.split('_').map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('')

export const ORIGINAL_STATES: Readonly<Record<string, State>> = Object.fromEntries(STATES.map((s) => [pascal(s), s]))
export const ORIGINAL_EVENTS: Readonly<Record<string, ConversationEvent>> = Object.fromEntries(EVENTS.map((e) => [pascal(e), e]))

/**
 * The original's stateless transition, in whichever style it was asked: PascalCase names answer PascalCase,
 * ours answer ours. An unknown state or event is a 400 naming the field and the names it may take.
 */
export function transitionByName (currentState: string, event: string): string {
  const original = Object.hasOwn(ORIGINAL_STATES, currentState)
  const state = original ? ORIGINAL_STATES[currentState] : (STATES as readonly string[]).includes(currentState) ? currentState as State : null
  if (state === null) {
    throw BadRequest(`body/current_state ${JSON.stringify(currentState)} is not a state: one of ${STATES.join(', ')} (or ${Object.keys(ORIGINAL_STATES).join(', ')})`)
  }
  const found = Object.hasOwn(ORIGINAL_EVENTS, event) ? ORIGINAL_EVENTS[event] : (EVENTS as readonly string[]).includes(event) ? event as ConversationEvent : null
  if (found === null) {
    throw BadRequest(`body/event ${JSON.stringify(event)} is not an event: one of ${EVENTS.join(', ')} (or ${Object.keys(ORIGINAL_EVENTS).join(', ')})`)
  }
  const next = transition(state, found)
  return original ? pascal(next) : next
}
