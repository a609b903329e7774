-- Data subjects' rights: who read whose personal data (a hash chain of its
-- own, like the audit log), consents, and requests with their deadlines.
-- Kept identical across backends apart from BLOB/BYTEA.

CREATE TABLE access_log (
    seq BIGINT PRIMARY KEY NOT NULL,
    at BIGINT NOT NULL,
    actor TEXT,
    ip TEXT,
    action TEXT NOT NULL,
    target TEXT,
    outcome TEXT NOT NULL,
    -- JSON text, exactly as hashed.
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);

CREATE INDEX access_log_actor ON access_log (actor);
CREATE INDEX access_log_target ON access_log (target);

-- Each acceptance or withdrawal of the consent text, by version.
CREATE TABLE consents (
    id TEXT PRIMARY KEY NOT NULL,
    visitor_id TEXT NOT NULL REFERENCES visitors (id),
    version BIGINT NOT NULL,
    accepted BOOLEAN NOT NULL,
    at BIGINT NOT NULL,
    -- widget, or the channel it came through.
    source TEXT NOT NULL,
    -- The subject's IP address, sealed by their data key.
    ip_sealed BYTEA
);

CREATE INDEX consents_visitor ON consents (visitor_id, at);

-- Requests of data subjects: access (answered by an export) or erasure.
CREATE TABLE subject_requests (
    id TEXT PRIMARY KEY NOT NULL,
    visitor_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    -- Why: subject_request, consent_withdrawn, …
    basis TEXT NOT NULL,
    status TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    due_at BIGINT NOT NULL,
    closed_at BIGINT,
    closed_by TEXT,
    -- A reference (the letter's number); no personal data.
    note TEXT NOT NULL
);

CREATE INDEX subject_requests_open ON subject_requests (status, due_at);
