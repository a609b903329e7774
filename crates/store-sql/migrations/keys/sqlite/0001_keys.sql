-- The key store: a database of its own, apart from the data its keys
-- protect. Kept identical across backends apart from BLOB/BYTEA.

CREATE TABLE data_keys (
    -- subject:<visitor id> or installation:<use>.
    name TEXT PRIMARY KEY NOT NULL,
    -- Which master key wrapped it; rotation re-wraps every other one.
    master_key_id BIGINT NOT NULL,
    -- The data key, encrypted by that master key (never stored in the clear).
    wrapped BLOB NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX data_keys_master ON data_keys (master_key_id);
