-- CSCX schema, version 0001: PostgreSQL.
--
-- The 30 tables of spec/data-model.md, every column under its data-model name, plus the product
-- tables (users, api_tokens, auth_sessions, login_attempts, idempotency_keys, jobs, schedules).
-- migrations/sqlite/0001_schema.sql defines the same tables with the same columns in the same
-- order; the parity test compares them. The runner wraps this file in a transaction.
--
-- Codecs (PostgreSQL side):
--   UUID        uuid (v7, generated in Rust)
--   TIMESTAMPTZ timestamptz (no SQL-side clock: no time defaults anywhere)
--   DATE        date
--   JSONB       jsonb
--   TEXT[]      text[]
--   money       numeric without precision/scale, so the scale sent is kept exactly
--   VECTOR      real[] (no pgvector dependency)
--   BOOLEAN     boolean
--   VARCHAR(n)  text (length limits are enforced in Rust)
--
-- Foreign keys and ON DELETE policy:
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
    id            uuid PRIMARY KEY,
    email         text NOT NULL,
    name          text,
    role          text NOT NULL CHECK (role IN ('admin', 'manager', 'csm', 'viewer')),
    password_hash text,
    disabled      boolean NOT NULL DEFAULT false,
    time_zone     text NOT NULL DEFAULT 'UTC',
    last_login_at timestamptz,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE UNIQUE INDEX uq_users_email ON users (email);

-- ------------------------------------------------------------------------------------------------
-- 1.1 Customers (customers): A customer account: the company we serve.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE customers (
    id            uuid PRIMARY KEY,
    name          text NOT NULL,
    arr           numeric,
    industry      text,
    stage         text NOT NULL DEFAULT 'onboarding',
    health_score  integer,
    csm_id        uuid REFERENCES users (id) ON DELETE SET NULL,
    salesforce_id text,
    hubspot_id    text,
    segment       text,
    renewal_date  date,
    metadata      jsonb NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE INDEX idx_customers_name ON customers (name);
CREATE INDEX idx_customers_stage ON customers (stage);
CREATE INDEX idx_customers_name_ci ON customers (lower(name));
CREATE INDEX idx_customers_csm_id ON customers (csm_id);
CREATE INDEX idx_customers_segment ON customers (segment);
CREATE INDEX idx_customers_renewal_date ON customers (renewal_date);
CREATE INDEX idx_customers_health_score ON customers (health_score);
CREATE INDEX idx_customers_industry ON customers (industry);
CREATE INDEX idx_customers_updated_at ON customers (updated_at);
CREATE INDEX idx_customers_arr ON customers (arr);

-- ------------------------------------------------------------------------------------------------
-- 1.2 Stakeholders (stakeholders): A person at a customer account (contact, champion, sponsor).
-- ------------------------------------------------------------------------------------------------
CREATE TABLE stakeholders (
    id           uuid PRIMARY KEY,
    customer_id  uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    name         text NOT NULL,
    role         text,
    email        text,
    phone        text,
    linkedin_url text,
    is_primary   boolean NOT NULL DEFAULT false,
    sentiment    text,
    notes        text,
    metadata     jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);
CREATE INDEX idx_stakeholders_customer_id ON stakeholders (customer_id);
CREATE INDEX idx_stakeholders_email ON stakeholders (email);

-- ------------------------------------------------------------------------------------------------
-- 1.3 Contracts (contracts): An uploaded contract and what was extracted from it.
-- customer_id is nullable: a contract may be uploaded before its customer is known.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE contracts (
    id                     uuid PRIMARY KEY,
    customer_id            uuid REFERENCES customers (id) ON DELETE CASCADE,
    file_url               text,
    file_name              text,
    raw_text               text,
    company_name           text,
    arr                    numeric,
    contract_term          text,
    start_date             date,
    end_date               date,
    status                 text NOT NULL DEFAULT 'active',
    parsed_data            jsonb,
    pricing_terms          jsonb,
    technical_requirements jsonb,
    missing_info           jsonb,
    next_steps             jsonb,
    created_at             timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL
);
CREATE INDEX idx_contracts_customer_id ON contracts (customer_id);
CREATE INDEX idx_contracts_status ON contracts (status);

-- ------------------------------------------------------------------------------------------------
-- 1.4 Entitlements (entitlements): A line item a contract entitles the customer to.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE entitlements (
    id          uuid PRIMARY KEY,
    contract_id uuid NOT NULL REFERENCES contracts (id) ON DELETE CASCADE,
    name        text NOT NULL,
    description text,
    quantity    integer,
    unit        text,
    price       numeric,
    category    text,
    metadata    jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL
);
CREATE INDEX idx_entitlements_contract_id ON entitlements (contract_id);

-- ------------------------------------------------------------------------------------------------
-- 2.1 Agent Sessions (agent_sessions): A conversation between a user and the AI agents.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE agent_sessions (
    id              uuid PRIMARY KEY,
    customer_id     uuid REFERENCES customers (id) ON DELETE SET NULL,
    user_id         uuid REFERENCES users (id) ON DELETE SET NULL,
    status          text NOT NULL DEFAULT 'active',
    active_agent    text,
    deployed_agents text[] NOT NULL DEFAULT '{}',
    context         jsonb,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    ended_at        timestamptz
);
CREATE INDEX idx_agent_sessions_customer_id ON agent_sessions (customer_id);
CREATE INDEX idx_agent_sessions_status ON agent_sessions (status);

-- ------------------------------------------------------------------------------------------------
-- 2.2 Agent Messages (agent_messages): One message within an agent session.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE agent_messages (
    id                uuid PRIMARY KEY,
    session_id        uuid NOT NULL REFERENCES agent_sessions (id) ON DELETE CASCADE,
    agent_id          text,
    role              text NOT NULL,
    content           text NOT NULL,
    thinking          boolean NOT NULL DEFAULT false,
    requires_approval boolean NOT NULL DEFAULT false,
    deployed_agent    text,
    tool_calls        jsonb,
    metadata          jsonb NOT NULL DEFAULT '{}',
    created_at        timestamptz NOT NULL
);
CREATE INDEX idx_agent_messages_session_id ON agent_messages (session_id);
CREATE INDEX idx_agent_messages_created_at ON agent_messages (created_at);

-- ------------------------------------------------------------------------------------------------
-- 2.3 Agent Activity Log (agent_activity_log): An audit record of one action an agent performed.
-- session_id is free text in the data model (VARCHAR(100)), not a link to agent_sessions: no FK.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE agent_activity_log (
    id               uuid PRIMARY KEY,
    customer_id      uuid REFERENCES customers (id) ON DELETE SET NULL,
    user_id          uuid REFERENCES users (id) ON DELETE SET NULL,
    agent_type       text,
    action_type      text NOT NULL,
    action_data      jsonb,
    result_data      jsonb,
    status           text NOT NULL DEFAULT 'completed',
    error_message    text,
    started_at       timestamptz NOT NULL,
    completed_at     timestamptz,
    duration_ms      integer,
    session_id       text,
    parent_action_id uuid REFERENCES agent_activity_log (id) ON DELETE SET NULL
);
CREATE INDEX idx_agent_activity_log_customer_id ON agent_activity_log (customer_id);
CREATE INDEX idx_agent_activity_log_agent_type ON agent_activity_log (agent_type);
CREATE INDEX idx_agent_activity_log_session_id ON agent_activity_log (session_id);
CREATE INDEX idx_agent_activity_log_parent_action_id ON agent_activity_log (parent_action_id);

-- ------------------------------------------------------------------------------------------------
-- 2.4 Chat Messages (chat_messages): A message of the general (non-session) agent chat.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE chat_messages (
    id          uuid PRIMARY KEY,
    customer_id uuid REFERENCES customers (id) ON DELETE SET NULL,
    user_id     text,
    role        text NOT NULL,
    content     text NOT NULL,
    agent_type  text,
    tool_calls  jsonb,
    session_id  text,
    created_at  timestamptz NOT NULL
);
CREATE INDEX idx_chat_messages_customer_id ON chat_messages (customer_id);
CREATE INDEX idx_chat_messages_session_id ON chat_messages (session_id);
CREATE INDEX idx_chat_messages_user_id ON chat_messages (user_id);

-- ------------------------------------------------------------------------------------------------
-- 3.1 Approvals (approvals): An agent action waiting for a human decision (HITL).
-- ------------------------------------------------------------------------------------------------
CREATE TABLE approvals (
    id          uuid PRIMARY KEY,
    session_id  uuid REFERENCES agent_sessions (id) ON DELETE SET NULL,
    agent_id    text,
    action      text NOT NULL,
    details     text,
    status      text NOT NULL DEFAULT 'pending',
    resolved_by uuid REFERENCES users (id) ON DELETE SET NULL,
    resolved_at timestamptz,
    comment     text,
    metadata    jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL
);
CREATE INDEX idx_approvals_session_id ON approvals (session_id);
CREATE INDEX idx_approvals_status ON approvals (status);

-- ------------------------------------------------------------------------------------------------
-- 3.2 Google Pending Approvals (google_pending_approvals): A proposed Google Workspace action awaiting approval.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE google_pending_approvals (
    id            uuid PRIMARY KEY,
    user_id       text,
    agent_type    text,
    action_type   text NOT NULL,
    action_data   jsonb NOT NULL,
    preview_data  jsonb,
    customer_id   uuid REFERENCES customers (id) ON DELETE SET NULL,
    status        text NOT NULL DEFAULT 'pending',
    decided_by    text,
    decided_at    timestamptz,
    decision_note text,
    expires_at    timestamptz,
    created_at    timestamptz NOT NULL
);
CREATE INDEX idx_google_pending_approvals_user_id ON google_pending_approvals (user_id);
CREATE INDEX idx_google_pending_approvals_status ON google_pending_approvals (status);
CREATE INDEX idx_google_pending_approvals_customer_id ON google_pending_approvals (customer_id);

-- ------------------------------------------------------------------------------------------------
-- 4.1 Usage Metrics (usage_metrics): A customer's aggregated product usage for one day.
-- The listed index on (customer_id, metric_date) is the unique index itself; no duplicate.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE usage_metrics (
    id                   uuid PRIMARY KEY,
    customer_id          uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    metric_date          date NOT NULL,
    dau                  integer,
    wau                  integer,
    mau                  integer,
    login_count          integer,
    api_calls            integer,
    session_duration_avg integer,
    active_users         integer,
    feature_adoption     jsonb,
    usage_trend          text,
    adoption_score       integer,
    created_at           timestamptz NOT NULL
);
CREATE UNIQUE INDEX uq_usage_metrics_customer_id_metric_date ON usage_metrics (customer_id, metric_date);
CREATE INDEX idx_usage_metrics_usage_trend ON usage_metrics (usage_trend);

-- ------------------------------------------------------------------------------------------------
-- 4.2 Usage Events (usage_events): One raw product telemetry event from a customer.
-- user_id is the customer's end-user identifier (free text), not a CSCX user: no FK.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE usage_events (
    id          uuid PRIMARY KEY,
    customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    event_type  text NOT NULL,
    user_id     text,
    "timestamp" timestamptz NOT NULL,
    metadata    jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL
);
CREATE INDEX idx_usage_events_customer_id_timestamp ON usage_events (customer_id, "timestamp");

-- ------------------------------------------------------------------------------------------------
-- 4.3 Risk Signals (risk_signals): A detected churn-risk signal on a customer.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE risk_signals (
    id               uuid PRIMARY KEY,
    customer_id      uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    signal_type      text NOT NULL,
    severity         text NOT NULL,
    description      text,
    detected_at      timestamptz NOT NULL,
    resolved_at      timestamptz,
    resolution_notes text,
    auto_detected    boolean NOT NULL DEFAULT false,
    source           text,
    metadata         jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX idx_risk_signals_customer_id ON risk_signals (customer_id);
CREATE INDEX idx_risk_signals_severity ON risk_signals (severity);
CREATE INDEX idx_risk_signals_customer_id_unresolved ON risk_signals (customer_id) WHERE resolved_at IS NULL;

-- ------------------------------------------------------------------------------------------------
-- 4.4 Health Score History (health_score_history): One recorded value of a customer's health score.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE health_score_history (
    id          uuid PRIMARY KEY,
    customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    score       integer NOT NULL,
    components  jsonb,
    recorded_at timestamptz NOT NULL
);
CREATE INDEX idx_health_score_history_customer_id_recorded_at ON health_score_history (customer_id, recorded_at);

-- ------------------------------------------------------------------------------------------------
-- 5.1 Renewal Pipeline (renewal_pipeline): A customer's upcoming renewal tracked through the pipeline.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE renewal_pipeline (
    id                   uuid PRIMARY KEY,
    customer_id          uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    renewal_date         date,
    current_arr          numeric,
    proposed_arr         numeric,
    probability          integer,
    stage                text NOT NULL DEFAULT 'identified',
    risk_factors         jsonb,
    expansion_potential  numeric,
    champion_engaged     boolean NOT NULL DEFAULT false,
    exec_sponsor_engaged boolean NOT NULL DEFAULT false,
    qbr_completed        boolean NOT NULL DEFAULT false,
    value_summary_sent   boolean NOT NULL DEFAULT false,
    proposal_sent        boolean NOT NULL DEFAULT false,
    verbal_commit        boolean NOT NULL DEFAULT false,
    contract_signed      boolean NOT NULL DEFAULT false,
    notes                text,
    owner_id             uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL
);
CREATE INDEX idx_renewal_pipeline_renewal_date ON renewal_pipeline (renewal_date);
CREATE INDEX idx_renewal_pipeline_stage ON renewal_pipeline (stage);
CREATE INDEX idx_renewal_pipeline_customer_id ON renewal_pipeline (customer_id);

-- ------------------------------------------------------------------------------------------------
-- 5.2 Expansion Opportunities (expansion_opportunities): A chance to sell a customer more (upsell, cross-sell).
-- ------------------------------------------------------------------------------------------------
CREATE TABLE expansion_opportunities (
    id                 uuid PRIMARY KEY,
    customer_id        uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    opportunity_type   text,
    product_line       text,
    estimated_value    numeric,
    probability        integer,
    stage              text NOT NULL DEFAULT 'identified',
    champion_id        uuid REFERENCES stakeholders (id) ON DELETE SET NULL,
    use_case           text,
    competitive_threat text,
    timeline           text,
    blockers           jsonb,
    next_steps         text,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL
);
CREATE INDEX idx_expansion_opportunities_customer_id ON expansion_opportunities (customer_id);
CREATE INDEX idx_expansion_opportunities_stage ON expansion_opportunities (stage);
CREATE INDEX idx_expansion_opportunities_champion_id ON expansion_opportunities (champion_id);

-- ------------------------------------------------------------------------------------------------
-- 9.2 CSM Playbooks (csm_playbooks): A CSM playbook, with its embedding for similarity search.
-- embedding: real[]. No vector index: real[] has no ANN index without pgvector;
-- similarity search is a scan (playbooks are few).
-- Created before save_plays (out of data-model order) because
-- save_plays.playbook_id references it.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE csm_playbooks (
    id         uuid PRIMARY KEY,
    title      text NOT NULL,
    category   text,
    content    text NOT NULL,
    embedding  real[],
    metadata   jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL
);
CREATE INDEX idx_csm_playbooks_category ON csm_playbooks (category);

-- ------------------------------------------------------------------------------------------------
-- 5.3 Save Plays (save_plays): A structured effort to save an at-risk customer.
-- playbook_id references csm_playbooks ("FK to playbooks" in the data model).
-- ------------------------------------------------------------------------------------------------
CREATE TABLE save_plays (
    id               uuid PRIMARY KEY,
    customer_id      uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    playbook_id      uuid REFERENCES csm_playbooks (id) ON DELETE SET NULL,
    status           text NOT NULL DEFAULT 'active',
    risk_level       text,
    primary_issue    text,
    root_cause       text,
    action_plan      jsonb,
    success_criteria text,
    deadline         date,
    owner_id         uuid REFERENCES users (id) ON DELETE SET NULL,
    escalation_level integer,
    outcome          text,
    outcome_notes    text,
    arr_at_risk      numeric,
    arr_saved        numeric,
    created_at       timestamptz NOT NULL,
    closed_at        timestamptz
);
CREATE INDEX idx_save_plays_customer_id ON save_plays (customer_id);
CREATE INDEX idx_save_plays_status ON save_plays (status);
CREATE INDEX idx_save_plays_risk_level ON save_plays (risk_level);
CREATE INDEX idx_save_plays_playbook_id ON save_plays (playbook_id);

-- ------------------------------------------------------------------------------------------------
-- 6.1 Meetings (meetings): A meeting with a customer, scheduled or held.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE meetings (
    id                uuid PRIMARY KEY,
    customer_id       uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    session_id        uuid REFERENCES agent_sessions (id) ON DELETE SET NULL,
    title             text NOT NULL,
    description       text,
    scheduled_at      timestamptz,
    duration          integer,
    status            text NOT NULL DEFAULT 'scheduled',
    meeting_url       text,
    calendar_event_id text,
    attendees         jsonb,
    agenda            jsonb,
    metadata          jsonb NOT NULL DEFAULT '{}',
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL
);
CREATE INDEX idx_meetings_customer_id ON meetings (customer_id);
CREATE INDEX idx_meetings_scheduled_at ON meetings (scheduled_at);
CREATE INDEX idx_meetings_session_id ON meetings (session_id);

-- ------------------------------------------------------------------------------------------------
-- 6.2 Transcripts (transcripts): The transcript of a meeting.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE transcripts (
    id         uuid PRIMARY KEY,
    meeting_id uuid NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    content    text NOT NULL,
    duration   integer,
    speakers   jsonb,
    word_count integer,
    language   text,
    metadata   jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL
);
CREATE INDEX idx_transcripts_meeting_id ON transcripts (meeting_id);

-- ------------------------------------------------------------------------------------------------
-- 6.3 Meeting Analyses (meeting_analyses): AI analysis of a meeting: sentiment, commitments, risks, signals.
-- meeting_id is TEXT in the data model (it may name an external meeting): no FK to meetings.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE meeting_analyses (
    id                   uuid PRIMARY KEY,
    meeting_id           text,
    customer_id          uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    summary              text,
    overall_sentiment    text,
    sentiment_score      integer,
    action_items         jsonb,
    commitments          jsonb,
    follow_ups           jsonb,
    risk_signals         jsonb,
    risk_level           text,
    expansion_signals    jsonb,
    expansion_potential  text,
    stakeholder_insights jsonb,
    competitor_mentions  jsonb,
    confidence           integer,
    analyzed_at          timestamptz
);
CREATE INDEX idx_meeting_analyses_customer_id ON meeting_analyses (customer_id);
CREATE INDEX idx_meeting_analyses_analyzed_at ON meeting_analyses (analyzed_at);

-- ------------------------------------------------------------------------------------------------
-- 7.1 QBRs (qbrs): A quarterly business review with a customer.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE qbrs (
    id                    uuid PRIMARY KEY,
    customer_id           uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    quarter               text NOT NULL,
    scheduled_date        date,
    completed_date        date,
    status                text NOT NULL DEFAULT 'scheduled',
    attendees             jsonb,
    exec_sponsor_attended boolean NOT NULL DEFAULT false,
    presentation_url      text,
    recording_url         text,
    summary               text,
    wins                  jsonb,
    challenges            jsonb,
    action_items          jsonb,
    nps_score             integer,
    health_score_at_qbr   integer,
    expansion_discussed   boolean NOT NULL DEFAULT false,
    renewal_discussed     boolean NOT NULL DEFAULT false,
    created_by            uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at            timestamptz NOT NULL
);
CREATE INDEX idx_qbrs_customer_id ON qbrs (customer_id);
CREATE INDEX idx_qbrs_quarter ON qbrs (quarter);
CREATE INDEX idx_qbrs_status ON qbrs (status);

-- ------------------------------------------------------------------------------------------------
-- 7.2 Account Plans (account_plans): A customer's strategic account plan for one fiscal year.
-- The listed customer_id index is served by the unique index (customer_id is its leading column).
-- ------------------------------------------------------------------------------------------------
CREATE TABLE account_plans (
    id                    uuid PRIMARY KEY,
    customer_id           uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    fiscal_year           text NOT NULL,
    status                text NOT NULL DEFAULT 'draft',
    strategic_objectives  jsonb,
    success_metrics       jsonb,
    stakeholder_map       jsonb,
    relationship_goals    jsonb,
    expansion_targets     jsonb,
    risk_mitigation       jsonb,
    qbr_schedule          jsonb,
    resource_allocation   jsonb,
    competitive_landscape text,
    notes                 text,
    owner_id              uuid REFERENCES users (id) ON DELETE SET NULL,
    approved_by           uuid REFERENCES users (id) ON DELETE SET NULL,
    approved_at           timestamptz,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL
);
CREATE UNIQUE INDEX uq_account_plans_customer_id_fiscal_year ON account_plans (customer_id, fiscal_year);
CREATE INDEX idx_account_plans_fiscal_year ON account_plans (fiscal_year);
CREATE INDEX idx_account_plans_status ON account_plans (status);

-- ------------------------------------------------------------------------------------------------
-- 8.1 Google Tokens (google_tokens): A user's Google OAuth tokens (secrets encrypted at rest by Rust).
-- ------------------------------------------------------------------------------------------------
CREATE TABLE google_tokens (
    id            uuid PRIMARY KEY,
    user_id       text,
    access_token  text,
    refresh_token text,
    token_type    text,
    expires_at    timestamptz,
    scopes        text[],
    email         text,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE UNIQUE INDEX uq_google_tokens_user_id ON google_tokens (user_id);

-- ------------------------------------------------------------------------------------------------
-- 8.2 Integrations (integrations): A user's connection to a CRM provider (Salesforce, HubSpot).
-- ------------------------------------------------------------------------------------------------
CREATE TABLE integrations (
    id            uuid PRIMARY KEY,
    user_id       text,
    provider      text NOT NULL,
    access_token  text,
    refresh_token text,
    instance_url  text,
    expires_at    timestamptz,
    metadata      jsonb NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE UNIQUE INDEX uq_integrations_user_id_provider ON integrations (user_id, provider);

-- ------------------------------------------------------------------------------------------------
-- 8.3 Slack Connections (slack_connections): A user's Slack workspace connection.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE slack_connections (
    id         uuid PRIMARY KEY,
    user_id    text,
    team_id    text,
    bot_token  text,
    user_token text,
    scopes     text[],
    metadata   jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX uq_slack_connections_user_id ON slack_connections (user_id);

-- ------------------------------------------------------------------------------------------------
-- 9.1 Knowledge Base (knowledge_base): A knowledge-base article.
-- tags: GIN index (array containment: tags @> ARRAY[...]).
-- ------------------------------------------------------------------------------------------------
CREATE TABLE knowledge_base (
    id            uuid PRIMARY KEY,
    title         text NOT NULL,
    content       text NOT NULL,
    category      text,
    tags          text[],
    is_public     boolean NOT NULL DEFAULT false,
    view_count    integer NOT NULL DEFAULT 0,
    helpful_count integer NOT NULL DEFAULT 0,
    metadata      jsonb NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE INDEX idx_knowledge_base_category ON knowledge_base (category);
CREATE INDEX idx_knowledge_base_tags ON knowledge_base USING gin (tags);

-- ------------------------------------------------------------------------------------------------
-- 10.1 Triggers (triggers): A rule that fires actions when its condition is met (customer null = global).
-- ------------------------------------------------------------------------------------------------
CREATE TABLE triggers (
    id                uuid PRIMARY KEY,
    user_id           text,
    customer_id       uuid REFERENCES customers (id) ON DELETE CASCADE,
    name              text NOT NULL,
    description       text,
    "type"            text,
    condition         jsonb,
    actions           jsonb,
    cooldown_minutes  integer,
    max_fires_per_day integer,
    enabled           boolean NOT NULL DEFAULT true,
    last_fired_at     timestamptz,
    fire_count        integer NOT NULL DEFAULT 0,
    metadata          jsonb NOT NULL DEFAULT '{}',
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL
);
CREATE INDEX idx_triggers_customer_id ON triggers (customer_id);

-- ------------------------------------------------------------------------------------------------
-- 10.2 Trigger Events (trigger_events): One firing of a trigger and what it executed.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE trigger_events (
    id               uuid PRIMARY KEY,
    trigger_id       uuid NOT NULL REFERENCES triggers (id) ON DELETE CASCADE,
    customer_id      uuid REFERENCES customers (id) ON DELETE CASCADE,
    event_type       text,
    event_data       jsonb,
    actions_executed jsonb,
    success          boolean NOT NULL DEFAULT false,
    error_message    text,
    fired_at         timestamptz NOT NULL
);
CREATE INDEX idx_trigger_events_trigger_id_fired_at ON trigger_events (trigger_id, fired_at);
CREATE INDEX idx_trigger_events_customer_id ON trigger_events (customer_id);

-- ------------------------------------------------------------------------------------------------
-- 10.3 Automations (automations): A multi-step automation defined by a user (steps, schedule, trigger, scope).
-- ------------------------------------------------------------------------------------------------
CREATE TABLE automations (
    id             uuid PRIMARY KEY,
    name           text NOT NULL,
    description    text,
    "type"         text,
    nl_description text,
    steps          jsonb,
    schedule       jsonb,
    "trigger"      jsonb,
    scope          jsonb,
    enabled        boolean NOT NULL DEFAULT true,
    created_by     text,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);

-- ------------------------------------------------------------------------------------------------
-- api_tokens: bearer tokens for the REST and ingestion APIs (product table)
-- role null = the owning user's role.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE api_tokens (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text NOT NULL,
    token_hash   text NOT NULL,
    prefix       text NOT NULL,
    role         text CHECK (role IN ('admin', 'manager', 'csm', 'viewer')),
    scope        text NOT NULL DEFAULT 'full' CHECK (scope IN ('full', 'ingest')),
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz,
    expires_at   timestamptz,
    revoked_at   timestamptz
);
CREATE UNIQUE INDEX uq_api_tokens_token_hash ON api_tokens (token_hash);
CREATE UNIQUE INDEX uq_api_tokens_user_id_name ON api_tokens (user_id, name) WHERE revoked_at IS NULL;
CREATE INDEX idx_api_tokens_user_id ON api_tokens (user_id);

-- ------------------------------------------------------------------------------------------------
-- auth_sessions: web UI sign-in sessions (product table)
-- ------------------------------------------------------------------------------------------------
CREATE TABLE auth_sessions (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   text NOT NULL,
    csrf_token   text NOT NULL,
    user_agent   text,
    ip           text,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL
);
CREATE UNIQUE INDEX uq_auth_sessions_token_hash ON auth_sessions (token_hash);
CREATE INDEX idx_auth_sessions_expires_at ON auth_sessions (expires_at);
CREATE INDEX idx_auth_sessions_user_id ON auth_sessions (user_id);

-- ------------------------------------------------------------------------------------------------
-- login_attempts: sign-in attempts, for throttling (product table)
-- ------------------------------------------------------------------------------------------------
CREATE TABLE login_attempts (
    id           uuid PRIMARY KEY,
    email        text NOT NULL,
    ip           text,
    succeeded    boolean NOT NULL DEFAULT false,
    attempted_at timestamptz NOT NULL
);
CREATE INDEX idx_login_attempts_email_attempted_at ON login_attempts (email, attempted_at);
CREATE INDEX idx_login_attempts_ip_attempted_at ON login_attempts (ip, attempted_at);

-- ------------------------------------------------------------------------------------------------
-- idempotency_keys: replayable responses for Idempotency-Key requests (product table)
-- status_code is null while the first request is still in progress.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE idempotency_keys (
    id            uuid PRIMARY KEY,
    scope         text NOT NULL,
    idem_key      text NOT NULL,
    method        text NOT NULL,
    path          text NOT NULL,
    request_hash  text NOT NULL,
    status_code   integer,
    response_body text,
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL
);
CREATE UNIQUE INDEX uq_idempotency_keys_scope_idem_key ON idempotency_keys (scope, idem_key);
CREATE INDEX idx_idempotency_keys_expires_at ON idempotency_keys (expires_at);

-- ------------------------------------------------------------------------------------------------
-- jobs: the lease-based job queue (product table)
-- job_key dedupes queued jobs only: once a job runs, a new one with the same key may be queued.
-- ------------------------------------------------------------------------------------------------
CREATE TABLE jobs (
    id           uuid PRIMARY KEY,
    queue        text NOT NULL DEFAULT 'default',
    kind         text NOT NULL,
    payload      jsonb NOT NULL DEFAULT '{}',
    job_key      text,
    status       text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'dead')),
    priority     integer NOT NULL DEFAULT 0,
    attempts     integer NOT NULL DEFAULT 0,
    max_attempts integer NOT NULL DEFAULT 10,
    run_at       timestamptz NOT NULL,
    locked_by    text,
    locked_until timestamptz,
    last_error   text,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    finished_at  timestamptz
);
CREATE UNIQUE INDEX uq_jobs_job_key ON jobs (job_key) WHERE job_key IS NOT NULL AND status = 'queued';
CREATE INDEX idx_jobs_status_run_at ON jobs (status, run_at);
CREATE INDEX idx_jobs_status_locked_until ON jobs (status, locked_until);

-- ------------------------------------------------------------------------------------------------
-- schedules: cron schedules that enqueue jobs (product table)
-- ------------------------------------------------------------------------------------------------
CREATE TABLE schedules (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    cron        text NOT NULL,
    job_kind    text NOT NULL,
    payload     jsonb NOT NULL DEFAULT '{}',
    enabled     boolean NOT NULL DEFAULT true,
    next_run_at timestamptz NOT NULL,
    last_run_at timestamptz,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE UNIQUE INDEX uq_schedules_name ON schedules (name);
