/**
 * How a reply's text is written once the pipeline has decided to reply: the AI writes, the text is validated,
 * a rejected text is asked for once more naming what was wrong (`ai.reask` times), and when no AI text passes,
 * the template answers, and when the template does not pass either, the fallback message. Nothing the AI
 * wrote leaves unless it passed every rule.
 */
import { chatRequest, type Prompt } from './prompt.js'
import type { AiResult, ChatRequest } from './types.js'

export interface Violation { rule: string, detail: string }
export interface Checked { valid: boolean, violations: Violation[] }

export type ReplySource = 'ai' | 'template' | 'fallback'

export interface ReplyInput {
  prompt: Prompt
  settings: { temperature: number, max_length: number, reask: number }
  /** The AI (the gateway's `complete`), or null when the account or the service has none. */
  complete: ((request: ChatRequest) => Promise<AiResult>) | null
  /** The account's validation of a text (lib/validation). */
  validate: (text: string) => Checked | Promise<Checked>
  /** The template's text for this state and match, or null when there is none. */
  template: string | null
  fallback: string
  /** How the re-ask names the violations, in the account's language. */
  reaskText: (violations: readonly Violation[]) => string
}

export interface ReplyAttempt {
  source: ReplySource
  /** The AI's raw answer text, or the template's; null when the AI gave none. */
  text: string | null
  /** Why the AI gave no text. */
  failure?: string
  violations: Violation[]
}

export interface Reply {
  text: string
  source: ReplySource
  /** What the decision's `validation` shows: whether the sent text passed first time, and every attempt. */
  validation: { valid: boolean, violations: Violation[], attempts: number }
  attempts: ReplyAttempt[]
  /** The last request sent to the AI (for the audit record), null when none was. */
  ai_prompt: ChatRequest | null
}

export async function writeReply (input: ReplyInput): Promise<Reply> {
  const attempts: ReplyAttempt[] = []
  let request: ChatRequest | null = null
  if (input.complete !== null) {
    let prompt = input.prompt
    for (let round = 0; round <= Math.max(0, input.settings.reask); round++) {
      request = chatRequest(prompt, input.settings)
      const result = await input.complete(request)
      if (!result.ok) {
        attempts.push({ source: 'ai', text: null, failure: result.reason, violations: [] })
        break
      }
      const checked = await input.validate(result.text)
      attempts.push({ source: 'ai', text: result.text, violations: checked.violations })
      if (checked.valid) return done(result.text.trim(), 'ai')
      // Asked again with what was wrong, after what it answered: the same conversation, one turn longer.
      prompt = {
        system: prompt.system,
        messages: [...prompt.messages, { role: 'assistant', content: result.text }, { role: 'user', content: input.reaskText(checked.violations) }]
      }
    }
  }
  if (input.template !== null) {
    const checked = await input.validate(input.template)
    attempts.push({ source: 'template', text: input.template, violations: checked.violations })
    if (checked.valid) return done(input.template, 'template')
  }
  return done(input.fallback, 'fallback')

  function done (text: string, source: ReplySource): Reply {
    const first = attempts[0]
    return {
      text,
      source,
      validation: { valid: first === undefined || (first.failure === undefined && first.violations.length === 0), violations: attempts.flatMap((a) => a.violations), attempts: attempts.length },
      attempts,
      ai_prompt: request
    }
  }
}

export { reaskText } from './prompt.js'
