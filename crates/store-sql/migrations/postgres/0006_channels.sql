-- Messenger channels. Kept identical to ../sqlite/0006_channels.sql apart
-- from BLOB/BYTEA and from how `visitors` changes (SQLite rebuilds it): a
-- visitor now comes either through a widget or through a channel (as the
-- channel's contact).

CREATE TABLE channels (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    -- JSON: where and how the messenger is reached. No secret is in here.
    settings TEXT NOT NULL,
    -- JSON of the tokens and keys, sealed by the server's key.
    secrets BYTEA NOT NULL,
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

-- dialect-specific: a visitor comes through a widget or a channel.
ALTER TABLE visitors ALTER COLUMN widget_id DROP NOT NULL;
ALTER TABLE visitors ADD COLUMN channel_id TEXT REFERENCES channels (id);
ALTER TABLE visitors ADD CONSTRAINT visitors_one_source CHECK ((widget_id IS NULL) <> (channel_id IS NULL));
CREATE UNIQUE INDEX visitors_channel_contact ON visitors (channel_id, external_index);
