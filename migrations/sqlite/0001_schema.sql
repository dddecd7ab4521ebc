-- CSCX schema, version 0001: SQLite.
--
-- The 30 tables of spec/data-model.md, every column under its data-model name, plus the product
-- tables (users, api_tokens, auth_sessions, login_attempts, idempotency_keys, jobs, schedules).
-- migrations/postgres/0001_schema.sql defines the same tables with the same columns in the same
-- order; the parity test compares them. The runner wraps this file in a transaction.
--
-- Codecs (SQLite side):
--   UUID        TEXT, 36-char hyphenated (v7, generated in Rust)
--   TIMESTAMPTZ INTEGER, unix milliseconds UTC (no SQL-side clock: no time defaults anywhere)
--   DATE        TEXT, ISO 'YYYY-MM-DD'
--   JSONB       TEXT CHECK (json_valid(...)); on nullable columns CHECK (col IS NULL OR
--               json_valid(col)), because json_valid(NULL) is 0, not NULL, before SQLite 3.45
--   TEXT[]      TEXT with the same CHECK, holding a JSON array of strings
--   money       TEXT, exact decimal text (never REAL)
--   VECTOR      BLOB
--   BOOLEAN     INTEGER CHECK (... IN (0, 1))
--   VARCHAR(n)  TEXT (length limits are enforced in Rust)
--
-- Foreign keys and ON DELETE policy (needs PRAGMA foreign_keys = ON, set by the pool):
--   * CASCADE: rows owned by a customer go with the customer: stakeholders, contracts,
--     usage_metrics, usage_events, health_score_history, risk_signals, renewal_pipeline,
--     expansion_opportunities, save_plays, meetings, qbrs, account_plans, meeting_analyses,
--     triggers that name a customer, trigger_events. Likewise entitlements go with their contract,
--     transcripts with their meeting, agent_messages with their session, trigger_events with their
--     trigger, and api_tokens / auth_sessions with their user.
--   * SET NULL: audit-like and conversational history outlives what it points at; the link is
--     cleared: agent_sessions.customer_id, agent_activity_log.customer_id,
--     agent_activity_log.parent_action_id, chat_messages.customer_id, approvals.session_id,
--     google_pending_approvals.customer_id, meetings.session_id, save_plays.playbook_id,
--     expansion_opportunities.champion_id.
--   * SET NULL: every UUID reference to a CSCX user (customers.csm_id, renewal_pipeline.owner_id,
--     save_plays.owner_id, qbrs.created_by, account_plans.owner_id, account_plans.approved_by,
--     agent_sessions.user_id, agent_activity_log.user_id, approvals.resolved_by) -> users(id).
--   * No FK: columns the data model types as TEXT ids (chat_messages.user_id, google_tokens.user_id,
--     google_pending_approvals.user_id / decided_by, integrations.user_id,
--     slack_connections.user_id, triggers.user_id, automations.created_by, usage_events.user_id,
--     agent_activity_log.session_id, chat_messages.session_id, meeting_analyses.meeting_id).
--
-- Indexes: every index / unique constraint of the data model (idx_<table>_<cols>,
-- uq_<table>_<cols>), the ones the API needs, and one on each child column of a CASCADE /
-- SET NULL link whose parent is deleted in normal operation (customers, contracts, meetings,
-- agent sessions, stakeholders, playbooks, triggers, activity parents), so a delete does not scan.
-- User references other than customers.csm_id are not indexed: users are disabled, rarely deleted.
-- Unique constraints are written as named unique indexes (ON CONFLICT (cols) works with both).
-- Columns named "type", "trigger" and "timestamp" are quoted everywhere.

-- ------------------------------------------------------------------------------------------------
-- users: people who sign in (product table)
-- email is stored lowercased by Rust (no CHECK: SQLite lower() only folds ASCII).
-- ------------------------------------------------------------------------------------------------
CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,
    email         TEXT NOT NULL,
    name          TEXT,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'csm', 'viewer')),
    password_hash TEXT,
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    time_zone     TEXT NOT NULL DEFAULT 'UTC',
    last_login_at INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_users_email ON users (email);

-- ------------------------------------------------------------------------------------------------
-- 1.1 Customers (customers): A customer account: the company we serve.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE customers (
    id            TEXT PRIMARY KEY NOT NULL,
    name          TEXT NOT NULL,
    arr           TEXT,
    industry      TEXT,
    stage         TEXT NOT NULL DEFAULT 'onboarding',
    health_score  INTEGER,
    csm_id        TEXT REFERENCES users (id) ON DELETE SET NULL,
    salesforce_id TEXT,
    hubspot_id    TEXT,
    segment       TEXT,
    renewal_date  TEXT,
    metadata      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX idx_customers_name ON customers (name);
CREATE INDEX idx_customers_stage ON customers (stage);
CREATE INDEX idx_customers_name_ci ON customers (name COLLATE NOCASE);
CREATE INDEX idx_customers_csm_id ON customers (csm_id);
CREATE INDEX idx_customers_segment ON customers (segment);
CREATE INDEX idx_customers_renewal_date ON customers (renewal_date);
CREATE INDEX idx_customers_health_score ON customers (health_score);
CREATE INDEX idx_customers_industry ON customers (industry);
CREATE INDEX idx_customers_updated_at ON customers (updated_at);
CREATE INDEX idx_customers_arr ON customers (CAST(arr AS REAL));

-- ------------------------------------------------------------------------------------------------
-- 1.2 Stakeholders (stakeholders): A person at a customer account (contact, champion, sponsor).
-- ------------------------------------------------------------------------------------------------
CREATE TABLE stakeholders (
    id           TEXT PRIMARY KEY NOT NULL,
    customer_id  TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    role         TEXT,
    email        TEXT,
    phone        TEXT,
    linkedin_url TEXT,
    is_primary   INTEGER NOT NULL DEFAULT 0 CHECK (is_primary IN (0, 1)),
    sentiment    TEXT,
    notes        TEXT,
    metadata     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX idx_stakeholders_customer_id ON stakeholders (customer_id);
CREATE INDEX idx_stakeholders_email ON stakeholders (email);

-- ------------------------------------------------------------------------------------------------
-- 1.3 Contracts (contracts): An uploaded contract and what was extracted from it.
-- customer_id is nullable: a contract may be uploaded before its customer is known.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE contracts (
    id                     TEXT PRIMARY KEY NOT NULL,
    customer_id            TEXT REFERENCES customers (id) ON DELETE CASCADE,
    file_url               TEXT,
    file_name              TEXT,
    raw_text               TEXT,
    company_name           TEXT,
    arr                    TEXT,
    contract_term          TEXT,
    start_date             TEXT,
    end_date               TEXT,
    status                 TEXT NOT NULL DEFAULT 'active',
    parsed_data            TEXT CHECK (parsed_data IS NULL OR json_valid(parsed_data)),
    pricing_terms          TEXT CHECK (pricing_terms IS NULL OR json_valid(pricing_terms)),
    technical_requirements TEXT CHECK (technical_requirements IS NULL OR json_valid(technical_requirements)),
    missing_info           TEXT CHECK (missing_info IS NULL OR json_valid(missing_info)),
    next_steps             TEXT CHECK (next_steps IS NULL OR json_valid(next_steps)),
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL
);
CREATE INDEX idx_contracts_customer_id ON contracts (customer_id);
CREATE INDEX idx_contracts_status ON contracts (status);

-- ------------------------------------------------------------------------------------------------
-- 1.4 Entitlements (entitlements): A line item a contract entitles the customer to.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE entitlements (
    id          TEXT PRIMARY KEY NOT NULL,
    contract_id TEXT NOT NULL REFERENCES contracts (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    description TEXT,
    quantity    INTEGER,
    unit        TEXT,
    price       TEXT,
    category    TEXT,
    metadata    TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    created_at  INTEGER NOT NULL
);
CREATE INDEX idx_entitlements_contract_id ON entitlements (contract_id);

-- ------------------------------------------------------------------------------------------------
-- 2.1 Agent Sessions (agent_sessions): A conversation between a user and the AI agents.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE agent_sessions (
    id              TEXT PRIMARY KEY NOT NULL,
    customer_id     TEXT REFERENCES customers (id) ON DELETE SET NULL,
    user_id         TEXT REFERENCES users (id) ON DELETE SET NULL,
    status          TEXT NOT NULL DEFAULT 'active',
    active_agent    TEXT,
    deployed_agents TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(deployed_agents)),
    context         TEXT CHECK (context IS NULL OR json_valid(context)),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    ended_at        INTEGER
);
CREATE INDEX idx_agent_sessions_customer_id ON agent_sessions (customer_id);
CREATE INDEX idx_agent_sessions_status ON agent_sessions (status);

-- ------------------------------------------------------------------------------------------------
-- 2.2 Agent Messages (agent_messages): One message within an agent session.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE agent_messages (
    id                TEXT PRIMARY KEY NOT NULL,
    session_id        TEXT NOT NULL REFERENCES agent_sessions (id) ON DELETE CASCADE,
    agent_id          TEXT,
    role              TEXT NOT NULL,
    content           TEXT NOT NULL,
    thinking          INTEGER NOT NULL DEFAULT 0 CHECK (thinking IN (0, 1)),
    requires_approval INTEGER NOT NULL DEFAULT 0 CHECK (requires_approval IN (0, 1)),
    deployed_agent    TEXT,
    tool_calls        TEXT CHECK (tool_calls IS NULL OR json_valid(tool_calls)),
    metadata          TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    created_at        INTEGER NOT NULL
);
CREATE INDEX idx_agent_messages_session_id ON agent_messages (session_id);
CREATE INDEX idx_agent_messages_created_at ON agent_messages (created_at);

-- ------------------------------------------------------------------------------------------------
-- 2.3 Agent Activity Log (agent_activity_log): An audit record of one action an agent performed.
-- session_id is free text in the data model (VARCHAR(100)), not a link to agent_sessions: no FK.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE agent_activity_log (
    id               TEXT PRIMARY KEY NOT NULL,
    customer_id      TEXT REFERENCES customers (id) ON DELETE SET NULL,
    user_id          TEXT REFERENCES users (id) ON DELETE SET NULL,
    agent_type       TEXT,
    action_type      TEXT NOT NULL,
    action_data      TEXT CHECK (action_data IS NULL OR json_valid(action_data)),
    result_data      TEXT CHECK (result_data IS NULL OR json_valid(result_data)),
    status           TEXT NOT NULL DEFAULT 'completed',
    error_message    TEXT,
    started_at       INTEGER NOT NULL,
    completed_at     INTEGER,
    duration_ms      INTEGER,
    session_id       TEXT,
    parent_action_id TEXT REFERENCES agent_activity_log (id) ON DELETE SET NULL
);
CREATE INDEX idx_agent_activity_log_customer_id ON agent_activity_log (customer_id);
CREATE INDEX idx_agent_activity_log_agent_type ON agent_activity_log (agent_type);
CREATE INDEX idx_agent_activity_log_session_id ON agent_activity_log (session_id);
CREATE INDEX idx_agent_activity_log_parent_action_id ON agent_activity_log (parent_action_id);

-- ------------------------------------------------------------------------------------------------
-- 2.4 Chat Messages (chat_messages): A message of the general (non-session) agent chat.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE chat_messages (
    id          TEXT PRIMARY KEY NOT NULL,
    customer_id TEXT REFERENCES customers (id) ON DELETE SET NULL,
    user_id     TEXT,
    role        TEXT NOT NULL,
    content     TEXT NOT NULL,
    agent_type  TEXT,
    tool_calls  TEXT CHECK (tool_calls IS NULL OR json_valid(tool_calls)),
    session_id  TEXT,
    created_at  INTEGER NOT NULL
);
CREATE INDEX idx_chat_messages_customer_id ON chat_messages (customer_id);
CREATE INDEX idx_chat_messages_session_id ON chat_messages (session_id);
CREATE INDEX idx_chat_messages_user_id ON chat_messages (user_id);

-- ------------------------------------------------------------------------------------------------
-- 3.1 Approvals (approvals): An agent action waiting for a human decision (HITL).
-- ------------------------------------------------------------------------------------------------
CREATE TABLE approvals (
    id          TEXT PRIMARY KEY NOT NULL,
    session_id  TEXT REFERENCES agent_sessions (id) ON DELETE SET NULL,
    agent_id    TEXT,
    action      TEXT NOT NULL,
    details     TEXT,
    status      TEXT NOT NULL DEFAULT 'pending',
    resolved_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    resolved_at INTEGER,
    comment     TEXT,
    metadata    TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    created_at  INTEGER NOT NULL
);
CREATE INDEX idx_approvals_session_id ON approvals (session_id);
CREATE INDEX idx_approvals_status ON approvals (status);

-- ------------------------------------------------------------------------------------------------
-- 3.2 Google Pending Approvals (google_pending_approvals): A proposed Google Workspace action awaiting approval.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE google_pending_approvals (
    id            TEXT PRIMARY KEY NOT NULL,
    user_id       TEXT,
    agent_type    TEXT,
    action_type   TEXT NOT NULL,
    action_data   TEXT NOT NULL CHECK (json_valid(action_data)),
    preview_data  TEXT CHECK (preview_data IS NULL OR json_valid(preview_data)),
    customer_id   TEXT REFERENCES customers (id) ON DELETE SET NULL,
    status        TEXT NOT NULL DEFAULT 'pending',
    decided_by    TEXT,
    decided_at    INTEGER,
    decision_note TEXT,
    expires_at    INTEGER,
    created_at    INTEGER NOT NULL
);
CREATE INDEX idx_google_pending_approvals_user_id ON google_pending_approvals (user_id);
CREATE INDEX idx_google_pending_approvals_status ON google_pending_approvals (status);
CREATE INDEX idx_google_pending_approvals_customer_id ON google_pending_approvals (customer_id);

-- ------------------------------------------------------------------------------------------------
-- 4.1 Usage Metrics (usage_metrics): A customer's aggregated product usage for one day.
-- The listed index on (customer_id, metric_date) is the unique index itself; no duplicate.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE usage_metrics (
    id                   TEXT PRIMARY KEY NOT NULL,
    customer_id          TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    metric_date          TEXT NOT NULL,
    dau                  INTEGER,
    wau                  INTEGER,
    mau                  INTEGER,
    login_count          INTEGER,
    api_calls            INTEGER,
    session_duration_avg INTEGER,
    active_users         INTEGER,
    feature_adoption     TEXT CHECK (feature_adoption IS NULL OR json_valid(feature_adoption)),
    usage_trend          TEXT,
    adoption_score       INTEGER,
    created_at           INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_usage_metrics_customer_id_metric_date ON usage_metrics (customer_id, metric_date);
CREATE INDEX idx_usage_metrics_usage_trend ON usage_metrics (usage_trend);

-- ------------------------------------------------------------------------------------------------
-- 4.2 Usage Events (usage_events): One raw product telemetry event from a customer.
-- user_id is the customer's end-user identifier (free text), not a CSCX user: no FK.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE usage_events (
    id          TEXT PRIMARY KEY NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    event_type  TEXT NOT NULL,
    user_id     TEXT,
    "timestamp" INTEGER NOT NULL,
    metadata    TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    created_at  INTEGER NOT NULL
);
CREATE INDEX idx_usage_events_customer_id_timestamp ON usage_events (customer_id, "timestamp");

-- ------------------------------------------------------------------------------------------------
-- 4.3 Risk Signals (risk_signals): A detected churn-risk signal on a customer.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE risk_signals (
    id               TEXT PRIMARY KEY NOT NULL,
    customer_id      TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    signal_type      TEXT NOT NULL,
    severity         TEXT NOT NULL,
    description      TEXT,
    detected_at      INTEGER NOT NULL,
    resolved_at      INTEGER,
    resolution_notes TEXT,
    auto_detected    INTEGER NOT NULL DEFAULT 0 CHECK (auto_detected IN (0, 1)),
    source           TEXT,
    metadata         TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata))
);
CREATE INDEX idx_risk_signals_customer_id ON risk_signals (customer_id);
CREATE INDEX idx_risk_signals_severity ON risk_signals (severity);
CREATE INDEX idx_risk_signals_customer_id_unresolved ON risk_signals (customer_id) WHERE resolved_at IS NULL;

-- ------------------------------------------------------------------------------------------------
-- 4.4 Health Score History (health_score_history): One recorded value of a customer's health score.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE health_score_history (
    id          TEXT PRIMARY KEY NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    score       INTEGER NOT NULL,
    components  TEXT CHECK (components IS NULL OR json_valid(components)),
    recorded_at INTEGER NOT NULL
);
CREATE INDEX idx_health_score_history_customer_id_recorded_at ON health_score_history (customer_id, recorded_at);

-- ------------------------------------------------------------------------------------------------
-- 5.1 Renewal Pipeline (renewal_pipeline): A customer's upcoming renewal tracked through the pipeline.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE renewal_pipeline (
    id                   TEXT PRIMARY KEY NOT NULL,
    customer_id          TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    renewal_date         TEXT,
    current_arr          TEXT,
    proposed_arr         TEXT,
    probability          INTEGER,
    stage                TEXT NOT NULL DEFAULT 'identified',
    risk_factors         TEXT CHECK (risk_factors IS NULL OR json_valid(risk_factors)),
    expansion_potential  TEXT,
    champion_engaged     INTEGER NOT NULL DEFAULT 0 CHECK (champion_engaged IN (0, 1)),
    exec_sponsor_engaged INTEGER NOT NULL DEFAULT 0 CHECK (exec_sponsor_engaged IN (0, 1)),
    qbr_completed        INTEGER NOT NULL DEFAULT 0 CHECK (qbr_completed IN (0, 1)),
    value_summary_sent   INTEGER NOT NULL DEFAULT 0 CHECK (value_summary_sent IN (0, 1)),
    proposal_sent        INTEGER NOT NULL DEFAULT 0 CHECK (proposal_sent IN (0, 1)),
    verbal_commit        INTEGER NOT NULL DEFAULT 0 CHECK (verbal_commit IN (0, 1)),
    contract_signed      INTEGER NOT NULL DEFAULT 0 CHECK (contract_signed IN (0, 1)),
    notes                TEXT,
    owner_id             TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);
CREATE INDEX idx_renewal_pipeline_renewal_date ON renewal_pipeline (renewal_date);
CREATE INDEX idx_renewal_pipeline_stage ON renewal_pipeline (stage);
CREATE INDEX idx_renewal_pipeline_customer_id ON renewal_pipeline (customer_id);

-- ------------------------------------------------------------------------------------------------
-- 5.2 Expansion Opportunities (expansion_opportunities): A chance to sell a customer more (upsell, cross-sell).
-- ------------------------------------------------------------------------------------------------
CREATE TABLE expansion_opportunities (
    id                 TEXT PRIMARY KEY NOT NULL,
    customer_id        TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    opportunity_type   TEXT,
    product_line       TEXT,
    estimated_value    TEXT,
    probability        INTEGER,
    stage              TEXT NOT NULL DEFAULT 'identified',
    champion_id        TEXT REFERENCES stakeholders (id) ON DELETE SET NULL,
    use_case           TEXT,
    competitive_threat TEXT,
    timeline           TEXT,
    blockers           TEXT CHECK (blockers IS NULL OR json_valid(blockers)),
    next_steps         TEXT,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);
CREATE INDEX idx_expansion_opportunities_customer_id ON expansion_opportunities (customer_id);
CREATE INDEX idx_expansion_opportunities_stage ON expansion_opportunities (stage);
CREATE INDEX idx_expansion_opportunities_champion_id ON expansion_opportunities (champion_id);

-- ------------------------------------------------------------------------------------------------
-- 9.2 CSM Playbooks (csm_playbooks): A CSM playbook, with its embedding for similarity search.
-- embedding: raw little-endian f32 BLOB. No vector index: similarity search
-- is a scan in Rust (playbooks are few).
-- Created before save_plays (out of data-model order) because
-- save_plays.playbook_id references it.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE csm_playbooks (
    id         TEXT PRIMARY KEY NOT NULL,
    title      TEXT NOT NULL,
    category   TEXT,
    content    TEXT NOT NULL,
    embedding  BLOB,
    metadata   TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    created_at INTEGER NOT NULL
);
CREATE INDEX idx_csm_playbooks_category ON csm_playbooks (category);

-- ------------------------------------------------------------------------------------------------
-- 5.3 Save Plays (save_plays): A structured effort to save an at-risk customer.
-- playbook_id references csm_playbooks ("FK to playbooks" in the data model).
-- ------------------------------------------------------------------------------------------------
CREATE TABLE save_plays (
    id               TEXT PRIMARY KEY NOT NULL,
    customer_id      TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    playbook_id      TEXT REFERENCES csm_playbooks (id) ON DELETE SET NULL,
    status           TEXT NOT NULL DEFAULT 'active',
    risk_level       TEXT,
    primary_issue    TEXT,
    root_cause       TEXT,
    action_plan      TEXT CHECK (action_plan IS NULL OR json_valid(action_plan)),
    success_criteria TEXT,
    deadline         TEXT,
    owner_id         TEXT REFERENCES users (id) ON DELETE SET NULL,
    escalation_level INTEGER,
    outcome          TEXT,
    outcome_notes    TEXT,
    arr_at_risk      TEXT,
    arr_saved        TEXT,
    created_at       INTEGER NOT NULL,
    closed_at        INTEGER
);
CREATE INDEX idx_save_plays_customer_id ON save_plays (customer_id);
CREATE INDEX idx_save_plays_status ON save_plays (status);
CREATE INDEX idx_save_plays_risk_level ON save_plays (risk_level);
CREATE INDEX idx_save_plays_playbook_id ON save_plays (playbook_id);

-- ------------------------------------------------------------------------------------------------
-- 6.1 Meetings (meetings): A meeting with a customer, scheduled or held.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE meetings (
    id                TEXT PRIMARY KEY NOT NULL,
    customer_id       TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    session_id        TEXT REFERENCES agent_sessions (id) ON DELETE SET NULL,
    title             TEXT NOT NULL,
    description       TEXT,
    scheduled_at      INTEGER,
    duration          INTEGER,
    status            TEXT NOT NULL DEFAULT 'scheduled',
    meeting_url       TEXT,
    calendar_event_id TEXT,
    attendees         TEXT CHECK (attendees IS NULL OR json_valid(attendees)),
    agenda            TEXT CHECK (agenda IS NULL OR json_valid(agenda)),
    metadata          TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX idx_meetings_customer_id ON meetings (customer_id);
CREATE INDEX idx_meetings_scheduled_at ON meetings (scheduled_at);
CREATE INDEX idx_meetings_session_id ON meetings (session_id);

-- ------------------------------------------------------------------------------------------------
-- 6.2 Transcripts (transcripts): The transcript of a meeting.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE transcripts (
    id         TEXT PRIMARY KEY NOT NULL,
    meeting_id TEXT NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    content    TEXT NOT NULL,
    duration   INTEGER,
    speakers   TEXT CHECK (speakers IS NULL OR json_valid(speakers)),
    word_count INTEGER,
    language   TEXT,
    metadata   TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    created_at INTEGER NOT NULL
);
CREATE INDEX idx_transcripts_meeting_id ON transcripts (meeting_id);

-- ------------------------------------------------------------------------------------------------
-- 6.3 Meeting Analyses (meeting_analyses): AI analysis of a meeting: sentiment, commitments, risks, signals.
-- meeting_id is TEXT in the data model (it may name an external meeting): no FK to meetings.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE meeting_analyses (
    id                   TEXT PRIMARY KEY NOT NULL,
    meeting_id           TEXT,
    customer_id          TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    summary              TEXT,
    overall_sentiment    TEXT,
    sentiment_score      INTEGER,
    action_items         TEXT CHECK (action_items IS NULL OR json_valid(action_items)),
    commitments          TEXT CHECK (commitments IS NULL OR json_valid(commitments)),
    follow_ups           TEXT CHECK (follow_ups IS NULL OR json_valid(follow_ups)),
    risk_signals         TEXT CHECK (risk_signals IS NULL OR json_valid(risk_signals)),
    risk_level           TEXT,
    expansion_signals    TEXT CHECK (expansion_signals IS NULL OR json_valid(expansion_signals)),
    expansion_potential  TEXT,
    stakeholder_insights TEXT CHECK (stakeholder_insights IS NULL OR json_valid(stakeholder_insights)),
    competitor_mentions  TEXT CHECK (competitor_mentions IS NULL OR json_valid(competitor_mentions)),
    confidence           INTEGER,
    analyzed_at          INTEGER
);
CREATE INDEX idx_meeting_analyses_customer_id ON meeting_analyses (customer_id);
CREATE INDEX idx_meeting_analyses_analyzed_at ON meeting_analyses (analyzed_at);

-- ------------------------------------------------------------------------------------------------
-- 7.1 QBRs (qbrs): A quarterly business review with a customer.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE qbrs (
    id                    TEXT PRIMARY KEY NOT NULL,
    customer_id           TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    quarter               TEXT NOT NULL,
    scheduled_date        TEXT,
    completed_date        TEXT,
    status                TEXT NOT NULL DEFAULT 'scheduled',
    attendees             TEXT CHECK (attendees IS NULL OR json_valid(attendees)),
    exec_sponsor_attended INTEGER NOT NULL DEFAULT 0 CHECK (exec_sponsor_attended IN (0, 1)),
    presentation_url      TEXT,
    recording_url         TEXT,
    summary               TEXT,
    wins                  TEXT CHECK (wins IS NULL OR json_valid(wins)),
    challenges            TEXT CHECK (challenges IS NULL OR json_valid(challenges)),
    action_items          TEXT CHECK (action_items IS NULL OR json_valid(action_items)),
    nps_score             INTEGER,
    health_score_at_qbr   INTEGER,
    expansion_discussed   INTEGER NOT NULL DEFAULT 0 CHECK (expansion_discussed IN (0, 1)),
    renewal_discussed     INTEGER NOT NULL DEFAULT 0 CHECK (renewal_discussed IN (0, 1)),
    created_by            TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at            INTEGER NOT NULL
);
CREATE INDEX idx_qbrs_customer_id ON qbrs (customer_id);
CREATE INDEX idx_qbrs_quarter ON qbrs (quarter);
CREATE INDEX idx_qbrs_status ON qbrs (status);

-- ------------------------------------------------------------------------------------------------
-- 7.2 Account Plans (account_plans): A customer's strategic account plan for one fiscal year.
-- The listed customer_id index is served by the unique index (customer_id is its leading column).
-- ------------------------------------------------------------------------------------------------
CREATE TABLE account_plans (
    id                    TEXT PRIMARY KEY NOT NULL,
    customer_id           TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    fiscal_year           TEXT NOT NULL,
    status                TEXT NOT NULL DEFAULT 'draft',
    strategic_objectives  TEXT CHECK (strategic_objectives IS NULL OR json_valid(strategic_objectives)),
    success_metrics       TEXT CHECK (success_metrics IS NULL OR json_valid(success_metrics)),
    stakeholder_map       TEXT CHECK (stakeholder_map IS NULL OR json_valid(stakeholder_map)),
    relationship_goals    TEXT CHECK (relationship_goals IS NULL OR json_valid(relationship_goals)),
    expansion_targets     TEXT CHECK (expansion_targets IS NULL OR json_valid(expansion_targets)),
    risk_mitigation       TEXT CHECK (risk_mitigation IS NULL OR json_valid(risk_mitigation)),
    qbr_schedule          TEXT CHECK (qbr_schedule IS NULL OR json_valid(qbr_schedule)),
    resource_allocation   TEXT CHECK (resource_allocation IS NULL OR json_valid(resource_allocation)),
    competitive_landscape TEXT,
    notes                 TEXT,
    owner_id              TEXT REFERENCES users (id) ON DELETE SET NULL,
    approved_by           TEXT REFERENCES users (id) ON DELETE SET NULL,
    approved_at           INTEGER,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_account_plans_customer_id_fiscal_year ON account_plans (customer_id, fiscal_year);
CREATE INDEX idx_account_plans_fiscal_year ON account_plans (fiscal_year);
CREATE INDEX idx_account_plans_status ON account_plans (status);

-- ------------------------------------------------------------------------------------------------
-- 8.1 Google Tokens (google_tokens): A user's Google OAuth tokens (secrets encrypted at rest by Rust).
-- ------------------------------------------------------------------------------------------------
CREATE TABLE google_tokens (
    id            TEXT PRIMARY KEY NOT NULL,
    user_id       TEXT,
    access_token  TEXT,
    refresh_token TEXT,
    token_type    TEXT,
    expires_at    INTEGER,
    scopes        TEXT CHECK (scopes IS NULL OR json_valid(scopes)),
    email         TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_google_tokens_user_id ON google_tokens (user_id);

-- ------------------------------------------------------------------------------------------------
-- 8.2 Integrations (integrations): A user's connection to a CRM provider (Salesforce, HubSpot).
-- ------------------------------------------------------------------------------------------------
CREATE TABLE integrations (
    id            TEXT PRIMARY KEY NOT NULL,
    user_id       TEXT,
    provider      TEXT NOT NULL,
    access_token  TEXT,
    refresh_token TEXT,
    instance_url  TEXT,
    expires_at    INTEGER,
    metadata      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_integrations_user_id_provider ON integrations (user_id, provider);

-- ------------------------------------------------------------------------------------------------
-- 8.3 Slack Connections (slack_connections): A user's Slack workspace connection.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE slack_connections (
    id         TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT,
    team_id    TEXT,
    bot_token  TEXT,
    user_token TEXT,
    scopes     TEXT CHECK (scopes IS NULL OR json_valid(scopes)),
    metadata   TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_slack_connections_user_id ON slack_connections (user_id);

-- ------------------------------------------------------------------------------------------------
-- 9.1 Knowledge Base (knowledge_base): A knowledge-base article.
-- tags: no index on SQLite. The GIN index of PostgreSQL has no SQLite counterpart
-- (tags is JSON text; a B-tree over the whole array cannot answer "has tag X").
-- ------------------------------------------------------------------------------------------------
CREATE TABLE knowledge_base (
    id            TEXT PRIMARY KEY NOT NULL,
    title         TEXT NOT NULL,
    content       TEXT NOT NULL,
    category      TEXT,
    tags          TEXT CHECK (tags IS NULL OR json_valid(tags)),
    is_public     INTEGER NOT NULL DEFAULT 0 CHECK (is_public IN (0, 1)),
    view_count    INTEGER NOT NULL DEFAULT 0,
    helpful_count INTEGER NOT NULL DEFAULT 0,
    metadata      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX idx_knowledge_base_category ON knowledge_base (category);

-- ------------------------------------------------------------------------------------------------
-- 10.1 Triggers (triggers): A rule that fires actions when its condition is met (customer null = global).
-- ------------------------------------------------------------------------------------------------
CREATE TABLE triggers (
    id                TEXT PRIMARY KEY NOT NULL,
    user_id           TEXT,
    customer_id       TEXT REFERENCES customers (id) ON DELETE CASCADE,
    name              TEXT NOT NULL,
    description       TEXT,
    "type"            TEXT,
    condition         TEXT CHECK (condition IS NULL OR json_valid(condition)),
    actions           TEXT CHECK (actions IS NULL OR json_valid(actions)),
    cooldown_minutes  INTEGER,
    max_fires_per_day INTEGER,
    enabled           INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    last_fired_at     INTEGER,
    fire_count        INTEGER NOT NULL DEFAULT 0,
    metadata          TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX idx_triggers_customer_id ON triggers (customer_id);

-- ------------------------------------------------------------------------------------------------
-- 10.2 Trigger Events (trigger_events): One firing of a trigger and what it executed.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE trigger_events (
    id               TEXT PRIMARY KEY NOT NULL,
    trigger_id       TEXT NOT NULL REFERENCES triggers (id) ON DELETE CASCADE,
    customer_id      TEXT REFERENCES customers (id) ON DELETE CASCADE,
    event_type       TEXT,
    event_data       TEXT CHECK (event_data IS NULL OR json_valid(event_data)),
    actions_executed TEXT CHECK (actions_executed IS NULL OR json_valid(actions_executed)),
    success          INTEGER NOT NULL DEFAULT 0 CHECK (success IN (0, 1)),
    error_message    TEXT,
    fired_at         INTEGER NOT NULL
);
CREATE INDEX idx_trigger_events_trigger_id_fired_at ON trigger_events (trigger_id, fired_at);
CREATE INDEX idx_trigger_events_customer_id ON trigger_events (customer_id);

-- ------------------------------------------------------------------------------------------------
-- 10.3 Automations (automations): A multi-step automation defined by a user (steps, schedule, trigger, scope).
-- ------------------------------------------------------------------------------------------------
CREATE TABLE automations (
    id             TEXT PRIMARY KEY NOT NULL,
    name           TEXT NOT NULL,
    description    TEXT,
    "type"         TEXT,
    nl_description TEXT,
    steps          TEXT CHECK (steps IS NULL OR json_valid(steps)),
    schedule       TEXT CHECK (schedule IS NULL OR json_valid(schedule)),
    "trigger"      TEXT CHECK ("trigger" IS NULL OR json_valid("trigger")),
    scope          TEXT CHECK (scope IS NULL OR json_valid(scope)),
    enabled        INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_by     TEXT,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);

-- ------------------------------------------------------------------------------------------------
-- api_tokens: bearer tokens for the REST and ingestion APIs (product table)
-- role null = the owning user's role.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    role         TEXT CHECK (role IN ('admin', 'manager', 'csm', 'viewer')),
    scope        TEXT NOT NULL DEFAULT 'full' CHECK (scope IN ('full', 'ingest')),
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    expires_at   INTEGER,
    revoked_at   INTEGER
);
CREATE UNIQUE INDEX uq_api_tokens_token_hash ON api_tokens (token_hash);
CREATE UNIQUE INDEX uq_api_tokens_user_id_name ON api_tokens (user_id, name) WHERE revoked_at IS NULL;
CREATE INDEX idx_api_tokens_user_id ON api_tokens (user_id);

-- ------------------------------------------------------------------------------------------------
-- auth_sessions: web UI sign-in sessions (product table)
-- ------------------------------------------------------------------------------------------------
CREATE TABLE auth_sessions (
    id           TEXT PRIMARY KEY NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   TEXT NOT NULL,
    csrf_token   TEXT NOT NULL,
    user_agent   TEXT,
    ip           TEXT,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_auth_sessions_token_hash ON auth_sessions (token_hash);
CREATE INDEX idx_auth_sessions_expires_at ON auth_sessions (expires_at);
CREATE INDEX idx_auth_sessions_user_id ON auth_sessions (user_id);

-- ------------------------------------------------------------------------------------------------
-- login_attempts: sign-in attempts, for throttling (product table)
-- ------------------------------------------------------------------------------------------------
CREATE TABLE login_attempts (
    id           TEXT PRIMARY KEY NOT NULL,
    email        TEXT NOT NULL,
    ip           TEXT,
    succeeded    INTEGER NOT NULL DEFAULT 0 CHECK (succeeded IN (0, 1)),
    attempted_at INTEGER NOT NULL
);
CREATE INDEX idx_login_attempts_email_attempted_at ON login_attempts (email, attempted_at);
CREATE INDEX idx_login_attempts_ip_attempted_at ON login_attempts (ip, attempted_at);

-- ------------------------------------------------------------------------------------------------
-- idempotency_keys: replayable responses for Idempotency-Key requests (product table)
-- status_code is null while the first request is still in progress.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE idempotency_keys (
    id            TEXT PRIMARY KEY NOT NULL,
    scope         TEXT NOT NULL,
    idem_key      TEXT NOT NULL,
    method        TEXT NOT NULL,
    path          TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    status_code   INTEGER,
    response_body TEXT,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_idempotency_keys_scope_idem_key ON idempotency_keys (scope, idem_key);
CREATE INDEX idx_idempotency_keys_expires_at ON idempotency_keys (expires_at);

-- ------------------------------------------------------------------------------------------------
-- jobs: the lease-based job queue (product table)
-- job_key dedupes queued jobs only: once a job runs, a new one with the same key may be queued.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE jobs (
    id           TEXT PRIMARY KEY NOT NULL,
    queue        TEXT NOT NULL DEFAULT 'default',
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(payload)),
    job_key      TEXT,
    status       TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'dead')),
    priority     INTEGER NOT NULL DEFAULT 0,
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 10,
    run_at       INTEGER NOT NULL,
    locked_by    TEXT,
    locked_until INTEGER,
    last_error   TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    finished_at  INTEGER
);
CREATE UNIQUE INDEX uq_jobs_job_key ON jobs (job_key) WHERE job_key IS NOT NULL AND status = 'queued';
CREATE INDEX idx_jobs_status_run_at ON jobs (status, run_at);
CREATE INDEX idx_jobs_status_locked_until ON jobs (status, locked_until);

-- ------------------------------------------------------------------------------------------------
-- schedules: cron schedules that enqueue jobs (product table)
-- ------------------------------------------------------------------------------------------------
CREATE TABLE schedules (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    cron        TEXT NOT NULL,
    job_kind    TEXT NOT NULL,
    payload     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(payload)),
    enabled     INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    next_run_at INTEGER NOT NULL,
    last_run_at INTEGER,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_schedules_name ON schedules (name);
