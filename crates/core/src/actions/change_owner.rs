//! `change_owner`: hands the account to another CSM, named by e-mail.

use cscx_store::{entity, DbConn};
use serde_json::{json, Map, Value};

use super::{ActionError, Applied, Draft, Run};

pub(super) fn check(args: &Map<String, Value>) -> Result<(), String> {
    cscx_domain::validate::email(
        args.get("owner_email")
            .and_then(Value::as_str)
            .unwrap_or(""),
    )
    .map_err(|m| format!("owner_email {m}"))
}

pub(super) fn prepare(d: &Draft<'_>) -> Value {
    json!({
        "summary": format!("Assign {} to {}", d.name(), d.str("owner_email").unwrap_or("?")),
        "customer": d.name(), "to": d.args.get("owner_email"),
    })
}

pub(super) async fn apply(mut c: DbConn<'_>, run: &Run<'_>) -> Result<Applied, ActionError> {
    let email = run.str("owner_email").unwrap_or_default();
    let owner = cscx_store::product::user_by_email(c.re(), &email)
        .await?
        .filter(|u| !u.disabled)
        .ok_or_else(|| ActionError::Failed(format!("no active user has the e-mail {email}")))?;
    let mut cu = run.load_customer(c.re(), true).await?;
    let from = cu.csm_id;
    cu.csm_id = Some(owner.id);
    cu.updated_at = run.now;
    entity::update(c, &cu).await?;
    Ok((
        json!({ "from": from, "to": owner.id }),
        format!("{} is now owned by {email}.", cu.name),
    ))
}
