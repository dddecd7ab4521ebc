//! `create_task`: a follow-up for the CSM who asked, optionally due on a date.

use chrono::NaiveDate;
use cscx_store::DbConn;
use serde_json::{json, Map, Value};

use super::{ActionError, Applied, Draft, Run};

pub(super) fn check(args: &Map<String, Value>) -> Result<(), String> {
    match args.get("due").and_then(Value::as_str) {
        Some(d) => d
            .parse::<NaiveDate>()
            .map(|_| ())
            .map_err(|_| "due must be a date (YYYY-MM-DD)".to_string()),
        None => Ok(()),
    }
}

pub(super) fn prepare(d: &Draft<'_>) -> Value {
    json!({
        "summary": format!("Task: {}", d.str("title").unwrap_or("")),
        "title": d.args.get("title"), "due": d.args.get("due"),
        "customer": d.customer.as_ref().map(|c| c.name.clone()),
    })
}

pub(super) async fn apply(c: DbConn<'_>, run: &Run<'_>) -> Result<Applied, ActionError> {
    let a = run.approval;
    let title = run.str("title").unwrap_or_else(|| "Follow up".into());
    let mut t = crate::tasks::new_task(&title, a.requested_by, a.requested_by, run.now);
    t.customer_id = a.customer_id;
    t.due_date = run.str("due").and_then(|d| d.parse().ok());
    t.approval_id = Some(a.id);
    crate::tasks::insert(c, &t, &run.actor(), run.now).await?;
    Ok((
        json!({ "task_id": t.id }),
        format!("Task added: {}.", t.title),
    ))
}
