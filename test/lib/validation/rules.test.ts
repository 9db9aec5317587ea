import t from 'tap'
import { languagePack } from '../../../lib/knowledge/language.js'
import type { KnowledgeBase, Language, Product } from '../../../lib/knowledge/types.js'
import { compileValidator, RULES, violationMessage, type Rule, type ValidationSettings } from '../../../lib/validation/rules.js'

function product (id: string, name: string, price: string, currency: string, more: Partial<Product> = {}): Product {
  return {
    id,
    name,
    short_description: '',
    long_description: '',
    price,
    currency,
    keywords: [],
    objections: [],
    media: [],
    media_policy: { allow_images: true, allow_video: false },
    active: true,
    ...more
  }
}

/** One shop in each language: the same catalogue, named and described in that language. */
const SHOPS: Record<Language, { names: [string, string, string, string, string], delivery: string, faq: string }> = {
  fr: { names: ['Crème au karité 200 ml', 'Crème au karité 500 ml', 'Savon noir', "Huile d'argan", 'Ancien baume'], delivery: 'Crème hydratante, livraison gratuite à Dakar.', faq: 'Livraison en 48 h, 1 000 FCFA hors Dakar. Contact : +221 77 123 45 67 ou contact@karite.example' },
  en: { names: ['Shea Butter Cream 200 ml', 'Shea Butter Cream 500 ml', 'Black Soap', 'Argan Oil', 'Old Balm'], delivery: 'A moisturising cream with free delivery in Dakar.', faq: 'Delivery in 48 h, 1,000 FCFA outside Dakar. Contact: +221 77 123 45 67 or contact@karite.example' },
  es: { names: ['Crema de karité 200 ml', 'Crema de karité 500 ml', 'Jabón negro', 'Aceite de argán', 'Bálsamo antiguo'], delivery: 'Crema hidratante, envío gratis en Dakar.', faq: 'Entrega en 48 h, 1 000 FCFA fuera de Dakar. Contacto: +221 77 123 45 67 o contact@karite.example' },
  pt: { names: ['Creme de karité 200 ml', 'Creme de karité 500 ml', 'Sabonete preto', 'Óleo de argan', 'Bálsamo antigo'], delivery: 'Creme hidratante, frete grátis em Dakar.', faq: 'Entrega em 48 h, 1 000 FCFA fora de Dakar. Contato: +221 77 123 45 67 ou contact@karite.example' }
}

function shop (language: Language): KnowledgeBase {
  const { names, delivery, faq } = SHOPS[language]
  return {
    business_name: 'Karité & Co',
    products: [
      product('creme-karite', names[0], '12500', 'XOF', { short_description: delivery, media: [{ id: 'photo', type: 'image', url: 'https://shop.example/k.jpg' }] }),
      product('creme-karite-500', names[1], '25000', 'XOF'),
      product('savon-noir', names[2], '2500', 'XOF'),
      product('huile-argan', names[3], '19.90', 'EUR'),
      product('baume', names[4], '7000', 'XOF', { active: false })
    ],
    faq: [{ id: 'livraison', triggers: ['livraison'], answer: faq }],
    objections: [],
    templates: {}
  }
}

/** The account's own words: each is inside common words ("statuer", "skilled", "rematar") that must pass. */
const OWN_WORDS: Record<Language, string[]> = { fr: ['tuer', 'Jumia'], en: ['kill', 'Jumia'], es: ['matar', 'Jumia'], pt: ['matar', 'Jumia'] }
const settings = (language: Language): ValidationSettings => ({ language, max_length: 500, forbidden_words: OWN_WORDS[language], allowed_domains: ['karite.example'] })

interface Case {
  text: string
  /** The violations expected, as [rule, detail]; none: the text must pass. */
  fails?: Array<[Rule, string]>
  matched?: string[]
  facts?: string[]
}

const CREME = ['creme-karite']

/** Cases every language shares: lengths, amounts, links and percentages read the same everywhere. */
const COMMON: Case[] = [
  { text: '', fails: [['empty', 'empty or only spaces']] },
  { text: ' \u00a0\n\t\u200b ', fails: [['empty', 'empty or only spaces']] },
  { text: 'x'.repeat(500) },
  { text: 'x'.repeat(501), fails: [['max_length', '501 characters, at most 500']] },
  { text: '😀'.repeat(500), matched: CREME },
  { text: '😀'.repeat(501), fails: [['max_length', '501 characters, at most 500']] },
  { text: '12 500 FCFA' },
  { text: '12.500 FCFA' },
  { text: '12,500 F CFA' },
  { text: '12\u202f500 FCFA' },
  { text: 'XOF 12500' },
  { text: '25 000 FCFA' },
  { text: '19,90 €' },
  { text: '€19.90' },
  { text: '1 000 FCFA' },
  { text: '15 000 FCFA', fails: [['unknown_price', '15 000 FCFA']] },
  { text: '12 500 €', fails: [['unknown_price', '12 500 €']] },
  { text: '$19.90', fails: [['unknown_price', '$19.90']] },
  { text: '19,99 €', fails: [['unknown_price', '19,99 €']] },
  { text: '7 000 FCFA', fails: [['unknown_price', '7 000 FCFA']] },
  { text: '200 ml, 48 h, 3 500 clients, 100 % karité' },
  { text: 'https://shop.example/k.jpg' },
  { text: 'https://www.karite.example/commande' },
  { text: 'https://cdn.karite.example/catalogue.pdf' },
  { text: 'contact@karite.example' },
  { text: '+221 77 123 45 67' },
  { text: '77 123 45 67' },
  { text: '12.500, bon.De' },
  { text: 'https://evil.example/promo', fails: [['unknown_link', 'https://evil.example/promo']] },
  { text: 'wa.me/221700000000', fails: [['unknown_link', 'wa.me/221700000000']] },
  { text: 'karite-pas-cher.com', fails: [['unknown_link', 'karite-pas-cher.com']] },
  { text: 'http://localhost:3000/admin', fails: [['unknown_link', 'http://localhost:3000/admin']] },
  { text: 'https://shop.example/promo-robot.jpg' },
  { text: 'vendeur@gmail.com', fails: [['unknown_link', 'vendeur@gmail.com']] },
  { text: '+221 70 000 00 00', fails: [['unknown_link', '+221 70 000 00 00']] },
  { text: '06 12 34 56 78', fails: [['unknown_link', '06 12 34 56 78']] },
  { text: '-20 %', fails: [['unauthorized_promise', '-20 %']] },
  { text: '-20 %', facts: ['Promo du mois : -20 % sur tout.'] }
]

const CASES: Record<Language, Case[]> = {
  fr: [
    { text: 'Je suis un robot.', fails: [['forbidden_word', 'robot']] },
    { text: 'Je suis une IA, pas un humain.', fails: [['forbidden_word', 'ia'], ['forbidden_word', 'humain']] },
    { text: 'Une intelligence artificielle vous répond.', fails: [['forbidden_word', 'intelligence artificielle']] },
    { text: 'Un conseiller va vous rappeler.', fails: [['forbidden_word', 'conseiller']] },
    { text: 'Je vais vous transférer.', fails: [['forbidden_word', 'transférer']] },
    { text: 'Nos bots répondent.', fails: [['forbidden_word', 'bots']] },
    { text: 'Comme ChatGPT le dit.', fails: [['forbidden_word', 'chatgpt']] },
    { text: 'Achetez plutôt sur Jumia.', fails: [['forbidden_word', 'Jumia']] },
    { text: 'Ils vont tuer le prix.', fails: [['forbidden_word', 'tuer']] },
    { text: 'Nous allons statuer sur votre demande et vous aider avec confiance.' },
    { text: 'Vos bottes et votre robe spéciale sont prêtes ; je vous conseille ce soin.' },
    { text: 'La crème au karité coûte 15000.', fails: [['unknown_price', '15000']] },
    { text: 'La crème au karité coûte 12500.' },
    { text: 'Satisfait ou remboursé !', matched: CREME, fails: [['unauthorized_promise', 'satisfait ou remboursé']] },
    { text: 'Satisfait ou remboursé !', facts: ['Satisfait ou remboursé sous 7 jours.'] },
    { text: 'La livraison est gratuite.', matched: CREME },
    { text: 'La livraison est gratuite.', matched: ['savon-noir'], fails: [['unauthorized_promise', 'gratuite']] },
    { text: 'Livraison gratuite dès aujourd\'hui.', fails: [['unauthorized_promise', 'livraison gratuite']] },
    { text: 'Profitez de notre réduction.', fails: [['unauthorized_promise', 'réduction']] },
    { text: 'Notre crème au karité est parfaite.', matched: CREME },
    { text: 'Notre crème au karité 200 ml est parfaite.', matched: CREME },
    { text: 'Savon noir et huile d\'argan sont là.' },
    { text: 'Notre huile d\'argan est parfaite.', matched: CREME, fails: [['unknown_product', 'huile-argan']] },
    { text: 'La crème au karité 500 ml est parfaite.', matched: CREME, fails: [['unknown_product', 'creme-karite-500']] }
  ],
  en: [
    { text: 'I am a bot.', fails: [['forbidden_word', 'bot']] },
    { text: 'As an AI, I can help.', fails: [['forbidden_word', 'ai']] },
    { text: 'A language model wrote this.', fails: [['forbidden_word', 'language model']] },
    { text: 'Let me transfer you.', fails: [['forbidden_word', 'transfer']] },
    { text: 'You were transferred.', fails: [['forbidden_word', 'transferred']] },
    { text: 'A human will answer.', fails: [['forbidden_word', 'human']] },
    { text: 'Buy it on Jumia instead.', fails: [['forbidden_word', 'Jumia']] },
    { text: 'Prices that kill.', fails: [['forbidden_word', 'kill']] },
    { text: 'Again, our skilled team said the details are available.' },
    { text: 'Your boots and bottles are ready; we aid every customer.' },
    { text: 'The cream costs 15000.', fails: [['unknown_price', '15000']] },
    { text: 'It costs 12,500 FCFA.' },
    { text: 'Full refund if you are not happy.', matched: CREME, fails: [['unauthorized_promise', 'refund']] },
    { text: 'We give you a discount.', fails: [['unauthorized_promise', 'discount']] },
    { text: 'Get 20% off today.', fails: [['unauthorized_promise', '20% off']] },
    { text: 'Delivery is free.', matched: CREME },
    { text: 'Delivery is free.', matched: ['savon-noir'], fails: [['unauthorized_promise', 'free']] },
    { text: 'Our shea butter cream is perfect.', matched: CREME },
    { text: 'Our argan oil is perfect.', matched: CREME, fails: [['unknown_product', 'huile-argan']] },
    { text: 'Black soap and argan oil are in stock.' }
  ],
  es: [
    { text: 'Soy un robot.', fails: [['forbidden_word', 'robot']] },
    { text: 'Soy una IA.', fails: [['forbidden_word', 'ia']] },
    { text: 'Un asesor humano le llamará.', fails: [['forbidden_word', 'asesor'], ['forbidden_word', 'humano']] },
    { text: 'Le voy a transferir.', fails: [['forbidden_word', 'transferir']] },
    { text: 'Cómprelo en Jumia.', fails: [['forbidden_word', 'Jumia']] },
    { text: 'Precios para matar.', fails: [['forbidden_word', 'matar']] },
    { text: 'Vamos a rematar su pedido especial con confianza.' },
    { text: 'Sus botas están listas; le ayudamos con su pedido.' },
    { text: 'La crema cuesta 15000.', fails: [['unknown_price', '15000']] },
    { text: 'Producto garantizado.', matched: CREME, fails: [['unauthorized_promise', 'garantizado']] },
    { text: 'Le hacemos un descuento.', fails: [['unauthorized_promise', 'descuento']] },
    { text: 'Dinero reembolsado.', fails: [['unauthorized_promise', 'reembolsado']] },
    { text: 'El envío es gratis.', matched: CREME },
    { text: 'El envío es gratis.', matched: ['savon-noir'], fails: [['unauthorized_promise', 'gratis']] },
    { text: 'Nuestra crema de karité es perfecta.', matched: CREME },
    { text: 'Nuestro aceite de argán es perfecto.', matched: CREME, fails: [['unknown_product', 'huile-argan']] }
  ],
  pt: [
    { text: 'Sou um robô.', fails: [['forbidden_word', 'robô']] },
    { text: 'Sou uma IA.', fails: [['forbidden_word', 'ia']] },
    { text: 'Um atendente humano vai ligar.', fails: [['forbidden_word', 'atendente'], ['forbidden_word', 'humano']] },
    { text: 'Vou transferir você.', fails: [['forbidden_word', 'transferir']] },
    { text: 'Compre na Jumia.', fails: [['forbidden_word', 'Jumia']] },
    { text: 'Preços de matar.', fails: [['forbidden_word', 'matar']] },
    { text: 'Vamos arrematar seu pedido especial com confiança.' },
    { text: 'Suas botas estão prontas; vamos ajudar você.' },
    { text: 'O creme custa 15000.', fails: [['unknown_price', '15000']] },
    { text: 'Produto garantido.', matched: CREME, fails: [['unauthorized_promise', 'garantido']] },
    { text: 'Temos desconto para você.', fails: [['unauthorized_promise', 'desconto']] },
    { text: 'O frete é grátis.', matched: CREME },
    { text: 'O frete é grátis.', matched: ['savon-noir'], fails: [['unauthorized_promise', 'grátis']] },
    { text: 'Nosso creme de karité é perfeito.', matched: CREME },
    { text: 'Nosso óleo de argan é perfeito.', matched: CREME, fails: [['unknown_product', 'huile-argan']] }
  ]
}

for (const language of Object.keys(CASES) as Language[]) {
  t.test(`every rule in ${language}: texts that must fail and texts that must pass`, async (t) => {
    const validator = compileValidator(shop(language), 3, settings(language))
    t.equal(validator.version, 3)
    for (const c of [...COMMON, ...CASES[language]]) {
      const result = validator.validate(c.text, { matched_products: c.matched, facts: c.facts })
      const want = (c.fails ?? []).map(([rule, detail]) => ({ rule, detail }))
      const name = `${JSON.stringify(c.text.length > 40 ? c.text.slice(0, 40) + '…' : c.text)}${c.matched === undefined ? '' : ` matched ${c.matched.join(',')}`}${c.facts === undefined ? '' : ' with facts'}`
      t.strictSame(result, { valid: want.length === 0, violations: want }, name)
    }
  })
}

t.test('every rule is covered by a failing case in every language', async (t) => {
  for (const language of Object.keys(CASES) as Language[]) {
    const rules = new Set([...COMMON, ...CASES[language]].flatMap((c) => (c.fails ?? []).map(([rule]) => rule)))
    const perLanguage = new Set(CASES[language].flatMap((c) => (c.fails ?? []).map(([rule]) => rule)))
    t.strictSame([...rules].sort(), [...RULES].sort(), `${language}: every rule fails somewhere`)
    for (const rule of ['forbidden_word', 'unknown_price', 'unauthorized_promise', 'unknown_product'] as const) {
      t.ok(perLanguage.has(rule), `${language}: ${rule} fails in the language's own words`)
    }
  }
})

t.test('several violations: all listed, in the order of the rules, each once', async (t) => {
  const validator = compileValidator(shop('fr'), 1, { ...settings('fr'), max_length: 60 })
  const text = 'Je suis un robot : -20 % sur l\'huile d\'argan à 15 000 FCFA, voir https://evil.example, robot !'
  const { valid, violations } = validator.validate(text, { matched_products: CREME })
  t.equal(valid, false)
  t.strictSame(violations, [
    { rule: 'max_length', detail: `${[...text].length} characters, at most 60` },
    { rule: 'forbidden_word', detail: 'robot' },
    { rule: 'unknown_price', detail: '15 000 FCFA' },
    { rule: 'unknown_link', detail: 'https://evil.example' },
    { rule: 'unauthorized_promise', detail: '-20 %' },
    { rule: 'unknown_product', detail: 'huile-argan' }
  ])
  t.equal(violationMessage(violations[1]), 'the text contains the forbidden word "robot"')
  t.equal(violationMessage(violations[2]), 'the amount "15 000 FCFA" is not a price of the knowledge base')
  for (const v of violations) t.type(violationMessage(v), 'string')
})

t.test('a built-in word the facts contain is allowed; the account\'s own words never are', async (t) => {
  const kb = shop('en')
  kb.products.push(product('wig', 'Human Hair Wig', '30000', 'XOF', { short_description: '100 % human hair.' }))
  const validator = compileValidator(kb, 1, { ...settings('en'), forbidden_words: ['wig'] })
  t.strictSame(validator.validate('Our human hair is soft.', { matched_products: ['wig'] }).violations, [])
  t.strictSame(validator.validate('Our human hair is soft.').violations, [{ rule: 'forbidden_word', detail: 'human' }])
  t.strictSame(validator.validate('Our human hair wig is soft.', { matched_products: ['wig'] }).violations, [{ rule: 'forbidden_word', detail: 'wig' }])
})

t.test('matched ids the knowledge base lacks are ignored; hasProduct tells them', async (t) => {
  const validator = compileValidator(shop('fr'), 1, settings('fr'))
  t.ok(validator.hasProduct('creme-karite'))
  t.ok(validator.hasProduct('baume'), 'an inactive product is still a product')
  t.notOk(validator.hasProduct('nope'))
  t.strictSame(validator.validate('Notre huile d\'argan.', { matched_products: ['nope'] }).violations, [], 'nothing matched: nothing to confuse')
})

t.test('an empty knowledge base: any amount, link or product-free promise is unknown', async (t) => {
  const validator = compileValidator({ business_name: '', products: [], faq: [], objections: [], templates: {} }, 0, settings('fr'))
  t.strictSame(validator.validate('Bonjour, que recherchez-vous ?').violations, [])
  t.strictSame(validator.validate('12 500 FCFA, gratuit').violations.map((v) => v.rule), ['unknown_price', 'unauthorized_promise'])
})

t.test('what Sellify itself sends passes: each language\'s templates for the matched product, its fallback and holding messages', async (t) => {
  for (const language of Object.keys(CASES) as Language[]) {
    const kb = shop(language)
    const validator = compileValidator(kb, 1, settings(language))
    const p = kb.products[0]
    const pack = languagePack(language)
    for (const [name, template] of Object.entries(pack.templates)) {
      const text = template.replace(/\{(\w+)\}/g, (_, key: string) => key === 'business_name' ? kb.business_name : String(p[key as keyof Product]))
      t.strictSame(validator.validate(text, { matched_products: [p.id] }).violations, [], `${language} ${name}: ${text}`)
    }
    t.strictSame(validator.validate(pack.fallback_message).violations, [], `${language} fallback`)
    t.strictSame(validator.validate(pack.holding_message).violations, [], `${language} holding`)
  }
})
