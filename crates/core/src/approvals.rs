//! Human approval of agent actions, executed exactly once.
//!
//! Lifecycle: `pending` → `approved` | `rejected` | `expired`; an approved action then becomes
//! `executed` or `failed`. Deciding is one conditional transition on a locked row, so two people
//! approving at once get one success and one 409. Execution is keyed by the approval: its
//! database effects and the `executed` status commit in one transaction, and file effects
//! (the `.eml`/`.ics` written to the outbox) are created once under the approval's id, so a retry
//! after a crash at any point neither repeats nor loses the action. A job backs every approval
//! up, so an action approved just before a crash is still executed.

use std::path::PathBuf;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use cscx_domain::Role;
use cscx_jobs::queue::{enqueue_in, NewJob};
use cscx_store::model::{AgentMessage, Approval, Customer, Meeting, RiskSignal, SavePlay, Task};
use cscx_store::{entity, run, DbConn, Id, Timestamp};

use crate::auth::Principal;
use crate::error::{CoreError, CoreResult};
use crate::events::{record, Actor};
use crate::App;

pub const EXECUTE_JOB: &str = "approval.execute";
pub const EXPIRE_JOB: &str = "approvals.expire";

/// Who must approve an action, whether it may run without approval, and how long it waits.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Policy {
    pub action: String,
    #[schema(value_type = String)]
    pub required_role: Role,
    /// Runs at once (still logged as an approval decided by policy). Only an admin sets it.
    pub auto_approve: bool,
    pub expires_after_hours: i64,
}

/// The defaults: escalations and ownership changes need a manager; everything else a CSM.
pub fn default_policy(action: &str) -> Policy {
    let required_role = match action {
        "escalate" | "change_owner" => Role::Manager,
        _ => Role::Csm,
    };
    Policy {
        action: action.to_string(),
        required_role,
        auto_approve: false,
        expires_after_hours: 24,
    }
}

pub async fn policy(c: DbConn<'_>, action: &str) -> CoreResult<Policy> {
    let row: Option<(String, bool, i32)> = run!(c, |conn| {
        sqlx::query_as(
            "SELECT required_role, auto_approve, expires_after_hours FROM approval_policies WHERE action = $1",
        )
        .bind(action)
        .fetch_optional(&mut *conn)
        .await
    })
    .map_err(cscx_store::Error::from)?;
    Ok(match row {
        Some((role, auto, hours)) => stored_policy(action, &role, auto, hours),
        None => default_policy(action),
    })
}

/// Every action tool's policy (stored or default), in one query.
pub async fn list_policies(app: &App) -> CoreResult<Vec<Policy>> {
    let mut c = app.db.conn().await?;
    let stored: Vec<(String, String, bool, i32)> = run!(c.c(), |conn| {
        sqlx::query_as(
            "SELECT action, required_role, auto_approve, expires_after_hours FROM approval_policies",
        )
        .fetch_all(&mut *conn)
        .await
    })
    .map_err(cscx_store::Error::from)?;
    Ok(cscx_ai::agent::tools()
        .iter()
        .filter(|t| t.is_action())
        .map(|t| match stored.iter().find(|(a, ..)| *a == t.name) {
            Some((_, role, auto, hours)) => stored_policy(&t.name, role, *auto, *hours),
            None => default_policy(&t.name),
        })
        .collect())
}

fn stored_policy(action: &str, role: &str, auto_approve: bool, hours: i32) -> Policy {
    Policy {
        action: action.to_string(),
        required_role: crate::authz::stored_role(role),
        auto_approve,
        expires_after_hours: hours as i64,
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyUpdate {
    pub required_role: Option<String>,
    pub auto_approve: Option<bool>,
    pub expires_after_hours: Option<i64>,
}

pub async fn set_policy(
    app: &App,
    who: &Principal,
    action: &str,
    u: PolicyUpdate,
) -> CoreResult<Policy> {
    crate::authz::require(who, Role::Admin, "changing approval policies")?;
    let by = who.user_id;
    if !cscx_ai::agent::tool(action).is_some_and(|t| t.is_action()) {
        return Err(CoreError::NotFound("action"));
    }
    let mut c = app.db.conn().await?;
    let mut p = policy(c.c(), action).await?;
    if let Some(r) = u.required_role {
        p.required_role = r.parse().map_err(|_| {
            CoreError::field(
                "required_role",
                "must be one of viewer, csm, manager, admin",
            )
        })?;
        if p.required_role == Role::Viewer {
            return Err(CoreError::field(
                "required_role",
                "viewers cannot approve actions",
            ));
        }
    }
    if let Some(a) = u.auto_approve {
        p.auto_approve = a;
    }
    if let Some(h) = u.expires_after_hours {
        if !(1..=24 * 30).contains(&h) {
            return Err(CoreError::field(
                "expires_after_hours",
                "must be between 1 and 720",
            ));
        }
        p.expires_after_hours = h;
    }
    let now = app.now();
    let mut tx = app.db.begin().await?;
    run!(tx.c(), |conn| {
        sqlx::query(
            "INSERT INTO approval_policies (action, required_role, auto_approve, expires_after_hours, updated_by, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (action) DO UPDATE SET required_role = excluded.required_role,
               auto_approve = excluded.auto_approve, expires_after_hours = excluded.expires_after_hours,
               updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        )
        .bind(action)
        .bind(p.required_role.to_string())
        .bind(p.auto_approve)
        .bind(p.expires_after_hours as i32)
        .bind(by)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map(|_| ())
    })
    .map_err(cscx_store::Error::from)?;
    let event = cscx_domain::events::Event::PolicyChanged {
        action: action.to_string(),
        required_role: p.required_role.to_string(),
        auto_approve: p.auto_approve,
        expires_after_hours: p.expires_after_hours,
    };
    crate::audit::record(tx.c(), &event, &crate::audit::Actor::of(who), None, now).await?;
    tx.commit().await?;
    Ok(p)
}

/// The job that executes an approved action; keyed by the approval so it is queued once.
pub fn execute_job(id: Id) -> NewJob {
    NewJob::new(EXECUTE_JOB, json!({ "approval_id": id })).key(format!("approval:{id}"))
}

/// Where an action comes from.
#[derive(Debug, Clone)]
pub struct Origin {
    pub session_id: Option<Id>,
    pub agent: String,
    pub user: Id,
    pub customer_id: Option<Id>,
}

/// Records an approval request (in the caller's transaction). With an auto-approving policy the
/// approval is created already `approved`; the caller then executes it after committing.
pub async fn request(
    mut c: DbConn<'_>,
    origin: &Origin,
    action: &str,
    args: Map<String, Value>,
    preview: Value,
    now: Timestamp,
) -> CoreResult<Approval> {
    let p = policy(c.re(), action).await?;
    let summary = preview["summary"].as_str().map(str::to_string);
    let approval = Approval {
        id: Id::new(),
        session_id: origin.session_id,
        agent_id: Some(origin.agent.clone()),
        action: action.to_string(),
        details: summary,
        status: if p.auto_approve {
            "approved"
        } else {
            "pending"
        }
        .into(),
        resolved_by: None,
        resolved_at: p.auto_approve.then_some(now),
        comment: p
            .auto_approve
            .then(|| "approved by policy: this action may run without approval".to_string()),
        metadata: json!({ "auto_approved": p.auto_approve }),
        created_at: now,
        customer_id: origin.customer_id,
        requested_by: Some(origin.user),
        action_data: Value::Object(args),
        preview: Some(preview),
        required_role: p.required_role.to_string(),
        expires_at: Some(now.add(Duration::hours(p.expires_after_hours))),
        executed_at: None,
        result: None,
    };
    entity::insert(c.re(), &approval).await?;
    // Only approved actions have work to do; pending ones get their job when decided.
    if p.auto_approve {
        enqueue_in(c, &execute_job(approval.id), now).await?;
    }
    Ok(approval)
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    pub comment: Option<String>,
    /// Changed arguments (e.g. the e-mail body); what executes is the edited action.
    #[schema(value_type = Option<Object>)]
    pub edits: Option<Map<String, Value>>,
}

/// Approve (optionally with edits). Exactly one of several concurrent approvals succeeds.
pub async fn approve(app: &App, who: &Principal, id: Id, d: Decision) -> CoreResult<Approval> {
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let mut a: Approval = entity::get_for_update(tx.c(), id)
        .await?
        .ok_or(CoreError::NotFound("approval"))?;
    check_decidable(tx.c(), &a, who, now).await?;
    if let Some(edits) = d.edits.filter(|e| !e.is_empty()) {
        let tool = cscx_ai::agent::tool(&a.action)
            .ok_or_else(|| CoreError::Internal(format!("unknown action {}", a.action)))?;
        let mut args = a.action_data.as_object().cloned().unwrap_or_default();
        let original = Value::Object(args.clone());
        for (k, v) in edits {
            args.insert(k, v);
        }
        cscx_ai::agent::validate_args(tool, &args).map_err(|m| CoreError::field("edits", m))?;
        crate::agents::tools::check_action_args(&a.action, &args)
            .map_err(|m| CoreError::field("edits", m))?;
        a.metadata["original_action_data"] = original;
        a.metadata["edited_by"] = json!(who.user_id);
        if let Some(p) = a.preview.as_mut() {
            p["edited"] = json!(true);
        }
        a.action_data = Value::Object(args);
    }
    a.status = "approved".into();
    a.resolved_by = Some(who.user_id);
    a.resolved_at = Some(now);
    a.comment = d.comment.filter(|c| !c.trim().is_empty());
    entity::update(tx.c(), &a).await?;
    record_decision(tx.c(), &a, who, now).await?;
    enqueue_in(tx.c(), &execute_job(a.id), now).await?;
    tx.commit().await?;
    // Run it now for a prompt answer; the job above retries if this process dies first.
    if let Err(e) = execute(app, id).await {
        tracing::warn!(approval = %id, error = %e, "execution will be retried by the job");
    }
    fetch(app, id).await
}

pub async fn reject(app: &App, who: &Principal, id: Id, d: Decision) -> CoreResult<Approval> {
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let mut a: Approval = entity::get_for_update(tx.c(), id)
        .await?
        .ok_or(CoreError::NotFound("approval"))?;
    check_decidable(tx.c(), &a, who, now).await?;
    a.status = "rejected".into();
    a.resolved_by = Some(who.user_id);
    a.resolved_at = Some(now);
    a.comment = d.comment.filter(|c| !c.trim().is_empty());
    entity::update(tx.c(), &a).await?;
    record_decision(tx.c(), &a, who, now).await?;
    if let Some(session) = a.session_id {
        let text = match &a.comment {
            Some(c) => format!("{} was rejected: {c}", describe(&a)),
            None => format!("{} was rejected.", describe(&a)),
        };
        post_outcome(tx.c(), session, &a, &text, now).await?;
    }
    tx.commit().await?;
    Ok(a)
}

/// Who an executed action acts for: the person who approved it (the system when a policy
/// approved it).
fn approver(a: &Approval) -> Actor {
    a.resolved_by.map(Actor::user).unwrap_or_else(Actor::system)
}

/// The decision, in the audit record (in the decision's transaction).
async fn record_decision(
    c: DbConn<'_>,
    a: &Approval,
    who: &Principal,
    now: Timestamp,
) -> CoreResult<()> {
    let event = cscx_domain::events::Event::ApprovalDecided {
        approval_id: a.id.0,
        action: a.action.clone(),
        decision: a.status.clone(),
        edited: a.metadata.get("edited_by").is_some(),
    };
    let actor = crate::audit::Actor::of(who);
    crate::audit::record(c, &event, &actor, a.customer_id, now).await
}

/// The owner (`csm_id`) of the account an approval concerns.
async fn account_owner(c: DbConn<'_>, a: &Approval) -> CoreResult<Option<Id>> {
    Ok(match a.customer_id {
        Some(id) => entity::get::<Customer>(c, id).await?.and_then(|c| c.csm_id),
        None => None,
    })
}

async fn check_decidable(
    mut c: DbConn<'_>,
    a: &Approval,
    who: &Principal,
    now: Timestamp,
) -> CoreResult<()> {
    crate::authz::require(who, Role::Csm, "deciding approvals")?;
    let owner = account_owner(c.re(), a).await?;
    crate::authz::see_approval(who, a.requested_by, owner)?;
    if a.status != "pending" {
        return Err(CoreError::Conflict(format!(
            "this approval is already {}",
            a.status
        )));
    }
    if a.expires_at.is_some_and(|e| e <= now) {
        return Err(CoreError::Conflict("this approval has expired".into()));
    }
    let needed = crate::authz::stored_role(&a.required_role);
    if who.role < needed {
        return Err(CoreError::Forbidden(format!(
            "{} needs the {needed} role to approve; you are {}",
            a.action, who.role
        )));
    }
    Ok(())
}

/// One approval, if the caller may see it ([`crate::authz::see_approval`]).
pub async fn get(app: &App, who: &Principal, id: Id) -> CoreResult<Approval> {
    let a = fetch(app, id).await?;
    let mut c = app.db.conn().await?;
    let owner = account_owner(c.c(), &a).await?;
    crate::authz::see_approval(who, a.requested_by, owner)?;
    Ok(a)
}

/// One approval, for the system's own use (execution, the agent reporting an outcome).
pub async fn fetch(app: &App, id: Id) -> CoreResult<Approval> {
    let mut c = app.db.conn().await?;
    entity::get(c.c(), id)
        .await?
        .ok_or(CoreError::NotFound("approval"))
}

#[derive(Debug, Default)]
pub struct ApprovalFilter {
    pub status: Option<String>,
    pub action: Option<String>,
    pub customer_id: Option<Id>,
    pub session_id: Option<Id>,
}

/// The approvals the caller may see, newest first, keyset on id.
pub async fn list(
    app: &App,
    who: &Principal,
    f: &ApprovalFilter,
    before: Option<Id>,
    limit: u32,
) -> CoreResult<Vec<Approval>> {
    let all = crate::authz::sees_all_approvals(who);
    let mut c = app.db.conn().await?;
    Ok(run!(c.c(), |conn| sqlx::query_as::<_, Approval>(
        "SELECT * FROM approvals WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR action = $2)
           AND ($3 IS NULL OR customer_id = $3) AND ($4 IS NULL OR session_id = $4)
           AND ($5 IS NULL OR id < $5)
           AND ($7 OR requested_by = $8
                OR customer_id IN (SELECT id FROM customers WHERE csm_id = $8))
         ORDER BY id DESC LIMIT $6"
    )
    .bind(&f.status)
    .bind(&f.action)
    .bind(f.customer_id)
    .bind(f.session_id)
    .bind(before)
    .bind(limit as i64)
    .bind(all)
    .bind(who.user_id)
    .fetch_all(&mut *conn)
    .await)
    .map_err(cscx_store::Error::from)?)
}

/// Marks pending approvals past their expiry as `expired` (the scheduled job; deciding also
/// refuses expired ones, so the job's timing never lets a stale approval run).
pub async fn expire_due(app: &App) -> CoreResult<u64> {
    let now = app.now();
    let mut c = app.db.conn().await?;
    let n = run!(c.c(), |conn| {
        sqlx::query(
            "UPDATE approvals SET status = 'expired', resolved_at = $1
             WHERE status = 'pending' AND expires_at IS NOT NULL AND expires_at <= $1",
        )
        .bind(now)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected())
    })
    .map_err(cscx_store::Error::from)?;
    Ok(n)
}

fn describe(a: &Approval) -> String {
    a.details
        .clone()
        .unwrap_or_else(|| format!("The {} action", a.action.replace('_', " ")))
}

async fn post_outcome(
    c: DbConn<'_>,
    session: Id,
    a: &Approval,
    text: &str,
    now: Timestamp,
) -> CoreResult<()> {
    let m = AgentMessage {
        id: Id::new(),
        session_id: session,
        agent_id: a.agent_id.clone(),
        role: "assistant".into(),
        content: text.to_string(),
        thinking: false,
        requires_approval: false,
        deployed_agent: a.agent_id.clone(),
        tool_calls: None,
        metadata: json!({ "approval_id": a.id, "approval_status": a.status }),
        created_at: now,
        client_message_id: None,
    };
    entity::insert(c, &m).await?;
    Ok(())
}

/// Files an action writes, named by the approval so a retry finds them instead of writing twice.
fn outbox_path(app: &App, id: Id, ext: &str) -> PathBuf {
    app.agents.outbox_dir.join(format!("{id}.{ext}"))
}

/// Creates `path` with `content` unless it exists (the retry after a crash).
fn write_once(path: &PathBuf, content: &str) -> std::io::Result<bool> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4()));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(content.as_bytes())?;
    f.sync_all()?;
    // A hard link fails if the target exists: exactly one writer wins, atomically.
    let created = match std::fs::hard_link(&tmp, path) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    let _ = std::fs::remove_file(&tmp);
    Ok(created)
}

/// Executes an approved action once. Safe to call any number of times, from any process.
pub async fn execute(app: &App, id: Id) -> CoreResult<()> {
    let a = fetch(app, id).await?;
    if a.status != "approved" {
        return Ok(());
    }
    let args = a.action_data.as_object().cloned().unwrap_or_default();
    // File effects first, named by the approval: repeating this step writes nothing new.
    let now = app.clock.now();
    let file = match a.action.as_str() {
        "send_email" => Some((
            "eml",
            crate::agents::tools::render_eml(&a, &args, now),
            "the outbox",
        )),
        "schedule_meeting" => Some((
            "ics",
            crate::agents::tools::render_ics(&a, &args, now),
            "the invitation",
        )),
        _ => None,
    };
    let files = match file {
        Some((ext, content, what)) => {
            let path = outbox_path(app, id, ext);
            let target = path.clone();
            tokio::task::spawn_blocking(move || write_once(&target, &content))
                .await
                .map_err(|e| CoreError::Internal(e.to_string()))?
                .map_err(|e| CoreError::Internal(format!("writing {what}: {e}")))?;
            Some(path)
        }
        None => None,
    };

    let now = app.now();
    let mut tx = app.db.begin().await?;
    let mut a: Approval = entity::get_for_update(tx.c(), id)
        .await?
        .ok_or(CoreError::NotFound("approval"))?;
    if a.status != "approved" {
        return Ok(()); // another executor finished first
    }
    let outcome = apply(tx.c(), &a, &args, files.as_ref(), now).await;
    let (status, result, text) = match outcome {
        Ok((result, text)) => ("executed", result, text),
        Err(ActionError::Failed(msg)) => (
            "failed",
            json!({ "error": msg }),
            format!("{} could not be done: {msg}", describe(&a)),
        ),
        Err(ActionError::Core(e)) => return Err(e),
    };
    a.status = status.into();
    a.executed_at = Some(now);
    a.result = Some(result);
    entity::update(tx.c(), &a).await?;
    if let Some(session) = a.session_id {
        post_outcome(tx.c(), session, &a, &text, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

enum ActionError {
    /// The action cannot be done (e.g. the new owner does not exist): recorded as `failed`.
    Failed(String),
    /// Infrastructure trouble: retried.
    Core(CoreError),
}

impl From<CoreError> for ActionError {
    fn from(e: CoreError) -> Self {
        ActionError::Core(e)
    }
}

impl From<cscx_store::Error> for ActionError {
    fn from(e: cscx_store::Error) -> Self {
        ActionError::Core(e.into())
    }
}

fn customer_of(a: &Approval) -> Result<Id, ActionError> {
    a.customer_id
        .ok_or_else(|| ActionError::Failed("the action names no customer".into()))
}

/// The database effect of each action, in the transaction that marks it executed.
async fn apply(
    mut c: DbConn<'_>,
    a: &Approval,
    args: &Map<String, Value>,
    file: Option<&PathBuf>,
    now: Timestamp,
) -> Result<(Value, String), ActionError> {
    let s = |k: &str| args.get(k).and_then(Value::as_str).map(str::to_string);
    match a.action.as_str() {
        "send_email" => {
            let to = args.get("to").cloned().unwrap_or(json!([]));
            let path = file.map(|p| p.display().to_string());
            Ok((
                json!({ "delivered": false, "outbox": path, "to": to,
                        "note": "not sent: no mail transport configured; the message is in the outbox" }),
                format!(
                    "E-mail \"{}\" written to the outbox (not sent: no mail transport is configured).",
                    s("subject").unwrap_or_default()
                ),
            ))
        }
        "schedule_meeting" => {
            let customer_id = customer_of(a)?;
            let start = s("start")
                .and_then(|v| DateTime::parse_from_rfc3339(&v).ok())
                .map(|d| Timestamp::from_datetime(d.with_timezone(&Utc)));
            let m = Meeting {
                id: Id::new(),
                customer_id,
                session_id: a.session_id,
                title: s("title").unwrap_or_else(|| "Meeting".into()),
                description: a.details.clone(),
                scheduled_at: start,
                duration: args
                    .get("duration_minutes")
                    .and_then(Value::as_i64)
                    .map(|d| d as i32),
                status: "scheduled".into(),
                meeting_url: None,
                calendar_event_id: Some(format!("{}@cscx", a.id)),
                attendees: args.get("attendees").cloned(),
                agenda: None,
                metadata: json!({ "approval_id": a.id, "ics": file.map(|p| p.display().to_string()),
                                  "time_zone": s("time_zone") }),
                created_at: now,
                updated_at: now,
            };
            entity::insert(c, &m).await?;
            Ok((
                json!({ "meeting_id": m.id, "ics": file.map(|p| p.display().to_string()) }),
                format!(
                    "Meeting \"{}\" is scheduled; the invitation is in the outbox.",
                    m.title
                ),
            ))
        }
        "create_save_play" => {
            let customer_id = customer_of(a)?;
            let customer: Customer = entity::get(c.re(), customer_id)
                .await?
                .ok_or_else(|| ActionError::Failed("the customer no longer exists".into()))?;
            let p = SavePlay {
                id: Id::new(),
                customer_id,
                playbook_id: None,
                status: "active".into(),
                risk_level: s("risk_level").or(Some("high".into())),
                primary_issue: s("primary_issue"),
                root_cause: None,
                action_plan: a
                    .preview
                    .as_ref()
                    .and_then(|p| p.get("action_plan").cloned()),
                success_criteria: Some("Health back above 60 and the renewal confirmed".into()),
                deadline: Some((now.datetime() + Duration::days(30)).date_naive()),
                owner_id: a.requested_by,
                escalation_level: Some(0),
                outcome: None,
                outcome_notes: None,
                arr_at_risk: customer.arr,
                arr_saved: None,
                created_at: now,
                closed_at: None,
            };
            entity::insert(c, &p).await?;
            Ok((
                json!({ "save_play_id": p.id }),
                format!("Save play opened for {}.", customer.name),
            ))
        }
        "escalate" | "create_risk_signal" => {
            let customer_id = customer_of(a)?;
            let escalation = a.action == "escalate";
            let signal = RiskSignal {
                id: Id::new(),
                customer_id,
                signal_type: if escalation {
                    "escalation".into()
                } else {
                    s("signal_type").unwrap_or_else(|| "manual".into())
                },
                severity: s("severity").unwrap_or_else(|| "high".into()),
                description: s("reason").or(s("description")),
                detected_at: now,
                resolved_at: None,
                resolution_notes: None,
                auto_detected: false,
                source: Some(format!(
                    "agent:{}",
                    a.agent_id.as_deref().unwrap_or("agent")
                )),
                metadata: json!({ "approval_id": a.id, "approved_by": a.resolved_by }),
            };
            entity::insert(c.re(), &signal).await?;
            let event = cscx_domain::events::Event::SignalRaised {
                signal_id: signal.id.0,
                signal_type: signal.signal_type.clone(),
                severity: signal.severity.clone(),
                source: signal.source.clone(),
            };
            record(c, &event, &approver(a), Some(customer_id), now).await?;
            Ok((
                json!({ "risk_signal_id": signal.id }),
                if escalation {
                    "Escalated: a high-severity escalation signal is on the account.".to_string()
                } else {
                    format!("Risk signal \"{}\" recorded.", signal.signal_type)
                },
            ))
        }
        "change_stage" => {
            let customer_id = customer_of(a)?;
            let stage = s("stage").unwrap_or_default();
            if stage.parse::<cscx_domain::validate::Stage>().is_err() {
                return Err(ActionError::Failed(format!("{stage} is not a stage")));
            }
            let mut cu: Customer = entity::get_for_update(c.re(), customer_id)
                .await?
                .ok_or_else(|| ActionError::Failed("the customer no longer exists".into()))?;
            let from = std::mem::replace(&mut cu.stage, stage.clone());
            cu.updated_at = now;
            entity::update(c.re(), &cu).await?;
            let event = cscx_domain::events::Event::StageChanged {
                from: from.clone(),
                to: stage.clone(),
            };
            record(c, &event, &approver(a), Some(customer_id), now).await?;
            Ok((
                json!({ "from": from, "to": stage }),
                format!("{} moved from {from} to {stage}.", cu.name),
            ))
        }
        "change_owner" => {
            let customer_id = customer_of(a)?;
            let email = s("owner_email").unwrap_or_default();
            let owner = cscx_store::product::user_by_email(c.re(), &email)
                .await?
                .filter(|u| !u.disabled)
                .ok_or_else(|| {
                    ActionError::Failed(format!("no active user has the e-mail {email}"))
                })?;
            let mut cu: Customer = entity::get_for_update(c.re(), customer_id)
                .await?
                .ok_or_else(|| ActionError::Failed("the customer no longer exists".into()))?;
            let from = cu.csm_id;
            cu.csm_id = Some(owner.id);
            cu.updated_at = now;
            entity::update(c, &cu).await?;
            Ok((
                json!({ "from": from, "to": owner.id }),
                format!("{} is now owned by {email}.", cu.name),
            ))
        }
        "create_task" => {
            let t = Task {
                id: Id::new(),
                customer_id: a.customer_id,
                owner_id: a.requested_by,
                title: s("title").unwrap_or_else(|| "Follow up".into()),
                due_date: s("due").and_then(|d| d.parse().ok()),
                status: "open".into(),
                approval_id: Some(a.id),
                created_at: now,
                completed_at: None,
            };
            entity::insert(c, &t).await?;
            Ok((
                json!({ "task_id": t.id }),
                format!("Task added: {}.", t.title),
            ))
        }
        other => Err(ActionError::Failed(format!("unknown action {other}"))),
    }
}
