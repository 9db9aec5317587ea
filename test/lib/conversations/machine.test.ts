import t from 'tap'
import { EVENTS, STATES, transition, transitionByName } from '../../../lib/conversations/machine.js'

// The table as API.md documents it ("Conversations"), written out again here: `·` is unchanged.
const DOCUMENTED = `
discovery | interest | interest | intent | objection | negative | escalated | frozen
interest  | ·        | intent   | intent | objection | negative | escalated | frozen
intent    | ·        | ·        | ·      | objection | negative | escalated | frozen
objection | interest | ·        | intent | ·         | negative | escalated | frozen
negative  | ·        | ·        | ·      | ·         | ·        | escalated | frozen
escalated | ·        | ·        | ·      | ·         | ·        | ·         | frozen
frozen    | ·        | ·        | ·      | ·         | ·        | ·         | ·
`

const rows = DOCUMENTED.trim().split('\n').map((line) => line.split('|').map((cell) => cell.trim()))

t.test('every cell of the transition table', async (t) => {
  t.same(rows.map((r) => r[0]), [...STATES], 'one row per state, in order')
  for (const [state, ...cells] of rows) {
    t.equal(cells.length, EVENTS.length)
    EVENTS.forEach((event, i) => {
      const expected = cells[i] === '·' ? state : cells[i]
      t.equal(transition(state as typeof STATES[number], event), expected, `${state} + ${event} → ${expected}`)
    })
  }
})

t.test('escalated and frozen are left by nothing but an operator; freeze works from every state', async (t) => {
  for (const event of EVENTS) t.equal(transition('frozen', event), 'frozen')
  for (const event of EVENTS.filter((e) => e !== 'freeze')) t.equal(transition('escalated', event), 'escalated')
  for (const state of STATES) t.equal(transition(state, 'freeze'), 'frozen')
})

t.test('by name: the original\'s PascalCase answers PascalCase, ours answers ours, anything else is refused naming the field', async (t) => {
  t.equal(transitionByName('Discovery', 'PriceInterest'), 'Interest')
  t.equal(transitionByName('Interest', 'PurchaseIntent'), 'Intent')
  t.equal(transitionByName('Objection', 'ThreatDetected'), 'Escalated')
  t.equal(transitionByName('discovery', 'price_interest'), 'interest')
  t.equal(transitionByName('Discovery', 'price_interest'), 'Interest', 'the state sets the style')
  t.equal(transitionByName('negative', 'Freeze'), 'frozen')
  t.throws(() => transitionByName('Browsing', 'Freeze'), { statusCode: 400, message: /^body\/current_state "Browsing" is not a state/ })
  t.throws(() => transitionByName('discovery', 'wave'), { statusCode: 400, message: /^body\/event "wave" is not an event/ })
  t.throws(() => transitionByName('DISCOVERY', 'freeze'), { statusCode: 400, message: /current_state/ }, 'names are exact')
  t.throws(() => transitionByName('toString', 'freeze'), { statusCode: 400, message: /current_state/ }, 'no prototype key is a state')
  t.throws(() => transitionByName('discovery', 'constructor'), { statusCode: 400, message: /body\/event/ })
})
