//! The people tracking code names by `userId` (the Segment-compatible endpoints): the customer a
//! `group` call put them in, the traits of their latest `identify`, the matching stakeholder.

use serde_json::Value;

use crate::error::Result;
use crate::types::{Id, Timestamp};
use crate::DbConn;

#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct TrackedUser {
    pub user_id: String,
    pub customer_id: Option<Id>,
    pub stakeholder_id: Option<Id>,
    #[schema(value_type = Object)]
    pub traits: Value,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

pub async fn get(c: DbConn<'_>, user_id: &str) -> Result<Option<TrackedUser>> {
    Ok(crate::sql!(
        c,
        optional TrackedUser,
        "SELECT * FROM tracked_users WHERE user_id = $1",
        user_id,
    )?)
}

/// The customer of each of `user_ids` that has one (500 ids a query).
pub async fn customers_of(mut c: DbConn<'_>, user_ids: &[String]) -> Result<Vec<(String, Id)>> {
    let mut found = Vec::with_capacity(user_ids.len());
    for chunk in user_ids.chunks(500) {
        let placeholders = (1..=chunk.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT user_id, customer_id FROM tracked_users
             WHERE customer_id IS NOT NULL AND user_id IN ({placeholders})"
        );
        let rows: Vec<(String, Id)> = crate::run!(c.re(), |conn| {
            let mut q = sqlx::query_as::<_, (String, Id)>(&sql);
            for id in chunk {
                q = q.bind(id);
            }
            q.fetch_all(&mut *conn).await
        })?;
        found.extend(rows);
    }
    Ok(found)
}

/// Writes a tracked user whole (insert, or update of every column but `created_at`).
pub async fn save(c: DbConn<'_>, u: &TrackedUser) -> Result<()> {
    crate::sql!(
        c,
        execute,
        "INSERT INTO tracked_users (user_id, customer_id, stakeholder_id, traits, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (user_id) DO UPDATE SET customer_id = excluded.customer_id,
           stakeholder_id = excluded.stakeholder_id, traits = excluded.traits,
           updated_at = excluded.updated_at",
        &u.user_id,
        u.customer_id,
        u.stakeholder_id,
        &u.traits,
        u.created_at,
        u.updated_at,
    )?;
    Ok(())
}

/// The stakeholder with this e-mail (case-insensitive), preferring one of `customer_id`, as
/// `(stakeholder, customer)`.
pub async fn stakeholder_by_email(
    c: DbConn<'_>,
    email: &str,
    customer_id: Option<Id>,
) -> Result<Option<(Id, Id)>> {
    Ok(crate::sql!(
        c,
        optional(Id, Id),
        "SELECT id, customer_id FROM stakeholders WHERE lower(email) = lower($1)
         ORDER BY CASE WHEN customer_id = $2 THEN 0 ELSE 1 END, id LIMIT 1",
        email,
        customer_id,
    )?)
}
