import t from 'tap'
import { readFileSync } from 'node:fs'
import { checkLanguagePack, languagePack, WORD_LISTS } from '../../../lib/knowledge/language.js'
import { compileKnowledge } from '../../../lib/knowledge/matcher.js'
import { LANGUAGES, TEMPLATE_NAMES, type Language } from '../../../lib/knowledge/types.js'

const empty = { business_name: '', products: [], faq: [], objections: [], templates: {} }
const raw = (language: Language): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../../../lib/knowledge/data/${language}.json`, import.meta.url), 'utf8')) as Record<string, unknown>

t.test('every language has every template, message and word list', async (t) => {
  for (const language of LANGUAGES) {
    const pack = languagePack(language)
    t.same(Object.keys(pack.templates).sort(), [...TEMPLATE_NAMES].sort(), `${language} templates`)
    for (const name of TEMPLATE_NAMES) t.ok(pack.templates[name].length > 0, `${language} ${name}`)
    for (const list of WORD_LISTS) t.ok(pack.words[list].length > 0, `${language} ${list}`)
    t.match(pack.alert_template, /\{contact\}[\s\S]*\{state\}[\s\S]*\{message\}/, `${language} alert template`)
    for (const text of [pack.holding_message, pack.fallback_message]) {
      t.same(compileKnowledge(empty, 1, { language }).forbidden(text), [], `${language}: "${text}" has none of the language's forbidden words`)
    }
    t.ok(Object.isFrozen(pack) && Object.isFrozen(pack.words) && Object.isFrozen(pack.words.threat), `${language} is frozen`)
  }
})

t.test('the French texts', async (t) => {
  const fr = languagePack('fr')
  t.equal(fr.fallback_message, "Désolé, je n'ai pas bien compris votre demande. Pouvez-vous préciser ?")
  t.equal(fr.alert_template, '🚨 Intervention requise\nClient : {contact}\nÉtat : {state}\nDernier message : "{message}"')
  for (const w of ['tuer', 'frapper', 'détruire']) t.ok(fr.words.threat.includes(w), `threat ${w}`)
  for (const w of ['avocat', 'tribunal', 'police', 'procès', 'plainte']) t.ok(fr.words.legal.includes(w), `legal ${w}`)
  for (const w of ['pas intéressé', 'stop', 'arrêtez']) t.ok(fr.words.negative.includes(w), `negative ${w}`)
  for (const w of ['je prends', 'commander', 'acheter']) t.ok(fr.words.purchase.includes(w), `purchase ${w}`)
  for (const w of ['prix', 'combien', 'coûte']) t.ok(fr.words.price.includes(w), `price ${w}`)
  const en = languagePack('en')
  for (const w of ['kill', 'hurt']) t.ok(en.words.threat.includes(w), `threat ${w}`)
  for (const w of ['lawyer', 'court', 'sue']) t.ok(en.words.legal.includes(w), `legal ${w}`)
  for (const w of ['not interested', 'unsubscribe']) t.ok(en.words.negative.includes(w))
  for (const w of ["I'll take it", 'buy'].map((x) => x.toLowerCase())) t.ok(en.words.purchase.includes(w))
  for (const w of ['price', 'how much']) t.ok(en.words.price.includes(w))
})

t.test('the data is checked at load: a missing or unknown key, an empty list, a bad placeholder', async (t) => {
  t.doesNotThrow(() => checkLanguagePack('fr', raw('fr')))
  const broken = (change: (d: Record<string, any>) => void): Record<string, unknown> => { const d = raw('fr'); change(d); return d }
  t.throws(() => checkLanguagePack('fr', broken((d) => { delete d.holding_message })), /fr: holding_message is missing/)
  t.throws(() => checkLanguagePack('fr', broken((d) => { delete d.templates.closing })), /templates\/closing is missing/)
  t.throws(() => checkLanguagePack('fr', broken((d) => { d.templates.welcome = 'x' })), /templates\/welcome is not a known key/)
  t.throws(() => checkLanguagePack('fr', broken((d) => { delete d.words.promises })), /words\/promises is missing/)
  t.throws(() => checkLanguagePack('fr', broken((d) => { d.words.price = [] })), /words\/price must be a non-empty array/)
  t.throws(() => checkLanguagePack('fr', broken((d) => { d.words.price = ['prix', '?!'] })), /words\/price\/1 must be a string with at least one word/)
  t.throws(() => checkLanguagePack('fr', broken((d) => { d.templates.price = '{nom} : {price}' })), /templates\/price has an unknown placeholder \{nom\}/)
  t.throws(() => checkLanguagePack('fr', broken((d) => { d.fallback_message = '' })), /fallback_message must be a non-empty string/)
  t.throws(() => checkLanguagePack('fr', broken((d) => { d.exact = ['policier'] })), /exact\/0 must be a word of one of the lists/)
  t.throws(() => checkLanguagePack('fr', []), /must be an object/)
  t.throws(() => languagePack('xx' as Language), /unknown language/)
  t.throws(() => languagePack('__proto__' as Language), /unknown language/)
})
