import t from 'tap'
import { canonicalPrice, currencyNear, findAmounts, PriceBook, readings } from '../../../lib/validation/prices.js'

const CFA = ['XOF', 'XAF']
const EUR = ['EUR']
const priceContext = (before: string): boolean => /(prix|coûte|costs|price)\W*$/i.test(before)

t.test('amounts in the formats people write, each with its readings and currency', async (t) => {
  const cases: Array<[string, Array<[text: string, values: string[], currencies: string[] | null]>]> = [
    ['12 500 FCFA', [['12 500 FCFA', ['12500'], CFA]]],
    ['12\u00a0500 FCFA', [['12\u00a0500 FCFA', ['12500'], CFA]]],
    ['12\u202f500\u202fFCFA', [['12\u202f500\u202fFCFA', ['12500'], CFA]]],
    ['1 250 000 F CFA', [['1 250 000 F CFA', ['1250000'], CFA]]],
    ['12500F', [['12500F', ['12500'], CFA]]],
    ['12 500 francs', [['12 500 francs', ['12500'], CFA]]],
    ['XOF 12500', [['XOF 12500', ['12500'], ['XOF']]]],
    ['12500 XAF', [['12500 XAF', ['12500'], ['XAF']]]],
    ['Il coûte 12.500.', [['12.500', ['12500', '12.5'], null]]],
    ['12,500', [['12,500', ['12500', '12.5'], null]]],
    ['1.234.567', [['1.234.567', ['1234567'], null]]],
    ['19,90 €', [['19,90 €', ['19.9'], EUR]]],
    ['€19.90', [['€19.90', ['19.9'], EUR]]],
    ['19.90 euros', [['19.90 euros', ['19.9'], EUR]]],
    ['$19.90', [['$19.90', ['19.9'], ['USD', 'CAD', 'AUD', 'NZD', 'SGD', 'HKD', 'LRD', 'NAD', 'MXN', 'ARS', 'CLP', 'COP', 'UYU', 'DOP']]]],
    ['US$ 5', [['US$ 5', ['5'], ['USD']]]],
    ['R$ 19,90', [['R$ 19,90', ['19.9'], ['BRL']]]],
    ['1,234.56 USD', [['1,234.56 USD', ['1234.56'], ['USD']]]],
    ['1.234,56 €', [['1.234,56 €', ['1234.56'], EUR]]],
    ['12 500,50 FCFA', [['12 500,50 FCFA', ['12500.5'], CFA]]],
    ['12500.00 XOF', [['12500.00 XOF', ['12500'], ['XOF']]]],
    ["12'500 CHF", [["12'500 CHF", ['12500'], ['CHF']]]],
    ['0,50 €', [['0,50 €', ['0.5'], EUR]]],
    ['£5', [['£5', ['5'], ['GBP']]]],
    ['Le prix : 15000', [['15000', ['15000'], null]]],
    ['It costs 15000.', [['15000', ['15000'], null]]],
    ['2 pots à 12 500 FCFA, livrés en 48 h', [['12 500 FCFA', ['12500'], CFA]]],
    ['12 500 FCFA ou 19,90 €', [['12 500 FCFA', ['12500'], CFA], ['19,90 €', ['19.9'], EUR]]],
    ['Prix:12500 FCFA', [['12500 FCFA', ['12500'], CFA]]],
    ['-5000 FCFA sur votre commande', [['5000 FCFA', ['5000'], CFA]]]
  ]
  for (const [text, want] of cases) {
    const got = findAmounts(text, { priceContext }).map((a) => [a.text, a.values, a.currencies])
    t.strictSame(got, want, JSON.stringify(text))
  }
})

t.test('what is not an amount: percentages, quantities, times, dates, words with digits', async (t) => {
  const cases = [
    '-20 %', '-20%', 'jusqu\'à −15 % de remise', '100 % naturel', '20% off', 'Crème au karité 200 ml', '3 200 clients satisfaits',
    'Livraison en 48 h', 'le 18.01.2026', 'le 18/01', 'ouvert de 9:00 à 18:00', 'à 12h30', '4,5/5', 'gpt4', 'A4', 'p-12',
    'n°12', '#12', 'Top 10', 'all 3 of them', '2 pots', 'en 2026', '1,2,3', 'l\'article 12'
  ]
  for (const text of cases) t.strictSame(findAmounts(text, { priceContext }), [], JSON.stringify(text))
  t.strictSame(findAmounts('Le prix : 15000'), [], 'a bare number is an amount only after a price word')
  t.strictSame(findAmounts('ABC 100'), [], 'an unknown three-letter code is no currency')
  t.strictSame(findAmounts('ABC 100', { codes: new Set(['ABC']) }).map((a) => a.currencies), [['ABC']], 'unless the knowledge base uses it')
})

t.test('decimals are canonical strings: equal values, equal strings', async (t) => {
  const cases: Array<[string, string]> = [['12500', '12500'], ['19.90', '19.9'], ['19.9', '19.9'], ['0.50', '0.5'], ['0', '0'], ['12500.0000', '12500'], ['007', '7'], ['0.0001', '0.0001']]
  for (const [price, want] of cases) t.equal(canonicalPrice(price), want, price)
  t.strictSame(readings(['12', '500'], ['.']), ['12500', '12.5'], 'a lone dot before three digits reads both ways')
  t.strictSame(readings(['12', '50'], ['.']), ['12.5'])
  t.strictSame(readings(['12', '500'], [' ']), ['12500'], 'a space only groups thousands')
  t.strictSame(readings(['18', '01', '2026'], ['.', '.']), [], 'a date is no number')
  t.strictSame(readings(['1', '234', '5'], ['.', '.']), [])
  t.strictSame(readings(['1', '234', '567', '89'], [',', ',', '.']), ['1234567.89'])
  // Twenty digits: past what a double holds exactly, still compared exactly.
  t.not(canonicalPrice('12345678901234567891'), canonicalPrice('12345678901234567890'))
  t.strictSame(findAmounts('12 345 678 901 234 567 891 XOF')[0].values, ['12345678901234567891'])
})

t.test('a price book knows a price in any format, in its currency', async (t) => {
  const book = new PriceBook()
  book.add(canonicalPrice('12500'), ['XOF'])
  book.add(canonicalPrice('19.90'), ['EUR'])
  book.add(canonicalPrice('1000'), null)
  const cases: Array<[string, boolean]> = [
    ['12 500 FCFA', true],
    ['12.500 FCFA', true],
    ['12,500 F CFA', true],
    ['XOF 12500', true],
    ['12500.00 XOF', true],
    ['12 500 XAF', false],
    ['12 500 €', false],
    ['12.501 FCFA', false],
    ['19,90 €', true],
    ['€19.90', true],
    ['19.90 EUR', true],
    ['$19.90', false],
    ['19,99 €', false],
    ['1 000 $', true],
    ['Il coûte 12.500.', true]
  ]
  for (const [text, known] of cases) {
    const [amount] = findAmounts(text, { priceContext })
    t.equal(book.knows(amount), known, `${text}: ${known ? 'known' : 'unknown'}`)
  }
})

t.test('an ambiguous "12.500" is known when either reading is a price', async (t) => {
  const decimal = new PriceBook()
  decimal.add('12.5', ['EUR'])
  const thousand = new PriceBook()
  thousand.add('12500', ['EUR'])
  const [amount] = findAmounts('12.500 €')
  t.ok(decimal.knows(amount), 'read as 12.5')
  t.ok(thousand.knows(amount), 'read as 12500')
  t.notOk(decimal.knows(findAmounts('12 500 €')[0]), 'a space never makes a decimal')
})

t.test('currencyNear: a currency on either side', async (t) => {
  t.ok(currencyNear('12 345 678 FCFA', 0, 10))
  t.ok(currencyNear('XOF 12345678', 4, 12))
  t.notOk(currencyNear('77 123 45 67 demain', 0, 12))
})
