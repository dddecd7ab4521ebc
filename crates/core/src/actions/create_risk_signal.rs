//! `create_risk_signal`: a risk a person (through an agent) puts on the account.

use cscx_domain::events::Event;
use cscx_domain::risk::Severity;
use cscx_store::model::RiskSignal;
use cscx_store::{entity, DbConn, Id};
use serde_json::{json, Value};

use super::{ActionError, Applied, Draft, Run};
use crate::events::record;

pub(super) fn prepare(d: &Draft<'_>) -> Value {
    json!({
        "summary": format!("Risk signal on {}: {}", d.name(), d.str("signal_type").unwrap_or("manual")),
        "customer": d.name(), "signal_type": d.args.get("signal_type"), "severity": d.args.get("severity"),
        "description": d.args.get("description"),
    })
}

pub(super) async fn apply(c: DbConn<'_>, run: &Run<'_>) -> Result<Applied, ActionError> {
    let signal_type = run.str("signal_type").unwrap_or_else(|| "manual".into());
    let signal = raise(c, run, signal_type).await?;
    Ok((
        json!({ "risk_signal_id": signal.id }),
        format!("Risk signal \"{}\" recorded.", signal.signal_type),
    ))
}

/// Inserts the signal and its event (also how `escalate` raises its signal).
pub(super) async fn raise(
    mut c: DbConn<'_>,
    run: &Run<'_>,
    signal_type: String,
) -> Result<RiskSignal, ActionError> {
    let a = run.approval;
    let customer_id = run.customer()?;
    let severity = match run.str("severity") {
        Some(s) => s.parse::<Severity>().map_err(ActionError::Failed)?,
        None => Severity::High,
    };
    let signal = RiskSignal {
        id: Id::new(),
        customer_id,
        signal_type,
        severity: severity.into(),
        description: run.str("reason").or(run.str("description")),
        detected_at: run.now,
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
    let event = Event::SignalRaised {
        signal_id: signal.id.0,
        signal_type: signal.signal_type.clone(),
        severity: signal.severity.to_string(),
        source: signal.source.clone(),
    };
    record(c, &event, &run.actor(), Some(customer_id), run.now).await?;
    Ok(signal)
}
