-- Personal data sealed at rest. Message bodies and the company's user ids
-- of visitors are stored encrypted by the visitor's own data key (kept in
-- the separate key store); equality lookups and search go through keyed
-- blind indexes. Kept identical across backends apart from BLOB/BYTEA.

-- The sealed body; `body` stays empty for sealed rows and keeps the text of
-- rows written before this migration.
ALTER TABLE messages ADD COLUMN sealed BYTEA;

-- HMAC of (widget, user id) for lookups, and the user id sealed.
ALTER TABLE visitors ADD COLUMN external_index TEXT;
ALTER TABLE visitors ADD COLUMN external_sealed BYTEA;
-- Set when the visitor's data was erased; the row stays as a tombstone.
ALTER TABLE visitors ADD COLUMN erased_at BIGINT;
CREATE UNIQUE INDEX visitors_external_index ON visitors (widget_id, external_index);

-- Search: the blind-index terms of the words each conversation holds.
-- Keyed by conversation first: a message's new terms land on its
-- conversation's pages (random terms first would dirty a random page per
-- word, halving the message throughput); a search checks conversations in
-- listing order by primary key instead.
CREATE TABLE message_terms (
    term BYTEA NOT NULL,
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    PRIMARY KEY (conversation_id, term)
);
