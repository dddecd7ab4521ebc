-- Agents and approvals (issue 5). Approvals get the typed action, its preview, who asked, the
-- policy's role, expiry and the execution result; chat messages a client id for deduplicating
-- retries; and two product tables: tasks (what create_task writes) and approval policies.

ALTER TABLE approvals ADD COLUMN customer_id uuid REFERENCES customers (id) ON DELETE SET NULL;
ALTER TABLE approvals ADD COLUMN requested_by uuid REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE approvals ADD COLUMN action_data jsonb NOT NULL DEFAULT '{}';
ALTER TABLE approvals ADD COLUMN preview jsonb;
ALTER TABLE approvals ADD COLUMN required_role text NOT NULL DEFAULT 'csm';
ALTER TABLE approvals ADD COLUMN expires_at timestamptz;
ALTER TABLE approvals ADD COLUMN executed_at timestamptz;
ALTER TABLE approvals ADD COLUMN result jsonb;
CREATE INDEX idx_approvals_status_expires ON approvals (status, expires_at);
CREATE INDEX idx_approvals_customer_id ON approvals (customer_id);

ALTER TABLE chat_messages ADD COLUMN client_message_id text;
CREATE UNIQUE INDEX uq_chat_messages_client ON chat_messages (user_id, client_message_id)
    WHERE client_message_id IS NOT NULL;

ALTER TABLE agent_messages ADD COLUMN client_message_id text;
CREATE UNIQUE INDEX uq_agent_messages_client ON agent_messages (session_id, client_message_id)
    WHERE client_message_id IS NOT NULL;

CREATE TABLE tasks (
    id          uuid PRIMARY KEY,
    customer_id uuid REFERENCES customers (id) ON DELETE CASCADE,
    owner_id    uuid REFERENCES users (id) ON DELETE SET NULL,
    title       text NOT NULL,
    due_date    date,
    status      text NOT NULL DEFAULT 'open',
    approval_id uuid REFERENCES approvals (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL,
    completed_at timestamptz
);
CREATE INDEX idx_tasks_owner_status ON tasks (owner_id, status);
CREATE INDEX idx_tasks_customer_id ON tasks (customer_id);

CREATE TABLE approval_policies (
    action        text PRIMARY KEY,
    required_role text NOT NULL,
    auto_approve  boolean NOT NULL DEFAULT false,
    expires_after_hours integer NOT NULL DEFAULT 24,
    updated_by    uuid REFERENCES users (id) ON DELETE SET NULL,
    updated_at    timestamptz NOT NULL
);
