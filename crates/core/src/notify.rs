//! Notifications to the team's Slack channel (an incoming webhook, `CSCX_SLACK_WEBHOOK_URL`):
//! approvals waiting for a decision and high or critical risk signals, each with a link into
//! CSCX when `CSCX_PUBLIC_URL` is set.
//!
//! The `notify` subscriber of the domain events queues one job per event (keyed by it); the job
//! posts outside any transaction, retries when Slack is down or asks to slow down (429), and
//! stops at a refusal (a removed webhook, an archived channel). A notification is delivered at
//! least once: a crash after Slack answered and before the job was marked done posts it again.

use std::sync::Arc;

use serde_json::{json, Value};

use cscx_connect::{ConnectError, SlackWebhook};
use cscx_jobs::queue::NewJob;
use cscx_store::events::DomainEvent;
use cscx_store::model::Customer;
use cscx_store::{entity, DbConn, Id, Timestamp};

use crate::error::{CoreError, CoreResult};
use crate::App;

pub const NOTIFY_JOB: &str = "notify.slack";

/// Where notifications go.
#[derive(Clone, Default)]
pub struct NotifySettings {
    pub slack: Option<Arc<SlackWebhook>>,
    /// The address people reach CSCX at (`CSCX_PUBLIC_URL`), for links; none without it.
    pub public_url: Option<String>,
}

/// Whether an event is worth a notification.
pub fn wants(e: &DomainEvent) -> bool {
    match e.event_type.as_str() {
        "approval.requested" | "task.due" => true,
        "risk_signal.raised" => matches!(e.payload["severity"].as_str(), Some("high" | "critical")),
        _ => false,
    }
}

/// Queues the notification of `e` (in the delivery's transaction).
pub async fn enqueue(c: DbConn<'_>, e: &DomainEvent, now: Timestamp) -> CoreResult<()> {
    let job = NewJob::new(NOTIFY_JOB, json!({ "event_id": e.id })).key(format!("notify:{}", e.id));
    cscx_jobs::queue::enqueue_in(c, &job, now).await?;
    Ok(())
}

/// Posts the notification of event `id`; nothing without a webhook configured.
pub async fn deliver(app: &App, id: Id) -> CoreResult<()> {
    let Some(slack) = app.notify.slack.clone() else {
        return Ok(());
    };
    let (event, customer) = {
        let mut c = app.db.conn().await?;
        let Some(event) = entity::get::<DomainEvent>(c.c(), id).await? else {
            return Ok(());
        };
        let customer = match event.customer_id {
            Some(cid) => entity::get::<Customer>(c.c(), cid).await?,
            None => None,
        };
        (event, customer)
    };
    let message = message(&event, customer.as_ref(), app.notify.public_url.as_deref());
    match slack.post(&message).await {
        Ok(()) => Ok(()),
        Err(ConnectError::Refused(m)) => Err(CoreError::field("slack", m)),
        Err(ConnectError::Unavailable(m) | ConnectError::Unknown(m)) => {
            Err(CoreError::Unavailable(m))
        }
    }
}

/// The Slack message (fallback `text` and Block Kit `blocks`) for an event.
pub fn message(e: &DomainEvent, customer: Option<&Customer>, public_url: Option<&str>) -> Value {
    let name = customer.map_or("a customer".to_owned(), |c| c.name.clone());
    let p = &e.payload;
    let (text, path, button) = match e.event_type.as_str() {
        "approval.requested" => (
            format!(
                "Approval needed: {} ({}, needs a {} or above)",
                p["summary"].as_str().unwrap_or("an action"),
                p["action"].as_str().unwrap_or("").replace('_', " "),
                p["required_role"].as_str().unwrap_or("csm")
            ),
            "/approvals".to_owned(),
            "Review in CSCX",
        ),
        "task.due" => (
            format!(
                "Task due{}: {}",
                match &customer {
                    Some(c) => format!(" for {}", c.name),
                    None => String::new(),
                },
                p["title"].as_str().unwrap_or("a task")
            ),
            "/tasks".to_owned(),
            "Open my day",
        ),
        _ => (
            format!(
                "{} risk on {name}: {}",
                capitalised(p["severity"].as_str().unwrap_or("new")),
                p["signal_type"]
                    .as_str()
                    .unwrap_or("signal")
                    .replace('_', " ")
            ),
            customer.map_or("/".to_owned(), |c| format!("/customers/{}", c.id)),
            "Open the account",
        ),
    };
    let mut blocks = vec![json!({
        "type": "section",
        "text": {"type": "mrkdwn", "text": escape(&text)},
    })];
    if let Some(base) = public_url {
        blocks.push(json!({
            "type": "actions",
            "elements": [{
                "type": "button",
                "text": {"type": "plain_text", "text": button},
                "url": format!("{}{path}", base.trim_end_matches('/')),
            }],
        }));
    }
    blocks.push(json!({
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": format!("CSCX · {}", e.occurred_at.to_rfc3339())}],
    }));
    json!({ "text": text, "blocks": blocks })
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// Slack's mrkdwn treats `&`, `<` and `>` as control characters.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
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
    fn only_decisions_and_serious_signals_are_worth_a_message() {
        assert!(wants(&event("approval.requested", json!({}))));
        assert!(wants(&event(
            "risk_signal.raised",
            json!({"severity": "critical"})
        )));
        assert!(!wants(&event(
            "risk_signal.raised",
            json!({"severity": "low"})
        )));
        assert!(!wants(&event("approval.decided", json!({}))));
    }

    #[test]
    fn messages_link_into_cscx_only_when_it_has_a_public_address() {
        let e = event(
            "approval.requested",
            json!({"summary": "E-mail Acme <CEO>", "action": "send_email", "required_role": "csm"}),
        );
        let m = message(&e, None, Some("https://cscx.example.com/"));
        assert_eq!(
            m["text"],
            "Approval needed: E-mail Acme <CEO> (send email, needs a csm or above)"
        );
        assert!(m["blocks"][0]["text"]["text"]
            .as_str()
            .unwrap()
            .contains("&lt;CEO&gt;"));
        assert_eq!(
            m["blocks"][1]["elements"][0]["url"],
            "https://cscx.example.com/approvals"
        );
        let m = message(&e, None, None);
        assert!(m["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["type"] != "actions"));
    }
}
