import type { Clock } from '../shared/clock.js'
import { BadRequest, defineError } from '../shared/errors.js'
import type { Place } from '../crypto/index.js'
import type { ContactKey } from '../encryption/service.js'
import { dataKeyIdOf } from '../crypto/index.js'
import { createVerifier, type VerifyResult } from './chain.js'
import { csvLines, ndjsonLines } from './export.js'
import type { IdGenerator } from './id.js'
import { appendAuditOp, DataKeyErased, pruneAuditOp, type AppendAuditOp, type AuditStore, type StoredAudit } from './store.js'
import { AUDIT_FIELDS, ENCRYPTED_FIELDS, type AuditActor, type AuditEntry, type AuditType, type JsonObject } from './types.js'

export const UnknownAuditRecord = defineError('SELLIFY_UNKNOWN_AUDIT_RECORD', 404, (id: string) => `audit record ${id} does not exist`)

/** A text field of a record: given in clear, stored encrypted. */
type EncryptedField = typeof ENCRYPTED_FIELDS[number]

/** What a record is made from: the fields of `AuditEntry`, texts in clear; id and timestamp are given here. */
export type AuditInput = Omit<AuditEntry, 'id' | 'timestamp' | 'actor'> & { actor?: AuditActor }

/** A record as answered: texts decrypted (null once the contact was erased), with its chain links. */
export type AuditView = Omit<AuditEntry, EncryptedField> & { [K in EncryptedField]?: string | null } & {
  prev_hash: string
  hash: string
  /** True when the data key of its texts was erased: they are unreadable for good. */
  erased: boolean
}

/** What the encryption engine does for the audit trail. */
export interface AuditSealer {
  seal: (account: string, contact: string | null, text: string, place: Place) => Promise<{ value: string, data_key: string }>
  open: (dataKey: string, value: string, place: Place) => Promise<string | null>
  contactKeyIds: (account: string, contact: string) => Promise<string[]>
  forgetAll: () => void
}

export interface AuditListQuery {
  account: string
  contact?: string
  type?: AuditType
  action?: string
  from?: string
  to?: string
  /** A record id: answer the records appended before it. */
  before?: string
  limit: number
}

/** The columns of a CSV export, in order. */
export const EXPORT_COLUMNS = [...AUDIT_FIELDS, 'erased', 'prev_hash', 'hash'] as const

/** Records read per store call by export and verify: memory stays flat whatever the chain's length. */
const PAGE = 500
/** Records removed per transaction by retention. */
const PRUNE_SLICE = 1000

const place = (id: string, column: string): Place => ({ table: 'audit_records', column, row: id })

function checkInstant (name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  const ms = Date.parse(value)
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(ms)) throw BadRequest(`querystring/${name} must be an ISO 8601 date or date-time, got ${JSON.stringify(value)}`)
  return new Date(ms).toISOString()
}

/**
 * The audit trail: records built here (texts encrypted under the contact's data key, hashed as stored) and
 * appended by the store into the account's chain, in the same transaction as the change they record.
 */
export function createAuditService (options: { store: AuditStore, sealer: AuditSealer, ids: IdGenerator, now: Clock }) {
  const { store, sealer, ids, now } = options

  /**
   * The operation that appends a record of `input`, to commit in the plan of the change it records; `when`
   * makes it depend on the operation before it (see unit-of-work.ts).
   */
  async function entry (input: AuditInput, when?: (previous: unknown) => boolean): Promise<AppendAuditOp> {
    const id = ids()
    const { actor = 'system', ...fields } = input
    const record: Record<string, unknown> = { ...fields, id, timestamp: now().toISOString(), actor }
    let dataKey: string | null = null
    for (const field of ENCRYPTED_FIELDS) {
      const text = input[field]
      if (text === undefined || text === null) continue
      const sealed = await sealer.seal(input.account, input.contact ?? null, text, place(id, field))
      record[field] = sealed.value
      dataKey = sealed.data_key
    }
    return appendAuditOp(record as unknown as AuditEntry, dataKey, when)
  }

  /**
   * The same operation built synchronously with a contact's data key in hand (inside a plan's `plan.then`):
   * every text of the record is under that one key, and the record is the contact's (found by `?contact=`,
   * and refused when the key was erased meanwhile) even when it carries no text.
   */
  function entryUnder (key: ContactKey, input: AuditInput): AppendAuditOp {
    const id = ids()
    const { actor = 'system', ...fields } = input
    const record: Record<string, unknown> = { ...fields, id, timestamp: now().toISOString(), actor }
    for (const field of ENCRYPTED_FIELDS) {
      const text = input[field]
      if (text === undefined || text === null) continue
      record[field] = key.seal(text, place(id, field))
    }
    return appendAuditOp(record as unknown as AuditEntry, key.id)
  }

  /** Decrypts a stored record's texts; `erased` when its data key is gone. A tampered text throws. */
  async function view (stored: StoredAudit): Promise<AuditView> {
    const { seq: _seq, ...record } = stored
    const out: Record<string, unknown> = { ...record, erased: false }
    for (const field of ENCRYPTED_FIELDS) {
      const value = stored[field]
      if (value === undefined) continue
      const dataKey = dataKeyIdOf(value)
      const text = dataKey === null ? null : await sealer.open(dataKey, value, place(stored.id, field))
      if (text === null) out.erased = true
      out[field] = text
    }
    return out as unknown as AuditView
  }

  async function * range (account: string, from?: string, to?: string): AsyncGenerator<AuditView> {
    let after = 0
    for (;;) {
      const page = await store.auditRange({ account, after_seq: after, from, to, limit: PAGE })
      for (const stored of page) yield await view(stored)
      if (page.length < PAGE) return
      after = page[page.length - 1].seq
    }
  }

  return {
    entry,
    entryUnder,

    /** Append one record on its own (the `client.log` route); a data key erased meanwhile is created anew once. */
    async record (input: AuditInput): Promise<AuditView> {
      for (let attempt = 0; ; attempt++) {
        const op = await entry(input)
        try {
          await store.commit([op])
          return await this.get(op.entry.id)
        } catch (err) {
          if (attempt > 0 || (err as { code?: string }).code !== DataKeyErased.code) throw err
          sealer.forgetAll()
        }
      }
    },

    async list (query: AuditListQuery): Promise<{ records: AuditView[], next_before: string | null }> {
      const from = checkInstant('from', query.from)
      const to = checkInstant('to', query.to)
      let beforeSeq: number | undefined
      if (query.before !== undefined) {
        const cursor = await store.getAudit(query.before)
        if (cursor === null || cursor.account !== query.account) {
          throw BadRequest(`querystring/before ${JSON.stringify(query.before)} is not a record of account ${JSON.stringify(query.account)}`)
        }
        beforeSeq = cursor.seq
      }
      const dataKeys = query.contact === undefined ? undefined : await sealer.contactKeyIds(query.account, query.contact)
      const rows = await store.listAudit({
        account: query.account, type: query.type, action: query.action, data_keys: dataKeys, from, to, before_seq: beforeSeq, limit: query.limit
      })
      const records: AuditView[] = []
      for (const row of rows) records.push(await view(row))
      return { records, next_before: rows.length === query.limit && rows.length > 0 ? rows[rows.length - 1].id : null }
    },

    async get (id: string): Promise<AuditView> {
      const stored = await store.getAudit(id)
      if (stored === null) throw UnknownAuditRecord(id)
      return await view(stored)
    },

    /** Every record of the account (from/to: inclusive bounds) in chain order, as lines of NDJSON or CSV. */
    export (query: { account: string, from?: string, to?: string, format: 'ndjson' | 'csv' }): AsyncGenerator<string> {
      const from = checkInstant('from', query.from)
      const to = checkInstant('to', query.to)
      const records = range(query.account, from, to) as AsyncIterable<Record<string, unknown>>
      return query.format === 'csv' ? csvLines(records, EXPORT_COLUMNS) : ndjsonLines(records)
    },

    /**
     * Walks the account's chain from its checkpoint (or genesis) to the head as it was when the walk began, so
     * appends made meanwhile do not count. Finds an edited, removed, inserted or reordered record.
     */
    async verify (account: string): Promise<VerifyResult> {
      const head = await store.auditHead(account)
      if (head === null || head.seq === 0) return { valid: true, records: 0, first_invalid_id: null }
      const verifier = createVerifier({
        account,
        checkpoint: head.checkpoint_hash === null ? null : { after_id: '', hash: head.checkpoint_hash },
        head: head.hash
      })
      let after = head.checkpoint_seq
      for (;;) {
        const page = await store.auditRange({ account, after_seq: after, until_seq: head.seq, limit: PAGE })
        for (const { seq: _seq, ...record } of page) {
          if (!verifier.push(record)) return verifier.result()
        }
        if (page.length < PAGE) break
        after = page[page.length - 1].seq
      }
      return verifier.result()
    },

    /** Retention: every account's records older than `before` removed, oldest first; the chains stay verifiable. */
    async prune (before: Date): Promise<number> {
      let removed = 0
      for (const account of await store.auditAccounts()) {
        for (;;) {
          const [n] = await store.commit([pruneAuditOp(account, before.toISOString(), PRUNE_SLICE)])
          removed += n
          if (n < PRUNE_SLICE) break
        }
      }
      return removed
    },
  }
}

export type AuditService = ReturnType<typeof createAuditService>
export type { JsonObject }
