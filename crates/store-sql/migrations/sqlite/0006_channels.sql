-- Messenger channels. Kept identical to ../postgres/0006_channels.sql apart
-- from BLOB/BYTEA and from how `visitors` changes: a visitor now comes
-- either through a widget or through a channel (as the channel's contact).

CREATE TABLE channels (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    -- JSON: where and how the messenger is reached. No secret is in here.
    settings TEXT NOT NULL,
    -- JSON of the tokens and keys, sealed by the server's key.
    secrets BLOB NOT NULL,
    secrets_changed_at BIGINT NOT NULL,
    secrets_changed_by TEXT,
    -- Telegram long polling: the next update_id to ask for.
    poll_offset BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    deleted_at BIGINT
);

-- Replies on their way to a messenger: written in the transaction that
-- stores the reply, so a crash between the two cannot lose one.
CREATE TABLE channel_outbox (
    message_id TEXT PRIMARY KEY NOT NULL,
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    seq BIGINT NOT NULL,
    channel_id TEXT NOT NULL REFERENCES channels (id),
    -- pending, sent or failed.
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    done_at BIGINT
);

CREATE INDEX channel_outbox_due ON channel_outbox (status, next_attempt_at);
CREATE INDEX channel_outbox_conversation ON channel_outbox (conversation_id, seq);
CREATE INDEX channel_outbox_channel ON channel_outbox (channel_id, status);

-- dialect-specific: a visitor comes through a widget or a channel. SQLite
-- cannot drop a NOT NULL, so `visitors` is rebuilt. sqlx runs this file in
-- a transaction, where foreign keys cannot be switched off; they are
-- deferred instead, and the rows are put back before the commit checks
-- them. Dropping the table deletes the tokens (ON DELETE CASCADE), so
-- they are set aside and put back too.
PRAGMA defer_foreign_keys = ON;
CREATE TABLE visitors_old AS SELECT * FROM visitors;
CREATE TABLE visitor_tokens_old AS SELECT * FROM visitor_tokens;
DROP TABLE visitors;
CREATE TABLE visitors (
    id TEXT PRIMARY KEY NOT NULL,
    widget_id TEXT REFERENCES widgets (id),
    channel_id TEXT REFERENCES channels (id),
    -- The company's user id from a signed identity (before 0004); NULL otherwise.
    external_id TEXT,
    created_at BIGINT NOT NULL,
    external_index TEXT,
    external_sealed BLOB,
    erased_at BIGINT,
    CONSTRAINT visitors_one_source CHECK ((widget_id IS NULL) <> (channel_id IS NULL))
);
INSERT INTO visitors (id, widget_id, channel_id, external_id, created_at, external_index, external_sealed, erased_at)
    SELECT id, widget_id, NULL, external_id, created_at, external_index, external_sealed, erased_at FROM visitors_old;
INSERT INTO visitor_tokens SELECT * FROM visitor_tokens_old;
DROP TABLE visitor_tokens_old;
DROP TABLE visitors_old;
CREATE UNIQUE INDEX visitors_external ON visitors (widget_id, external_id);
CREATE UNIQUE INDEX visitors_external_index ON visitors (widget_id, external_index);
CREATE UNIQUE INDEX visitors_channel_contact ON visitors (channel_id, external_index);
