/**
 * PostgreSQL schema, as an ordered list of numbered migrations. Applied versions are recorded in
 * `schema_migrations`; a migration, once released, is never edited: add a new one instead.
 * Names are unqualified: every connection of the store has the store's schema as its search_path.
 */
import type { Migration } from '../sql/migrate.js'

export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
CREATE TABLE accounts (
  id text PRIMARY KEY,
  timezone text NOT NULL,
  reset_time text NOT NULL,
  week_start text NOT NULL,
  messages_per_day bigint NOT NULL CHECK (messages_per_day >= 0),
  messages_per_week bigint NOT NULL CHECK (messages_per_week >= 0),
  images_per_day bigint NOT NULL CHECK (images_per_day >= 0),
  videos_per_week bigint NOT NULL CHECK (videos_per_week >= 0),
  min_delay_seconds double precision NOT NULL,
  max_delay_seconds double precision NOT NULL,
  media_delay_seconds double precision NOT NULL,
  created_at timestamptz NOT NULL
);

-- period is a day key (YYYY-MM-DD, 10 characters) or a week key (YYYY-Www, 8 characters).
-- No foreign key to accounts: counting must not depend on the account row (and it would add a
-- KEY SHARE lock on the account to every insert); deleteAccount removes the rows explicitly.
-- Counter updates never change an indexed column, so free space on the page lets them stay HOT.
CREATE TABLE usage (
  account text NOT NULL,
  period text NOT NULL,
  messages bigint NOT NULL DEFAULT 0 CHECK (messages >= 0),
  images bigint NOT NULL DEFAULT 0 CHECK (images >= 0),
  videos bigint NOT NULL DEFAULT 0 CHECK (videos >= 0),
  PRIMARY KEY (account, period)
) WITH (fillfactor = 70);

-- The exactly-once ledger: one row per (account, reset_type, period) that had a reset.
CREATE TABLE reset_periods (
  account text NOT NULL,
  reset_type text NOT NULL CHECK (reset_type IN ('daily', 'weekly')),
  period text NOT NULL,
  PRIMARY KEY (account, reset_type, period)
);

CREATE TABLE resets (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account text NOT NULL,
  reset_type text NOT NULL CHECK (reset_type IN ('daily', 'weekly')),
  source text NOT NULL CHECK (source IN ('schedule', 'catch-up', 'manual')),
  period text NOT NULL,
  timestamp timestamptz NOT NULL,
  before_messages bigint NOT NULL,
  before_images bigint NOT NULL,
  before_videos bigint NOT NULL
);
CREATE INDEX resets_account_type_id ON resets (account, reset_type, id);
CREATE INDEX resets_type_id ON resets (reset_type, id);

CREATE TABLE api_keys (
  id text PRIMARY KEY,
  name text NOT NULL,
  role text NOT NULL CHECK (role IN ('admin', 'agent')),
  account text,
  digest bytea NOT NULL UNIQUE,
  created_at timestamptz NOT NULL,
  last_used_at timestamptz,
  revoked_at timestamptz
);
CREATE INDEX api_keys_account ON api_keys (account);
`
  },
  {
    version: 2,
    name: 'sellify_consume function',
    // One round trip per consume, exact under any concurrency:
    // - the two rows are created if missing (ON CONFLICT DO NOTHING), then each is changed by one
    //   guarded UPDATE (the guard is re-checked on the newest row version after a lock wait), day
    //   row first, then week row: every consume locks in that order, so two never deadlock;
    // - a failing guard raises inside the inner block, whose subtransaction undoes the inserts and
    //   the day update: a denial changes nothing;
    // - the denial then names the first limit (LIMIT_NAMES order) that the current counters fail.
    //   When none does any more (a reset freed room in between), the consume is tried again.
    // Only the limits the kind touches are guarded: p_images = 0 never fails on images_per_day.
    sql: `
CREATE OR REPLACE FUNCTION sellify_consume (
  p_account text, p_day text, p_week text,
  p_messages bigint, p_images bigint, p_videos bigint,
  p_messages_per_day bigint, p_messages_per_week bigint, p_images_per_day bigint, p_videos_per_week bigint,
  p_record boolean,
  OUT allowed boolean, OUT failed_limit text,
  OUT day_messages bigint, OUT day_images bigint, OUT day_videos bigint,
  OUT week_messages bigint, OUT week_images bigint, OUT week_videos bigint
) LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
  failed_row text;
BEGIN
  FOR attempt IN 1..3 LOOP
    BEGIN
      INSERT INTO usage (account, period) VALUES (p_account, p_day), (p_account, p_week) ON CONFLICT DO NOTHING;

      UPDATE usage u SET messages = u.messages + p_messages, images = u.images + p_images, videos = u.videos + p_videos
        WHERE u.account = p_account AND u.period = p_day
          AND (p_record OR (u.messages + p_messages <= p_messages_per_day
                            AND (p_images = 0 OR u.images + p_images <= p_images_per_day)))
        RETURNING u.messages, u.images, u.videos INTO day_messages, day_images, day_videos;
      IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'SLQ01', MESSAGE = 'day limit';
      END IF;

      UPDATE usage u SET messages = u.messages + p_messages, images = u.images + p_images, videos = u.videos + p_videos
        WHERE u.account = p_account AND u.period = p_week
          AND (p_record OR (u.messages + p_messages <= p_messages_per_week
                            AND (p_videos = 0 OR u.videos + p_videos <= p_videos_per_week)))
        RETURNING u.messages, u.images, u.videos INTO week_messages, week_images, week_videos;
      IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'SLQ02', MESSAGE = 'week limit';
      END IF;

      allowed := true;
      failed_limit := NULL;
      RETURN;
    EXCEPTION WHEN SQLSTATE 'SLQ01' OR SQLSTATE 'SLQ02' THEN
      failed_row := CASE WHEN SQLSTATE = 'SLQ01' THEN 'day' ELSE 'week' END;
    END;

    SELECT coalesce(max(u.messages), 0), coalesce(max(u.images), 0), coalesce(max(u.videos), 0)
      INTO day_messages, day_images, day_videos
      FROM usage u WHERE u.account = p_account AND u.period = p_day;
    SELECT coalesce(max(u.messages), 0), coalesce(max(u.images), 0), coalesce(max(u.videos), 0)
      INTO week_messages, week_images, week_videos
      FROM usage u WHERE u.account = p_account AND u.period = p_week;

    allowed := false;
    failed_limit := CASE
      WHEN day_messages + p_messages > p_messages_per_day THEN 'messages_per_day'
      WHEN week_messages + p_messages > p_messages_per_week THEN 'messages_per_week'
      WHEN p_images > 0 AND day_images + p_images > p_images_per_day THEN 'images_per_day'
      WHEN p_videos > 0 AND week_videos + p_videos > p_videos_per_week THEN 'videos_per_week'
    END;
    IF failed_limit IS NOT NULL THEN
      RETURN;
    END IF;
  END LOOP;

  -- Still no limit failing on re-read after three tries: name the guard that failed last.
  failed_limit := CASE
    WHEN failed_row = 'day' AND p_images > 0 AND day_messages + p_messages <= p_messages_per_day THEN 'images_per_day'
    WHEN failed_row = 'day' THEN 'messages_per_day'
    WHEN p_videos > 0 AND week_messages + p_messages <= p_messages_per_week THEN 'videos_per_week'
    ELSE 'messages_per_week'
  END;
END
$fn$;
`
  },
  {
    version: 3,
    name: 'batched consume and account change counter',
    // sellify_consume_batch: the consumes of one event-loop turn in ONE statement, so one round trip
    // and one commit (one WAL flush) answer all of them. Each consume is exact as before:
    // - elements run in (account, arrival) order whatever the arrival order across accounts, so every
    //   batch locks rows in the same order (account, then its day row, then its week row) and two
    //   batches never deadlock; consumes of one account keep their arrival order;
    // - each row is changed by one guarded upsert (ON CONFLICT DO UPDATE … WHERE locks the row and
    //   checks the guard on its newest version), day row first;
    // - no subtransaction per element (they would overflow the 64 cached subxids of a backend):
    //   a week refusal takes the day's share back by hand, deleting the day row when it created it,
    //   so a denial changes nothing and leaves no row behind;
    // - a denial names the first limit (LIMIT_NAMES order) the counters fail. The rows that failed
    //   are locked by this transaction, so there always is one.
    //
    // account_changes.version grows with every change of an account, so an instance can keep account
    // rows in memory and forget them when another instance changed one (polling one row, not N).
    sql: `
CREATE TABLE account_changes (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  version bigint NOT NULL
);
INSERT INTO account_changes (id, version) VALUES (true, 0);

CREATE FUNCTION sellify_account_changed () RETURNS trigger LANGUAGE plpgsql
  SET search_path FROM CURRENT AS $fn$
BEGIN
  UPDATE account_changes SET version = version + 1 WHERE id;
  RETURN NULL;
END
$fn$;

CREATE TRIGGER accounts_changed AFTER INSERT OR UPDATE OR DELETE ON accounts
  FOR EACH ROW EXECUTE FUNCTION sellify_account_changed();
CREATE TRIGGER accounts_truncated AFTER TRUNCATE ON accounts
  FOR EACH STATEMENT EXECUTE FUNCTION sellify_account_changed();

CREATE FUNCTION sellify_consume_batch (
  p_account text[], p_day text[], p_week text[],
  p_messages bigint[], p_images bigint[], p_videos bigint[],
  p_messages_per_day bigint[], p_messages_per_week bigint[], p_images_per_day bigint[], p_videos_per_week bigint[],
  p_record boolean[],
  OUT idx integer, OUT allowed boolean, OUT failed_limit text,
  OUT day_messages bigint, OUT day_images bigint, OUT day_videos bigint,
  OUT week_messages bigint, OUT week_images bigint, OUT week_videos bigint
) RETURNS SETOF record LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
  i integer;
  a text;
  m bigint;
  im bigint;
  v bigint;
  rec boolean;
  day_new boolean;
BEGIN
  FOR i IN SELECT u.o::integer FROM unnest(p_account) WITH ORDINALITY AS u(a, o) ORDER BY u.a COLLATE "C", u.o LOOP
    idx := i;
    a := p_account[i];
    m := p_messages[i];
    im := p_images[i];
    v := p_videos[i];
    rec := p_record[i];
    allowed := false;
    failed_limit := NULL;

    -- A send that does not fit even in empty counters touches no row.
    IF rec OR (m <= p_messages_per_day[i] AND m <= p_messages_per_week[i]
               AND (im = 0 OR im <= p_images_per_day[i]) AND (v = 0 OR v <= p_videos_per_week[i])) THEN
      INSERT INTO usage AS u (account, period, messages, images, videos) VALUES (a, p_day[i], m, im, v)
        ON CONFLICT (account, period) DO UPDATE
          SET messages = u.messages + excluded.messages, images = u.images + excluded.images, videos = u.videos + excluded.videos
          WHERE rec OR (u.messages + excluded.messages <= p_messages_per_day[i]
                        AND (excluded.images = 0 OR u.images + excluded.images <= p_images_per_day[i]))
        RETURNING u.messages, u.images, u.videos, (u.xmax = 0) INTO day_messages, day_images, day_videos, day_new;
      IF FOUND THEN
        INSERT INTO usage AS u (account, period, messages, images, videos) VALUES (a, p_week[i], m, im, v)
          ON CONFLICT (account, period) DO UPDATE
            SET messages = u.messages + excluded.messages, images = u.images + excluded.images, videos = u.videos + excluded.videos
            WHERE rec OR (u.messages + excluded.messages <= p_messages_per_week[i]
                          AND (excluded.videos = 0 OR u.videos + excluded.videos <= p_videos_per_week[i]))
          RETURNING u.messages, u.images, u.videos INTO week_messages, week_images, week_videos;
        IF FOUND THEN
          allowed := true;
          RETURN NEXT;
          CONTINUE;
        END IF;
        -- The week refused: take the day's share back (this transaction holds the day row).
        IF day_new THEN
          DELETE FROM usage u WHERE u.account = a AND u.period = p_day[i];
        ELSE
          UPDATE usage u SET messages = u.messages - m, images = u.images - im, videos = u.videos - v
            WHERE u.account = a AND u.period = p_day[i];
        END IF;
      END IF;
    END IF;

    SELECT coalesce(max(u.messages), 0), coalesce(max(u.images), 0), coalesce(max(u.videos), 0)
      INTO day_messages, day_images, day_videos
      FROM usage u WHERE u.account = a AND u.period = p_day[i];
    SELECT coalesce(max(u.messages), 0), coalesce(max(u.images), 0), coalesce(max(u.videos), 0)
      INTO week_messages, week_images, week_videos
      FROM usage u WHERE u.account = a AND u.period = p_week[i];
    failed_limit := CASE
      WHEN day_messages + m > p_messages_per_day[i] THEN 'messages_per_day'
      WHEN week_messages + m > p_messages_per_week[i] THEN 'messages_per_week'
      WHEN im > 0 AND day_images + im > p_images_per_day[i] THEN 'images_per_day'
      WHEN v > 0 AND week_videos + v > p_videos_per_week[i] THEN 'videos_per_week'
    END;
    RETURN NEXT;
  END LOOP;
END
$fn$;
`
  },
  {
    version: 4,
    name: 'drop sellify_consume',
    // Superseded by sellify_consume_batch, which a plan's transaction also calls, with one element, when a
    // consume is one operation among others (docs/architecture.md, "Unit of work").
    sql: 'DROP FUNCTION IF EXISTS sellify_consume(text, text, text, bigint, bigint, bigint, bigint, bigint, bigint, bigint, boolean);'
  },
  {
    version: 5,
    name: 'consumes decide by the committed account; a locked row holds up only its own account',
    // Until 4 the caller passed the limits it had read (from a cache): a limit lowered to 0 or an account
    // deleted on another instance kept granting until the cache noticed, and a consume racing a delete
    // wrote counters that came back with the account. Now:
    // - each element reads its account row in the statement that writes, under KEY SHARE (the committed
    //   limits; missing: nothing counted; other period settings than the caller's keys were made with:
    //   'changed'), so a delete and a consume of one account are serialised;
    // - usage rows belong to their account (ON DELETE CASCADE): a consume that raced a delete fails its
    //   insert (23503) instead of leaving counters behind, and the caller retries the batch, which then
    //   finds the account missing. Only a new row pays the foreign key's lock on the account;
    // - with p_skip_locked, an element whose usage rows another transaction holds is answered 'busy'
    //   at once (SKIP LOCKED never waits, and it needs no subtransaction): the caller retries that
    //   consume alone later, and the rest of the batch is not held up by it.
    sql: `
DELETE FROM usage u WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = u.account);
ALTER TABLE usage ADD CONSTRAINT usage_account_fkey FOREIGN KEY (account) REFERENCES accounts (id) ON DELETE CASCADE;
DROP FUNCTION sellify_consume_batch(text[], text[], text[], bigint[], bigint[], bigint[], bigint[], bigint[], bigint[], bigint[], boolean[]);

CREATE FUNCTION sellify_consume_batch (
  p_account text[], p_day text[], p_week text[],
  p_timezone text[], p_reset_time text[], p_week_start text[],
  p_messages bigint[], p_images bigint[], p_videos bigint[],
  p_record boolean[], p_skip_locked boolean,
  OUT idx integer, OUT outcome text, OUT failed_limit text,
  OUT day_messages bigint, OUT day_images bigint, OUT day_videos bigint,
  OUT week_messages bigint, OUT week_images bigint, OUT week_videos bigint,
  OUT messages_per_day bigint, OUT messages_per_week bigint, OUT images_per_day bigint, OUT videos_per_week bigint,
  OUT timezone text, OUT reset_time text, OUT week_start text
) RETURNS SETOF record LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
  i integer;
  a text;
  m bigint;
  im bigint;
  v bigint;
  rec boolean;
  day_new boolean;
  n_rows integer;
  n_free integer;
BEGIN
  FOR i IN SELECT u.o::integer FROM unnest(p_account) WITH ORDINALITY AS u(a, o) ORDER BY u.a COLLATE "C", u.o LOOP
    idx := i;
    a := p_account[i];
    m := p_messages[i];
    im := p_images[i];
    v := p_videos[i];
    rec := p_record[i];
    outcome := 'refused';
    failed_limit := NULL;
    day_messages := NULL; day_images := NULL; day_videos := NULL;
    week_messages := NULL; week_images := NULL; week_videos := NULL;

    -- KEY SHARE: a delete of the account waits for this transaction (and this element for a delete in
    -- progress), so both take the account before its usage rows and never deadlock; a change of its
    -- settings does not wait.
    IF p_skip_locked THEN
      SELECT ac.timezone, ac.reset_time, ac.week_start,
             ac.messages_per_day, ac.messages_per_week, ac.images_per_day, ac.videos_per_week
        INTO timezone, reset_time, week_start, messages_per_day, messages_per_week, images_per_day, videos_per_week
        FROM accounts ac WHERE ac.id = a FOR KEY SHARE SKIP LOCKED;
      IF NOT FOUND AND EXISTS (SELECT 1 FROM accounts ac WHERE ac.id = a) THEN
        outcome := 'busy';
        RETURN NEXT;
        CONTINUE;
      END IF;
    ELSE
      SELECT ac.timezone, ac.reset_time, ac.week_start,
             ac.messages_per_day, ac.messages_per_week, ac.images_per_day, ac.videos_per_week
        INTO timezone, reset_time, week_start, messages_per_day, messages_per_week, images_per_day, videos_per_week
        FROM accounts ac WHERE ac.id = a FOR KEY SHARE;
    END IF;
    IF NOT FOUND THEN
      outcome := 'missing';
      RETURN NEXT;
      CONTINUE;
    END IF;
    IF timezone <> p_timezone[i] OR reset_time <> p_reset_time[i] OR week_start <> p_week_start[i] THEN
      outcome := 'changed';
      RETURN NEXT;
      CONTINUE;
    END IF;

    IF p_skip_locked THEN
      SELECT count(*) INTO n_rows FROM usage u WHERE u.account = a AND u.period IN (p_day[i], p_week[i]);
      IF n_rows > 0 THEN
        SELECT count(*) INTO n_free FROM (SELECT 1 FROM usage u WHERE u.account = a AND u.period IN (p_day[i], p_week[i])
          FOR NO KEY UPDATE SKIP LOCKED) s;
        IF n_free < n_rows THEN
          outcome := 'busy';
          RETURN NEXT;
          CONTINUE;
        END IF;
      END IF;
    END IF;

    -- A send that does not fit even in empty counters touches no row.
    IF rec OR (m <= messages_per_day AND m <= messages_per_week
               AND (im = 0 OR im <= images_per_day) AND (v = 0 OR v <= videos_per_week)) THEN
      INSERT INTO usage AS u (account, period, messages, images, videos) VALUES (a, p_day[i], m, im, v)
        ON CONFLICT (account, period) DO UPDATE
          SET messages = u.messages + excluded.messages, images = u.images + excluded.images, videos = u.videos + excluded.videos
          WHERE rec OR (u.messages + excluded.messages <= messages_per_day
                        AND (excluded.images = 0 OR u.images + excluded.images <= images_per_day))
        RETURNING u.messages, u.images, u.videos, (u.xmax = 0) INTO day_messages, day_images, day_videos, day_new;
      IF FOUND THEN
        INSERT INTO usage AS u (account, period, messages, images, videos) VALUES (a, p_week[i], m, im, v)
          ON CONFLICT (account, period) DO UPDATE
            SET messages = u.messages + excluded.messages, images = u.images + excluded.images, videos = u.videos + excluded.videos
            WHERE rec OR (u.messages + excluded.messages <= messages_per_week
                          AND (excluded.videos = 0 OR u.videos + excluded.videos <= videos_per_week))
          RETURNING u.messages, u.images, u.videos INTO week_messages, week_images, week_videos;
        IF FOUND THEN
          outcome := 'granted';
          RETURN NEXT;
          CONTINUE;
        END IF;
        -- The week refused: take the day's share back (this transaction holds the day row).
        IF day_new THEN
          DELETE FROM usage u WHERE u.account = a AND u.period = p_day[i];
        ELSE
          UPDATE usage u SET messages = u.messages - m, images = u.images - im, videos = u.videos - v
            WHERE u.account = a AND u.period = p_day[i];
        END IF;
      END IF;
    END IF;

    SELECT coalesce(max(u.messages), 0), coalesce(max(u.images), 0), coalesce(max(u.videos), 0)
      INTO day_messages, day_images, day_videos
      FROM usage u WHERE u.account = a AND u.period = p_day[i];
    SELECT coalesce(max(u.messages), 0), coalesce(max(u.images), 0), coalesce(max(u.videos), 0)
      INTO week_messages, week_images, week_videos
      FROM usage u WHERE u.account = a AND u.period = p_week[i];
    failed_limit := CASE
      WHEN day_messages + m > messages_per_day THEN 'messages_per_day'
      WHEN week_messages + m > messages_per_week THEN 'messages_per_week'
      WHEN im > 0 AND day_images + im > images_per_day THEN 'images_per_day'
      WHEN v > 0 AND week_videos + v > videos_per_week THEN 'videos_per_week'
    END;
    RETURN NEXT;
  END LOOP;
END
$fn$;
`
  },
  {
    version: 6,
    name: 'store probe',
    // One row that a health check rewrites: the store is healthy only while a write commits.
    sql: 'CREATE TABLE store_probe (id boolean PRIMARY KEY DEFAULT true CHECK (id), at timestamptz NOT NULL);'
  },
  {
    version: 7,
    name: 'account settings',
    // The bot's settings of each account as one JSON document; keys it lacks read as their defaults.
    sql: "ALTER TABLE accounts ADD COLUMN settings jsonb NOT NULL DEFAULT '{}';"
  },
  {
    version: 8,
    name: 'knowledge bases',
    // One document per account, replaced whole by every change; it goes with its account.
    sql: `CREATE TABLE knowledge (
  account text PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
  version bigint NOT NULL CHECK (version >= 0),
  doc jsonb NOT NULL
);`
  },
  {
    version: 9,
    name: 'data keys and audit trail',
    // As SQLite's migration 5. Neither table goes with its account: the trail outlives what it records.
    // Timestamps are text (ISO 8601, milliseconds, Z), compared as text, kept exactly as hashed.
    sql: `
CREATE TABLE data_keys (
  id text PRIMARY KEY,
  account text NOT NULL,
  contact_index text NOT NULL,
  contact text,
  wrapped text NOT NULL,
  kid text NOT NULL,
  created_at text NOT NULL,
  UNIQUE (account, contact_index)
);
CREATE INDEX data_keys_kid ON data_keys (kid, id);

CREATE TABLE audit_heads (
  account text PRIMARY KEY,
  seq bigint NOT NULL CHECK (seq >= 0),
  hash text,
  checkpoint_seq bigint NOT NULL DEFAULT 0,
  checkpoint_hash text
);

CREATE TABLE audit_records (
  account text NOT NULL,
  seq bigint NOT NULL,
  id text NOT NULL UNIQUE,
  timestamp text NOT NULL,
  type text NOT NULL,
  action text,
  data_key text,
  body text NOT NULL,
  prev_hash text NOT NULL,
  hash text NOT NULL,
  PRIMARY KEY (account, seq)
);
CREATE INDEX audit_records_type ON audit_records (account, type, seq);
CREATE INDEX audit_records_data_key ON audit_records (account, data_key, seq);
CREATE INDEX audit_records_time ON audit_records (account, timestamp);
`
  },
  {
    version: 10,
    name: 'conversations, their messages and decisions',
    // As SQLite's migration 6; each table goes with its account.
    sql: `
CREATE TABLE conversations (
  account text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  key_id text NOT NULL,
  contact text NOT NULL,
  state text NOT NULL,
  previous_state text,
  last_event text,
  misunderstandings integer NOT NULL CHECK (misunderstandings >= 0),
  paused_until text,
  created_at text NOT NULL,
  last_message_at text NOT NULL,
  session_started_at text NOT NULL,
  media_sent jsonb NOT NULL,
  version bigint NOT NULL,
  PRIMARY KEY (account, key_id)
);
CREATE INDEX conversations_activity ON conversations (account, last_message_at, key_id);

CREATE TABLE conversation_messages (
  id text PRIMARY KEY,
  account text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  key_id text NOT NULL,
  direction text NOT NULL,
  sender text NOT NULL,
  text text,
  media_type text,
  decision_id text,
  at text NOT NULL
);
CREATE INDEX conversation_messages_contact ON conversation_messages (account, key_id, at, id);

CREATE TABLE decisions (
  id text PRIMARY KEY,
  account text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  key_id text NOT NULL,
  message_key text,
  status text NOT NULL,
  created_at text NOT NULL,
  answer text,
  consumed jsonb,
  released integer,
  UNIQUE (account, message_key)
);
CREATE INDEX decisions_contact ON decisions (account, key_id);
`
  },
  {
    version: 11,
    name: 'alerts and their webhook outbox',
    // As SQLite's migration 7; both go with their account.
    sql: `
CREATE TABLE alerts (
  id text PRIMARY KEY,
  account text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  key_id text,
  contact text,
  trigger text NOT NULL,
  severity text NOT NULL,
  state text,
  message text,
  decision_id text,
  dedupe text,
  created_at text NOT NULL,
  acknowledged_at text,
  acknowledged_by text,
  UNIQUE (account, dedupe)
);
CREATE INDEX alerts_account ON alerts (account, id);

CREATE TABLE alert_deliveries (
  id text PRIMARY KEY,
  alert_id text NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
  account text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  url text NOT NULL,
  status text NOT NULL,
  attempts integer NOT NULL,
  next_attempt_at text,
  claim text,
  claimed_until text,
  last_status integer,
  last_error text,
  created_at text NOT NULL,
  delivered_at text
);
CREATE INDEX alert_deliveries_due ON alert_deliveries (status, next_attempt_at, id);
CREATE INDEX alert_deliveries_alert ON alert_deliveries (alert_id);
`
  },
  {
    version: 12,
    name: 'hourly cap, warm-up, pause and ban signals',
    // As SQLite's migration 8. sellify_consume_batch now counts three rows (hour, day, week) and decides
    // after locking them, instead of guarding each upsert:
    // - the rows of a send are created when missing, then locked in key order (FOR NO KEY UPDATE, or
    //   SKIP LOCKED: 'busy' when another transaction holds one), so concurrent consumes of one account
    //   are serialised on them and the rule below sees the counters as committed;
    // - the rule is lib/quota/rules.ts's, in REFUSALS order: the pause, the daily limit, the warm-up's
    //   cap (its day from account_state, starting over after 72 h without a send), the weekly limit,
    //   images, videos, the hourly cap. The warm-up's cap rounds half up, as Math.round;
    // - a granted consume of a warming account writes its first day and last send to account_state.
    sql: `
ALTER TABLE accounts ADD COLUMN messages_per_hour bigint NOT NULL DEFAULT 30 CHECK (messages_per_hour >= 0);
ALTER TABLE accounts ADD COLUMN warmup_enabled boolean NOT NULL DEFAULT false;
ALTER TABLE accounts ADD COLUMN warmup_start_per_day bigint NOT NULL DEFAULT 20 CHECK (warmup_start_per_day >= 0);
ALTER TABLE accounts ADD COLUMN warmup_days integer NOT NULL DEFAULT 14 CHECK (warmup_days BETWEEN 1 AND 90);

CREATE TABLE account_state (
  account text PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
  paused_until bigint,
  pause_reason text,
  slow_until bigint,
  warmup_start text,
  last_send_at bigint
);

CREATE TABLE account_signals (
  id text PRIMARY KEY,
  account text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  type text NOT NULL,
  at bigint NOT NULL,
  key_id text,
  detail text
);
CREATE INDEX account_signals_account ON account_signals (account, at);

DROP FUNCTION sellify_consume_batch(text[], text[], text[], text[], text[], text[], bigint[], bigint[], bigint[], boolean[], boolean);

CREATE FUNCTION sellify_consume_batch (
  p_account text[], p_hour text[], p_day text[], p_week text[],
  p_timezone text[], p_reset_time text[], p_week_start text[],
  p_messages bigint[], p_images bigint[], p_videos bigint[],
  p_record boolean[], p_at bigint[], p_skip_locked boolean,
  OUT idx integer, OUT outcome text, OUT failed_limit text,
  OUT hour_messages bigint, OUT hour_images bigint, OUT hour_videos bigint,
  OUT day_messages bigint, OUT day_images bigint, OUT day_videos bigint,
  OUT week_messages bigint, OUT week_images bigint, OUT week_videos bigint,
  OUT messages_per_day bigint, OUT messages_per_week bigint, OUT images_per_day bigint, OUT videos_per_week bigint,
  OUT messages_per_hour bigint,
  OUT timezone text, OUT reset_time text, OUT week_start text,
  OUT warmup_day integer, OUT warmup_cap bigint, OUT paused_until bigint, OUT slow boolean
) RETURNS SETOF record LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
  i integer;
  a text;
  m bigint;
  im bigint;
  v bigint;
  rec boolean;
  n_rows integer;
  n_locked integer;
  w_enabled boolean;
  w_start bigint;
  w_days integer;
  s_paused bigint;
  s_slow bigint;
  s_start text;
  s_last bigint;
BEGIN
  FOR i IN SELECT u.o::integer FROM unnest(p_account) WITH ORDINALITY AS u(a, o) ORDER BY u.a COLLATE "C", u.o LOOP
    idx := i;
    a := p_account[i];
    m := p_messages[i];
    im := p_images[i];
    v := p_videos[i];
    rec := p_record[i];
    outcome := 'refused';
    failed_limit := NULL;
    hour_messages := NULL; hour_images := NULL; hour_videos := NULL;
    day_messages := NULL; day_images := NULL; day_videos := NULL;
    week_messages := NULL; week_images := NULL; week_videos := NULL;
    warmup_day := NULL; warmup_cap := NULL; paused_until := NULL; slow := NULL;

    -- KEY SHARE: a delete of the account waits for this transaction (and this element for a delete in
    -- progress), so both take the account before its usage rows and never deadlock; a change of its
    -- settings does not wait.
    IF p_skip_locked THEN
      SELECT ac.timezone, ac.reset_time, ac.week_start,
             ac.messages_per_day, ac.messages_per_week, ac.images_per_day, ac.videos_per_week, ac.messages_per_hour,
             ac.warmup_enabled, ac.warmup_start_per_day, ac.warmup_days
        INTO timezone, reset_time, week_start, messages_per_day, messages_per_week, images_per_day, videos_per_week, messages_per_hour,
             w_enabled, w_start, w_days
        FROM accounts ac WHERE ac.id = a FOR KEY SHARE SKIP LOCKED;
      IF NOT FOUND AND EXISTS (SELECT 1 FROM accounts ac WHERE ac.id = a) THEN
        outcome := 'busy';
        RETURN NEXT;
        CONTINUE;
      END IF;
    ELSE
      SELECT ac.timezone, ac.reset_time, ac.week_start,
             ac.messages_per_day, ac.messages_per_week, ac.images_per_day, ac.videos_per_week, ac.messages_per_hour,
             ac.warmup_enabled, ac.warmup_start_per_day, ac.warmup_days
        INTO timezone, reset_time, week_start, messages_per_day, messages_per_week, images_per_day, videos_per_week, messages_per_hour,
             w_enabled, w_start, w_days
        FROM accounts ac WHERE ac.id = a FOR KEY SHARE;
    END IF;
    IF NOT FOUND THEN
      outcome := 'missing';
      RETURN NEXT;
      CONTINUE;
    END IF;
    IF timezone <> p_timezone[i] OR reset_time <> p_reset_time[i] OR week_start <> p_week_start[i] THEN
      outcome := 'changed';
      RETURN NEXT;
      CONTINUE;
    END IF;

    SELECT count(*) INTO n_rows FROM usage u WHERE u.account = a AND u.period IN (p_hour[i], p_day[i], p_week[i]);
    IF n_rows < 3 THEN
      INSERT INTO usage (account, period, messages, images, videos)
        SELECT a, k, 0, 0, 0 FROM unnest(ARRAY[p_day[i], p_hour[i], p_week[i]]) AS k ORDER BY k COLLATE "C"
        ON CONFLICT (account, period) DO NOTHING;
    END IF;
    -- Locked first, read after: the read, a statement of its own, sees what the transactions that held the
    -- rows committed before this one got them.
    IF p_skip_locked THEN
      SELECT count(*) INTO n_locked FROM (SELECT 1 FROM usage u
        WHERE u.account = a AND u.period IN (p_hour[i], p_day[i], p_week[i])
        ORDER BY u.period COLLATE "C" FOR NO KEY UPDATE SKIP LOCKED) l;
      IF n_locked < 3 THEN
        outcome := 'busy';
        RETURN NEXT;
        CONTINUE;
      END IF;
    ELSE
      PERFORM 1 FROM usage u WHERE u.account = a AND u.period IN (p_hour[i], p_day[i], p_week[i])
        ORDER BY u.period COLLATE "C" FOR NO KEY UPDATE;
    END IF;
    SELECT coalesce(max(u.messages) FILTER (WHERE u.period = p_hour[i]), 0), coalesce(max(u.images) FILTER (WHERE u.period = p_hour[i]), 0),
           coalesce(max(u.videos) FILTER (WHERE u.period = p_hour[i]), 0),
           coalesce(max(u.messages) FILTER (WHERE u.period = p_day[i]), 0), coalesce(max(u.images) FILTER (WHERE u.period = p_day[i]), 0),
           coalesce(max(u.videos) FILTER (WHERE u.period = p_day[i]), 0),
           coalesce(max(u.messages) FILTER (WHERE u.period = p_week[i]), 0), coalesce(max(u.images) FILTER (WHERE u.period = p_week[i]), 0),
           coalesce(max(u.videos) FILTER (WHERE u.period = p_week[i]), 0)
      INTO hour_messages, hour_images, hour_videos, day_messages, day_images, day_videos, week_messages, week_images, week_videos
      FROM usage u WHERE u.account = a AND u.period IN (p_hour[i], p_day[i], p_week[i]);

    -- Read under the rows' locks: every consume of this account that writes the state holds them too.
    s_paused := NULL; s_slow := NULL; s_start := NULL; s_last := NULL;
    SELECT st.paused_until, st.slow_until, st.warmup_start, st.last_send_at INTO s_paused, s_slow, s_start, s_last
      FROM account_state st WHERE st.account = a;
    slow := s_slow IS NOT NULL AND s_slow > p_at[i];
    IF s_paused IS NOT NULL AND s_paused > p_at[i] THEN
      paused_until := s_paused;
    END IF;
    warmup_day := CASE
      WHEN NOT w_enabled OR s_start IS NULL OR s_last IS NULL OR p_at[i] - s_last > 259200000 THEN 1
      ELSE greatest(1, (p_day[i]::date - s_start::date) + 1)
    END;
    warmup_cap := CASE
      WHEN NOT w_enabled OR warmup_day >= w_days OR w_start >= messages_per_day THEN NULL
      WHEN warmup_day <= 1 OR w_start = 0 THEN w_start
      ELSE least(messages_per_day, floor(w_start * power(messages_per_day::float8 / w_start, (warmup_day - 1)::float8 / (w_days - 1)) + 0.5)::bigint)
    END;

    IF NOT rec THEN
      failed_limit := CASE
        WHEN paused_until IS NOT NULL THEN 'account_paused'
        WHEN day_messages + m > messages_per_day THEN 'messages_per_day'
        WHEN warmup_cap IS NOT NULL AND day_messages + m > warmup_cap THEN 'warmup'
        WHEN week_messages + m > messages_per_week THEN 'messages_per_week'
        WHEN im > 0 AND day_images + im > images_per_day THEN 'images_per_day'
        WHEN v > 0 AND week_videos + v > videos_per_week THEN 'videos_per_week'
        WHEN hour_messages + m > messages_per_hour THEN 'messages_per_hour'
      END;
      IF failed_limit IS NOT NULL THEN
        RETURN NEXT;
        CONTINUE;
      END IF;
    END IF;

    UPDATE usage u SET messages = u.messages + m, images = u.images + im, videos = u.videos + v
      WHERE u.account = a AND u.period IN (p_hour[i], p_day[i], p_week[i]);
    hour_messages := hour_messages + m; hour_images := hour_images + im; hour_videos := hour_videos + v;
    day_messages := day_messages + m; day_images := day_images + im; day_videos := day_videos + v;
    week_messages := week_messages + m; week_images := week_images + im; week_videos := week_videos + v;
    IF w_enabled THEN
      INSERT INTO account_state AS st (account, warmup_start, last_send_at)
        VALUES (a, CASE WHEN warmup_day = 1 THEN p_day[i] ELSE s_start END, p_at[i])
        ON CONFLICT (account) DO UPDATE SET warmup_start = excluded.warmup_start,
          last_send_at = greatest(coalesce(st.last_send_at, 0), excluded.last_send_at);
    END IF;
    outcome := 'granted';
    RETURN NEXT;
  END LOOP;
END
$fn$;
`
  },
  {
    version: 13,
    name: 'decisions by time',
    // As SQLite's migration 9: the dashboard's decisions per hour (GET /api/v1/decisions/hourly) reads one account's last day.
    sql: `
CREATE INDEX decisions_time ON decisions (account, created_at);
`
  }
]
