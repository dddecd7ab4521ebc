//! Row types for the 30 tables of `spec/data-model.md`, in data-model order.
//!
//! Each `entity!` mirrors one table of `migrations/{sqlite,postgres}/0001_schema.sql`: the fields
//! are the columns in column order, `Option<_>` exactly where the column is nullable, and
//! `=> "table"` on every foreign-key column. The product tables (users, api_tokens, sessions,
//! jobs, ...) are not here.

use crate::entity;
use crate::types::{
    ApprovalStatusText, Embedding, GradeText, Id, Money, RoleText, SeverityText, StageText,
    TaskPriorityText, TaskStatusText, TextList, Timestamp,
};
use chrono::NaiveDate;
use serde_json::Value;

entity! {
    /// A customer account: the company we serve.
    Customer in "customers" {
        id: Id,
        name: String,
        arr: Option<Money>,
        industry: Option<String>,
        stage: StageText,
        health_score: Option<i32>,
        csm_id: Option<Id> => "users",
        salesforce_id: Option<String>,
        hubspot_id: Option<String>,
        segment: Option<String>,
        renewal_date: Option<NaiveDate>,
        metadata: Value,
        created_at: Timestamp,
        updated_at: Timestamp,
        // Added by migration 0008: the band of `health_score` under its model.
        health_band: Option<GradeText>,
    }
}

entity! {
    /// A person at a customer account (contact, champion, sponsor).
    Stakeholder in "stakeholders" {
        id: Id,
        customer_id: Id => "customers",
        name: String,
        role: Option<String>,
        email: Option<String>,
        phone: Option<String>,
        linkedin_url: Option<String>,
        is_primary: bool,
        sentiment: Option<String>,
        notes: Option<String>,
        metadata: Value,
        created_at: Timestamp,
        updated_at: Timestamp,
    }
}

entity! {
    /// An uploaded contract and what was extracted from it.
    Contract in "contracts" {
        id: Id,
        customer_id: Option<Id> => "customers",
        file_url: Option<String>,
        file_name: Option<String>,
        raw_text: Option<String>,
        company_name: Option<String>,
        arr: Option<Money>,
        contract_term: Option<String>,
        start_date: Option<NaiveDate>,
        end_date: Option<NaiveDate>,
        status: String,
        parsed_data: Option<Value>,
        pricing_terms: Option<Value>,
        technical_requirements: Option<Value>,
        missing_info: Option<Value>,
        next_steps: Option<Value>,
        created_at: Timestamp,
        updated_at: Timestamp,
    }
}

entity! {
    /// A line item a contract entitles the customer to.
    Entitlement in "entitlements" {
        id: Id,
        contract_id: Id => "contracts",
        name: String,
        description: Option<String>,
        quantity: Option<i32>,
        unit: Option<String>,
        price: Option<Money>,
        category: Option<String>,
        metadata: Value,
        created_at: Timestamp,
    }
}

entity! {
    /// A conversation between a user and the AI agents.
    AgentSession in "agent_sessions" {
        id: Id,
        customer_id: Option<Id> => "customers",
        user_id: Option<Id> => "users",
        status: String,
        active_agent: Option<String>,
        deployed_agents: TextList,
        context: Option<Value>,
        created_at: Timestamp,
        updated_at: Timestamp,
        ended_at: Option<Timestamp>,
    }
}

entity! {
    /// One message within an agent session.
    AgentMessage in "agent_messages" {
        id: Id,
        session_id: Id => "agent_sessions",
        agent_id: Option<String>,
        role: String,
        content: String,
        thinking: bool,
        requires_approval: bool,
        deployed_agent: Option<String>,
        tool_calls: Option<Value>,
        metadata: Value,
        created_at: Timestamp,
        // Added by migration 0003: deduplicates client retries per session.
        client_message_id: Option<String>,
    }
}

entity! {
    /// An audit record of one action an agent performed.
    AgentActivity in "agent_activity_log" {
        id: Id,
        customer_id: Option<Id> => "customers",
        user_id: Option<Id> => "users",
        agent_type: Option<String>,
        action_type: String,
        action_data: Option<Value>,
        result_data: Option<Value>,
        status: String,
        error_message: Option<String>,
        started_at: Timestamp,
        completed_at: Option<Timestamp>,
        duration_ms: Option<i32>,
        session_id: Option<String>,
        parent_action_id: Option<Id> => "agent_activity_log",
    }
}

entity! {
    /// A message of the general (non-session) agent chat.
    ChatMessage in "chat_messages" {
        id: Id,
        customer_id: Option<Id> => "customers",
        user_id: Option<String>,
        role: String,
        content: String,
        agent_type: Option<String>,
        tool_calls: Option<Value>,
        session_id: Option<String>,
        created_at: Timestamp,
        // Added by migration 0003: deduplicates client retries per user.
        client_message_id: Option<String>,
    }
}

entity! {
    /// An agent action waiting for a human decision (HITL).
    Approval in "approvals" {
        id: Id,
        session_id: Option<Id> => "agent_sessions",
        agent_id: Option<String>,
        action: String,
        details: Option<String>,
        status: ApprovalStatusText,
        resolved_by: Option<Id> => "users",
        resolved_at: Option<Timestamp>,
        comment: Option<String>,
        metadata: Value,
        created_at: Timestamp,
        // Added by migration 0003: the typed action and its lifecycle.
        customer_id: Option<Id> => "customers",
        requested_by: Option<Id> => "users",
        action_data: Value,
        preview: Option<Value>,
        required_role: RoleText,
        expires_at: Option<Timestamp>,
        executed_at: Option<Timestamp>,
        result: Option<Value>,
    }
}

entity! {
    /// A proposed Google Workspace action awaiting approval.
    GooglePendingApproval in "google_pending_approvals" {
        id: Id,
        user_id: Option<String>,
        agent_type: Option<String>,
        action_type: String,
        action_data: Value,
        preview_data: Option<Value>,
        customer_id: Option<Id> => "customers",
        status: String,
        decided_by: Option<String>,
        decided_at: Option<Timestamp>,
        decision_note: Option<String>,
        expires_at: Option<Timestamp>,
        created_at: Timestamp,
    }
}

entity! {
    /// A customer's aggregated product usage for one day.
    UsageMetric in "usage_metrics" {
        id: Id,
        customer_id: Id => "customers",
        metric_date: NaiveDate,
        dau: Option<i32>,
        wau: Option<i32>,
        mau: Option<i32>,
        login_count: Option<i32>,
        api_calls: Option<i32>,
        session_duration_avg: Option<i32>,
        active_users: Option<i32>,
        feature_adoption: Option<Value>,
        usage_trend: Option<String>,
        adoption_score: Option<i32>,
        created_at: Timestamp,
        // Added by migration 0002 (not in the data model): daily counts for risk detection.
        event_count: Option<i32>,
        support_tickets: Option<i32>,
        high_priority_tickets: Option<i32>,
    }
}

entity! {
    /// One raw product telemetry event from a customer.
    UsageEvent in "usage_events" {
        id: Id,
        customer_id: Id => "customers",
        event_type: String,
        user_id: Option<String>,
        timestamp: Timestamp,
        metadata: Value,
        created_at: Timestamp,
        // Added by migration 0002: the producer's id, unique per customer when given.
        event_id: Option<String>,
    }
}

entity! {
    /// A detected churn-risk signal on a customer.
    RiskSignal in "risk_signals" {
        id: Id,
        customer_id: Id => "customers",
        signal_type: String,
        severity: SeverityText,
        description: Option<String>,
        detected_at: Timestamp,
        resolved_at: Option<Timestamp>,
        resolution_notes: Option<String>,
        auto_detected: bool,
        source: Option<String>,
        metadata: Value,
    }
}

entity! {
    /// One recorded value of a customer's health score.
    HealthScore in "health_score_history" {
        id: Id,
        customer_id: Id => "customers",
        score: i32,
        components: Option<Value>,
        recorded_at: Timestamp,
    }
}

entity! {
    /// A customer's upcoming renewal tracked through the pipeline.
    RenewalOpportunity in "renewal_pipeline" {
        id: Id,
        customer_id: Id => "customers",
        renewal_date: Option<NaiveDate>,
        current_arr: Option<Money>,
        proposed_arr: Option<Money>,
        probability: Option<i32>,
        stage: String,
        risk_factors: Option<Value>,
        expansion_potential: Option<Money>,
        champion_engaged: bool,
        exec_sponsor_engaged: bool,
        qbr_completed: bool,
        value_summary_sent: bool,
        proposal_sent: bool,
        verbal_commit: bool,
        contract_signed: bool,
        notes: Option<String>,
        owner_id: Option<Id> => "users",
        created_at: Timestamp,
        updated_at: Timestamp,
    }
}

entity! {
    /// A chance to sell a customer more (upsell, cross-sell).
    ExpansionOpportunity in "expansion_opportunities" {
        id: Id,
        customer_id: Id => "customers",
        opportunity_type: Option<String>,
        product_line: Option<String>,
        estimated_value: Option<Money>,
        probability: Option<i32>,
        stage: String,
        champion_id: Option<Id> => "stakeholders",
        use_case: Option<String>,
        competitive_threat: Option<String>,
        timeline: Option<String>,
        blockers: Option<Value>,
        next_steps: Option<String>,
        created_at: Timestamp,
        updated_at: Timestamp,
    }
}

entity! {
    /// A structured effort to save an at-risk customer.
    SavePlay in "save_plays" {
        id: Id,
        customer_id: Id => "customers",
        playbook_id: Option<Id> => "csm_playbooks",
        status: String,
        risk_level: Option<String>,
        primary_issue: Option<String>,
        root_cause: Option<String>,
        action_plan: Option<Value>,
        success_criteria: Option<String>,
        deadline: Option<NaiveDate>,
        owner_id: Option<Id> => "users",
        escalation_level: Option<i32>,
        outcome: Option<String>,
        outcome_notes: Option<String>,
        arr_at_risk: Option<Money>,
        arr_saved: Option<Money>,
        created_at: Timestamp,
        closed_at: Option<Timestamp>,
    }
}

entity! {
    /// A meeting with a customer, scheduled or held.
    Meeting in "meetings" {
        id: Id,
        customer_id: Id => "customers",
        session_id: Option<Id> => "agent_sessions",
        title: String,
        description: Option<String>,
        scheduled_at: Option<Timestamp>,
        duration: Option<i32>,
        status: String,
        meeting_url: Option<String>,
        calendar_event_id: Option<String>,
        attendees: Option<Value>,
        agenda: Option<Value>,
        metadata: Value,
        created_at: Timestamp,
        updated_at: Timestamp,
    }
}

entity! {
    /// The transcript of a meeting.
    Transcript in "transcripts" {
        id: Id,
        meeting_id: Id => "meetings",
        content: String,
        duration: Option<i32>,
        speakers: Option<Value>,
        word_count: Option<i32>,
        language: Option<String>,
        metadata: Value,
        created_at: Timestamp,
    }
}

entity! {
    /// AI analysis of a meeting: sentiment, commitments, risks, signals.
    MeetingAnalysis in "meeting_analyses" {
        id: Id,
        meeting_id: Option<String>,
        customer_id: Id => "customers",
        summary: Option<String>,
        overall_sentiment: Option<String>,
        sentiment_score: Option<i32>,
        action_items: Option<Value>,
        commitments: Option<Value>,
        follow_ups: Option<Value>,
        risk_signals: Option<Value>,
        risk_level: Option<String>,
        expansion_signals: Option<Value>,
        expansion_potential: Option<String>,
        stakeholder_insights: Option<Value>,
        competitor_mentions: Option<Value>,
        confidence: Option<i32>,
        analyzed_at: Option<Timestamp>,
    }
}

entity! {
    /// A quarterly business review with a customer.
    Qbr in "qbrs" {
        id: Id,
        customer_id: Id => "customers",
        quarter: String,
        scheduled_date: Option<NaiveDate>,
        completed_date: Option<NaiveDate>,
        status: String,
        attendees: Option<Value>,
        exec_sponsor_attended: bool,
        presentation_url: Option<String>,
        recording_url: Option<String>,
        summary: Option<String>,
        wins: Option<Value>,
        challenges: Option<Value>,
        action_items: Option<Value>,
        nps_score: Option<i32>,
        health_score_at_qbr: Option<i32>,
        expansion_discussed: bool,
        renewal_discussed: bool,
        created_by: Option<Id> => "users",
        created_at: Timestamp,
    }
}

entity! {
    /// A customer's strategic account plan for one fiscal year.
    AccountPlan in "account_plans" {
        id: Id,
        customer_id: Id => "customers",
        fiscal_year: String,
        status: String,
        strategic_objectives: Option<Value>,
        success_metrics: Option<Value>,
        stakeholder_map: Option<Value>,
        relationship_goals: Option<Value>,
        expansion_targets: Option<Value>,
        risk_mitigation: Option<Value>,
        qbr_schedule: Option<Value>,
        resource_allocation: Option<Value>,
        competitive_landscape: Option<String>,
        notes: Option<String>,
        owner_id: Option<Id> => "users",
        approved_by: Option<Id> => "users",
        approved_at: Option<Timestamp>,
        created_at: Timestamp,
        updated_at: Timestamp,
    }
}

entity! {
    /// A user's Google OAuth tokens (secrets encrypted at rest by Rust).
    GoogleToken in "google_tokens" {
        id: Id,
        user_id: Option<String>,
        access_token: Option<String>,
        refresh_token: Option<String>,
        token_type: Option<String>,
        expires_at: Option<Timestamp>,
        scopes: Option<TextList>,
        email: Option<String>,
        created_at: Timestamp,
        updated_at: Timestamp,
    }
}

entity! {
    /// A user's connection to a CRM provider (Salesforce, HubSpot).
    Integration in "integrations" {
        id: Id,
        user_id: Option<String>,
        provider: String,
        access_token: Option<String>,
        refresh_token: Option<String>,
        instance_url: Option<String>,
        expires_at: Option<Timestamp>,
        metadata: Value,
        created_at: Timestamp,
        updated_at: Timestamp,
    }
}

entity! {
    /// A user's Slack workspace connection.
    SlackConnection in "slack_connections" {
        id: Id,
        user_id: Option<String>,
        team_id: Option<String>,
        bot_token: Option<String>,
        user_token: Option<String>,
        scopes: Option<TextList>,
        metadata: Value,
        created_at: Timestamp,
        updated_at: Timestamp,
    }
}

entity! {
    /// A knowledge-base article.
    KnowledgeArticle in "knowledge_base" {
        id: Id,
        title: String,
        content: String,
        category: Option<String>,
        tags: Option<TextList>,
        is_public: bool,
        view_count: i32,
        helpful_count: i32,
        metadata: Value,
        created_at: Timestamp,
        updated_at: Timestamp,
    }
}

entity! {
    /// A CSM playbook, with its embedding for similarity search.
    Playbook in "csm_playbooks" {
        id: Id,
        title: String,
        category: Option<String>,
        content: String,
        embedding: Option<Embedding>,
        metadata: Value,
        created_at: Timestamp,
    }
}

entity! {
    /// A rule that fires actions when its condition is met (customer null = global).
    Trigger in "triggers" {
        id: Id,
        user_id: Option<String>,
        customer_id: Option<Id> => "customers",
        name: String,
        description: Option<String>,
        kind as "type": Option<String>,
        condition: Option<Value>,
        actions: Option<Value>,
        cooldown_minutes: Option<i32>,
        max_fires_per_day: Option<i32>,
        enabled: bool,
        last_fired_at: Option<Timestamp>,
        fire_count: i32,
        metadata: Value,
        created_at: Timestamp,
        updated_at: Timestamp,
    }
}

entity! {
    /// One firing of a trigger and what it executed.
    TriggerEvent in "trigger_events" {
        id: Id,
        trigger_id: Id => "triggers",
        customer_id: Option<Id> => "customers",
        event_type: Option<String>,
        event_data: Option<Value>,
        actions_executed: Option<Value>,
        success: bool,
        error_message: Option<String>,
        fired_at: Timestamp,
    }
}

entity! {
    /// A multi-step automation defined by a user (steps, schedule, trigger, scope).
    Automation in "automations" {
        id: Id,
        name: String,
        description: Option<String>,
        kind as "type": Option<String>,
        nl_description: Option<String>,
        steps: Option<Value>,
        schedule: Option<Value>,
        trigger: Option<Value>,
        scope: Option<Value>,
        enabled: bool,
        created_by: Option<String>,
        created_at: Timestamp,
        updated_at: Timestamp,
    }
}

/// The tables of `spec/data-model.md`, in data-model order (one `entity!` above each).
pub const DATA_MODEL_TABLES: &[&str] = &[
    "customers",
    "stakeholders",
    "contracts",
    "entitlements",
    "agent_sessions",
    "agent_messages",
    "agent_activity_log",
    "chat_messages",
    "approvals",
    "google_pending_approvals",
    "usage_metrics",
    "usage_events",
    "risk_signals",
    "health_score_history",
    "renewal_pipeline",
    "expansion_opportunities",
    "save_plays",
    "meetings",
    "transcripts",
    "meeting_analyses",
    "qbrs",
    "account_plans",
    "google_tokens",
    "integrations",
    "slack_connections",
    "knowledge_base",
    "csm_playbooks",
    "triggers",
    "trigger_events",
    "automations",
];

entity! {
    /// A note on an account (product table, migration 0012), `mentions` = user ids.
    CustomerNote in "customer_notes" {
        id: Id,
        customer_id: Id => "customers",
        author_id: Option<Id> => "users",
        body: String,
        mentions: Value,
        created_at: Timestamp,
        updated_at: Timestamp,
    }
}

entity! {
    /// A task on a CSM's queue (product table, migrations 0003 and 0011): what `create_task`
    /// writes and what people manage on "My day".
    Task in "tasks" {
        id: Id,
        customer_id: Option<Id> => "customers",
        owner_id: Option<Id> => "users",
        title: String,
        due_date: Option<NaiveDate>,
        status: TaskStatusText,
        approval_id: Option<Id> => "approvals",
        created_at: Timestamp,
        completed_at: Option<Timestamp>,
        description: Option<String>,
        priority: TaskPriorityText,
        snoozed_until: Option<NaiveDate>,
        risk_signal_id: Option<Id> => "risk_signals",
        meeting_id: Option<Id> => "meetings",
        created_by: Option<Id> => "users",
        updated_at: Timestamp,
        reminded_on: Option<NaiveDate>,
    }
}
