-- Labels on conversations. `name_key` is the name in lowercase with single
-- spaces: unique among the labels not deleted. A deleted label keeps its
-- row and leaves every conversation. Kept identical in both dialects.
CREATE TABLE labels (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    -- One of the web app's palette: grey, red, orange, yellow, green, teal, blue, purple.
    colour TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    deleted_at BIGINT
);

CREATE UNIQUE INDEX labels_name ON labels (name_key) WHERE deleted_at IS NULL;

CREATE TABLE conversation_labels (
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    label_id TEXT NOT NULL REFERENCES labels (id),
    set_at BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, label_id)
);

-- The list filtered by a label, and the statistics by label.
CREATE INDEX conversation_labels_by_label ON conversation_labels (label_id);
