-- CSCX schema, version 0006: the domain-event record (append-only).
-- SQLite; migrations/postgres/0006_domain_events.sql makes the same schema change.
--
-- One row per thing that happened, written in the transaction of the change it records: the
-- audit record of security-relevant actions today, the customer timeline and the triggers'
-- input as the capabilities of this wave emit theirs. `event_type` and `payload` are documented
-- like API fields; `version` is the payload's version for its type. `customer_id` has no
-- foreign key: the record outlives the customer. `security` marks the audit record of
-- security-relevant actions. Rows are never changed or deleted.
CREATE TABLE domain_events (
    id            TEXT PRIMARY KEY NOT NULL,
    event_type    TEXT NOT NULL,
    version       INTEGER NOT NULL DEFAULT 1,
    customer_id   TEXT,
    actor_user_id TEXT,
    actor         TEXT NOT NULL,
    security      INTEGER NOT NULL DEFAULT 0 CHECK (security IN (0, 1)),
    payload       TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(payload)),
    occurred_at   INTEGER NOT NULL
);
CREATE INDEX idx_domain_events_customer_id ON domain_events (customer_id, id);
CREATE INDEX idx_domain_events_event_type ON domain_events (event_type, id);
CREATE INDEX idx_domain_events_actor_user_id ON domain_events (actor_user_id, id);
CREATE INDEX idx_domain_events_security ON domain_events (security, id);

CREATE TRIGGER domain_events_no_update BEFORE UPDATE ON domain_events
BEGIN SELECT RAISE(ABORT, 'domain_events is append-only'); END;
CREATE TRIGGER domain_events_no_delete BEFORE DELETE ON domain_events
BEGIN SELECT RAISE(ABORT, 'domain_events is append-only'); END;
