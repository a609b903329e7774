-- Several nodes on one database (PostgreSQL). Kept identical in both
-- dialects: a single SQLite node uses the same tables, alone.

-- Who runs the cluster's singleton jobs (routing, the outbox, pollers,
-- retention, scheduled backups): the holder renews before `expires_at`;
-- once that passes, any node may take it over.
CREATE TABLE leases (
    name TEXT PRIMARY KEY NOT NULL,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- The nodes alive, each with the employees connected to it and their
-- status (JSON), rewritten on every change and touched every second.
CREATE TABLE nodes (
    id TEXT PRIMARY KEY NOT NULL,
    presence TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    seen_at BIGINT NOT NULL
);
