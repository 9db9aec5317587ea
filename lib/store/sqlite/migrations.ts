/** SQLite schema, as an ordered list of numbered migrations (the rules: ../sql/migrate.ts). */
import type { Migration } from '../sql/migrate.js'

export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
CREATE TABLE accounts (
  id TEXT PRIMARY KEY,
  timezone TEXT NOT NULL,
  reset_time TEXT NOT NULL,
  week_start TEXT NOT NULL,
  messages_per_day INTEGER NOT NULL CHECK (messages_per_day >= 0),
  messages_per_week INTEGER NOT NULL CHECK (messages_per_week >= 0),
  images_per_day INTEGER NOT NULL CHECK (images_per_day >= 0),
  videos_per_week INTEGER NOT NULL CHECK (videos_per_week >= 0),
  min_delay_seconds REAL NOT NULL,
  max_delay_seconds REAL NOT NULL,
  media_delay_seconds REAL NOT NULL,
  created_at TEXT NOT NULL
) STRICT;

-- period is a day key (YYYY-MM-DD, 10 characters) or a week key (YYYY-Www, 8 characters).
-- Usage rows are not tied to accounts by a foreign key: counting must not depend on the
-- account row, and deleteAccount removes them explicitly.
CREATE TABLE usage (
  account TEXT NOT NULL,
  period TEXT NOT NULL,
  messages INTEGER NOT NULL DEFAULT 0 CHECK (messages >= 0),
  images INTEGER NOT NULL DEFAULT 0 CHECK (images >= 0),
  videos INTEGER NOT NULL DEFAULT 0 CHECK (videos >= 0),
  PRIMARY KEY (account, period)
) STRICT, WITHOUT ROWID;

-- The exactly-once ledger: one row per (account, reset_type, period) that had a reset.
CREATE TABLE reset_periods (
  account TEXT NOT NULL,
  reset_type TEXT NOT NULL CHECK (reset_type IN ('daily', 'weekly')),
  period TEXT NOT NULL,
  PRIMARY KEY (account, reset_type, period)
) STRICT, WITHOUT ROWID;

-- AUTOINCREMENT so that an id is never reused after deletes: ids are the listing cursor.
CREATE TABLE resets (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  account TEXT NOT NULL,
  reset_type TEXT NOT NULL CHECK (reset_type IN ('daily', 'weekly')),
  source TEXT NOT NULL CHECK (source IN ('schedule', 'catch-up', 'manual')),
  period TEXT NOT NULL,
  timestamp TEXT NOT NULL,
  before_messages INTEGER NOT NULL,
  before_images INTEGER NOT NULL,
  before_videos INTEGER NOT NULL
) STRICT;
CREATE INDEX resets_account_type_id ON resets (account, reset_type, id);
CREATE INDEX resets_type_id ON resets (reset_type, id);

CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('admin', 'agent')),
  account TEXT,
  digest BLOB NOT NULL UNIQUE,
  created_at TEXT NOT NULL,
  last_used_at TEXT,
  revoked_at TEXT
) STRICT;
CREATE INDEX api_keys_account ON api_keys (account);
`
  },
  {
    version: 2,
    name: 'store probe',
    // One row that a health check rewrites: the store is healthy only while a write commits.
    sql: 'CREATE TABLE store_probe (id INTEGER PRIMARY KEY CHECK (id = 1), at TEXT NOT NULL) STRICT;'
  },
  {
    version: 3,
    name: 'account settings',
    // The bot's settings of each account as one JSON document; keys it lacks read as their defaults.
    sql: "ALTER TABLE accounts ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';"
  },
  {
    version: 4,
    name: 'knowledge bases',
    // One JSON document per account, replaced whole by every change; version grows by one each time.
    sql: 'CREATE TABLE knowledge (account TEXT PRIMARY KEY, version INTEGER NOT NULL CHECK (version > 0), doc TEXT NOT NULL) STRICT;'
  },
  {
    version: 5,
    name: 'data keys and audit trail',
    // Data keys are stored only wrapped by a master key; contact_index is '' for an account's own key.
    // Audit records: one hash chain per account, seq its order; audit_heads holds each chain's newest link and
    // the checkpoint retention leaves. data_key says whose key the texts are under (not part of the record).
    // Records go in rowid order (appended at the table's end) with two indexes: (account, seq) and id (time-ordered,
    // appended at its end too). Each further index is one more page an append dirties in every batch; the
    // listing's filters read an account's records newest first by (account, seq) and stop at `limit`.
    sql: `
CREATE TABLE data_keys (
  id TEXT PRIMARY KEY,
  account TEXT NOT NULL,
  contact_index TEXT NOT NULL,
  contact TEXT,
  wrapped TEXT NOT NULL,
  kid TEXT NOT NULL,
  created_at TEXT NOT NULL,
  UNIQUE (account, contact_index)
) STRICT;
CREATE INDEX data_keys_kid ON data_keys (kid, id);

CREATE TABLE audit_heads (
  account TEXT PRIMARY KEY,
  seq INTEGER NOT NULL CHECK (seq >= 0),
  hash TEXT,
  checkpoint_seq INTEGER NOT NULL DEFAULT 0,
  checkpoint_hash TEXT
) STRICT;

CREATE TABLE audit_records (
  account TEXT NOT NULL,
  seq INTEGER NOT NULL,
  id TEXT NOT NULL UNIQUE,
  timestamp TEXT NOT NULL,
  type TEXT NOT NULL,
  action TEXT,
  data_key TEXT,
  body TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL,
  PRIMARY KEY (account, seq)
) STRICT;
`
  },
  {
    version: 6,
    name: 'conversations, their messages and decisions',
    // Keyed by the contact's data key id (never the contact id); texts and answers are encrypted under that key.
    // A decision's message_key is unique per account while it holds its claim (NULL: released, or none given).
    sql: `
CREATE TABLE conversations (
  account TEXT NOT NULL,
  key_id TEXT NOT NULL,
  contact TEXT NOT NULL,
  state TEXT NOT NULL,
  previous_state TEXT,
  last_event TEXT,
  misunderstandings INTEGER NOT NULL CHECK (misunderstandings >= 0),
  paused_until TEXT,
  created_at TEXT NOT NULL,
  last_message_at TEXT NOT NULL,
  session_started_at TEXT NOT NULL,
  media_sent TEXT NOT NULL,
  version INTEGER NOT NULL,
  PRIMARY KEY (account, key_id)
) STRICT;
CREATE INDEX conversations_activity ON conversations (account, last_message_at, key_id);

CREATE TABLE conversation_messages (
  id TEXT PRIMARY KEY,
  account TEXT NOT NULL,
  key_id TEXT NOT NULL,
  direction TEXT NOT NULL,
  sender TEXT NOT NULL,
  text TEXT,
  media_type TEXT,
  decision_id TEXT,
  at TEXT NOT NULL
) STRICT;
CREATE INDEX conversation_messages_contact ON conversation_messages (account, key_id, at, id);

CREATE TABLE decisions (
  id TEXT PRIMARY KEY,
  account TEXT NOT NULL,
  key_id TEXT NOT NULL,
  message_key TEXT,
  status TEXT NOT NULL,
  created_at TEXT NOT NULL,
  answer TEXT,
  consumed TEXT,
  released INTEGER,
  UNIQUE (account, message_key)
) STRICT;
CREATE INDEX decisions_contact ON decisions (account, key_id);
`
  },
  {
    version: 7,
    name: 'alerts and their webhook outbox',
    // An alert's texts are under its contact's data key; dedupe (NULL for most) makes a quota alert once per period.
    sql: `
CREATE TABLE alerts (
  id TEXT PRIMARY KEY,
  account TEXT NOT NULL,
  key_id TEXT,
  contact TEXT,
  trigger TEXT NOT NULL,
  severity TEXT NOT NULL,
  state TEXT,
  message TEXT,
  decision_id TEXT,
  dedupe TEXT,
  created_at TEXT NOT NULL,
  acknowledged_at TEXT,
  acknowledged_by TEXT,
  UNIQUE (account, dedupe)
) STRICT;
CREATE INDEX alerts_account ON alerts (account, id);

CREATE TABLE alert_deliveries (
  id TEXT PRIMARY KEY,
  alert_id TEXT NOT NULL,
  account TEXT NOT NULL,
  url TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  next_attempt_at TEXT,
  claim TEXT,
  claimed_until TEXT,
  last_status INTEGER,
  last_error TEXT,
  created_at TEXT NOT NULL,
  delivered_at TEXT
) STRICT;
CREATE INDEX alert_deliveries_due ON alert_deliveries (status, next_attempt_at, id);
CREATE INDEX alert_deliveries_alert ON alert_deliveries (alert_id);
`
  },
  {
    version: 8,
    name: 'hourly cap, warm-up, pause and ban signals',
    // Existing accounts get the hourly cap's default and no warm-up: they have a history, and an upgrade
    // must not throttle a working number. account_state holds what is kept per account beside its
    // counters (the pause, the warm-up's first day and last send); signals are what the gateway saw.
    sql: `
ALTER TABLE accounts ADD COLUMN messages_per_hour INTEGER NOT NULL DEFAULT 30 CHECK (messages_per_hour >= 0);
ALTER TABLE accounts ADD COLUMN warmup_enabled INTEGER NOT NULL DEFAULT 0 CHECK (warmup_enabled IN (0, 1));
ALTER TABLE accounts ADD COLUMN warmup_start_per_day INTEGER NOT NULL DEFAULT 20 CHECK (warmup_start_per_day >= 0);
ALTER TABLE accounts ADD COLUMN warmup_days INTEGER NOT NULL DEFAULT 14 CHECK (warmup_days BETWEEN 1 AND 90);

CREATE TABLE account_state (
  account TEXT PRIMARY KEY,
  paused_until INTEGER,
  pause_reason TEXT,
  slow_until INTEGER,
  warmup_start TEXT,
  last_send_at INTEGER
) STRICT, WITHOUT ROWID;

CREATE TABLE account_signals (
  id TEXT PRIMARY KEY,
  account TEXT NOT NULL,
  type TEXT NOT NULL,
  at INTEGER NOT NULL,
  key_id TEXT,
  detail TEXT
) STRICT;
CREATE INDEX account_signals_account ON account_signals (account, at);
`
  },
  {
    version: 9,
    name: 'decisions by time',
    // The dashboard's decisions per hour (GET /api/v1/decisions/hourly) reads one account's last day.
    sql: `
CREATE INDEX decisions_time ON decisions (account, created_at);
`
  }
]
