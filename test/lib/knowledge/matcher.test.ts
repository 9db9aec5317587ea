import t from 'tap'
import { compileKnowledge, compilePhrases, withinOneEdit, type CompileOptions } from '../../../lib/knowledge/matcher.js'
import type { KnowledgeBase, Objection, Product } from '../../../lib/knowledge/types.js'

function product (id: string, keywords: string[], more: Partial<Product> = {}): Product {
  return {
    id,
    name: id,
    short_description: '',
    long_description: '',
    price: '1000',
    currency: 'XOF',
    keywords,
    objections: [],
    media: [],
    media_policy: { allow_images: true, allow_video: false },
    active: true,
    ...more
  }
}

function kb (products: Product[], more: Partial<KnowledgeBase> = {}): KnowledgeBase {
  return { business_name: 'Boutique', products, faq: [], objections: [], templates: {}, ...more }
}

const karite = product('creme-karite', ['creme', 'karite', 'beurre de karite'], {
  objections: [{ triggers: ['trop cher', 'cher'], answer: 'Un pot dure trois mois.' }]
})
const shop = kb([karite, product('savon-noir', ['savon noir', 'savon'])], {
  faq: [
    { id: 'livraison', triggers: ['livraison'], answer: 'Partout au Sénégal.' },
    { id: 'delai', triggers: ['delai de livraison', 'livraison'], answer: 'Sous 48 h.' }
  ],
  objections: [{ triggers: ['pas maintenant', 'trop cher'], answer: 'Je reste disponible.' }]
})
const fr = (k: KnowledgeBase = shop, options: Partial<CompileOptions> = {}) => compileKnowledge(k, 7, { language: 'fr', ...options })
const ids = (text: string, k: KnowledgeBase = shop): string[] => fr(k).analyse(text).products.map((p) => p.id)

t.test('the SPEC example: a price question about a product', async (t) => {
  const c = fr()
  t.equal(c.version, 7)
  t.same(c.analyse('Bonjour, combien coûte la crème au karité ?'), {
    event: 'price_interest',
    products: [{ id: 'creme-karite', score: 2, keywords: ['creme', 'karite'] }],
    objection: null,
    faq: null,
    alert: null
  })
})

t.test('whole words only, never substrings', async (t) => {
  const c = fr()
  t.equal(c.analyse('Le juge va statuer demain').alert, null, '"statuer" is not "tuer"')
  t.same(c.analyse('je vais te tuer').alert, { trigger: 'threat', severity: 'critical' })
  const ai = fr(kb([product('ai', ['ai'])]))
  t.same(ai.analyse('pouvez-vous m’aider ?').products, [], '"aider" is not "ai"')
  t.same(ai.analyse("j'ai une question").products.map((p) => p.id), ['ai'], '"j\'ai" is the words "j" and "ai"')
  t.equal(c.analyse('le prixe').event, null, '"prix" has 4 letters: "prixe" is not it')
  t.equal(c.analyse('le prix').event, 'price_interest')
  t.same(ids('cremerie karitesque'), [], 'no prefix matches')
})

t.test('a phrase matches only with its words contiguous and in order', async (t) => {
  t.same(fr().analyse('du beurre de karité').products[0], { id: 'creme-karite', score: 4, keywords: ['karite', 'beurre de karite'] })
  t.same(fr().analyse('du beurre, de karité').products[0].keywords, ['karite', 'beurre de karite'], 'punctuation is not a word')
  t.same(fr().analyse('beurre pur de karité').products[0].keywords, ['karite'], 'a word in between breaks the phrase')
  t.same(fr().analyse('karité de beurre').products[0].keywords, ['karite'], 'the order counts')
  t.same(ids('noir savon'), ['savon-noir'])
  t.same(fr().analyse('noir savon').products[0].keywords, ['savon'])
})

t.test('one typo for words of 5 letters or more, of each kind; never two; never for shorter words', async (t) => {
  const k = kb([product('a', ['creme']), product('b', ['lait']), product('c', ['12500'])])
  const matches = (text: string): string[] => fr(k).analyse(text).products.map((p) => p.id)
  t.same(matches('cremme'), ['a'], 'a letter added')
  t.same(matches('crme'), ['a'], 'a letter removed')
  t.same(matches('creme'), ['a'], 'exact')
  t.same(matches('crene'), ['a'], 'a letter replaced')
  t.same(matches('rceme'), ['a'], 'two adjacent letters swapped')
  t.same(matches('cremes'), ['a'], 'a plural is one letter added')
  t.same(matches('krmme'), [], 'two letters replaced')
  t.same(matches('crmme'), ['a'], 'one letter replaced (e by m)')
  t.same(matches('cremmes'), [], 'two letters added')
  t.same(matches('rcmee'), [], 'two swaps')
  t.same(matches('crm'), [], 'two letters removed')
  t.same(matches('lait'), ['b'])
  t.same(matches('laits'), [], 'a 4-letter word matches only as written')
  t.same(matches('lqit'), [])
  t.same(matches('12501'), [], 'numbers have no typos')
  t.same(fr().analyse('cremme au karitee').products[0].keywords, ['creme', 'karite'], 'the examples of the README')
  t.same(fr().analyse('beure de karitee').products[0].keywords, ['karite', 'beurre de karite'], 'typos per word of a phrase')
})

t.test('withinOneEdit', async (t) => {
  t.ok(withinOneEdit('karite', 'karitee'))
  t.ok(withinOneEdit('karite', 'kraite'))
  t.ok(withinOneEdit('karite', 'karit'))
  t.ok(withinOneEdit('karite', 'karine'))
  t.ok(withinOneEdit('karite', 'karite'))
  t.notOk(withinOneEdit('karite', 'kraiet'))
  t.notOk(withinOneEdit('abc', 'bca'), 'a deletion on each side that meets is not one edit')
  t.notOk(withinOneEdit('karite', 'kar'))
})

t.test('score is the number of keyword words matched, then catalogue order', async (t) => {
  const k = kb([
    product('one', ['savon']),
    product('two', ['savon noir', 'noir']),
    product('three', ['savon']),
    product('dup', ['Savon', 'savon', 'SAVON'])
  ])
  t.same(fr(k).analyse('un savon noir svp').products, [
    { id: 'two', score: 3, keywords: ['savon noir', 'noir'] },
    { id: 'one', score: 1, keywords: ['savon'] },
    { id: 'three', score: 1, keywords: ['savon'] },
    { id: 'dup', score: 1, keywords: ['Savon'] }
  ], 'a keyword written twice counts once')
  t.same(fr(k).analyse('savon savon savon').products[0], { id: 'one', score: 1, keywords: ['savon'] }, 'a keyword repeated in the message counts once')
})

t.test('inactive products never match, nor their objections', async (t) => {
  const off = kb([product('off', ['huile'], { active: false, objections: [{ triggers: ['trop cher'], answer: 'x' }] }), product('on', ['savon'])])
  t.same(fr(off).analyse("l'huile est trop chère").products, [])
  t.equal(fr(off).analyse("l'huile trop cher").objection, null)
  t.same(ids('savon huile', off), ['on'])
})

t.test('objections: the best product first, then the account', async (t) => {
  const c = fr()
  t.same(c.analyse('la crème est trop cher').objection, { product: 'creme-karite', triggers: ['trop cher', 'cher'], answer: 'Un pot dure trois mois.' })
  t.equal(c.analyse('la crème est trop chère').objection, null, '"cher" has 4 letters: "chere" is another word (a shop lists both)')
  t.same(c.analyse('crème trop cher').objection, { product: 'creme-karite', triggers: ['trop cher', 'cher'], answer: 'Un pot dure trois mois.' })
  t.same(c.analyse("c'est trop cher").objection, { product: null, triggers: ['trop cher'], answer: 'Je reste disponible.' }, 'no product named: the account-wide one')
  t.same(c.analyse('le savon, pas maintenant').objection, { product: null, triggers: ['pas maintenant'], answer: 'Je reste disponible.' }, "the best product has none: the account's")
  const second: Objection[] = [{ triggers: ['pas maintenant'], answer: 'savon says' }]
  const k = kb([product('creme', ['creme', 'karite'], { objections: [{ triggers: ['plus tard'], answer: 'x' }, { triggers: ['cher'], answer: 'creme says' }] }), product('savon', ['savon'], { objections: second })],
    { objections: [{ triggers: ['cher'], answer: 'account says' }] })
  t.same(fr(k).analyse('creme karite savon cher pas maintenant').objection, { product: 'creme', triggers: ['cher'], answer: 'creme says' },
    'the first matching objection of the best product, not the other product\'s, not the account\'s')
  t.equal(fr(k).analyse('savon, pas maintenant').objection?.answer, 'savon says')
})

t.test('FAQ: the trigger words matched, then list order', async (t) => {
  t.same(fr().analyse('la livraison ?').faq, { id: 'livraison', answer: 'Partout au Sénégal.' })
  t.same(fr().analyse('quel délai de livraison ?').faq, { id: 'delai', answer: 'Sous 48 h.' })
  t.equal(fr().analyse('quel délai de livraison ?').event, 'product_question', 'a FAQ trigger is a product question')
})

t.test('events in priority order', async (t) => {
  const c = fr()
  const event = (text: string): string | null => c.analyse(text).event
  t.equal(event('crème karité, combien ? je prends, trop cher, stop, avocat'), 'threat_detected', 'legal words first')
  t.equal(event('je vais vous frapper'), 'threat_detected')
  t.equal(event('crème, combien ? je prends, trop cher, stop'), 'negative_response')
  t.equal(event('je ne suis pas intéressé par la crème'), 'negative_response')
  t.equal(event('crème, combien ? je prends, trop cher'), 'objection_raised')
  t.equal(event('crème, combien ? je la prends'), 'purchase_intent')
  t.equal(event('je veux commander'), 'purchase_intent')
  t.equal(event('crème, quel prix ?'), 'price_interest')
  t.equal(event('vous avez de la crème ?'), 'product_question')
  t.equal(event('bonjour'), null)
  t.equal(event(''), null)
})

t.test('alerts in priority order; the account\'s sensitive keywords', async (t) => {
  const c = fr(shop, { sensitive_keywords: ['remboursement', 'arnaque totale'] })
  const alert = (text: string) => c.analyse(text).alert
  t.same(alert('espèce d’escroc, mon avocat va vous tuer'), { trigger: 'threat', severity: 'critical' })
  t.same(alert('escroc, mon avocat vous attend au tribunal'), { trigger: 'legal_situation', severity: 'critical' })
  t.same(alert('escroc ! je veux un remboursement'), { trigger: 'anger', severity: 'high' })
  t.same(alert('je veux un remboursement'), { trigger: 'sensitive_word', severity: 'high' })
  t.same(alert('je veux un remboursemnt'), { trigger: 'sensitive_word', severity: 'high' }, 'with a typo')
  t.equal(alert('bonjour'), null)
  t.equal(fr().analyse('je veux un remboursement').alert, null, 'sensitive keywords are per account')
  t.equal(c.analyse('espèce d’escroc').event, null, 'anger alone raises an alert, not an event')
})

t.test('words one letter from a common word match only as written', async (t) => {
  const c = fr()
  t.equal(c.analyse('vous êtes très polie').alert, null, '"polie" is not "police"')
  t.same(c.analyse('j’appelle la police').alert, { trigger: 'legal_situation', severity: 'critical' })
  t.equal(c.analyse('quelle est la valeur ?').alert, null, '"valeur" is not "voleur"')
  t.equal(c.analyse('ma commande est arrivée').event, null, '"commande" is not "commander"')
  t.same(c.forbidden('Je vous conseille cette crème'), [], '"conseille" is not "conseiller"')
  const en = compileKnowledge(shop, 1, { language: 'en' })
  t.equal(en.analyse('what is your return policy?').alert, null, '"policy" is not "police"')
  t.equal(en.analyse('can I count on you?').alert, null, '"count" is not "court"')
  t.same(en.analyse('see you in court').alert, { trigger: 'legal_situation', severity: 'critical' })
})

t.test('English, Spanish and Portuguese, with accents', async (t) => {
  const oil = kb([product('aceite-coco', ['aceite de coco', 'óleo de coco', 'coconut oil', 'coco'])])
  const en = compileKnowledge(oil, 1, { language: 'en' })
  t.equal(en.analyse("I'll take it").event, 'purchase_intent')
  t.equal(en.analyse('I want to buy the coconut oil').event, 'purchase_intent')
  t.equal(en.analyse('How much is the coconut oil?').event, 'price_interest')
  t.equal(en.analyse('not interested, unsubscribe').event, 'negative_response')
  t.same(en.analyse('I will sue you').alert, { trigger: 'legal_situation', severity: 'critical' })
  t.same(en.analyse('I will kill you').alert, { trigger: 'threat', severity: 'critical' })
  t.equal(en.analyse('I will hurry').alert, null)
  const es = compileKnowledge(oil, 1, { language: 'es' })
  t.same(es.analyse('¿Cuánto cuesta el ACEITE DE COCO?'), {
    event: 'price_interest', products: [{ id: 'aceite-coco', score: 4, keywords: ['aceite de coco', 'coco'] }], objection: null, faq: null, alert: null
  })
  t.equal(es.analyse('No me interesa, gracias').event, 'negative_response')
  t.equal(es.analyse('Quiero comprar el aceite').event, 'purchase_intent')
  t.same(es.analyse('Voy a llamar a mi abogado').alert, { trigger: 'legal_situation', severity: 'critical' })
  t.same(es.analyse('¡Sois unos estafadores!').alert, { trigger: 'anger', severity: 'high' })
  t.equal(es.analyse('Estaba pensando en el aceite').alert, null, '"estaba" is not "estafa"')
  const pt = compileKnowledge(oil, 1, { language: 'pt' })
  t.same(pt.analyse('Quanto custa o óleo de coco?').products, [{ id: 'aceite-coco', score: 4, keywords: ['óleo de coco', 'coco'] }])
  t.equal(pt.analyse('Quanto custa o óleo de coco?').event, 'price_interest')
  t.equal(pt.analyse('Quando chega o óleo?').event, null, '"quando" is not "quanto", "chega" (arrives) is not negative')
  t.equal(pt.analyse('Não tenho interesse, obrigado').event, 'negative_response')
  t.same(pt.analyse('Vou chamar a polícia').alert, { trigger: 'legal_situation', severity: 'critical' })
  t.same(pt.analyse('Vou processar vocês').alert, { trigger: 'legal_situation', severity: 'critical' })
  t.same(pt.analyse('Isso é golpe, ladrões!').alert, { trigger: 'anger', severity: 'high' })
  t.equal(pt.analyse('Fecha a porta').alert, null, '"porta" is not "porra"')
})

t.test('forbidden words: the language\'s and the account\'s, whole words, each once', async (t) => {
  const c = fr(shop, { forbidden_words: ['concurrent', 'Jumia'] })
  t.same(c.forbidden('Je suis un robot, une IA, pas un humain ; achetez chez jumia ou chez le concurrent, robot !'), ['ia', 'robot', 'humain', 'concurrent', 'Jumia'].sort((a, b) =>
    ['ia', 'intelligence artificielle', 'robot', 'bot', 'chatbot', 'humain', 'conseiller', 'concurrent', 'Jumia'].indexOf(a) - ['ia', 'intelligence artificielle', 'robot', 'bot', 'chatbot', 'humain', 'conseiller', 'concurrent', 'Jumia'].indexOf(b)))
  t.same(c.forbidden('une intelligence artificielle'), ['intelligence artificielle'])
  t.same(c.forbidden('Notre crème au karité est disponible.'), [])
  t.same(c.forbidden('robotique, bottes, iab'), [], 'no substrings')
  t.same(compileKnowledge(shop, 1, { language: 'en' }).forbidden('I am an AI, said the bot'), ['ai', 'bot'])
  t.same(compileKnowledge(shop, 1, { language: 'en' }).forbidden('We said we would aid you'), [])
})

t.test('compilePhrases finds the listed phrases in list order', async (t) => {
  const promises = compilePhrases(['garanti', 'livraison gratuite', 'remise'], ['remise'])
  t.same(promises.find('Livraison gratuite et résultat garantie !'), ['garanti', 'livraison gratuite'])
  t.same(promises.find('colis remis hier'), [], 'an exact word takes no typo')
  t.same(promises.find(''), [])
})

t.test('a generated 1 000-product knowledge base compiles and matches', async (t) => {
  const products = Array.from({ length: 1000 }, (_, i) => product(`p-${i}`,
    Array.from({ length: 10 }, (_, k) => k === 9 ? `gamme${i} serie${k}` : i === 42 && k === 0 ? 'baobab' : `article${i}x${k}`), { active: i !== 500 }))
  const big = kb(products, { faq: [{ id: 'livraison', triggers: ['délai de livraison'], answer: '48 h' }] })
  const c = compileKnowledge(big, 3, { language: 'fr' })
  const hit = c.analyse('Bonjour, je cherche article17x3 et la gamme999 serie9, et aussi du baobb, ou article500x1 ; quel délai de livraison ?')
  t.same(hit.products, [
    { id: 'p-999', score: 2, keywords: ['gamme999 serie9'] },
    { id: 'p-17', score: 1, keywords: ['article17x3'] },
    { id: 'p-42', score: 1, keywords: ['baobab'] }
  ], 'a phrase scores 2, a typo still matches, the inactive product does not')
  t.same(hit.faq, { id: 'livraison', answer: '48 h' })
  t.equal(hit.event, 'product_question')
  t.same(c.analyse('gamme999').products, [], 'half a phrase is no match')
  t.same(c.analyse('article1x1').products.map((p) => p.id), ['p-1'], 'no neighbour one typo away matches a different number')
})
