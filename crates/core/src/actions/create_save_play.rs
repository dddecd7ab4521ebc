//! `create_save_play`: a recovery plan for an account at risk, with a deadline and the ARR at
//! stake.

use chrono::Duration;
use cscx_store::model::SavePlay;
use cscx_store::{entity, DbConn, Id};
use serde_json::{json, Value};

use super::{ActionError, Applied, Draft, Run};

pub(super) fn prepare(d: &mut Draft<'_>) -> Result<Value, String> {
    let cu = d.customer.as_ref().ok_or("a save play names a customer")?;
    let issue = d
        .str("primary_issue")
        .unwrap_or("Health decline")
        .to_string();
    let plan = json!([
        format!("Diagnose: review {issue} with the account team and the usage data this week"),
        format!(
            "Reach the executive sponsor at {} within 5 business days",
            cu.name
        ),
        "Agree a recovery plan with success criteria and dates".to_string(),
        "Review progress weekly until health is back above 60".to_string(),
    ]);
    let preview = json!({
        "summary": format!("Save play for {}: {issue}", cu.name),
        "customer": cu.name, "primary_issue": issue, "risk_level": d.args.get("risk_level"),
        "arr_at_risk": cu.arr, "health_score": cu.health_score, "renewal_date": cu.renewal_date,
        "action_plan": plan, "deadline_days": 30,
    });
    d.args.insert("primary_issue".into(), json!(issue));
    Ok(preview)
}

pub(super) async fn apply(mut c: DbConn<'_>, run: &Run<'_>) -> Result<Applied, ActionError> {
    let a = run.approval;
    let customer = run.load_customer(c.re(), false).await?;
    let p = SavePlay {
        id: Id::new(),
        customer_id: customer.id,
        playbook_id: None,
        status: "active".into(),
        risk_level: run.str("risk_level").or(Some("high".into())),
        primary_issue: run.str("primary_issue"),
        root_cause: None,
        action_plan: a
            .preview
            .as_ref()
            .and_then(|p| p.get("action_plan").cloned()),
        success_criteria: Some("Health back above 60 and the renewal confirmed".into()),
        deadline: Some((run.now.datetime() + Duration::days(30)).date_naive()),
        owner_id: a.requested_by,
        escalation_level: Some(0),
        outcome: None,
        outcome_notes: None,
        arr_at_risk: customer.arr,
        arr_saved: None,
        created_at: run.now,
        closed_at: None,
    };
    entity::insert(c, &p).await?;
    Ok((
        json!({ "save_play_id": p.id }),
        format!("Save play opened for {}.", customer.name),
    ))
}
