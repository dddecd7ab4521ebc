//! `change_stage`: moves the customer to another lifecycle stage.

use cscx_domain::events::Event;
use cscx_domain::validate::Stage;
use cscx_store::{entity, DbConn};
use serde_json::{json, Value};

use super::{ActionError, Applied, Draft, Run};
use crate::events::record;

pub(super) fn prepare(d: &Draft<'_>) -> Value {
    let from = d.customer.as_ref().map(|c| c.stage.as_str());
    json!({
        "summary": format!("Move {} from {} to {}", d.name(), from.unwrap_or("?"),
            d.str("stage").unwrap_or("?")),
        "customer": d.name(), "from": from, "to": d.args.get("stage"),
    })
}

pub(super) async fn apply(mut c: DbConn<'_>, run: &Run<'_>) -> Result<Applied, ActionError> {
    let asked = run.str("stage").unwrap_or_default();
    let Ok(stage) = asked.parse::<Stage>() else {
        return Err(ActionError::Failed(format!("{asked} is not a stage")));
    };
    let mut cu = run.load_customer(c.re(), true).await?;
    let from = std::mem::replace(&mut cu.stage, stage.into());
    cu.updated_at = run.now;
    entity::update(c.re(), &cu).await?;
    let event = Event::StageChanged {
        from: from.to_string(),
        to: stage.to_string(),
    };
    record(c, &event, &run.actor(), Some(cu.id), run.now).await?;
    Ok((
        json!({ "from": from, "to": stage }),
        format!("{} moved from {from} to {stage}.", cu.name),
    ))
}
