/**
 * One function per provider: a ChatRequest in, the reply's text out, through the provider's official SDK.
 * @see https://github.com/openai/openai-node
 * @see https://github.com/anthropics/anthropic-sdk-typescript
 */
import Anthropic, * as AnthropicErrors from '@anthropic-ai/sdk'
import OpenAI, * as OpenAiErrors from 'openai'
import type { AiFailure, ChatRequest } from './types.js'

export interface ProviderSettings {
  model: string
  /** The provider's own API when unset. */
  baseUrl?: string
  /** None: no authentication header is sent (a local server). */
  apiKey?: string
  timeoutMs: number
}

/** What one attempt is given: the gateway's deadline as a signal, and the time left before it. */
export interface Attempt {
  signal: AbortSignal
  timeoutMs: number
}

export interface ProviderReply {
  text: string
  /** The provider's answer as the SDK parsed it (the audit keeps it). */
  raw: unknown
}

export type ProviderCall = (request: ChatRequest, attempt: Attempt) => Promise<ProviderReply>

/** A 2xx answer without the text where its format puts it. */
export class MalformedReply extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'MalformedReply'
  }
}

const OPENAI_URL = 'https://api.openai.com/v1'
const ANTHROPIC_URL = 'https://api.anthropic.com'
/** Sent when there is no key, then removed by a null header: both SDKs refuse to build a client without a credential. */
const NO_KEY = 'none'

/**
 * The SDKs' own defaults are a 10-minute timeout and 2 automatic retries: both are set here, and the gateway
 * owns the one retry. Every option the SDKs would otherwise read from the process environment (OPENAI_*,
 * ANTHROPIC_*: another key, an organisation, a base URL, a log level) is passed explicitly.
 */
function common (s: ProviderSettings) {
  return {
    timeout: s.timeoutMs,
    maxRetries: 0,
    logLevel: 'off' as const,
    ...(s.apiKey === undefined ? { defaultHeaders: { Authorization: null } } : {})
  }
}

/** Chat Completions: OpenAI, and the servers that speak it (Ollama, vLLM, llama.cpp, Groq, Mistral). */
export function openaiProvider (s: ProviderSettings): ProviderCall {
  const client = new OpenAI({
    ...common(s),
    apiKey: s.apiKey ?? NO_KEY,
    baseURL: s.baseUrl ?? OPENAI_URL,
    adminAPIKey: null,
    organization: null,
    project: null,
    webhookSecret: null
  })
  return async (request, attempt) => {
    const raw = await client.chat.completions.create({
      model: s.model,
      messages: [{ role: 'system', content: request.system }, ...request.messages],
      temperature: request.temperature,
      // `max_tokens`, not `max_completion_tokens`: the one every compatible server reads.
      max_tokens: request.max_tokens
    }, { signal: attempt.signal, timeout: attempt.timeoutMs, maxRetries: 0 })
    const content: unknown = (raw as { choices?: Array<{ message?: { content?: unknown } }> } | null)?.choices?.[0]?.message?.content
    if (typeof content !== 'string') throw new MalformedReply('no choices[0].message.content in the answer')
    return { text: content, raw }
  }
}

/** Messages. The request's `temperature` applies to the Chat Completions servers only. */
export function anthropicProvider (s: ProviderSettings): ProviderCall {
  const client = new Anthropic({
    ...common(s),
    apiKey: s.apiKey ?? NO_KEY,
    baseURL: s.baseUrl ?? ANTHROPIC_URL,
    webhookKey: null,
    openTelemetry: false
  })
  return async (request, attempt) => {
    const raw = await client.messages.create({
      model: s.model,
      system: request.system,
      messages: request.messages,
      // No `temperature`: the Messages API deprecated it and this SDK no longer sends it.
      max_tokens: request.max_tokens
    }, { signal: attempt.signal, timeout: attempt.timeoutMs, maxRetries: 0 })
    const blocks: unknown = (raw as { content?: unknown } | null)?.content
    const texts = Array.isArray(blocks)
      ? blocks.filter((b): b is { type: 'text', text: string } => b?.type === 'text' && typeof b.text === 'string').map((b) => b.text)
      : []
    if (texts.length === 0) throw new MalformedReply('no text block in the answer\'s content')
    return { text: texts.join(''), raw }
  }
}

/** Why an attempt failed, and whether one more attempt may help (429, 5xx, the network). */
export function classify (err: unknown): { reason: AiFailure, retryable: boolean } {
  if (err instanceof MalformedReply || err instanceof SyntaxError) return { reason: 'malformed', retryable: false }
  for (const sdk of [OpenAiErrors, AnthropicErrors]) {
    // The gateway's deadline is the only signal given to the SDKs, and each SDK's timeout is the time left before it.
    if (err instanceof sdk.APIUserAbortError || err instanceof sdk.APIConnectionTimeoutError) return { reason: 'timeout', retryable: false }
    if (err instanceof sdk.APIConnectionError) return { reason: 'network', retryable: true }
    if (err instanceof sdk.APIError) {
      const status = err.status ?? 0
      if (status === 429) return { reason: 'rate_limited', retryable: true }
      if (status >= 500) return { reason: 'server_error', retryable: true }
      return { reason: 'rejected', retryable: false }
    }
  }
  return { reason: 'network', retryable: true }
}
