-- Ostrog's initial schema (SQLite). Kept column-for-column identical to
-- ../postgres/0001_initial.sql: the query code is shared between the two.
-- Times are milliseconds since the Unix epoch; ids are UUID strings.

CREATE TABLE employees (
    id TEXT PRIMARY KEY NOT NULL,
    -- Normalised (lowercase); a deleted employee's becomes 'deleted:<id>'.
    email TEXT NOT NULL CONSTRAINT employees_email_unique UNIQUE,
    name TEXT NOT NULL,
    -- Lowercased name, written by the application: sorting and searching
    -- behave the same on both backends and for non-ASCII names.
    name_key TEXT NOT NULL,
    role TEXT NOT NULL,
    status TEXT NOT NULL,
    password_hash TEXT,
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
    totp_secret BLOB,
    pending_totp_secret BLOB,
    totp_last_step BIGINT,
    created_at BIGINT NOT NULL,
    deleted_at BIGINT
);

-- Exactly one Administrator.
CREATE UNIQUE INDEX employees_one_administrator ON employees (role) WHERE role = 'administrator';
CREATE INDEX employees_name_key ON employees (name_key);

CREATE TABLE permission_overrides (
    employee_id TEXT NOT NULL REFERENCES employees (id) ON DELETE CASCADE,
    permission TEXT NOT NULL,
    effect TEXT NOT NULL,
    PRIMARY KEY (employee_id, permission)
);

CREATE TABLE recovery_codes (
    employee_id TEXT NOT NULL REFERENCES employees (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (employee_id, code_hash)
);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    employee_id TEXT NOT NULL REFERENCES employees (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL CONSTRAINT sessions_token_hash_unique UNIQUE,
    csrf_hash TEXT NOT NULL,
    stage TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    authenticated_at BIGINT NOT NULL,
    ip TEXT,
    user_agent TEXT
);

CREATE INDEX sessions_employee_id ON sessions (employee_id);

CREATE TABLE one_time_links (
    token_hash TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    employee_id TEXT REFERENCES employees (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);

CREATE INDEX one_time_links_employee_id ON one_time_links (employee_id);

CREATE TABLE sign_in_failures (
    scope TEXT NOT NULL,
    subject TEXT NOT NULL,
    count BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    PRIMARY KEY (scope, subject)
);

CREATE TABLE audit_log (
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

CREATE INDEX audit_log_action ON audit_log (action);
CREATE INDEX audit_log_actor ON audit_log (actor);
CREATE INDEX audit_log_target ON audit_log (target);

CREATE TABLE settings (
    key TEXT PRIMARY KEY NOT NULL,
    -- JSON text.
    value TEXT NOT NULL
);
