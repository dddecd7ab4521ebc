-- CSCX schema, version 0006: the domain-event record (append-only).
-- PostgreSQL; migrations/sqlite/0006_domain_events.sql makes the same schema change.
--
-- One row per thing that happened, written in the transaction of the change it records: the
-- audit record of security-relevant actions today, the customer timeline and the triggers'
-- input as the capabilities of this wave emit theirs. `event_type` and `payload` are documented
-- like API fields; `version` is the payload's version for its type. `customer_id` has no
-- foreign key: the record outlives the customer. `security` marks the audit record of
-- security-relevant actions. Rows are never changed or deleted.
CREATE TABLE domain_events (
    id            uuid PRIMARY KEY,
    event_type    text NOT NULL,
    version       integer NOT NULL DEFAULT 1,
    customer_id   uuid,
    actor_user_id uuid,
    actor         text NOT NULL,
    security      boolean NOT NULL DEFAULT false,
    payload       jsonb NOT NULL DEFAULT '{}',
    occurred_at   timestamptz NOT NULL
);
CREATE INDEX idx_domain_events_customer_id ON domain_events (customer_id, id);
CREATE INDEX idx_domain_events_event_type ON domain_events (event_type, id);
CREATE INDEX idx_domain_events_actor_user_id ON domain_events (actor_user_id, id);
CREATE INDEX idx_domain_events_security ON domain_events (security, id);

CREATE FUNCTION domain_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'domain_events is append-only'; END $$;
CREATE TRIGGER domain_events_no_change BEFORE UPDATE OR DELETE ON domain_events
FOR EACH ROW EXECUTE FUNCTION domain_events_append_only();
