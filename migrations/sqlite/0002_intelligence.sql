-- CSCX schema, version 0002: customer intelligence (usage ingestion, rollups, health models,
-- risk-signal dedupe). SQLite; migrations/postgres/0002_intelligence.sql is the same schema.

-- Producer-supplied event ids make retried sends idempotent, per customer.
ALTER TABLE usage_events ADD COLUMN event_id TEXT;
-- Survey answers are rare among events: a small partial index finds them without a scan.
CREATE INDEX idx_usage_events_nps ON usage_events (customer_id, "timestamp") WHERE event_type = 'nps_response';
CREATE UNIQUE INDEX uq_usage_events_customer_id_event_id ON usage_events (customer_id, event_id) WHERE event_id IS NOT NULL;

-- Daily counts the risk detectors and the health score read without rescanning events.
ALTER TABLE usage_metrics ADD COLUMN event_count INTEGER;
ALTER TABLE usage_metrics ADD COLUMN support_tickets INTEGER;
ALTER TABLE usage_metrics ADD COLUMN high_priority_tickets INTEGER;

-- Days whose metrics must be recomputed, one row per customer holding the earliest such day.
-- `version` grows with every change, so a rollup only clears what it has seen.
CREATE TABLE usage_rollup_pending (
    customer_id TEXT PRIMARY KEY NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    from_date   TEXT NOT NULL,
    version     INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- Health models: the active one per segment ('' = every segment) scores customers; proposed
-- ones (e.g. from calibration) wait for an admin.
CREATE TABLE health_models (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    segment_key TEXT NOT NULL DEFAULT '',
    config      TEXT NOT NULL CHECK (json_valid(config)),
    status      TEXT NOT NULL CHECK (status IN ('active', 'proposed', 'archived')),
    notes       TEXT,
    created_by  TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_health_models_active_segment ON health_models (segment_key) WHERE status = 'active';

-- One open automatic signal per customer and type (manual ones are not deduplicated).
CREATE UNIQUE INDEX uq_risk_signals_open_auto ON risk_signals (customer_id, signal_type) WHERE resolved_at IS NULL AND auto_detected = 1;
CREATE INDEX idx_risk_signals_detected_at ON risk_signals (detected_at);
