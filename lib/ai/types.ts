/** The AI gateway's shapes: providers, a chat request, and what a call answers. */

export const AI_PROVIDERS = ['none', 'openai', 'anthropic'] as const
export type AiProvider = typeof AI_PROVIDERS[number]

/** The states whose reply the AI may write, each with its objective in the prompt. */
export const OBJECTIVES = ['discovery', 'interest', 'intent', 'objection'] as const
export type Objective = typeof OBJECTIVES[number]

export interface ChatMessage {
  role: 'user' | 'assistant'
  content: string
}

/** One request to a provider, the same for every provider. */
export interface ChatRequest {
  system: string
  messages: ChatMessage[]
  temperature: number
  max_tokens: number
}

/** Why a call gave no text. `closed`: the gateway was closed while the call waited. */
export const AI_FAILURES = ['disabled', 'circuit_open', 'busy', 'timeout', 'rate_limited', 'server_error', 'network', 'malformed', 'rejected', 'closed'] as const
export type AiFailure = typeof AI_FAILURES[number]

export type AiResult =
  | { ok: true, text: string, raw: unknown, attempts: number, duration_ms: number }
  | { ok: false, reason: AiFailure, attempts: number, duration_ms: number }

/**
 * The AI settings of the environment. `apiKey` is a non-enumerable property (see `aiSettings`), so a config
 * that is logged, spread or serialised never carries it.
 */
export interface AiSettings {
  provider: AiProvider
  /** The provider's own API when unset. */
  baseUrl?: string
  model?: string
  /** One call, queueing and the retry included. */
  timeoutMs: number
  readonly apiKey?: string
}

/** The settings with the key attached out of sight of JSON.stringify, object spread and util.inspect. */
export function aiSettings (settings: Omit<AiSettings, 'apiKey'>, apiKey: string | undefined): AiSettings {
  const copy = { ...settings }
  Object.defineProperty(copy, 'apiKey', { value: apiKey, enumerable: false, writable: false, configurable: false })
  return copy
}
