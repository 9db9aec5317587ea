import t from 'tap'
import { normalize, words, wordsSlow } from '../../../lib/knowledge/normalize.js'

t.test('accents, case and NFKD compatibility forms', async (t) => {
  t.same(words('Crème au KARITÉ'), ['creme', 'au', 'karite'])
  t.same(words('Ça coûte combien ? Açaí, piña, coração'), ['ca', 'coute', 'combien', 'acai', 'pina', 'coracao'])
  t.same(words('ﬁn ﬂacon ² ½'), ['fin', 'flacon', '2', '1', '2'], 'ligatures and compatibility digits decompose')
  t.same(words('e\u0301te\u0301'), ['ete'], 'a decomposed accent is removed like a precomposed one')
  t.same(words('Œuf, sœur, Straße'), ['oeuf', 'soeur', 'strasse'], 'letters NFKD keeps whole are folded as people type them')
  t.same(words('İSTANBUL'), ['istanbul'], 'lowering first: the dot of İ is a mark, removed')
  t.equal(normalize('Élève'), 'eleve')
})

t.test('apostrophes and punctuation separate words; numbers stay words', async (t) => {
  t.same(words("l'huile d’argan"), ['l', 'huile', 'd', 'argan'], "' and ’")
  t.same(words("I'll take it!"), ['i', 'll', 'take', 'it'])
  t.same(words('prix?!...(promo)-20%, peut-être'), ['prix', 'promo', '20', 'peut', 'etre'])
  t.same(words('12\u202f500 FCFA / 19,90 €'), ['12', '500', 'fcfa', '19', '90'], 'a narrow no-break space separates')
  t.same(words('😀 🚨'), [], 'emoji are not words')
  t.same(words('   '), [])
})

t.test('letters of any script are kept', async (t) => {
  t.same(words('Привет, мир'), ['привет', 'мир'])
  t.same(words('مرحبا بكم'), ['مرحبا', 'بكم'])
  t.same(words('価格は？'), ['価格は'])
})

t.test('the Latin table gives exactly the words of the general rule', async (t) => {
  let differ = 0
  for (let c = 0; c < 0x300; c++) {
    const ch = String.fromCharCode(c)
    const text = `a${ch}b ${ch}${ch.toUpperCase()} x`
    if (JSON.stringify(words(text)) !== JSON.stringify(wordsSlow(text))) differ++
  }
  t.equal(differ, 0)
  const sample = "Bonjour, j'aimerais Œufs & crème brûlée à 12 500 F — ¿Cuánto cuesta? Não, obrigado. Ǆ ǅ ǆ ŉ ſ"
  t.same(words(sample), wordsSlow(sample))
})
