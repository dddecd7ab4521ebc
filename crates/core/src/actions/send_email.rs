//! `send_email`: a message to the customer's contacts, drafted from the account's data, sent
//! through the configured mail transport.

use cscx_connect::{Delivery, OutgoingMail};
use cscx_store::model::Customer;
use serde_json::{json, Map, Value};

use super::{ActionError, Applied, Draft, Run};
use crate::App;

pub(super) fn check(args: &Map<String, Value>) -> Result<(), String> {
    for to in args
        .get("to")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let addr = to.as_str().unwrap_or("");
        cscx_domain::validate::email(addr).map_err(|m| format!("to: {addr} {m}"))?;
    }
    if args
        .get("subject")
        .and_then(Value::as_str)
        .is_some_and(|v| v.contains(['\r', '\n']))
    {
        return Err("subject must be one line".into());
    }
    Ok(())
}

pub(super) fn prepare(d: &mut Draft<'_>) -> Result<Value, String> {
    let name = d.name();
    let (mut to, unknown) = d.resolve("to");
    if to.is_empty() {
        to.extend(d.primary_email());
    }
    if to.is_empty() {
        return Err(format!(
            "{name} has no contact with an e-mail address; add a stakeholder or name the recipient"
        ));
    }
    let first_name = d
        .people
        .iter()
        .find(|p| p.email.as_deref() == to.first().map(String::as_str))
        .map(|p| p.name.split_whitespace().next().unwrap_or("").to_string())
        .unwrap_or_else(|| "there".into());
    let purpose = d.str("purpose").unwrap_or("check_in").to_string();
    let (subject, body) = draft_email(&purpose, &first_name, d.customer.as_ref(), &d.sender());
    d.args.insert("to".into(), json!(to));
    d.args.entry("subject").or_insert(json!(subject));
    d.args.entry("body").or_insert(json!(body));
    Ok(json!({
        "summary": format!("E-mail {name}: {}", d.args["subject"].as_str().unwrap_or("")),
        "to": to, "unresolved_recipients": unknown, "from": d.who.email,
        "subject": d.args["subject"], "body": d.args["body"],
    }))
}

pub(super) async fn deliver(app: &App, run: &Run<'_>) -> Result<Delivery, ActionError> {
    let a = run.approval;
    let mail = OutgoingMail {
        key: a.id.to_string(),
        from: a
            .preview
            .as_ref()
            .and_then(|p| p["from"].as_str())
            .unwrap_or("cscx@localhost")
            .to_string(),
        to: run
            .args
            .get("to")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        subject: run.str("subject").unwrap_or_default(),
        body: run.str("body").unwrap_or_default(),
        date: run.now.datetime(),
    };
    Ok(crate::mail::send_once(app, &mail).await??)
}

pub(super) fn apply(run: &Run<'_>) -> Result<Applied, ActionError> {
    let to = run.args.get("to").cloned().unwrap_or(json!([]));
    let subject = run.str("subject").unwrap_or_default();
    Ok(match run.delivery {
        Some(d) if d.delivered => (
            json!({ "delivered": true, "channel": d.channel, "reference": d.reference, "to": to }),
            format!("E-mail \"{subject}\" sent."),
        ),
        d => (
            json!({ "delivered": false, "outbox": d.map(|d| &d.reference), "to": to,
                    "note": "not sent: no mail transport configured; the message is in the outbox" }),
            format!(
                "E-mail \"{subject}\" written to the outbox (not sent: no mail transport is configured)."
            ),
        ),
    })
}

/// Templated drafts from real account data.
fn draft_email(
    purpose: &str,
    first_name: &str,
    c: Option<&Customer>,
    sender: &str,
) -> (String, String) {
    let name = c.map(|c| c.name.as_str()).unwrap_or("your team");
    let renewal = c
        .and_then(|c| c.renewal_date)
        .map(|d| d.format("%e %B %Y").to_string().trim().to_string());
    let (subject, middle) = match purpose {
        "thank_you" => (
            format!("Thank you from all of us, {name}"),
            "Thank you for the time and the candid feedback. It helps us focus on what matters most to your team, and I will follow up on each point we discussed.".to_string(),
        ),
        "renewal" => (
            format!("{name} renewal{}", renewal.as_ref().map(|d| format!(" on {d}")).unwrap_or_default()),
            format!(
                "Your subscription renews{}. I would like to review the value you have seen this year and plan the next one together. Could we find 30 minutes in the next two weeks?",
                renewal.as_ref().map(|d| format!(" on {d}")).unwrap_or_default()
            ),
        ),
        "qbr_recap" => (
            format!("{name} quarterly business review: recap and next steps"),
            "Thank you for the business review. Attached are the goals we agreed for next quarter; I will check in on progress in four weeks.".to_string(),
        ),
        "onboarding" => (
            format!("Welcome to onboarding, {name}"),
            "Welcome aboard! Over the next weeks we will get your team set up and to first value. I will send a kickoff invitation with the plan shortly.".to_string(),
        ),
        "adoption" => (
            format!("Getting more from the product at {name}"),
            "I noticed your team's activity has changed recently. I would be glad to run a short session on the features other teams find most useful. Would next week work?".to_string(),
        ),
        "follow_up" => (
            format!("Following up: {name}"),
            "Following up on our conversation: here are the next steps we agreed. Let me know if I missed anything.".to_string(),
        ),
        _ => (
            format!("Checking in: {name}"),
            "I wanted to check in and see how things are going. Is there anything we can help with this month?".to_string(),
        ),
    };
    (
        subject,
        format!("Hi {first_name},\n\n{middle}\n\nBest regards,\n{sender}\n"),
    )
}
