//! The domain-event record: appended in the transaction of the change, read newest first.
//! Append-only (the schema refuses updates and deletes), so no update or delete here.

use serde_json::Value;

use crate::{entity, run, DbConn, Id, Result, Timestamp};

crate::entity! {
    /// One thing that happened (see `cscx_domain::events::Event` for the types and payloads).
    /// `actor` says who: `user:<id>`, `token:<id>`, `cli` or `system`; `security` marks the
    /// audit record of security-relevant actions.
    DomainEvent in "domain_events" {
        id: Id,
        event_type: String,
        version: i32,
        customer_id: Option<Id>,
        actor_user_id: Option<Id>,
        actor: String,
        security: bool,
        payload: Value,
        occurred_at: Timestamp,
    }
}

pub async fn append(c: DbConn<'_>, event: &DomainEvent) -> Result<()> {
    entity::insert(c, event).await
}

/// Which events to list.
#[derive(Debug, Default, Clone)]
pub struct EventFilter {
    pub security_only: bool,
    pub event_type: Option<String>,
    pub actor_user_id: Option<Id>,
    pub customer_id: Option<Id>,
}

/// Newest first, keyset on id (`before`).
pub async fn list(
    c: DbConn<'_>,
    f: &EventFilter,
    before: Option<Id>,
    limit: u32,
) -> Result<Vec<DomainEvent>> {
    run!(c, |conn| sqlx::query_as::<_, DomainEvent>(
        "SELECT * FROM domain_events
         WHERE ($1 = FALSE OR security = TRUE) AND ($2 IS NULL OR event_type = $2)
           AND ($3 IS NULL OR actor_user_id = $3) AND ($4 IS NULL OR customer_id = $4)
           AND ($5 IS NULL OR id < $5)
         ORDER BY id DESC LIMIT $6"
    )
    .bind(f.security_only)
    .bind(&f.event_type)
    .bind(f.actor_user_id)
    .bind(f.customer_id)
    .bind(before)
    .bind(limit as i64)
    .fetch_all(&mut *conn)
    .await)
    .map_err(Into::into)
}
