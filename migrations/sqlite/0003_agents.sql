-- Agents and approvals (issue 5). Approvals get the typed action, its preview, who asked, the
-- policy's role, expiry and the execution result; chat messages a client id for deduplicating
-- retries; and two product tables: tasks (what create_task writes) and approval policies.

ALTER TABLE approvals ADD COLUMN customer_id TEXT REFERENCES customers (id) ON DELETE SET NULL;
ALTER TABLE approvals ADD COLUMN requested_by TEXT REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE approvals ADD COLUMN action_data TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(action_data));
ALTER TABLE approvals ADD COLUMN preview TEXT CHECK (preview IS NULL OR json_valid(preview));
ALTER TABLE approvals ADD COLUMN required_role TEXT NOT NULL DEFAULT 'csm';
ALTER TABLE approvals ADD COLUMN expires_at INTEGER;
ALTER TABLE approvals ADD COLUMN executed_at INTEGER;
ALTER TABLE approvals ADD COLUMN result TEXT CHECK (result IS NULL OR json_valid(result));
CREATE INDEX idx_approvals_status_expires ON approvals (status, expires_at);
CREATE INDEX idx_approvals_customer_id ON approvals (customer_id);

ALTER TABLE chat_messages ADD COLUMN client_message_id TEXT;
CREATE UNIQUE INDEX uq_chat_messages_client ON chat_messages (user_id, client_message_id)
    WHERE client_message_id IS NOT NULL;

ALTER TABLE agent_messages ADD COLUMN client_message_id TEXT;
CREATE UNIQUE INDEX uq_agent_messages_client ON agent_messages (session_id, client_message_id)
    WHERE client_message_id IS NOT NULL;

CREATE TABLE tasks (
    id          TEXT PRIMARY KEY NOT NULL,
    customer_id TEXT REFERENCES customers (id) ON DELETE CASCADE,
    owner_id    TEXT REFERENCES users (id) ON DELETE SET NULL,
    title       TEXT NOT NULL,
    due_date    TEXT,
    status      TEXT NOT NULL DEFAULT 'open',
    approval_id TEXT REFERENCES approvals (id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL,
    completed_at INTEGER
);
CREATE INDEX idx_tasks_owner_status ON tasks (owner_id, status);
CREATE INDEX idx_tasks_customer_id ON tasks (customer_id);

CREATE TABLE approval_policies (
    action        TEXT PRIMARY KEY NOT NULL,
    required_role TEXT NOT NULL,
    auto_approve  INTEGER NOT NULL DEFAULT 0,
    expires_after_hours INTEGER NOT NULL DEFAULT 24,
    updated_by    TEXT REFERENCES users (id) ON DELETE SET NULL,
    updated_at    INTEGER NOT NULL
);
