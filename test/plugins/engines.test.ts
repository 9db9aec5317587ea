import t from 'tap'
import Fastify from 'fastify'
import config from '../../plugins/app/config.js'
import storage from '../../plugins/app/storage.js'
import metrics from '../../plugins/app/metrics.js'
import schedule from '../../plugins/external/schedule.js'
import encryptionKeys from '../../plugins/app/encryption-keys.js'
import encryption from '../../plugins/engines/encryption.js'
import audit from '../../plugins/engines/audit.js'
import accounts from '../../plugins/engines/accounts.js'
import resets from '../../plugins/engines/resets.js'
import quota from '../../plugins/engines/quota.js'
import keys from '../../plugins/engines/keys.js'
import type { TapTest } from '../helper.js'

/** The engines on a bare Fastify, without the HTTP scope: what a host that only wants the services gets. */
async function engines (t: TapTest) {
  const app = Fastify({ logger: false })
  await app.register(config, { env: {}, now: () => new Date('2026-01-18T12:00:00.000Z'), random: () => 0, store: { sqlitePath: ':memory:' } })
  for (const plugin of [storage, encryptionKeys, metrics, schedule, encryption, audit, accounts, resets, quota, keys]) await app.register(plugin)
  await app.ready()
  t.teardown(() => app.close())
  return app
}

t.test('every engine hangs off app.sellify; app.quota is the very object the routes would call', async (t) => {
  const app = await engines(t)
  t.equal(app.quota, app.sellify.quota)
  t.match(await app.sellify.quota.consume({ message_type: 'image', account: 'default' }), { allowed: true, usage: { messages_today: 1, images_today: 1 } })
  t.equal((await app.sellify.accounts.put('shop-2', { limits: { messages_per_day: 1 } })).created, true)
  t.match(await app.quota.consume({ message_type: 'text', account: 'shop-2' }), { allowed: true })
  t.match(await app.quota.consume({ message_type: 'text', account: 'shop-2' }), { allowed: false, reason: 'messages_per_day' })
  t.same(app.sellify.resetJobs.jobs().map((j) => j.id), ['reset-daily:UTC|00:00|monday', 'reset-weekly:UTC|00:00|monday'])
  const created = await app.sellify.keys.create({ name: 'bot', role: 'agent', account: 'shop-2' })
  t.match(await app.sellify.keys.authenticate(created.key), { id: created.id, role: 'agent', account: 'shop-2' })
  t.match(await app.sellify.metrics.metrics(), /sellify_quota_consume_total\{kind="text",result="denied"\} 1/)
})

t.test('the store is wrapped once: any failure of it is SELLIFY_STORE_UNAVAILABLE, whichever engine asks', async (t) => {
  const app = await engines(t)
  await app.sellify.store.close()
  await t.rejects(app.sellify.quota.consume({ message_type: 'text' }), { statusCode: 503, code: 'SELLIFY_STORE_UNAVAILABLE' })
  await t.rejects(app.sellify.accounts.list(), { code: 'SELLIFY_STORE_UNAVAILABLE' })
  await t.rejects(app.sellify.keys.authenticate('sk_unknown'), { code: 'SELLIFY_STORE_UNAVAILABLE' })
  await t.rejects(app.sellify.resets.resetDaily('default'), { code: 'SELLIFY_STORE_UNAVAILABLE' })
})

t.test('deleting an account forgets its keys at once on this instance', async (t) => {
  const app = await engines(t)
  await app.sellify.accounts.put('gone', {})
  const { key } = await app.sellify.keys.create({ name: 'bot', role: 'agent', account: 'gone' })
  t.ok(await app.sellify.keys.authenticate(key))
  await app.sellify.accounts.delete('gone')
  t.equal(await app.sellify.keys.authenticate(key), null)
})
