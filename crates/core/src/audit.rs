//! The audit record: the security-relevant domain events, for admins. Events are recorded
//! with [`crate::events::record`].

use cscx_domain::Role;
use cscx_store::events::{self, DomainEvent, EventFilter};
use cscx_store::Id;

pub use crate::events::{record, record_now, Actor};

use crate::auth::Principal;
use crate::error::CoreResult;
use crate::App;

/// The audit record, newest first: admins only.
pub async fn list(
    app: &App,
    who: &Principal,
    filter: &EventFilter,
    before: Option<Id>,
    limit: u32,
) -> CoreResult<Vec<DomainEvent>> {
    crate::authz::require(who, Role::Admin, "reading the audit record")?;
    let filter = EventFilter {
        security_only: true,
        ..filter.clone()
    };
    let mut c = app.db.conn().await?;
    Ok(events::list(c.c(), &filter, before, limit).await?)
}
