//! The domain-event record: appended in the transaction of the change, read newest first.
//! Append-only (the schema refuses updates and deletes), so no update or delete here.

use serde_json::Value;

use crate::{entity, DbConn, Id, Result, Timestamp};

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
    /// Only types starting with this (e.g. `task.`).
    pub event_prefix: Option<String>,
}

/// Newest first, keyset on id (`before`).
pub async fn list(
    c: DbConn<'_>,
    f: &EventFilter,
    before: Option<Id>,
    limit: u32,
) -> Result<Vec<DomainEvent>> {
    crate::sql!(
        c,
        all DomainEvent,
        "SELECT * FROM domain_events
         WHERE ($1 = FALSE OR security = TRUE) AND ($2 IS NULL OR event_type = $2)
           AND ($3 IS NULL OR actor_user_id = $3) AND ($4 IS NULL OR customer_id = $4)
           AND ($5 IS NULL OR id < $5) AND ($7 IS NULL OR substr(event_type, 1, length($7)) = $7)
         ORDER BY id DESC LIMIT $6",
        f.security_only,
        &f.event_type,
        f.actor_user_id,
        f.customer_id,
        before,
        limit as i64,
        &f.event_prefix,
    )
    .map_err(Into::into)
}

/// Queues `event_id` for each of `subscribers` (in the append's transaction).
pub async fn enqueue_delivery(
    mut c: DbConn<'_>,
    event_id: Id,
    subscribers: &[&str],
    now: Timestamp,
) -> Result<()> {
    for s in subscribers {
        crate::sql!(
            c.re(),
            execute,
            "INSERT INTO domain_event_outbox (event_id, subscriber, created_at) VALUES ($1, $2, $3)",
            event_id,
            *s,
            now,
        ).map(|_| ())?;
    }
    Ok(())
}

/// The oldest `limit` events waiting for `subscriber`, locked for this transaction (on
/// PostgreSQL other dispatchers skip them; SQLite's write transaction serialises dispatchers).
pub async fn pending_for(c: DbConn<'_>, subscriber: &str, limit: u32) -> Result<Vec<DomainEvent>> {
    let lock = match c.backend() {
        crate::Backend::Postgres => " FOR UPDATE OF o SKIP LOCKED",
        crate::Backend::Sqlite => "",
    };
    let sql = format!(
        "SELECT e.* FROM domain_event_outbox o JOIN domain_events e ON e.id = o.event_id
         WHERE o.subscriber = $1 ORDER BY o.event_id LIMIT $2{lock}"
    );
    crate::sql!(c, all DomainEvent, &sql, subscriber, limit as i64).map_err(Into::into)
}

/// Marks `event_id` handled by `subscriber` (in the subscriber's transaction).
pub async fn delivered(c: DbConn<'_>, subscriber: &str, event_id: Id) -> Result<()> {
    crate::sql!(
        c,
        execute,
        "DELETE FROM domain_event_outbox WHERE event_id = $1 AND subscriber = $2",
        event_id,
        subscriber,
    )
    .map(|_| ())
    .map_err(Into::into)
}
