import { ConversationChanged, type ConversationQuery, type StoredConversation, type StoredMessage } from '../../conversations/store.js'
import type { HourlyDecisions, StoredDecision } from '../../decisions/store.js'
import {
  CONVERSATION_SQL, MESSAGE_COLUMNS, conversationUpdateValues, conversationValues, eraseSql, listConversationsSql, markSql, messageValues,
  rowToConversation, rowToDecision, rowToHourly, rowToMessage
} from '../sql/conversations.js'
import { num, toIso } from '../sql/rows.js'
import { dialect } from '../sql/statements.js'
import type { PostgresAppliers, PostgresConn } from './index.js'

/** `INSERT … VALUES (…), (…)` for `n` messages. */
function insertMessages (n: number): string {
  const columns = MESSAGE_COLUMNS.length
  const rows = Array.from({ length: n }, (_, r) => `(${Array.from({ length: columns }, (_, i) => `$${r * columns + i + 1}`).join(', ')})`)
  return `INSERT INTO conversation_messages (${MESSAGE_COLUMNS.join(', ')}) VALUES ${rows.join(', ')}`
}

const SQL = Object.fromEntries(Object.entries(CONVERSATION_SQL).map(([name, sql]) => [name, dialect.pg(sql)])) as Record<keyof typeof CONVERSATION_SQL, string>

/**
 * Conversations and decisions on the shared database. A save compares the version in its own guarded
 * statement (the row lock makes a second writer wait, then find the version moved); a claim's unique key makes
 * a second claim of one message wait for the first's commit, then read the first's id.
 */
export function postgresConversations (c: PostgresConn) {
  const appliers: Pick<PostgresAppliers, 'conversations.save' | 'conversations.messages' | 'conversations.erase' | 'decisions.claim' | 'decisions.record' | 'decisions.mark'> = {
    'conversations.save': {
      async run (q, { conversation, expected }) {
        const rows = expected === 0
          ? await q.query(SQL.insert, conversationValues(conversation))
          : await q.query(SQL.update, conversationUpdateValues(conversation, expected))
        if (rows.length === 0) throw ConversationChanged()
        return num(rows[0].version)
      }
    },
    'conversations.messages': {
      transactional: true,
      // One statement for the plan's messages (the customer's and the reply): one round trip.
      async run (q, { messages }) {
        if (messages.length === 0) return 0
        await q.query(insertMessages(messages.length), messages.flatMap(messageValues))
        return messages.length
      }
    },
    'conversations.erase': {
      transactional: true,
      async run (q, { account, key_ids: keyIds }) {
        await q.query(dialect.pg(eraseSql('conversation_messages', keyIds)), [account, ...keyIds])
        await q.query(dialect.pg(eraseSql('decisions', keyIds)), [account, ...keyIds])
        return (await q.result(dialect.pg(eraseSql('conversations', keyIds)), [account, ...keyIds])).rowCount ?? 0
      }
    },
    'decisions.claim': {
      transactional: true,
      async run (q, { decision: d, since }) {
        if (d.message_key !== null) await q.query(SQL.releaseClaim, [d.account, d.message_key, toIso(since)])
        if ((await q.query(SQL.claim, [d.id, d.account, d.key_id, d.message_key, toIso(d.created_at)])).length > 0) return { claimed: true }
        const holder = await q.query(SQL.claimHolder, [d.account, d.message_key])
        // Released again between the two statements (a 24-hour-old claim): a rare race, retried by the caller.
        if (holder.length === 0) throw new Error('store: a decision claim was released while it was read')
        return { claimed: false, id: String(holder[0].id) }
      }
    },
    'decisions.record': {
      run: async (q, { id, status, answer, consumed }) =>
        ((await q.result(SQL.record, [status, answer, consumed === null ? null : JSON.stringify(consumed), id])).rowCount ?? 0) > 0
    },
    'decisions.mark': {
      run: async (q, { id, from, to, released }) =>
        ((await q.result(dialect.pg(markSql(from)), [to, released === null || released === undefined ? null : released ? 1 : 0, id, ...from])).rowCount ?? 0) > 0
    }
  }

  return {
    reads: {
      async getConversation (account: string, keyId: string): Promise<StoredConversation | null> {
        const rows = await c.pool.query(SQL.get, [account, keyId])
        return rows.length === 0 ? null : rowToConversation(rows[0])
      },
      async listConversations (q: ConversationQuery): Promise<StoredConversation[]> {
        const { sql, params } = listConversationsSql(q)
        return (await c.pool.query(dialect.pg(sql), params)).map(rowToConversation)
      },
      async conversationMessages (account: string, keyId: string, limit: number): Promise<StoredMessage[]> {
        return (await c.pool.query(SQL.messages, [account, keyId, limit])).map(rowToMessage)
      },
      async conversationStates (): Promise<Record<string, number>> {
        return Object.fromEntries((await c.pool.query(SQL.states)).map((r) => [String(r.state), num(r.n)]))
      },
      async decisionsPerHour (account: string, since: string): Promise<HourlyDecisions[]> {
        return (await c.pool.query(SQL.perHour, [account, toIso(since)])).map(rowToHourly)
      },
      async getDecision (id: string): Promise<StoredDecision | null> {
        const rows = await c.pool.query(SQL.getDecision, [id])
        return rows.length === 0 ? null : rowToDecision(rows[0])
      },
      async decisionByKey (account: string, messageKey: string, since: string): Promise<StoredDecision | null> {
        const rows = await c.pool.query(SQL.decisionByKey, [account, messageKey, toIso(since)])
        return rows.length === 0 ? null : rowToDecision(rows[0])
      }
    },
    appliers
  }
}
