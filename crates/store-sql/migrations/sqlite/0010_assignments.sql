-- Whether the operator a conversation was last assigned to has opened or
-- answered it: routing returns an assignment left unattended to the queue.
-- One row per conversation, replaced at each assignment. Kept identical in
-- both dialects.
CREATE TABLE assignments (
    conversation_id TEXT PRIMARY KEY NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    operator_id TEXT NOT NULL,
    assigned_at BIGINT NOT NULL,
    -- NULL until the operator opens or answers the conversation.
    attended_at BIGINT
);

CREATE INDEX assignments_unattended ON assignments (assigned_at) WHERE attended_at IS NULL;
