-- CSCX schema, version 0007: delivery of domain events to their subscribers.
-- PostgreSQL; migrations/sqlite/0007_event_outbox.sql makes the same schema change.
--
-- When an event is appended, one row per interested subscriber is written here in the same
-- transaction. The dispatch job hands each row to its subscriber and deletes it in the
-- subscriber's own transaction, so every (event, subscriber) pair is handled exactly once, in
-- the order the events were appended, even when transactions commit out of id order (which a
-- per-subscriber cursor would get wrong).
CREATE TABLE domain_event_outbox (
    event_id   uuid NOT NULL REFERENCES domain_events (id),
    subscriber text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (event_id, subscriber)
);
CREATE INDEX idx_domain_event_outbox_subscriber ON domain_event_outbox (subscriber, event_id);
