-- Tasks as the CSM's working queue: what a task is about and how urgent, when it was put off to,
-- what it links to (a risk signal, a meeting), who made it, when it changed and when its due-date
-- reminder went out. Statuses: open, done, cancelled.
ALTER TABLE tasks ADD COLUMN description TEXT;
ALTER TABLE tasks ADD COLUMN priority TEXT NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high'));
ALTER TABLE tasks ADD COLUMN snoozed_until TEXT;
ALTER TABLE tasks ADD COLUMN risk_signal_id TEXT REFERENCES risk_signals (id) ON DELETE SET NULL;
ALTER TABLE tasks ADD COLUMN meeting_id TEXT REFERENCES meetings (id) ON DELETE SET NULL;
ALTER TABLE tasks ADD COLUMN created_by TEXT REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE tasks ADD COLUMN updated_at INTEGER;
ALTER TABLE tasks ADD COLUMN reminded_on TEXT;
UPDATE tasks SET updated_at = created_at;
CREATE INDEX idx_tasks_risk_signal_id ON tasks (risk_signal_id);
CREATE INDEX idx_tasks_meeting_id ON tasks (meeting_id);
CREATE INDEX idx_tasks_due_date ON tasks (status, due_date);
