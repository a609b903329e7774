-- Conversations: widgets, visitors, conversations and their messages.
-- Kept identical to ../postgres/0002_conversations.sql apart from BLOB/BYTEA.

-- An operator's concurrent-chat limit for routing.
ALTER TABLE employees ADD COLUMN chat_limit BIGINT NOT NULL DEFAULT 5;

CREATE TABLE widgets (
    id TEXT PRIMARY KEY NOT NULL,
    -- JSON: name, greeting, working hours, allowed origins.
    settings TEXT NOT NULL,
    -- The HMAC secret for signed identities, encrypted by the server's key.
    secret BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    deleted_at BIGINT
);

CREATE TABLE visitors (
    id TEXT PRIMARY KEY NOT NULL,
    widget_id TEXT NOT NULL REFERENCES widgets (id),
    -- The company's user id from a signed identity; NULL for anonymous visitors.
    external_id TEXT,
    created_at BIGINT NOT NULL
);

CREATE UNIQUE INDEX visitors_external ON visitors (widget_id, external_id);

-- A visitor may use several devices, each with its own token.
CREATE TABLE visitor_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    visitor_id TEXT NOT NULL REFERENCES visitors (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);

CREATE TABLE conversations (
    id TEXT PRIMARY KEY NOT NULL,
    visitor_id TEXT NOT NULL REFERENCES visitors (id),
    channel TEXT NOT NULL,
    -- new, queued, assigned or closed.
    state TEXT NOT NULL,
    operator_id TEXT REFERENCES employees (id),
    -- The sequence number of the last message; the next one gets last_seq + 1.
    last_seq BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- One conversation per visitor: writing again reopens it.
CREATE UNIQUE INDEX conversations_visitor ON conversations (visitor_id);
CREATE INDEX conversations_state ON conversations (state, updated_at);
-- Reports find the conversations active in a period by these two times;
-- messages carry no index on time, which would cost every write.
CREATE INDEX conversations_updated ON conversations (updated_at);
CREATE INDEX conversations_operator ON conversations (operator_id, state);

-- Without a rowid, SQLite keeps the rows in the primary key's b-tree:
-- one tree to write per message instead of a table and an index.
CREATE TABLE messages (
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    seq BIGINT NOT NULL,
    id TEXT NOT NULL,
    -- author and the author's own message id: resending stores nothing twice.
    client_key TEXT CONSTRAINT messages_client_key_unique UNIQUE,
    author_kind TEXT NOT NULL,
    author_id TEXT,
    -- text, note or event (body is then JSON).
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);
