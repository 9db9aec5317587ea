/**
 * In-process micro-benchmark of output validation (lib/validation/rules.ts): validate() of a 500-character
 * reply against a generated knowledge base of 1 000 products, and the compile time of that knowledge base's
 * rules. Printed by `npm run bench`; alone: `node dist/bench/validate.js [--quick]`.
 */
import { performance } from 'node:perf_hooks'
import { pathToFileURL } from 'node:url'
import type { KnowledgeBase } from '../lib/knowledge/types.js'
import { compileValidator, type ValidationSettings } from '../lib/validation/rules.js'
import { generatedKnowledge } from './match.js'
import { percentile } from './stats.js'

export const VALIDATE_TARGET_MS = 0.2
export const VALIDATOR_COMPILE_TARGET_MS = 100

const SETTINGS: ValidationSettings = { language: 'fr', max_length: 500, forbidden_words: ['jumia', 'concurrent'], allowed_domains: ['boutique.example'] }

/** The generated catalogue with what a reply is checked against: media hosts, a promise in a description, a FAQ with a phone number. */
function benchKnowledge (): KnowledgeBase {
  const kb = generatedKnowledge(1000)
  kb.products.forEach((p, i) => {
    p.media = [{ id: 'photo', type: 'image', url: `https://cdn.boutique.example/p/${i}.jpg` }]
    p.short_description = i % 2 === 0 ? 'Un produit, livraison gratuite à Dakar.' : 'Un produit.'
  })
  kb.faq.push({ id: 'contact', triggers: ['contact'], answer: 'Appelez le +221 77 123 45 67 ou écrivez à contact@boutique.example.' })
  return kb
}

/**
 * A 500-character reply as an AI would write it: the matched product's name, its price in another format, a
 * promise of its facts, its photo, the shop's phone number, and words that contain forbidden ones ("aider",
 * "confiance"). It must pass: the figure is the whole path, every rule run to the end.
 */
export function sampleReply (kb: KnowledgeBase): string {
  const p = kb.products[18]
  const base = `Bonjour ! Le ${p.name} est disponible au prix de ${p.price.slice(0, 1)} ${p.price.slice(1)} FCFA, livraison gratuite à Dakar sous 48 h. ` +
    `Voici la photo : ${p.media[0].url} ! Il convient à toute la famille et s'applique matin et soir sur une peau propre. ` +
    'Pour commander, envoyez votre nom, votre adresse et la quantité souhaitée ; le paiement se fait à la livraison. ' +
    'Nous pouvons vous aider au +221 77 123 45 67, en toute confiance. À très bientôt chez Boutique, et merci pour votre fidélité !'
  return (base + ' Merci encore.'.repeat(40)).slice(0, 500)
}

export interface ValidateFigures {
  validate_median_ms: number
  validate_p99_ms: number
  compile_median_ms: number
  products: number
  text_chars: number
  runs: number
}

export function validateBench (quick: boolean): ValidateFigures {
  const kb = benchKnowledge()
  const compiles = quick ? 5 : 20
  const compileTimes: number[] = []
  // Warm-up: the first compiles run before the JIT has optimised the code, as no long-running server does.
  let validator = compileValidator(kb, 1, SETTINGS)
  for (let i = 0; i < 2; i++) validator = compileValidator(kb, 1, SETTINGS)
  for (let i = 0; i < compiles; i++) {
    const start = performance.now()
    validator = compileValidator(kb, i + 2, SETTINGS)
    compileTimes.push(performance.now() - start)
  }
  const text = sampleReply(kb)
  const context = { matched_products: [kb.products[18].id] }
  const check = validator.validate(text, context)
  if (!check.valid) throw new Error(`the bench reply must pass, got ${JSON.stringify(check.violations)}`)
  if (validator.validate(text.replace('FCFA', '€'), context).valid) throw new Error('the bench reply with a wrong currency must fail')
  const runs = quick ? 2000 : 20000
  for (let i = 0; i < 500; i++) validator.validate(text, context)
  const times = new Array<number>(runs)
  for (let i = 0; i < runs; i++) {
    const start = performance.now()
    validator.validate(text, context)
    times[i] = performance.now() - start
  }
  times.sort((a, b) => a - b)
  compileTimes.sort((a, b) => a - b)
  return {
    validate_median_ms: percentile(times, 0.5),
    validate_p99_ms: percentile(times, 0.99),
    compile_median_ms: percentile(compileTimes, 0.5),
    products: kb.products.length,
    text_chars: [...text].length,
    runs
  }
}

export function validateLines (f: ValidateFigures): string[] {
  const verdict = (ok: boolean): string => ok ? 'met' : 'MISSED'
  return [
    `validation: validate() of a ${f.text_chars}-character reply against ${f.products} products, ${f.runs} runs: ` +
      `median ${f.validate_median_ms.toFixed(4)} ms, p99 ${f.validate_p99_ms.toFixed(4)} ms`,
    `validation validate() median < ${VALIDATE_TARGET_MS} ms: ${verdict(f.validate_median_ms < VALIDATE_TARGET_MS)} (${f.validate_median_ms.toFixed(4)} ms; p99 ${f.validate_p99_ms.toFixed(4)} ms)`,
    `validation compile of a ${f.products}-product knowledge base < ${VALIDATOR_COMPILE_TARGET_MS} ms: ${verdict(f.compile_median_ms < VALIDATOR_COMPILE_TARGET_MS)} (median ${f.compile_median_ms.toFixed(1)} ms)`
  ]
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(validateLines(validateBench(process.argv.includes('--quick'))).join('\n') + '\n')
}
