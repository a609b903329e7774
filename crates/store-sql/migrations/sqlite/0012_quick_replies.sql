-- Quick replies: texts operators insert by typing /code. `owner` is the
-- employee of a personal reply, '' for a shared one; codes are unique per
-- owner among the replies not deleted. A deleted reply keeps its row so
-- that past statistics still name it. Kept identical in both dialects.
CREATE TABLE quick_replies (
    id TEXT PRIMARY KEY NOT NULL,
    owner TEXT NOT NULL,
    code TEXT NOT NULL,
    title TEXT NOT NULL,
    -- {"ru": "…", "en": "…"}: company texts, not personal data.
    bodies TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT
);

CREATE UNIQUE INDEX quick_replies_code ON quick_replies (owner, code) WHERE deleted_at IS NULL;

-- One row per insertion into a composer, for the usage statistics.
CREATE TABLE quick_reply_uses (
    reply_id TEXT NOT NULL REFERENCES quick_replies (id),
    employee_id TEXT NOT NULL,
    used_at BIGINT NOT NULL
);

CREATE INDEX quick_reply_uses_by_time ON quick_reply_uses (used_at);
