/**
 * `npm run fake-ai`: the AI test double (lib/ai/fake-server.ts) on PORT (11435 unless set), to run Sellify's AI
 * path end to end without an AI account. Ends on Ctrl-C.
 */
import { byMarker, FAKE_REPLY_NAMES, startFakeAi } from '../lib/ai/fake-server.js'

const port = Number(process.env.PORT ?? 11435)
if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be a port number, got ${JSON.stringify(process.env.PORT)}`)
const host = process.env.HOST ?? '127.0.0.1'

const fake = await startFakeAi({
  port,
  host,
  record: false,
  script: (request) => {
    const reply = byMarker(request)
    process.stdout.write(`${request.api === 'openai' ? 'POST /v1/chat/completions' : 'POST /v1/messages'} (model ${String(request.body.model)}) → ${reply}\n`)
    return reply
  }
})

process.stdout.write([
  `Fake AI listening on ${fake.url}`,
  '',
  'Point Sellify at it, in the OpenAI wire format:',
  `  SELLIFY_AI_PROVIDER=openai SELLIFY_AI_BASE_URL=${fake.url}/v1 SELLIFY_AI_MODEL=fake npm start`,
  'or in the Anthropic one:',
  `  SELLIFY_AI_PROVIDER=anthropic SELLIFY_AI_BASE_URL=${fake.url} SELLIFY_AI_MODEL=fake npm start`,
  '',
  `Replies: a [fake:<name>] marker in a customer's message picks one of ${FAKE_REPLY_NAMES.join(', ')}; without one, good.`,
  ''
].join('\n'))

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => { fake.close().then(() => process.exit(0), () => process.exit(1)) })
}
