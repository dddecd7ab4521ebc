//! Human approval of agent actions, executed exactly once.
//!
//! Lifecycle: `pending` → `approved` | `rejected` | `expired`; an approved action then becomes
//! `executed` or `failed`. Deciding is one conditional transition on a locked row, so two people
//! approving at once get one success and one 409. Execution is keyed by the approval: its
//! database effects and the `executed` status commit in one transaction, and its outside effect
//! (mail, an invitation; [`crate::actions`]) is handed over under the approval's id, which the
//! transport delivers at most once, so a retry after a crash at any point neither repeats nor
//! loses the action. A job backs every approval
//! up, so an action approved just before a crash is still executed.

use chrono::Duration;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use cscx_domain::{ApprovalStatus, Role};
use cscx_jobs::queue::{enqueue_in, NewJob};
use cscx_store::approvals as store;
use cscx_store::model::{AgentMessage, Approval, Customer};
use cscx_store::{entity, DbConn, Id, Timestamp};

use crate::actions::{self, Action, ActionError, Run};
use crate::auth::Principal;
use crate::error::{CoreError, CoreResult};
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
    let required_role = Action::parse(action).map_or(Role::Csm, Action::default_role);
    Policy {
        action: action.to_string(),
        required_role,
        auto_approve: false,
        expires_after_hours: 24,
    }
}

pub async fn policy(c: DbConn<'_>, action: &str) -> CoreResult<Policy> {
    Ok(match store::policy(c, action).await? {
        Some((_, role, auto, hours)) => stored_policy(action, &role, auto, hours),
        None => default_policy(action),
    })
}

/// Every action tool's policy (stored or default), in one query.
pub async fn list_policies(app: &App) -> CoreResult<Vec<Policy>> {
    let mut c = app.db.conn().await?;
    let stored = store::policies(c.c()).await?;
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
    let row = (
        action.to_string(),
        p.required_role.to_string(),
        p.auto_approve,
        p.expires_after_hours as i32,
    );
    store::save_policy(tx.c(), &row, by, now).await?;
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
            ApprovalStatus::Approved
        } else {
            ApprovalStatus::Pending
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
        required_role: p.required_role.into(),
        expires_at: Some(now.add(Duration::hours(p.expires_after_hours))),
        executed_at: None,
        result: None,
    };
    entity::insert(c.re(), &approval).await?;
    if !p.auto_approve {
        let event = cscx_domain::events::Event::ApprovalRequested {
            approval_id: approval.id.0,
            action: approval.action.clone(),
            required_role: approval.required_role.to_string(),
            summary: approval.details.clone(),
        };
        let actor = crate::events::Actor::user(origin.user);
        crate::events::record(c.re(), &event, &actor, origin.customer_id, now).await?;
    }
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
        actions::check(&a.action, &args).map_err(|m| CoreError::field("edits", m))?;
        a.metadata["original_action_data"] = original;
        a.metadata["edited_by"] = json!(who.user_id);
        if let Some(p) = a.preview.as_mut() {
            p["edited"] = json!(true);
        }
        a.action_data = Value::Object(args);
    }
    a.status = ApprovalStatus::Approved.into();
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
    a.status = ApprovalStatus::Rejected.into();
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
        decision: a.status.to_string(),
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
    if a.status != ApprovalStatus::Pending {
        return Err(CoreError::Conflict(format!(
            "this approval is already {}",
            a.status
        )));
    }
    if a.expires_at.is_some_and(|e| e <= now) {
        return Err(CoreError::Conflict("this approval has expired".into()));
    }
    let needed = *a.required_role;
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

pub use store::Filter as ApprovalFilter;

/// The approvals the caller may see, newest first, keyset on id.
pub async fn list(
    app: &App,
    who: &Principal,
    f: &ApprovalFilter,
    before: Option<Id>,
    limit: u32,
) -> CoreResult<Vec<Approval>> {
    let visible = if crate::authz::sees_all_approvals(who) {
        store::Visible::All
    } else {
        store::Visible::Of(who.user_id)
    };
    let mut c = app.db.conn().await?;
    Ok(store::page(c.c(), f, visible, before, limit).await?)
}

/// Marks pending approvals past their expiry as `expired` (the scheduled job; deciding also
/// refuses expired ones, so the job's timing never lets a stale approval run).
pub async fn expire_due(app: &App) -> CoreResult<u64> {
    let now = app.now();
    let mut c = app.db.conn().await?;
    Ok(store::expire_due(c.c(), now).await?)
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

/// Ends an approved action that could not be executed after `attempts` tries as `failed`, with
/// the last error (nothing if it was decided otherwise meanwhile).
pub async fn give_up(app: &App, id: Id, error: &str, attempts: i32) -> CoreResult<()> {
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let Some(mut a) = entity::get_for_update::<Approval>(tx.c(), id).await? else {
        return Ok(());
    };
    if a.status != ApprovalStatus::Approved {
        return Ok(());
    }
    a.status = ApprovalStatus::Failed.into();
    a.executed_at = Some(now);
    a.result = Some(json!({ "error": error, "attempts": attempts }));
    entity::update(tx.c(), &a).await?;
    if let Some(session) = a.session_id {
        let text = format!(
            "{} could not be done after {attempts} attempts: {error}",
            describe(&a)
        );
        post_outcome(tx.c(), session, &a, &text, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Executes an approved action once. Safe to call any number of times, from any process.
pub async fn execute(app: &App, id: Id) -> CoreResult<()> {
    let a = fetch(app, id).await?;
    if a.status != ApprovalStatus::Approved {
        return Ok(());
    }
    let args = a.action_data.as_object().cloned().unwrap_or_default();
    // The outside effect first, keyed by the approval: repeating this step sends nothing new.
    let run = Run {
        approval: &a,
        args: &args,
        delivery: None,
        now: app.now(),
    };
    let delivered = match actions::deliver(app, &run).await {
        Ok(d) => Ok(d),
        Err(e @ (ActionError::Failed(_) | ActionError::DeliveryUnknown(_))) => Err(e),
        Err(ActionError::Core(e)) => return Err(e),
    };

    let now = app.now();
    let mut tx = app.db.begin().await?;
    let mut a: Approval = entity::get_for_update(tx.c(), id)
        .await?
        .ok_or(CoreError::NotFound("approval"))?;
    if a.status != ApprovalStatus::Approved {
        return Ok(()); // another executor finished first
    }
    let outcome = match delivered {
        Err(e) => Err(e),
        Ok(delivery) => {
            let run = Run {
                approval: &a,
                args: &args,
                delivery: delivery.as_ref(),
                now,
            };
            actions::apply(tx.c(), &run).await
        }
    };
    let (status, result, text) = match outcome {
        Ok((result, text)) => (ApprovalStatus::Executed, result, text),
        Err(ActionError::Failed(msg)) => (
            ApprovalStatus::Failed,
            json!({ "error": msg }),
            format!("{} could not be done: {msg}", describe(&a)),
        ),
        Err(ActionError::DeliveryUnknown(msg)) => (
            ApprovalStatus::Failed,
            json!({ "error": msg, "delivery_unknown": true }),
            format!(
                "{} may or may not have been delivered: {msg}. Check with the receiving side before doing it again; CSCX will not resend it.",
                describe(&a)
            ),
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
