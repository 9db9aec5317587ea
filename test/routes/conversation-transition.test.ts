import t from 'tap'
import { build, call } from '../helper.js'

t.test('POST /api/v1/conversation/transition: the original\'s stateless route', async (t) => {
  const app = await build(t)
  const ok = await call(app, 'POST', '/api/v1/conversation/transition', { current_state: 'Discovery', event: 'ProductQuestion' })
  t.equal(ok.statusCode, 200)
  t.same(ok.json(), { new_state: 'Interest' })
  t.same((await call(app, 'POST', '/api/v1/conversation/transition', { current_state: 'intent', event: 'objection_raised' })).json(), { new_state: 'objection' })
  const agent = (await call(app, 'POST', '/api/v1/keys', { name: 'bot', role: 'agent', account: 'default' })).json().key as string
  t.equal((await call(app, 'POST', '/api/v1/conversation/transition', { current_state: 'Frozen', event: 'Freeze' }, agent)).statusCode, 200, 'an agent may ask')

  for (const [body, field] of [
    [{ current_state: 'Browsing', event: 'Freeze' }, 'body/current_state'],
    [{ current_state: 'Discovery', event: 'Wave' }, 'body/event'],
    [{ event: 'Freeze' }, 'current_state'],
    [{ current_state: 'Discovery', event: 3 }, 'event'],
    [{ current_state: 'Discovery', event: 'Freeze', extra: true }, 'extra']
  ] as const) {
    const res = await call(app, 'POST', '/api/v1/conversation/transition', body)
    t.equal(res.statusCode, 400, JSON.stringify(body))
    t.match(res.json().message, field)
  }
  t.equal((await call(app, 'POST', '/api/v1/conversation/transition', { current_state: 'Discovery', event: 'Freeze' }, null)).statusCode, 401)
})
