-- Files posted in conversations. Kept identical across backends apart from BLOB/BYTEA.
-- The bytes live in the data folder, encrypted, under the file's id; this
-- row holds what is needed to find, check and decrypt them.

CREATE TABLE files (
    id TEXT PRIMARY KEY NOT NULL,
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    uploader_kind TEXT NOT NULL,
    uploader_id TEXT,
    -- Sanitised display name.
    name TEXT NOT NULL,
    -- Decided from the content, not the name.
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    -- SHA-256 (hex) of the plaintext.
    sha256 TEXT NOT NULL,
    -- The file's own key, encrypted by the server's key.
    sealed_key BLOB NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX files_conversation ON files (conversation_id);
