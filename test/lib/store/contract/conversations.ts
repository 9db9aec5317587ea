/** The conversations and decisions store contract (with quota.release and plan.then), run against every backend. */
import type { Test } from 'tap'
import { appendMessagesOp, eraseConversationsOp, saveConversationOp, type StoredConversation, type StoredMessage } from '../../../../lib/conversations/store.js'
import { claimDecisionOp, markDecisionOp, recordDecisionOp, type ClaimDecisionOp, type Consumed, type DecisionStatus } from '../../../../lib/decisions/store.js'
import { consumeOp, releaseOp } from '../../../../lib/quota/store.js'
import type { Kind } from '../../../../lib/quota/types.js'
import type { StoreOp } from '../../../../lib/store/contract.js'
import { thenOp } from '../../../../lib/shared/unit-of-work.js'
import { BIG, consumeInput, DAY, keys, makeAccount, uid, usage, WEEK, type ContractContext, type TestStore } from './fixtures.js'

type Conversation = Omit<StoredConversation, 'version'>

const CHANGED = { code: 'SELLIFY_CONVERSATION_CHANGED' }

const conversation = (account: string, keyId: string, extra: Partial<Conversation> = {}): Conversation => ({
  account,
  key_id: keyId,
  contact: `v1.${keyId}.sealed-contact`,
  state: 'discovery',
  previous_state: null,
  last_event: null,
  misunderstandings: 0,
  paused_until: null,
  created_at: '2026-01-18T09:00:00.000Z',
  last_message_at: '2026-01-18T09:00:00.000Z',
  session_started_at: '2026-01-18T09:00:00.000Z',
  media_sent: [],
  ...extra
})

let n = 0
const message = (account: string, keyId: string, extra: Partial<StoredMessage> = {}): StoredMessage => ({
  id: uid(`m${String(++n).padStart(5, '0')}`),
  account,
  key_id: keyId,
  direction: 'in',
  sender: 'customer',
  text: `v1.${keyId}.sealed-text`,
  media_type: null,
  decision_id: null,
  at: '2026-01-18T09:00:00.000Z',
  ...extra
})

const decision = (account: string, keyId: string, messageKey: string | null, extra: Partial<ClaimDecisionOp['decision']> = {}): ClaimDecisionOp['decision'] => ({
  id: uid(`dcs${String(++n).padStart(5, '0')}`),
  account,
  key_id: keyId,
  message_key: messageKey,
  created_at: '2026-01-18T10:00:00.000Z',
  ...extra
})

/** Long before every claim of these tests: nothing is released. */
const SINCE = '2026-01-17T00:00:00.000Z'

const newest = (a: StoredConversation, b: StoredConversation): number =>
  a.last_message_at === b.last_message_at ? (a.key_id < b.key_id ? 1 : -1) : (a.last_message_at < b.last_message_at ? 1 : -1)

/** Accounts made for the test, so that the rows below them are allowed on every backend (PostgreSQL's foreign keys). */
async function accounts (store: TestStore, ...names: string[]): Promise<string[]> {
  const ids = names.map(uid)
  for (const id of ids) await store.putAccount(makeAccount(id))
  return ids
}

export function conversationsContract (t: Test, { open }: ContractContext): void {
  t.test('conversations.save: insert at 0, update at the version read, read back exactly', async (t) => {
    const store = await open(t)
    const [account, other] = await accounts(store, 'conv-save', 'conv-save-other')
    const first = conversation(account, 'k-1')
    t.equal(await store.getConversation(account, 'k-1'), null, 'never saved: null')

    t.strictSame(await store.commit([saveConversationOp(first, 0)]), [1], 'an insert is version 1')
    t.strictSame(await store.getConversation(account, 'k-1'), { ...first, version: 1 }, 'nulls and an empty media_sent read back')

    const second = conversation(account, 'k-1', {
      contact: 'v1.k-1.sealed-again',
      state: 'interest',
      previous_state: 'discovery',
      last_event: 'product_question',
      misunderstandings: 2,
      paused_until: '2026-01-18T11:30:00.000Z',
      last_message_at: '2026-01-18T10:15:00.123Z',
      session_started_at: '2026-01-18T10:00:00.000Z',
      media_sent: ['p-2', 'p-1', 'crème « bio » 💧']
    })
    t.strictSame(await store.commit([saveConversationOp(second, 1)]), [2], 'an update at the version read is the next version')
    t.strictSame(await store.getConversation(account, 'k-1'), { ...second, version: 2 }, 'every field replaced, media_sent in order')

    const third = conversation(account, 'k-1', { state: 'frozen', previous_state: 'interest', last_event: 'freeze', last_message_at: '2026-01-18T10:20:00.000Z' })
    t.strictSame(await store.commit([saveConversationOp(third, 2)]), [3])
    t.strictSame(await store.getConversation(account, 'k-1'), { ...third, version: 3 }, 'set back to nulls and an empty list')

    await t.rejects(store.commit([saveConversationOp(second, 2)]), CHANGED, 'a save at a stale version is refused')
    await t.rejects(store.commit([saveConversationOp(second, 4)]), CHANGED, 'as is one at a version not reached yet')
    await t.rejects(store.commit([saveConversationOp(second, 0)]), CHANGED, 'a second insert is refused the same way')
    t.strictSame(await store.getConversation(account, 'k-1'), { ...third, version: 3 }, 'none of them changed anything')

    await t.rejects(store.commit([saveConversationOp(conversation(account, 'k-none'), 1)]), CHANGED, 'an update of a conversation that does not exist')
    t.equal(await store.getConversation(account, 'k-none'), null, 'and it was not created')
    t.equal(await store.getConversation(other, 'k-1'), null, 'per account')
    t.strictSame(await store.commit([saveConversationOp(conversation(other, 'k-1'), 0)]), [1], 'the same data key id on another account is another conversation')
    t.equal((await store.getConversation(account, 'k-1'))?.version, 3)
  })

  t.test('conversations.save: a refused save undoes its whole plan', async (t) => {
    const store = await open(t)
    const [account] = await accounts(store, 'conv-cas-plan')
    await store.commit([saveConversationOp(conversation(account, 'k-1'), 0)])
    await t.rejects(store.commit([
      consumeOp(consumeInput(account, 'image', 2)),
      appendMessagesOp([message(account, 'k-1')]),
      claimDecisionOp(decision(account, 'k-1', 'mk-cas'), SINCE),
      saveConversationOp(conversation(account, 'k-1', { state: 'intent' }), 0)
    ]), CHANGED)
    t.strictSame(await store.getUsage(account, keys(DAY, WEEK)), { hour: usage(0), day: usage(0), week: usage(0) }, 'the consume before it was not counted')
    t.strictSame(await store.conversationMessages(account, 'k-1', 10), [], 'the messages were not stored')
    t.strictSame(await store.commit([claimDecisionOp(decision(account, 'k-1', 'mk-cas'), SINCE)]), [{ claimed: true }], 'the claim was not kept')
    t.match(await store.getConversation(account, 'k-1'), { state: 'discovery', version: 1 })
  })

  t.test('conversations.save: a refused save fails its own plan only, not the plans committed with it', async (t) => {
    const store = await open(t)
    const [account] = await accounts(store, 'conv-cas-alone')
    await store.commit([saveConversationOp(conversation(account, 'k-1'), 0)])
    const [stale, consumed, inserted] = await Promise.allSettled([
      store.commit([saveConversationOp(conversation(account, 'k-1', { state: 'intent' }), 5)]),
      store.commit([consumeOp(consumeInput(account, 'text', 1))]),
      store.commit([saveConversationOp(conversation(account, 'k-2'), 0)])
    ])
    t.match(stale, { status: 'rejected', reason: CHANGED })
    t.match(consumed, { status: 'fulfilled', value: [{ ok: true }] }, 'a consume committed at the same time is kept')
    t.match(inserted, { status: 'fulfilled', value: [1] }, 'a save committed at the same time is kept')
    t.strictSame(await store.getUsage(account, keys(DAY, WEEK)), { hour: usage(1), day: usage(1), week: usage(1) })
    t.equal((await store.getConversation(account, 'k-2'))?.version, 1)
  })

  t.test('conversations.save: of concurrent saves at one version, exactly one wins', async (t) => {
    const store = await open(t)
    const other = await open(t)
    const [account] = await accounts(store, 'conv-cas-race')
    await store.commit([saveConversationOp(conversation(account, 'k-1'), 0)])
    const saves = await Promise.allSettled(Array.from({ length: 10 }, (_, i) =>
      (i % 2 === 0 ? store : other).commit([saveConversationOp(conversation(account, 'k-1', { misunderstandings: i + 1 }), 1)])))
    const won = saves.flatMap((s, i) => s.status === 'fulfilled' ? [{ i, version: s.value[0] }] : [])
    t.equal(won.length, 1, 'one save is kept')
    t.equal(won[0]?.version, 2)
    t.ok(saves.every((s) => s.status === 'fulfilled' || (s.reason as { code?: string }).code === CHANGED.code), 'the others are told the conversation changed')
    t.match(await store.getConversation(account, 'k-1'), { version: 2, misunderstandings: (won[0]?.i ?? -1) + 1 }, 'the winner is what is stored')
  })

  t.test('conversations.messages: appended, read newest first up to the limit, per contact and account', async (t) => {
    const store = await open(t)
    const [account, other] = await accounts(store, 'conv-msg', 'conv-msg-other')
    const at = (minute: number): string => `2026-01-18T10:${String(minute).padStart(2, '0')}:00.000Z`
    const messages = [
      message(account, 'k-1', { at: at(1) }),
      message(account, 'k-1', { at: at(2), direction: 'out', sender: 'bot', decision_id: 'dcs-1' }),
      message(account, 'k-1', { at: at(3), text: null, media_type: 'image' }),
      message(account, 'k-1', { at: at(3), direction: 'out', sender: 'human', text: 'v1.k-1.second-at-3' }),
      message(account, 'k-1', { at: at(5), text: 'v1.k-1.émoji 💧 "quoted"' })
    ]
    t.strictSame(await store.commit([appendMessagesOp(messages.slice(0, 2)), appendMessagesOp(messages.slice(2))]), [2, 3], 'the number appended')
    await store.commit([appendMessagesOp([message(account, 'k-2', { at: at(9) }), message(other, 'k-1', { at: at(9) })])])

    const byNewest = [...messages].reverse()
    t.strictSame(await store.conversationMessages(account, 'k-1', 3), byNewest.slice(0, 3), 'the newest three, newest first (the later id first at one time)')
    t.strictSame(await store.conversationMessages(account, 'k-1', 50), byNewest, 'all of them, read back exactly')
    t.equal((await store.conversationMessages(account, 'k-2', 50)).length, 1)
    t.strictSame((await store.conversationMessages(other, 'k-1', 50)).map((m) => m.account), [other], 'per account')
    t.strictSame(await store.conversationMessages(account, 'k-none', 50), [])

    const dup = messages[0]
    await t.rejects(store.commit([appendMessagesOp([message(account, 'k-3'), dup])]), 'a message id stored already refuses the append')
    t.strictSame(await store.conversationMessages(account, 'k-3', 50), [], 'none of that append was kept')
  })

  t.test('conversations.erase: deletes the conversations, messages and decisions of the given data keys only', async (t) => {
    const store = await open(t)
    const [account, other] = await accounts(store, 'conv-erase', 'conv-erase-other')
    const decisions: Record<string, string> = {}
    for (const [a, key] of [[account, 'k-1'], [account, 'k-2'], [account, 'k-3'], [other, 'k-1']]) {
      const d = decision(a, key, `mk-${key}`)
      decisions[`${a}/${key}`] = d.id
      await store.commit([
        saveConversationOp(conversation(a, key), 0),
        appendMessagesOp([message(a, key), message(a, key, { direction: 'out', sender: 'bot', decision_id: d.id })]),
        claimDecisionOp(d, SINCE)
      ])
    }
    t.strictSame(await store.commit([eraseConversationsOp(account, ['k-1', 'k-2', 'k-none'])]), [2], 'the number of conversations deleted')
    for (const key of ['k-1', 'k-2']) {
      t.equal(await store.getConversation(account, key), null, `${key}: conversation gone`)
      t.strictSame(await store.conversationMessages(account, key, 50), [], `${key}: messages gone`)
      t.equal(await store.getDecision(decisions[`${account}/${key}`]), null, `${key}: decision gone`)
    }
    t.equal((await store.getConversation(account, 'k-3'))?.key_id, 'k-3', 'another contact is kept')
    t.equal((await store.conversationMessages(account, 'k-3', 50)).length, 2)
    t.match(await store.getDecision(decisions[`${account}/k-3`]), { key_id: 'k-3' })
    t.equal((await store.getConversation(other, 'k-1'))?.key_id, 'k-1', 'the same data key id on another account is kept')
    t.equal((await store.conversationMessages(other, 'k-1', 50)).length, 2)
    t.match(await store.getDecision(decisions[`${other}/k-1`]), { account: other })
    t.strictSame(await store.commit([claimDecisionOp(decision(account, 'k-1', 'mk-k-1'), SINCE)]), [{ claimed: true }], 'the erased claim no longer holds its message')
    t.strictSame(await store.commit([eraseConversationsOp(account, ['k-2'])]), [0], 'nothing left to erase')
    await t.rejects(store.commit([eraseConversationsOp(account, [])]), 'an erasure names at least one data key')
  })

  t.test('listConversations: newest activity first, by state, paged by `before` without a row twice, per account', async (t) => {
    const store = await open(t)
    const [account, other] = await accounts(store, 'conv-list', 'conv-list-other')
    const rows: Array<[string, string, StoredConversation['state']]> = [
      ['k-a', '2026-01-18T10:00:00.000Z', 'discovery'],
      ['k-b', '2026-01-18T12:00:00.000Z', 'interest'],
      ['k-c', '2026-01-18T11:00:00.000Z', 'discovery'],
      ['k-d', '2026-01-18T12:00:00.000Z', 'discovery'],
      ['k-e', '2026-01-17T23:59:59.999Z', 'frozen'],
      ['k-f', '2026-01-18T11:00:00.000Z', 'interest'],
      ['k-g', '2026-01-18T12:00:00.000Z', 'discovery']
    ]
    for (const [key, last, state] of rows) await store.commit([saveConversationOp(conversation(account, key, { last_message_at: last, state }), 0)])
    await store.commit([saveConversationOp(conversation(other, 'k-z', { last_message_at: '2026-01-19T00:00:00.000Z' }), 0)])
    const all = await Promise.all(rows.map(async ([key]) => await store.getConversation(account, key) as StoredConversation))
    const expected = [...all].sort(newest)
    t.strictSame(expected.map((c) => c.key_id), ['k-g', 'k-d', 'k-b', 'k-f', 'k-c', 'k-a', 'k-e'], 'the order expected')

    t.strictSame(await store.listConversations({ account, limit: 50 }), expected, 'every row, newest activity first, then the greater data key id')
    t.strictSame(await store.listConversations({ account, limit: 3 }), expected.slice(0, 3))
    t.strictSame((await store.listConversations({ account, state: 'discovery', limit: 50 })).map((c) => c.key_id), ['k-g', 'k-d', 'k-c', 'k-a'])
    t.strictSame(await store.listConversations({ account, state: 'negative', limit: 50 }), [])

    for (const state of [undefined, 'discovery'] as const) {
      const paged: StoredConversation[] = []
      let before: { last_message_at: string, key_id: string } | undefined
      for (let page = 0; page < 10; page++) {
        const got = await store.listConversations({ account, limit: 2, ...(state === undefined ? {} : { state }), ...(before === undefined ? {} : { before }) })
        t.ok(got.length <= 2)
        paged.push(...got)
        if (got.length < 2) break
        before = { last_message_at: got[got.length - 1].last_message_at, key_id: got[got.length - 1].key_id }
      }
      t.strictSame(paged, expected.filter((c) => state === undefined || c.state === state), `pages of 2 (state ${state ?? 'any'}) give every row once, in order`)
    }
    t.strictSame((await store.listConversations({ account, before: { last_message_at: '2026-01-18T12:00:00.000Z', key_id: 'k-d' }, limit: 50 })).map((c) => c.key_id),
      ['k-b', 'k-f', 'k-c', 'k-a', 'k-e'], 'after a position: the same time with a smaller key, then older')
    t.strictSame((await store.listConversations({ account: other, limit: 50 })).map((c) => c.key_id), ['k-z'], 'per account')
    t.strictSame(await store.listConversations({ account: uid('conv-list-none'), limit: 50 }), [])
  })

  t.test('conversationStates: how many conversations are in each state', async (t) => {
    const store = await open(t)
    const [a, b] = await accounts(store, 'conv-states-a', 'conv-states-b')
    const before = await store.conversationStates()
    const delta = async (): Promise<Record<string, number>> => {
      const now = await store.conversationStates()
      return Object.fromEntries(Object.entries(now).map(([s, count]) => [s, count - (before[s] ?? 0)]).filter(([, d]) => d !== 0))
    }
    const states: Array<[string, string, StoredConversation['state']]> = [
      [a, 'k-1', 'discovery'], [a, 'k-2', 'discovery'], [b, 'k-1', 'discovery'], [a, 'k-3', 'frozen'], [b, 'k-2', 'frozen'], [b, 'k-3', 'intent']
    ]
    for (const [account, key, state] of states) await store.commit([saveConversationOp(conversation(account, key, { state }), 0)])
    t.strictSame(await delta(), { discovery: 3, frozen: 2, intent: 1 }, 'counted over every account')
    await store.commit([saveConversationOp(conversation(a, 'k-1', { state: 'escalated' }), 1)])
    t.strictSame(await delta(), { discovery: 2, frozen: 2, intent: 1, escalated: 1 }, 'a save moves its conversation')
    await store.commit([eraseConversationsOp(b, ['k-2', 'k-3'])])
    t.strictSame(await delta(), { discovery: 2, frozen: 1, escalated: 1 }, 'an erasure takes them out')
    t.ok(Object.values(await store.conversationStates()).every((count) => Number.isSafeInteger(count) && count > 0), 'counts are numbers; no empty state listed')
  })

  t.test('decisions.claim: one holder per (account, message key); null never conflicts; an old claim is released', async (t) => {
    const store = await open(t)
    const [account, other] = await accounts(store, 'dcs-claim', 'dcs-claim-other')
    const first = decision(account, 'k-1', 'mk-1')
    t.strictSame(await store.commit([claimDecisionOp(first, SINCE)]), [{ claimed: true }])
    t.strictSame(await store.getDecision(first.id), { ...first, status: 'deciding', answer: null, consumed: null, released: null }, 'claimed: deciding, nothing recorded yet')
    t.strictSame(await store.decisionByKey(account, 'mk-1', SINCE), await store.getDecision(first.id), 'found by its message key')
    t.strictSame(await store.decisionByKey(account, 'mk-1', first.created_at), await store.getDecision(first.id), 'made at `since`: found')
    t.equal(await store.decisionByKey(account, 'mk-1', '2026-01-18T10:00:00.001Z'), null, 'made before `since`: not found')
    t.equal(await store.decisionByKey(other, 'mk-1', SINCE), null, 'per account')
    t.equal(await store.decisionByKey(account, 'mk-none', SINCE), null)

    const second = decision(account, 'k-2', 'mk-1')
    t.strictSame(await store.commit([claimDecisionOp(second, SINCE)]), [{ claimed: false, id: first.id }], 'a second claim reads the holder')
    t.equal(await store.getDecision(second.id), null, 'and is not stored')
    t.strictSame(await store.commit([claimDecisionOp(decision(other, 'k-1', 'mk-1'), SINCE)]), [{ claimed: true }], 'another account is independent')
    t.strictSame(await store.commit([claimDecisionOp(decision(account, 'k-1', 'mk-2'), SINCE)]), [{ claimed: true }], 'another message key is independent')

    const nulls = [decision(account, 'k-1', null), decision(account, 'k-1', null), decision(account, 'k-1', null)]
    t.strictSame(await store.commit(nulls.map((d) => claimDecisionOp(d, SINCE))), [{ claimed: true }, { claimed: true }, { claimed: true }], 'a null message key never conflicts')
    t.strictSame((await Promise.all(nulls.map(async (d) => await store.getDecision(d.id)))).map((d) => d?.message_key), [null, null, null])

    t.strictSame(await store.commit([claimDecisionOp(decision(account, 'k-3', 'mk-1'), first.created_at)]), [{ claimed: false, id: first.id }],
      'a claim made exactly at `since` still holds')
    const later = decision(account, 'k-3', 'mk-1', { created_at: '2026-01-19T10:00:01.000Z' })
    t.strictSame(await store.commit([claimDecisionOp(later, '2026-01-18T10:00:00.001Z')]), [{ claimed: true }], 'a claim older than `since` is released, the new one claims')
    t.match(await store.getDecision(first.id), { id: first.id, status: 'deciding', message_key: null }, 'the old decision is kept, without its claim')
    t.equal((await store.decisionByKey(account, 'mk-1', SINCE))?.id, later.id, 'the message key now finds the new holder')
    t.strictSame(await store.commit([claimDecisionOp(decision(account, 'k-4', 'mk-1'), SINCE)]), [{ claimed: false, id: later.id }], 'the new holder holds')
  })

  t.test('decisions.record moves a claimed decision once; decisions.mark moves only from the statuses listed', async (t) => {
    const store = await open(t)
    const [account] = await accounts(store, 'dcs-record')
    const [pending, done, deciding] = [decision(account, 'k-1', 'mk-p'), decision(account, 'k-1', 'mk-d'), decision(account, 'k-1', null)]
    await store.commit([claimDecisionOp(pending, SINCE), claimDecisionOp(done, SINCE), claimDecisionOp(deciding, SINCE)])
    const consumed: Consumed = { kind: 'image', count: 2, day: DAY, week: WEEK }
    const answer = 'v1.k-1.sealed-answer {"action":"respond_text","reply":"Bonjour 💧"}'

    t.strictSame(await store.commit([recordDecisionOp(pending.id, 'pending', answer, consumed)]), [true])
    t.strictSame(await store.getDecision(pending.id), { ...pending, status: 'pending', answer, consumed, released: null }, 'answer and consumed read back exactly')
    t.strictSame(await store.commit([recordDecisionOp(pending.id, 'done', 'v1.other', null)]), [false], 'a decision is recorded once')
    t.strictSame(await store.getDecision(pending.id), { ...pending, status: 'pending', answer, consumed, released: null }, 'unchanged')
    t.strictSame(await store.commit([recordDecisionOp(done.id, 'done', 'v1.nothing', null)]), [true])
    t.strictSame(await store.getDecision(done.id), { ...done, status: 'done', answer: 'v1.nothing', consumed: null, released: null })
    t.strictSame(await store.commit([recordDecisionOp(uid('dcs-none'), 'done', 'v1.x', null)]), [false], 'an unknown decision')

    t.strictSame(await store.commit([markDecisionOp(deciding.id, ['pending', 'done'], 'sent')]), [false], 'a decision still deciding is not marked')
    t.strictSame(await store.commit([markDecisionOp(pending.id, ['done'], 'sent')]), [false], 'not from a status that is not listed')
    t.strictSame(await store.commit([markDecisionOp(pending.id, ['pending'], 'sent')]), [true])
    t.strictSame(await store.commit([markDecisionOp(pending.id, ['pending'], 'sent')]), [false], 'marked once')
    t.strictSame(await store.commit([markDecisionOp(pending.id, ['pending', 'done'], 'failed')]), [false], 'sent stays sent')
    t.strictSame(await store.commit([markDecisionOp(done.id, ['pending', 'done', 'sent'], 'failed', undefined, true)]), [true])
    t.strictSame(await store.commit([markDecisionOp(uid('dcs-none'), ['pending'], 'sent')]), [false], 'an unknown decision')
    t.strictSame((await Promise.all([pending, done, deciding].map(async (d) => await store.getDecision(d.id)))).map((d) => d?.status), ['sent', 'failed', 'deciding'])
    t.strictSame(await store.getDecision(done.id), { ...done, status: 'failed', answer: 'v1.nothing', consumed: null, released: true }, 'a mark changes the status (and what a failure gave back) only')

    const next = decision(account, 'k-1', 'mk-when')
    t.strictSame(await store.commit([
      claimDecisionOp(next, SINCE),
      recordDecisionOp(next.id, 'pending', answer, null),
      markDecisionOp(next.id, ['pending'], 'failed', (recorded) => recorded === false)
    ]), [{ claimed: true }, true, null], 'a mark with `when` is skipped when the operation before it says so')
    t.equal((await store.getDecision(next.id))?.status, 'pending')
    await t.rejects(store.commit([markDecisionOp(next.id, [], 'sent')]), 'a mark lists the statuses it moves from')
    t.equal(await store.getDecision(uid('dcs-none')), null)
  })

  t.test('decisions.claim: of 20 concurrent claims of one message, exactly one holds, the others read it', async (t) => {
    const store = await open(t)
    const other = await open(t)
    const [account] = await accounts(store, 'dcs-race')
    const claims = Array.from({ length: 20 }, (_, i) => decision(account, `k-${i}`, 'mk-race'))
    const results = await Promise.all(claims.map(async (d, i) => await (i % 2 === 0 ? store : other).commit([
      claimDecisionOp(d, SINCE),
      recordDecisionOp(d.id, 'pending', `v1.answer-${i}`, null)
    ])))
    const winners = claims.filter((_, i) => results[i][0].claimed)
    t.equal(winners.length, 1, 'one claim holds')
    const winner = winners[0]?.id
    t.strictSame(results.filter(([claim]) => !claim.claimed), Array.from({ length: 19 }, () => [{ claimed: false, id: winner }, false]),
      'every other claim is told the winner\'s id, and its record moves nothing')
    t.match(await store.getDecision(winner), { status: 'pending', message_key: 'mk-race' }, 'the winner\'s plan was kept whole')
    t.strictSame((await Promise.all(claims.map(async (d) => await store.getDecision(d.id)))).filter((d) => d !== null).map((d) => d.id), [winner], 'no loser was stored')
  })

  t.test('decisions.perHour: per UTC hour and status since `since`; deciding, other accounts and older rows left out', async (t) => {
    const store = await open(t)
    const [account, other, empty] = await accounts(store, 'dcs-hourly', 'dcs-hourly-other', 'dcs-hourly-empty')
    /** A decision made at `createdAt` that became `status` (deciding: claimed and never recorded, as after a crash). */
    const made = async (a: string, createdAt: string, status: DecisionStatus): Promise<string> => {
      const d = decision(a, 'k-1', null, { created_at: createdAt })
      const plan: StoreOp[] = [claimDecisionOp(d, SINCE)]
      if (status !== 'deciding') plan.push(recordDecisionOp(d.id, status === 'done' ? 'done' : 'pending', 'v1.k-1.sealed-answer', null))
      if (status === 'sent' || status === 'failed') plan.push(markDecisionOp(d.id, ['pending'], status, undefined, status === 'failed' ? false : null))
      await store.commit(plan)
      return d.id
    }
    const since = '2026-01-18T08:00:00.000Z'
    await made(account, '2026-01-18T07:59:59.999Z', 'done') // a millisecond before `since`
    await made(account, '2026-01-18T08:30:00+01:00', 'sent') // 07:30Z: before it too, once in UTC
    await made(account, '2026-01-18T08:00:00.000Z', 'done') // exactly at `since`
    await made(account, '2026-01-18T10:15:00+02:00', 'pending') // 08:15Z
    await made(account, '2026-01-18T09:05:00.000Z', 'sent')
    await made(account, '2026-01-18T09:20:00.000Z', 'failed')
    await made(account, '2026-01-18T09:40:00.000Z', 'sent')
    await made(account, '2026-01-18T09:45:00.000Z', 'done')
    await made(account, '2026-01-18T09:50:00.000Z', 'deciding')
    const late = await made(account, '2026-01-18T10:59:59.999Z', 'pending')
    await made(account, '2026-01-18T11:10:00.000Z', 'deciding') // an hour with deciding only: no row at all
    await made(account, '2026-01-19T00:00:00.000Z', 'sent') // the next day
    for (const status of ['pending', 'done', 'sent', 'failed', 'deciding'] as const) await made(other, '2026-01-18T09:30:00.000Z', status)

    type Row = [string, string, number]
    const read = async (a: string, from: string): Promise<Row[]> => {
      const rows = await store.decisionsPerHour(a, from)
      t.ok(rows.every((r, i) => i === 0 || rows[i - 1].hour <= r.hour), `${a} since ${from}: oldest hour first`)
      t.ok(rows.every((r) => Number.isSafeInteger(r.count) && r.count > 0), 'counts are numbers, never 0')
      t.ok(rows.every((r) => Object.keys(r).sort().join() === 'count,hour,status'), 'hour, status and count only')
      return rows.map((r): Row => [r.hour, r.status, r.count]).sort((x, y) => `${x[0]} ${x[1]}`.localeCompare(`${y[0]} ${y[1]}`))
    }
    t.strictSame(await read(account, since), [
      ['2026-01-18T08', 'done', 1],
      ['2026-01-18T08', 'pending', 1],
      ['2026-01-18T09', 'done', 1],
      ['2026-01-18T09', 'failed', 1],
      ['2026-01-18T09', 'sent', 2],
      ['2026-01-18T10', 'pending', 1],
      ['2026-01-19T00', 'sent', 1]
    ], 'rows at `since` counted, older ones and deciding ones not; offsets read in UTC')
    t.strictSame(await read(account, '2026-01-18T10:00:00+01:00'), [
      ['2026-01-18T09', 'done', 1],
      ['2026-01-18T09', 'failed', 1],
      ['2026-01-18T09', 'sent', 2],
      ['2026-01-18T10', 'pending', 1],
      ['2026-01-19T00', 'sent', 1]
    ], '`since` with an offset is the instant it names (09:00Z)')
    t.strictSame(await read(account, '2026-01-18T09:30:00.000Z'), [
      ['2026-01-18T09', 'done', 1],
      ['2026-01-18T09', 'sent', 1],
      ['2026-01-18T10', 'pending', 1],
      ['2026-01-19T00', 'sent', 1]
    ], '`since` within an hour: only what was made at or after it')
    t.strictSame(await read(other, since), [['2026-01-18T09', 'done', 1], ['2026-01-18T09', 'failed', 1], ['2026-01-18T09', 'pending', 1], ['2026-01-18T09', 'sent', 1]], 'the other account has its own')
    t.strictSame(await read(empty, SINCE), [], 'an account without decisions')
    t.strictSame(await read(uid('dcs-hourly-none'), SINCE), [], 'an unknown account')
    t.strictSame(await read(account, '2026-01-19T00:00:00.001Z'), [], 'nothing after the newest')

    t.strictSame(await store.commit([markDecisionOp(late, ['pending'], 'sent')]), [true])
    t.strictSame((await read(account, '2026-01-18T10:00:00.000Z'))[0], ['2026-01-18T10', 'sent', 1], 'a report moves the decision to its new status, in the hour it was made')

    const many = await Promise.all(Array.from({ length: 30 }, async (_, i) => await made(account, `2026-01-18T13:${String(i).padStart(2, '0')}:00.000Z`, i % 3 === 0 ? 'done' : 'pending')))
    t.equal(many.length, 30)
    t.strictSame((await read(account, '2026-01-18T13:00:00.000Z')).filter(([hour]) => hour === '2026-01-18T13'), [['2026-01-18T13', 'done', 10], ['2026-01-18T13', 'pending', 20]], 'counted, not listed')

    await store.deleteAccount(account)
    t.strictSame(await read(account, SINCE), [], 'a deleted account has none left')
  })

  t.test('quota.release lowers the rows of the periods given by what the kind counts, never below 0, and answers how many', async (t) => {
    const store = await open(t)
    const [account] = await accounts(store, 'release')
    const [nextDay, nextWeek] = ['2026-01-25', '2026-W04']
    await store.commit([
      consumeOp(consumeInput(account, 'image', 3)),
      consumeOp(consumeInput(account, 'text', 2)),
      consumeOp(consumeInput(account, 'video', 1)),
      consumeOp(consumeInput(account, 'image', 4, {}, { day: nextDay, week: nextWeek }))
    ])
    t.strictSame(await store.getUsage(account, keys(DAY, WEEK)), { hour: usage(6, 3, 1), day: usage(6, 3, 1), week: usage(6, 3, 1) })
    const release = (kind: Kind, count: number, periods: string[] = [DAY, WEEK]) => releaseOp({ account, periods, kind, count })
    // The hour's row is lowered only when its key is given (below): these give the day and the week.

    t.strictSame(await store.commit([release('image', 2)]), [2], 'the day row and the week row')
    t.strictSame(await store.getUsage(account, keys(DAY, WEEK)), { hour: usage(6, 3, 1), day: usage(4, 1, 1), week: usage(4, 1, 1) }, 'an image gives back messages and images')
    t.strictSame(await store.commit([release('text', 1)]), [2])
    t.strictSame(await store.getUsage(account, keys(DAY, WEEK)), { hour: usage(6, 3, 1), day: usage(3, 1, 1), week: usage(3, 1, 1) }, 'a text gives back messages only')
    t.strictSame(await store.commit([release('video', 5)]), [2])
    t.strictSame(await store.getUsage(account, keys(DAY, WEEK)), { hour: usage(6, 3, 1), day: usage(0, 1, 0), week: usage(0, 1, 0) }, 'never below 0')
    t.strictSame(await store.commit([release('image', 1, [WEEK])]), [1], 'only the periods given (the day is over)')
    t.strictSame(await store.getUsage(account, keys(DAY, WEEK)), { hour: usage(6, 3, 1), day: usage(0, 1, 0), week: usage(0, 0, 0) })
    t.strictSame(await store.getUsage(account, keys(nextDay, nextWeek)), { hour: usage(4, 4), day: usage(4, 4), week: usage(4, 4) }, 'other periods untouched')
    t.strictSame(await store.commit([release('text', 1, ['2026-02-01', '2026-W05'])]), [0], 'periods without a row: nothing lowered')
    t.strictSame(await store.commit([releaseOp({ account: uid('release-none'), periods: [DAY, WEEK], kind: 'image', count: 1 })]), [0], 'nothing counted: nothing to give back')
    t.strictSame(await store.getUsage(uid('release-none'), keys(DAY, WEEK)), { hour: usage(0), day: usage(0), week: usage(0) })

    const [consumed, released] = await store.commit([consumeOp(consumeInput(account, 'image', 2)), release('image', 1)])
    t.match(consumed, { ok: true, after: { day: usage(2, 3, 0), week: usage(2, 2, 0) } })
    t.equal(released, 2)
    t.strictSame(await store.getUsage(account, keys(DAY, WEEK)), { hour: usage(8, 5, 1), day: usage(1, 2, 0), week: usage(1, 1, 0) }, 'a release sees the consume before it in its plan')
    await t.rejects(store.commit([release('image', 0)]), /store:/, 'a release gives back at least one')
    await t.rejects(store.commit([release('image', 1, [])]), /store:/, 'a release names its periods')
    await t.rejects(store.commit([release('image', 1, ['yesterday'])]), /store:/, 'as day or week keys')
  })

  t.test('plan.then: built from the results before it, applied in the same transaction, its result the list of its results', async (t) => {
    const store = await open(t)
    const [account] = await accounts(store, 'then')
    let seen: unknown[] = []
    const reply = message(account, 'k-1', { direction: 'out', sender: 'bot' })
    const results = await store.commit([
      consumeOp(consumeInput(account, 'text', 1)),
      thenOp((before) => {
        seen = [...before]
        return [appendMessagesOp([reply]), saveConversationOp(conversation(account, 'k-1'), 0)]
      })
    ])
    t.match(seen, [{ ok: true, before: { day: usage(0) }, after: { day: usage(1), week: usage(1) } }], 'build saw the consume\'s result')
    t.equal(seen.length, 1, 'only the results before it')
    t.strictSame(results[1], [1, 1], 'one result per operation it built, in order')
    t.strictSame(await store.conversationMessages(account, 'k-1', 10), [reply])
    t.equal((await store.getConversation(account, 'k-1'))?.version, 1)
    t.strictSame(await store.getUsage(account, keys(DAY, WEEK)), { hour: usage(1), day: usage(1), week: usage(1) })

    await t.rejects(store.commit([
      consumeOp(consumeInput(account, 'text', 1)),
      thenOp(() => [appendMessagesOp([message(account, 'k-2')]), saveConversationOp(conversation(account, 'k-1'), 0)])
    ]), CHANGED, 'an operation it built fails')
    t.strictSame(await store.getUsage(account, keys(DAY, WEEK)), { hour: usage(1), day: usage(1), week: usage(1) }, 'the consume before it was undone')
    t.strictSame(await store.conversationMessages(account, 'k-2', 10), [], 'and what it built too')

    await t.rejects(store.commit([
      consumeOp(consumeInput(account, 'text', 1)),
      appendMessagesOp([message(account, 'k-3')]),
      thenOp(() => { throw new Error('build failed') })
    ]), /build failed/, 'build throws')
    t.strictSame(await store.getUsage(account, keys(DAY, WEEK)), { hour: usage(1), day: usage(1), week: usage(1) }, 'the consume was not counted')
    t.strictSame(await store.conversationMessages(account, 'k-3', 10), [], 'the messages were not stored')

    await t.rejects(store.commit([consumeOp(consumeInput(account, 'text', 1)), thenOp(() => [{ op: 'nope' } as unknown as StoreOp])]), /unknown operation/,
      'what it builds is checked like any plan')
    t.strictSame(await store.getUsage(account, keys(DAY, WEEK)), { hour: usage(1), day: usage(1), week: usage(1) })
  })

  t.test('plan.then: a refused consume can choose other operations', async (t) => {
    const store = await open(t)
    const [granted] = await accounts(store, 'then-granted')
    const refused = uid('then-refused')
    await store.putAccount(makeAccount(refused, { limits: { ...BIG, messages_per_day: 0 } }))
    const decide = (account: string) => [
      consumeOp(consumeInput(account, 'text', 1)),
      thenOp<StoreOp>(([consume]) => (consume as { ok: boolean }).ok
        ? [appendMessagesOp([message(account, 'k-1', { direction: 'out', sender: 'bot', text: 'v1.reply' })])]
        : [saveConversationOp(conversation(account, 'k-1', { state: 'negative', last_event: 'negative_response' }), 0)])
    ] as const
    const [ok, okThen] = await store.commit(decide(granted))
    const [no, noThen] = await store.commit(decide(refused))
    t.match(ok, { ok: true })
    t.strictSame(okThen, [1])
    t.equal((await store.conversationMessages(granted, 'k-1', 10))[0]?.text, 'v1.reply', 'granted: the reply was stored')
    t.equal(await store.getConversation(granted, 'k-1'), null)
    t.match(no, { ok: false, limit: 'messages_per_day' })
    t.strictSame(noThen, [1])
    t.strictSame(await store.conversationMessages(refused, 'k-1', 10), [], 'refused: no reply')
    t.match(await store.getConversation(refused, 'k-1'), { state: 'negative', version: 1 }, 'the other operations were applied')
    t.strictSame(await store.getUsage(refused, keys(DAY, WEEK)), { hour: usage(0), day: usage(0), week: usage(0) })
  })

  t.test('plan.then: nested, each sees the results of its own plan before it', async (t) => {
    const store = await open(t)
    const [account] = await accounts(store, 'then-nested')
    const d = decision(account, 'k-1', 'mk-nested')
    let inner: unknown[] = []
    const results = await store.commit([
      consumeOp(consumeInput(account, 'image', 1)),
      thenOp<StoreOp>(() => [
        claimDecisionOp(d, SINCE),
        thenOp<StoreOp>((before) => {
          inner = [...before]
          return [recordDecisionOp(d.id, 'pending', 'v1.answer', { kind: 'image', count: 1, day: DAY, week: WEEK }), appendMessagesOp([message(account, 'k-1', { decision_id: d.id })])]
        })
      ])
    ])
    t.strictSame(inner, [{ claimed: true }], 'the inner build saw the claim before it')
    t.strictSame(results[1], [{ claimed: true }, [true, 1]], 'results nest as the plans do')
    t.match(await store.getDecision(d.id), { status: 'pending', consumed: { kind: 'image', count: 1 } })
    t.equal((await store.conversationMessages(account, 'k-1', 10))[0]?.decision_id, d.id)

    const lost = decision(account, 'k-2', 'mk-nested-fail')
    await t.rejects(store.commit([
      consumeOp(consumeInput(account, 'image', 1)),
      thenOp<StoreOp>(() => [claimDecisionOp(lost, SINCE), thenOp(() => { throw new Error('inner build failed') })])
    ]), /inner build failed/)
    t.equal(await store.getDecision(lost.id), null, 'an inner throw undoes the outer plan')
    t.strictSame(await store.getUsage(account, keys(DAY, WEEK)), { hour: usage(1, 1), day: usage(1, 1), week: usage(1, 1) })
  })

  t.test('plan.then: a build may add no operation', async (t) => {
    const store = await open(t)
    const [account] = await accounts(store, 'then-empty')
    const results = await store.commit([consumeOp(consumeInput(account, 'text', 1)), thenOp(() => [])])
    t.match(results, [{ ok: true }, []], 'its result is an empty list')
    t.strictSame(await store.getUsage(account, keys(DAY, WEEK)), { hour: usage(1), day: usage(1), week: usage(1) }, 'the plan was kept')
  })

  t.test('timestamps are kept as ISO 8601 UTC with milliseconds and compared as instants', async (t) => {
    const store = await open(t)
    const [account] = await accounts(store, 'conv-iso')
    const c = conversation(account, 'k-1', {
      created_at: '2026-01-18T10:00:00+01:00',
      last_message_at: '2026-01-18T10:30:00Z',
      session_started_at: '2026-01-18T09:15:00.5Z',
      paused_until: '2026-01-18T14:00:00+02:00'
    })
    await store.commit([saveConversationOp(c, 0), appendMessagesOp([message(account, 'k-1', { at: '2026-01-18T11:00:00+01:00' })])])
    t.match(await store.getConversation(account, 'k-1'), {
      created_at: '2026-01-18T09:00:00.000Z',
      last_message_at: '2026-01-18T10:30:00.000Z',
      session_started_at: '2026-01-18T09:15:00.500Z',
      paused_until: '2026-01-18T12:00:00.000Z'
    })
    t.equal((await store.conversationMessages(account, 'k-1', 1))[0]?.at, '2026-01-18T10:00:00.000Z')

    // Held since 06:00Z, written with an offset; `since` 07:00Z: the claim is older and is released.
    const held = decision(account, 'k-1', 'mk-iso', { created_at: '2026-01-18T08:00:00+02:00' })
    await store.commit([claimDecisionOp(held, SINCE)])
    t.equal((await store.getDecision(held.id))?.created_at, '2026-01-18T06:00:00.000Z')
    t.strictSame(await store.commit([claimDecisionOp(decision(account, 'k-1', 'mk-iso'), '2026-01-18T07:00:00.000Z')]), [{ claimed: true }])
  })

  t.test('deleting an account deletes its conversations, messages and decisions', async (t) => {
    const store = await open(t)
    const [account, kept] = await accounts(store, 'conv-gone', 'conv-kept')
    const ids: Record<string, string> = {}
    for (const a of [account, kept]) {
      const d = decision(a, 'k-1', 'mk-1')
      ids[a] = d.id
      await store.commit([saveConversationOp(conversation(a, 'k-1'), 0), appendMessagesOp([message(a, 'k-1')]), claimDecisionOp(d, SINCE)])
    }
    t.equal(await store.deleteAccount(account), true)
    t.equal(await store.getConversation(account, 'k-1'), null)
    t.strictSame(await store.listConversations({ account, limit: 50 }), [])
    t.strictSame(await store.conversationMessages(account, 'k-1', 50), [])
    t.equal(await store.getDecision(ids[account]), null)
    t.equal((await store.getConversation(kept, 'k-1'))?.version, 1, 'other accounts keep theirs')
    t.equal((await store.conversationMessages(kept, 'k-1', 50)).length, 1)
    t.match(await store.getDecision(ids[kept]), { account: kept })

    await store.putAccount(makeAccount(account))
    t.equal(await store.getConversation(account, 'k-1'), null, 'a re-created account starts empty')
    t.strictSame(await store.commit([saveConversationOp(conversation(account, 'k-1'), 0), claimDecisionOp(decision(account, 'k-1', 'mk-1'), SINCE)]),
      [1, { claimed: true }], 'nothing of the old account holds the new one back')
  })

  t.test('invalid conversation and decision operations refuse their plan before anything is applied', async (t) => {
    const store = await open(t)
    const [account] = await accounts(store, 'conv-invalid')
    const bad: StoreOp[] = [
      saveConversationOp(conversation(account, 'k-1', { state: 'happy' as never }), 0),
      saveConversationOp(conversation(account, 'k-1', { media_sent: [1] as never }), 0),
      saveConversationOp(conversation(account, 'k-1', { last_message_at: 'yesterday' }), 0),
      saveConversationOp(conversation(account, 'k-1'), -1),
      appendMessagesOp([message(account, 'k-1', { direction: 'sideways' as never })]),
      claimDecisionOp(decision(account, 'k-1', ''), SINCE),
      recordDecisionOp('x', 'sent' as never, 'v1.a', null),
      recordDecisionOp('x', 'done', 'v1.a', { kind: 'text', count: 0, day: DAY, week: WEEK })
    ]
    for (const op of bad) await t.rejects(store.commit([consumeOp(consumeInput(account, 'text', 1)), op]), /store:/, `${op.op} refused`)
    t.strictSame(await store.getUsage(account, keys(DAY, WEEK)), { hour: usage(0), day: usage(0), week: usage(0) }, 'no consume was counted')
    t.equal(await store.getConversation(account, 'k-1'), null)
  })
}
