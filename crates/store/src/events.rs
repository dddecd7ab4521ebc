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

/// Queues `event_id` for each of `subscribers` (in the append's transaction).
pub async fn enqueue_delivery(
    mut c: DbConn<'_>,
    event_id: Id,
    subscribers: &[&str],
    now: Timestamp,
) -> Result<()> {
    for s in subscribers {
        run!(c.re(), |conn| {
            sqlx::query(
            "INSERT INTO domain_event_outbox (event_id, subscriber, created_at) VALUES ($1, $2, $3)"
        )
        .bind(event_id)
        .bind(*s)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map(|_| ())
        })?;
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
    run!(c, |conn| sqlx::query_as::<_, DomainEvent>(&sql)
        .bind(subscriber)
        .bind(limit as i64)
        .fetch_all(&mut *conn)
        .await)
    .map_err(Into::into)
}

/// Marks `event_id` handled by `subscriber` (in the subscriber's transaction).
pub async fn delivered(c: DbConn<'_>, subscriber: &str, event_id: Id) -> Result<()> {
    run!(c, |conn| sqlx::query(
        "DELETE FROM domain_event_outbox WHERE event_id = $1 AND subscriber = $2"
    )
    .bind(event_id)
    .bind(subscriber)
    .execute(&mut *conn)
    .await
    .map(|_| ()))
    .map_err(Into::into)
}
