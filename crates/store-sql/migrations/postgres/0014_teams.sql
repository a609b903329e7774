-- Teams and the routing of conversations to them. `name_key` is the name in
-- lowercase with single spaces: unique among the teams not deleted. A
-- deleted team keeps its row: conversations it had keep naming it. Kept
-- identical in both dialects.
CREATE TABLE teams (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    -- Seconds a conversation waits for the team before any operator may
    -- get it; 0: it stays the team's.
    fallback_after_seconds BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    deleted_at BIGINT
);

CREATE UNIQUE INDEX teams_name ON teams (name_key) WHERE deleted_at IS NULL;

CREATE TABLE team_members (
    team_id TEXT NOT NULL REFERENCES teams (id),
    employee_id TEXT NOT NULL REFERENCES employees (id) ON DELETE CASCADE,
    PRIMARY KEY (team_id, employee_id)
);

-- What the routing rules (or nothing) decided as the conversation started,
-- and when it last entered the queue (a team's wait counts from then).
ALTER TABLE conversations ADD COLUMN team_id TEXT REFERENCES teams (id);
-- 0 normal, 1 high: routed first.
ALTER TABLE conversations ADD COLUMN priority BIGINT NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN queued_at BIGINT;
UPDATE conversations SET queued_at = updated_at WHERE state = 'queued';

-- The queue as routing reads it: high priority first, then the longest waiting.
CREATE INDEX conversations_queue ON conversations (priority, queued_at, id) WHERE state = 'queued';
