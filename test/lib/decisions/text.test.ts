import t from 'tap'
import { fillTemplate, knowledgeAnswer, templateName, templateText, typingSeconds } from '../../../lib/decisions/text.js'
import { defaultSettings } from '../../../lib/accounts/settings.js'
import { compileKnowledge } from '../../../lib/knowledge/matcher.js'
import type { KnowledgeBase, Product } from '../../../lib/knowledge/types.js'

function product (id: string, more: Partial<Product>): Product {
  return {
    id,
    name: id,
    short_description: '',
    long_description: '',
    price: '1000',
    currency: 'XOF',
    keywords: [],
    objections: [],
    media: [],
    media_policy: { allow_images: true, allow_video: false },
    active: true,
    ...more
  }
}

const karite = product('creme-karite', {
  name: 'Crème au karité 200 ml',
  short_description: 'Crème hydratante au beurre de karité pur.',
  price: '12500',
  currency: 'XOF',
  keywords: ['creme', 'karite'],
  objections: [{ triggers: ['trop cher'], answer: 'Un pot dure trois mois.' }]
})
const huile = product('huile-coco', {
  name: 'Huile de coco',
  short_description: 'Huile vierge pressée à froid.',
  price: '19.90',
  currency: 'EUR',
  keywords: ['huile', 'coco']
})

function kb (more: Partial<KnowledgeBase> = {}): KnowledgeBase {
  return {
    business_name: 'Boutique Awa',
    products: [karite, huile],
    faq: [{ id: 'livraison', triggers: ['livraison'], answer: 'Partout au Sénégal, sous 48 h.' }],
    objections: [],
    templates: {},
    ...more
  }
}
const analyse = (text: string) => compileKnowledge(kb(), 1, { language: 'fr' }).analyse(text)

t.test('templateName: the template for the state and the match', async (t) => {
  const price = analyse('combien coûte la crème ?')
  t.equal(price.event, 'price_interest')
  t.equal(templateName('interest', price, karite, false), 'price', 'a price asked')
  t.equal(templateName('intent', price, karite, false), 'price', 'a price asked in intent is still the price')
  t.equal(templateName('interest', price, karite, true), 'price', 'a first message asking a price')

  const purchase = analyse('je prends la crème')
  t.equal(templateName('intent', purchase, karite, false), 'purchase', 'an intent')
  t.equal(templateName('intent', analyse('la crème'), karite, false), 'purchase', 'any message in intent naming a product')

  const named = analyse('la crème au karité')
  t.equal(named.event, 'product_question')
  t.equal(templateName('interest', named, karite, false), 'product', 'a product named')
  t.equal(templateName('objection', analyse('la crème est trop cher'), karite, false), 'product')
  t.equal(templateName('discovery', named, karite, true), 'product', 'a product named beats the greeting')

  const nothing = analyse('bonjour')
  t.equal(nothing.event, null)
  t.equal(templateName('discovery', nothing, null, true), 'greeting', 'the first message of a session naming nothing')
  t.equal(templateName('discovery', nothing, null, false), null, 'a later message naming nothing: the fallback')
  t.equal(templateName('interest', nothing, null, false), null)
  t.equal(templateName('interest', analyse('combien ?'), null, true), null, 'a price without a product has no template')
  t.equal(templateName('intent', analyse('je veux commander'), null, false), null, 'nor an intent without a product')
})

t.test('templateText: the language template, filled verbatim from the product', async (t) => {
  t.equal(templateText('fr', kb(), 'price', karite), 'Crème au karité 200 ml coûte 12500 XOF.')
  t.equal(templateText('fr', kb(), 'product', huile), 'Huile de coco : Huile vierge pressée à froid. Prix : 19.90 EUR.', 'the price string as given, never a number')
  t.equal(templateText('fr', kb(), 'purchase', karite),
    'Parfait ! Pour commander Crème au karité 200 ml (12500 XOF), envoyez-nous votre nom, votre adresse de livraison et la quantité souhaitée.')
  t.equal(templateText('fr', kb(), 'greeting', null), "Bonjour et bienvenue chez Boutique Awa ! Que recherchez-vous aujourd'hui ?")
  t.equal(templateText('fr', kb(), 'closing', null), 'Merci pour votre confiance ! À bientôt chez Boutique Awa.')
  t.equal(templateText('en', kb(), 'price', huile), 'Huile de coco costs 19.90 EUR.', 'the account language picks the template')

  const priced = (price: string) => templateText('fr', kb(), 'price', { ...karite, price })
  t.equal(priced('12500.00'), 'Crème au karité 200 ml coûte 12500.00 XOF.', 'trailing zeros kept')
  t.equal(priced('0.5'), 'Crème au karité 200 ml coûte 0.5 XOF.')

  t.equal(templateText('fr', kb(), null, karite), null, 'no template chosen')
  for (const name of ['product', 'price', 'purchase'] as const) {
    t.equal(templateText('fr', kb(), name, null), null, `${name} needs a product`)
  }

  const own = kb({ templates: { price: '{name} : {price} {currency} seulement chez {business_name} {couleur}' } })
  t.equal(templateText('fr', own, 'price', huile), 'Huile de coco : 19.90 EUR seulement chez Boutique Awa {couleur}', 'the account template overrides, an unknown brace stays')
  t.equal(templateText('fr', own, 'product', huile), 'Huile de coco : Huile vierge pressée à froid. Prix : 19.90 EUR.', 'the other templates stay the language\'s')
  t.equal(templateText('en', own, 'price', huile), 'Huile de coco : 19.90 EUR seulement chez Boutique Awa {couleur}', 'whatever the language')
})

t.test('fillTemplate: known placeholders only, values inserted as written', async (t) => {
  const shop = { business_name: 'Boutique Awa' }
  t.equal(fillTemplate('{name}|{price}|{currency}|{short_description}|{business_name}', shop, huile),
    'Huile de coco|19.90|EUR|Huile vierge pressée à froid.|Boutique Awa')
  t.equal(fillTemplate('{price} {price} {name}{name}', shop, karite), '12500 12500 Crème au karité 200 mlCrème au karité 200 ml', 'every occurrence')
  t.equal(fillTemplate('{Name} { name } {name {prix} {} {{name}}', shop, karite), '{Name} { name } {name {prix} {} {Crème au karité 200 ml}', 'unknown braces as written')
  t.equal(fillTemplate('Bienvenue chez {business_name}, {name} à {price} {currency}', shop, null),
    'Bienvenue chez Boutique Awa, {name} à {price} {currency}', 'without a product its placeholders stay')

  const tricky = product('pack', { name: "Pack $& {price} $1 $'", price: '7 500', currency: 'XOF' })
  t.equal(fillTemplate('{name} = {price}', shop, tricky), "Pack $& {price} $1 $' = 7 500", 'no replacement patterns, no second pass')
  t.equal(fillTemplate('{business_name}', { business_name: 'Chez {name}' }, karite), 'Chez {name}')
})

t.test('typingSeconds: the length in code points at chars_per_second, capped', async (t) => {
  const typing = defaultSettings().typing
  t.same(typing, { enabled: true, chars_per_second: 12, max_seconds: 15 })
  t.equal(typingSeconds('a'.repeat(12), typing), 1)
  t.equal(typingSeconds('a'.repeat(13), typing), 2, 'rounded up')
  t.equal(typingSeconds('a'.repeat(48), typing), 4)
  t.equal(typingSeconds('a'.repeat(180), typing), 15)
  t.equal(typingSeconds('a'.repeat(181), typing), 15, 'capped at max_seconds')
  t.equal(typingSeconds('a'.repeat(5000), typing), 15)

  const slow = { enabled: true, chars_per_second: 1, max_seconds: 100 }
  t.equal(typingSeconds('😀😀😀', slow), 3, 'an emoji is one character (two UTF-16 units)')
  t.equal(typingSeconds('👨‍👩‍👧', slow), 5, 'a family emoji is five code points')
  t.equal(typingSeconds('Crème', slow), 5)
  t.equal(typingSeconds('𝓐'.repeat(24), typing), 2, 'astral letters: 24 characters, not 48 units')

  t.equal(typingSeconds('', typing), 0)
  t.equal(typingSeconds(null, typing), 0, 'no reply, no typing')
  t.equal(typingSeconds('a'.repeat(100), { ...typing, enabled: false }), 0, 'typing disabled')
  t.equal(typingSeconds('a'.repeat(100), { ...typing, max_seconds: 3 }), 3, 'the account cap')
})

t.test('knowledgeAnswer: the objection, else the FAQ, else nothing', async (t) => {
  const both = analyse('la crème est trop cher, et la livraison ?')
  t.not(both.objection, null)
  t.not(both.faq, null)
  t.equal(knowledgeAnswer(both), 'Un pot dure trois mois.', 'the objection first')
  t.equal(knowledgeAnswer(analyse('et la livraison ?')), 'Partout au Sénégal, sous 48 h.')
  t.equal(knowledgeAnswer(analyse('la crème est trop cher')), 'Un pot dure trois mois.')
  t.equal(knowledgeAnswer(analyse('combien coûte la crème ?')), null)
  t.equal(knowledgeAnswer(analyse('bonjour')), null)
})
