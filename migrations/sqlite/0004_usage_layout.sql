-- CSCX schema, version 0004: usage events laid out for the rollup's reads and cheaper writes.
-- SQLite; migrations/postgres/0004_usage_layout.sql makes the same schema change.
--
-- - `metric_value` (generated, stored): the one metadata field the daily metrics read for the
--   event's type (feature name, session seconds, call count, ticket priority, NPS score).
-- - The (customer_id, timestamp) index now also holds event_type, user_id and metric_value, so
--   a rollup reads a customer's events from one run of index pages. Before, each event was a
--   lookup into the table, where a customer's events lie scattered among everyone else's (one
--   page read per event: a full rebuild of 10M events was bound by it).
-- - The event-id index that deduplicates retries leads with the event id: producers that number
--   events in order (sequences, ULIDs, UUIDv7) append to it instead of writing a page per
--   event. It enforces the same uniqueness of (customer_id, event_id).
-- SQLite cannot add a stored column to a table, so the table is rebuilt.
CREATE TABLE usage_events_v4 (
    id           TEXT PRIMARY KEY NOT NULL,
    customer_id  TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    event_type   TEXT NOT NULL,
    user_id      TEXT,
    "timestamp"  INTEGER NOT NULL,
    metadata     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    created_at   INTEGER NOT NULL,
    event_id     TEXT,
    metric_value TEXT GENERATED ALWAYS AS (CAST(CASE event_type
        WHEN 'feature_used' THEN metadata->>'feature'
        WHEN 'session_end' THEN metadata->>'duration_seconds'
        WHEN 'api_call' THEN metadata->>'count'
        WHEN 'support_ticket' THEN metadata->>'priority'
        WHEN 'nps_response' THEN metadata->>'score' END AS TEXT)) STORED
);
INSERT INTO usage_events_v4 (id, customer_id, event_type, user_id, "timestamp", metadata, created_at, event_id)
    SELECT id, customer_id, event_type, user_id, "timestamp", metadata, created_at, event_id FROM usage_events;
DROP TABLE usage_events;
ALTER TABLE usage_events_v4 RENAME TO usage_events;
CREATE INDEX idx_usage_events_customer_id_timestamp ON usage_events (customer_id, "timestamp", event_type, user_id, metric_value);
CREATE INDEX idx_usage_events_nps ON usage_events (customer_id, "timestamp") WHERE event_type = 'nps_response';
CREATE UNIQUE INDEX uq_usage_events_event_id_customer_id ON usage_events (event_id, customer_id) WHERE event_id IS NOT NULL;
