//! `escalate`: a high-severity escalation signal on the account, approved by a manager.

use cscx_store::DbConn;
use serde_json::{json, Value};

use super::{create_risk_signal, ActionError, Applied, Draft, Run};

pub(super) fn prepare(d: &Draft<'_>) -> Value {
    let c = d.customer.as_ref();
    json!({
        "summary": format!("Escalate {} ({})", d.name(), d.str("severity").unwrap_or("high")),
        "customer": d.name(), "reason": d.args.get("reason"), "severity": d.args.get("severity"),
        "arr": c.and_then(|c| c.arr), "health_score": c.and_then(|c| c.health_score),
    })
}

pub(super) async fn apply(c: DbConn<'_>, run: &Run<'_>) -> Result<Applied, ActionError> {
    let signal = create_risk_signal::raise(c, run, "escalation".into()).await?;
    Ok((
        json!({ "risk_signal_id": signal.id }),
        "Escalated: a high-severity escalation signal is on the account.".to_string(),
    ))
}
