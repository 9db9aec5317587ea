/**
 * In-process micro-benchmark of the matcher (lib/knowledge/matcher.ts): analyse() of a 500-character
 * message against a generated knowledge base of 1 000 products × 10 keywords, and the compile time of
 * that knowledge base. Printed by `npm run bench`; alone: `node dist/bench/match.js [--quick]`.
 */
import { performance } from 'node:perf_hooks'
import { pathToFileURL } from 'node:url'
import { compileKnowledge } from '../lib/knowledge/matcher.js'
import type { KnowledgeBase, Product } from '../lib/knowledge/types.js'
import { seededRandom } from '../lib/shared/seeded.js'
import { percentile } from './stats.js'

export const ANALYSE_TARGET_MS = 0.2
export const COMPILE_TARGET_MS = 50

const SYLLABLES = ['ka', 'ri', 'te', 'mo', 'lu', 'sa', 'ne', 'bé', 'za', 'fo', 'di', 'pa', 'gu', 'lé', 'ro', 'mi', 'cha', 'tou', 'vin', 'bra']

/** A knowledge base of `count` products with `keywords` keywords each (one to three words, 5 to 9 letters). */
export function generatedKnowledge (count: number, keywords = 10, seed = 11): KnowledgeBase {
  const next = seededRandom(seed)
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]
  const word = (): string => { let w = ''; while (w.length < 5) w += pick(SYLLABLES); return next() < 0.5 ? w + pick(SYLLABLES) : w }
  const vocabulary = Array.from({ length: 4000 }, word)
  const products: Product[] = Array.from({ length: count }, (_, i) => ({
    id: `p-${i}`,
    name: `Produit ${i}`,
    short_description: 'Un produit.',
    long_description: 'Un produit du catalogue.',
    price: String(1000 + i),
    currency: 'XOF',
    keywords: Array.from({ length: keywords }, () => {
      const n = next() < 0.7 ? 1 : next() < 0.66 ? 2 : 3
      return Array.from({ length: n }, () => pick(vocabulary)).join(' ')
    }),
    objections: [{ triggers: ['trop cher', `cher ${i}`], answer: 'Un pot dure trois mois.' }],
    media: [],
    media_policy: { allow_images: true, allow_video: false },
    active: i % 50 !== 49
  }))
  return {
    business_name: 'Boutique',
    products,
    faq: [{ id: 'livraison', triggers: ['livraison', 'délai de livraison'], answer: 'Sous 48 h.' }],
    objections: [{ triggers: ['pas maintenant'], answer: 'Je reste disponible.' }],
    templates: {}
  }
}

/** A 500-character customer message naming a few of the knowledge base's keywords, one with a typo. */
export function sampleMessage (kb: KnowledgeBase): string {
  const k1 = kb.products[17].keywords[0]
  const k2 = kb.products[503].keywords[3]
  const k3 = kb.products[960].keywords[1].split(' ')[0]
  const typo = k3.slice(0, 2) + k3[3] + k3[2] + k3.slice(4)
  const base = `Bonjour, j'ai vu votre publicité pour ${k1} et aussi pour ${k2}. Est-ce que vous avez encore du stock ? ` +
    `Ma sœur m'a parlé de ${typo}, elle l'utilise depuis des mois et elle est très contente du résultat. ` +
    "Je voudrais savoir s'il est possible de me faire livrer à Dakar avant la fin de la semaine, et quel serait le délai de livraison. " +
    "J'aimerais aussi connaître les conditions de paiement, si on peut payer à la livraison ou seulement par mobile money. Merci beaucoup et bonne journée à toute l'équipe !"
  return (base + ' '.repeat(500)).slice(0, 500)
}

export interface MatchFigures {
  analyse_median_ms: number
  analyse_p99_ms: number
  compile_median_ms: number
  products: number
  keywords: number
  text_chars: number
  runs: number
}

export function matchBench (quick: boolean): MatchFigures {
  const kb = generatedKnowledge(1000)
  const compiles = quick ? 10 : 30
  const compileTimes: number[] = []
  // Warm-up: the first compiles run before the JIT has optimised the code, as no long-running server does.
  let compiled = compileKnowledge(kb, 1, { language: 'fr' })
  for (let i = 0; i < 3; i++) compiled = compileKnowledge(kb, 1, { language: 'fr' })
  for (let i = 0; i < compiles; i++) {
    const start = performance.now()
    compiled = compileKnowledge(kb, i + 2, { language: 'fr', sensitive_keywords: ['avocat', 'tribunal', 'police'] })
    compileTimes.push(performance.now() - start)
  }
  const text = sampleMessage(kb)
  if (compiled.analyse(text).products.length < 3) throw new Error('bench message matches fewer products than it names')
  const runs = quick ? 2000 : 20000
  for (let i = 0; i < 500; i++) compiled.analyse(text)
  const times = new Array<number>(runs)
  for (let i = 0; i < runs; i++) {
    const start = performance.now()
    compiled.analyse(text)
    times[i] = performance.now() - start
  }
  times.sort((a, b) => a - b)
  compileTimes.sort((a, b) => a - b)
  return {
    analyse_median_ms: percentile(times, 0.5),
    analyse_p99_ms: percentile(times, 0.99),
    compile_median_ms: percentile(compileTimes, 0.5),
    products: kb.products.length,
    keywords: 10,
    text_chars: text.length,
    runs
  }
}

export function matchLines (f: MatchFigures): string[] {
  const verdict = (ok: boolean): string => ok ? 'met' : 'MISSED'
  return [
    `matcher: analyse() of a ${f.text_chars}-character message against ${f.products} products × ${f.keywords} keywords, ${f.runs} runs: ` +
      `median ${f.analyse_median_ms.toFixed(4)} ms, p99 ${f.analyse_p99_ms.toFixed(4)} ms`,
    `matcher analyse() p99 < ${ANALYSE_TARGET_MS} ms: ${verdict(f.analyse_p99_ms < ANALYSE_TARGET_MS)} (${f.analyse_p99_ms.toFixed(4)} ms)`,
    `matcher compile of a ${f.products}-product knowledge base < ${COMPILE_TARGET_MS} ms: ${verdict(f.compile_median_ms < COMPILE_TARGET_MS)} (median ${f.compile_median_ms.toFixed(1)} ms)`
  ]
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(matchLines(matchBench(process.argv.includes('--quick'))).join('\n') + '\n')
}
