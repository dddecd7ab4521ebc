//! The customer timeline: one chronological feed of what happened on an account, read from the
//! domain-event record (stage and field changes, stakeholders, contracts, risk signals raised
//! and resolved, approvals requested and decided, tasks, notes), each event told in a sentence;
//! and notes, written by the team with `@` mentions of teammates.

use serde::Serialize;
use serde_json::{json, Value};

use cscx_domain::events::Event;
use cscx_store::events::{self as store, DomainEvent, EventFilter};
use cscx_store::model::CustomerNote;
use cscx_store::{entity, Id, Timestamp};

use crate::auth::Principal;
use crate::authz;
use crate::error::{CoreError, CoreResult};
use crate::events::{record, Actor};
use crate::App;

/// The kinds a timeline can be narrowed to, and the event types each covers.
pub const KINDS: &[(&str, &str)] = &[
    ("notes", "note."),
    ("tasks", "task."),
    ("signals", "risk_signal."),
    ("approvals", "approval."),
    ("contracts", "contract."),
    ("stakeholders", "stakeholder."),
    ("account", "customer."),
];

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TimelineItem {
    /// The event's id (the cursor for the next page).
    pub id: Id,
    pub at: Timestamp,
    /// notes, tasks, signals, approvals, contracts, stakeholders or account.
    pub kind: String,
    pub event_type: String,
    /// What happened, in a sentence.
    pub text: String,
    /// `user:<id>`, `token:<id>`, `cli` or `system`.
    pub actor: String,
    #[schema(value_type = Object)]
    pub payload: Value,
}

fn kind_of(event_type: &str) -> &'static str {
    KINDS
        .iter()
        .find(|(_, prefix)| event_type.starts_with(prefix))
        .map_or("other", |(k, _)| k)
}

fn words(v: &Value) -> String {
    v.as_str().unwrap_or("").replace('_', " ")
}

/// One event as a sentence.
pub fn describe(e: &DomainEvent) -> String {
    let p = &e.payload;
    let list = |v: &Value| {
        v.as_array()
            .map(|a| a.iter().map(words).collect::<Vec<_>>().join(", "))
            .unwrap_or_default()
    };
    match e.event_type.as_str() {
        "note.added" => format!("Note: {}", p["excerpt"].as_str().unwrap_or("")),
        "task.created" => format!(
            "Task added: {}{}",
            p["title"].as_str().unwrap_or(""),
            p["due_date"]
                .as_str()
                .map(|d| format!(" (due {d})"))
                .unwrap_or_default()
        ),
        "task.changed" => {
            let title = p["title"].as_str().unwrap_or("");
            match (list(&p["fields"]).as_str(), p["status"].as_str()) {
                ("status", Some("done")) => format!("Task done: {title}"),
                ("status", Some("open")) => format!("Task reopened: {title}"),
                ("status", Some("cancelled")) => format!("Task cancelled: {title}"),
                ("snoozed until", _) => format!("Task snoozed: {title}"),
                ("owner id", _) => format!("Task reassigned: {title}"),
                (fields, _) => format!("Task changed ({fields}): {title}"),
            }
        }
        "task.due" => format!("Task due: {}", p["title"].as_str().unwrap_or("")),
        "risk_signal.raised" => format!(
            "Risk signal raised: {} ({})",
            words(&p["signal_type"]),
            p["severity"].as_str().unwrap_or("")
        ),
        "risk_signal.resolved" => format!("Risk signal resolved: {}", words(&p["signal_type"])),
        "approval.requested" => format!(
            "Approval requested: {}",
            p["summary"]
                .as_str()
                .map_or_else(|| words(&p["action"]), str::to_owned)
        ),
        "approval.decided" => format!(
            "Approval {}: {}{}",
            p["decision"].as_str().unwrap_or(""),
            words(&p["action"]),
            if p["edited"] == json!(true) {
                " (edited)"
            } else {
                ""
            }
        ),
        "customer.stage_changed" => format!(
            "Stage changed from {} to {}",
            words(&p["from"]),
            words(&p["to"])
        ),
        "customer.changed" => format!("Account details changed: {}", list(&p["fields"])),
        t if t.starts_with("stakeholder.") => format!(
            "Stakeholder {}{}",
            t.trim_start_matches("stakeholder."),
            p["name"]
                .as_str()
                .map(|n| format!(": {n}"))
                .unwrap_or_default()
        ),
        "contract.added" => "Contract uploaded".to_owned(),
        "contract.confirmed" => "Contract confirmed".to_owned(),
        "contract.changed" => format!("Contract changed: {}", list(&p["fields"])),
        "contract.statuses_changed" => "Contract statuses moved with their dates".to_owned(),
        other => other.replace(['.', '_'], " "),
    }
}

/// The account's feed, newest first, `limit` items before the event `before`; only `kind`
/// (one of [`KINDS`]) when given.
pub async fn timeline(
    app: &App,
    customer_id: Id,
    kind: Option<&str>,
    before: Option<Id>,
    limit: u32,
) -> CoreResult<Vec<TimelineItem>> {
    let prefix = match kind {
        None => None,
        Some(k) => Some(
            KINDS
                .iter()
                .find(|(name, _)| *name == k)
                .map(|(_, p)| (*p).to_owned())
                .ok_or_else(|| {
                    let names: Vec<&str> = KINDS.iter().map(|(n, _)| *n).collect();
                    CoreError::field("kind", format!("must be one of {}", names.join(", ")))
                })?,
        ),
    };
    crate::portfolio::get_customer(app, customer_id).await?;
    let filter = EventFilter {
        customer_id: Some(customer_id),
        event_prefix: prefix,
        ..Default::default()
    };
    let events = {
        let mut c = app.db.conn().await?;
        store::list(c.c(), &filter, before, limit).await?
    };
    Ok(events
        .into_iter()
        .map(|e| TimelineItem {
            id: e.id,
            at: e.occurred_at,
            kind: kind_of(&e.event_type).to_owned(),
            text: describe(&e),
            event_type: e.event_type,
            actor: e.actor,
            payload: e.payload,
        })
        .collect())
}

/// Writes a note on the account; `@name` words that match a teammate's e-mail (whole, or the
/// part before the `@`) are recorded as mentions.
pub async fn add_note(
    app: &App,
    who: &Principal,
    customer_id: Id,
    body: &str,
) -> CoreResult<CustomerNote> {
    authz::write_portfolio(who)?;
    let body = body.trim();
    if body.is_empty() {
        return Err(CoreError::field("body", "must not be blank"));
    }
    if body.chars().count() > 10_000 {
        return Err(CoreError::field(
            "body",
            "must be at most 10,000 characters",
        ));
    }
    crate::portfolio::get_customer(app, customer_id).await?;
    let mut mentions: Vec<Id> = Vec::new();
    for word in body.split_whitespace().filter_map(|w| w.strip_prefix('@')) {
        let handle = word
            .trim_end_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase();
        if handle.is_empty() {
            continue;
        }
        let found = if handle.contains('@') {
            app.auth.user_by_email(&handle).await?
        } else {
            app.auth.user_by_email_local_part(&handle).await?
        };
        if let Some(u) = found.filter(|u| !mentions.contains(&u.id)) {
            mentions.push(u.id);
        }
    }
    let now = app.now();
    let note = CustomerNote {
        id: Id::new(),
        customer_id,
        author_id: Some(who.user_id),
        body: body.to_owned(),
        mentions: json!(mentions),
        created_at: now,
        updated_at: now,
    };
    let mut tx = app.db.begin().await?;
    entity::insert(tx.c(), &note).await?;
    let event = Event::NoteAdded {
        note_id: note.id.0,
        excerpt: body.chars().take(280).collect(),
        mentions: mentions.iter().map(|m| m.0).collect(),
    };
    record(tx.c(), &event, &Actor::of(who), Some(customer_id), now).await?;
    tx.commit().await?;
    Ok(note)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str, payload: Value) -> DomainEvent {
        DomainEvent {
            id: Id::new(),
            event_type: kind.into(),
            version: 1,
            customer_id: None,
            actor_user_id: None,
            actor: "system".into(),
            security: false,
            payload,
            occurred_at: Timestamp::from_millis(0),
        }
    }

    #[test]
    fn task_changes_read_as_what_happened() {
        let changed = |fields: Value, status: &str| {
            describe(&event(
                "task.changed",
                json!({"title": "Call Jane", "fields": fields, "status": status}),
            ))
        };
        assert_eq!(changed(json!(["status"]), "done"), "Task done: Call Jane");
        assert_eq!(
            changed(json!(["status"]), "open"),
            "Task reopened: Call Jane"
        );
        assert_eq!(
            changed(json!(["snoozed_until"]), "open"),
            "Task snoozed: Call Jane"
        );
        assert_eq!(
            changed(json!(["owner_id"]), "open"),
            "Task reassigned: Call Jane"
        );
        assert_eq!(
            changed(json!(["title", "due_date"]), "open"),
            "Task changed (title, due date): Call Jane"
        );
        assert_eq!(kind_of("risk_signal.raised"), "signals");
        assert_eq!(kind_of("auth.signed_in"), "other");
    }
}
