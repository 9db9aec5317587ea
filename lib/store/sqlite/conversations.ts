import { ConversationChanged, type ConversationQuery, type StoredConversation, type StoredMessage } from '../../conversations/store.js'
import type { HourlyDecisions, StoredDecision } from '../../decisions/store.js'
import {
  CONVERSATION_SQL as SQL, conversationUpdateValues, conversationValues, eraseSql, listConversationsSql, markSql, messageValues,
  rowToConversation, rowToDecision, rowToHourly, rowToMessage
} from '../sql/conversations.js'
import { num, toIso } from '../sql/rows.js'
import type { SqliteAppliers, SqliteConn } from './index.js'

/**
 * Conversations and decisions. Every write runs inside the batch's write transaction: this store is the file's
 * only writer while it holds the lock, so a version compared here cannot change before the write.
 */
export function sqliteConversations (c: SqliteConn) {
  const appliers: Pick<SqliteAppliers, 'conversations.save' | 'conversations.messages' | 'conversations.erase' | 'decisions.claim' | 'decisions.record' | 'decisions.mark'> = {
    'conversations.save': {
      run: ({ conversation, expected }) => {
        const row = expected === 0
          ? c.get(SQL.insert, ...conversationValues(conversation))
          : c.get(SQL.update, ...conversationUpdateValues(conversation, expected))
        if (row === undefined) throw ConversationChanged()
        return num(row.version)
      }
      // Not atomic: a stale version throws, and must undo only its own plan (a savepoint), not the batch.
    },
    'conversations.messages': {
      run: ({ messages }) => {
        for (const m of messages) c.run(SQL.insertMessage, ...messageValues(m))
        return messages.length
      }
    },
    'conversations.erase': {
      run: ({ account, key_ids: keyIds }) => {
        c.run(eraseSql('conversation_messages', keyIds), account, ...keyIds)
        c.run(eraseSql('decisions', keyIds), account, ...keyIds)
        return c.run(eraseSql('conversations', keyIds), account, ...keyIds).changes
      }
    },
    'decisions.claim': {
      run: ({ decision: d, since }) => {
        if (d.message_key !== null) c.run(SQL.releaseClaim, d.account, d.message_key, toIso(since))
        if (c.get(SQL.claim, d.id, d.account, d.key_id, d.message_key, toIso(d.created_at)) !== undefined) return { claimed: true }
        return { claimed: false, id: String(c.get(SQL.claimHolder, d.account, d.message_key)?.id) }
      }
    },
    'decisions.record': {
      run: ({ id, status, answer, consumed }) => c.run(SQL.record, status, answer, consumed === null ? null : JSON.stringify(consumed), id).changes > 0,
      atomic: true
    },
    'decisions.mark': {
      run: ({ id, from, to, released }) => c.run(markSql(from), to, released === null || released === undefined ? null : released ? 1 : 0, id, ...from).changes > 0,
      atomic: true
    }
  }

  return {
    reads: {
      getConversation: (account: string, keyId: string): StoredConversation | null => {
        const row = c.get(SQL.get, account, keyId)
        return row === undefined ? null : rowToConversation(row)
      },
      listConversations: (q: ConversationQuery): StoredConversation[] => {
        const { sql, params } = listConversationsSql(q)
        return c.all(sql, ...params).map(rowToConversation)
      },
      conversationMessages: (account: string, keyId: string, limit: number): StoredMessage[] =>
        c.all(SQL.messages, account, keyId, limit).map(rowToMessage),
      conversationStates: (): Record<string, number> => Object.fromEntries(c.all(SQL.states).map((r) => [String(r.state), num(r.n)])),
      decisionsPerHour: (account: string, since: string): HourlyDecisions[] =>
        c.all(SQL.perHour, account, toIso(since)).map(rowToHourly),
      getDecision: (id: string): StoredDecision | null => {
        const row = c.get(SQL.getDecision, id)
        return row === undefined ? null : rowToDecision(row)
      },
      decisionByKey: (account: string, messageKey: string, since: string): StoredDecision | null => {
        const row = c.get(SQL.decisionByKey, account, messageKey, toIso(since))
        return row === undefined ? null : rowToDecision(row)
      }
    },
    appliers
  }
}
