//! Approvals and their policies.

use crate::model::Approval;
use crate::{run, DbConn, Id, Result, Timestamp};

/// A policy row as stored: `(action, required_role, auto_approve, expires_after_hours)`.
pub type StoredPolicy = (String, String, bool, i32);

pub async fn policy(c: DbConn<'_>, action: &str) -> Result<Option<StoredPolicy>> {
    Ok(run!(c, |conn| {
        sqlx::query_as(
        "SELECT action, required_role, auto_approve, expires_after_hours FROM approval_policies WHERE action = $1",
    )
    .bind(action)
    .fetch_optional(&mut *conn)
    .await
    })?)
}

/// Every stored policy (one per action at most: a handful of rows).
pub async fn policies(c: DbConn<'_>) -> Result<Vec<StoredPolicy>> {
    Ok(run!(c, |conn| sqlx::query_as(
        "SELECT action, required_role, auto_approve, expires_after_hours FROM approval_policies",
    )
    .fetch_all(&mut *conn)
    .await)?)
}

pub async fn save_policy(c: DbConn<'_>, p: &StoredPolicy, by: Id, now: Timestamp) -> Result<()> {
    run!(c, |conn| {
        sqlx::query(
        "INSERT INTO approval_policies (action, required_role, auto_approve, expires_after_hours, updated_by, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (action) DO UPDATE SET required_role = excluded.required_role,
           auto_approve = excluded.auto_approve, expires_after_hours = excluded.expires_after_hours,
           updated_by = excluded.updated_by, updated_at = excluded.updated_at",
    )
    .bind(&p.0)
    .bind(&p.1)
    .bind(p.2)
    .bind(p.3)
    .bind(by)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map(|_| ())
    })?;
    Ok(())
}

#[derive(Debug, Default)]
pub struct Filter {
    pub status: Option<String>,
    pub action: Option<String>,
    pub customer_id: Option<Id>,
    pub session_id: Option<Id>,
}

/// Who is asking: everyone's approvals, or only those `user` requested or whose account they
/// own.
#[derive(Debug, Clone, Copy)]
pub enum Visible {
    All,
    Of(Id),
}

/// Newest first, keyset on id (`before`).
pub async fn page(
    c: DbConn<'_>,
    f: &Filter,
    visible: Visible,
    before: Option<Id>,
    limit: u32,
) -> Result<Vec<Approval>> {
    let (all, user) = match visible {
        Visible::All => (true, None),
        Visible::Of(u) => (false, Some(u)),
    };
    Ok(run!(c, |conn| sqlx::query_as::<_, Approval>(
        "SELECT * FROM approvals WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR action = $2)
           AND ($3 IS NULL OR customer_id = $3) AND ($4 IS NULL OR session_id = $4)
           AND ($5 IS NULL OR id < $5)
           AND ($7 OR requested_by = $8
                OR customer_id IN (SELECT id FROM customers WHERE csm_id = $8))
         ORDER BY id DESC LIMIT $6"
    )
    .bind(&f.status)
    .bind(&f.action)
    .bind(f.customer_id)
    .bind(f.session_id)
    .bind(before)
    .bind(limit as i64)
    .bind(all)
    .bind(user)
    .fetch_all(&mut *conn)
    .await)?)
}

/// Marks pending approvals past their expiry `expired`; returns how many.
pub async fn expire_due(c: DbConn<'_>, now: Timestamp) -> Result<u64> {
    Ok(run!(c, |conn| sqlx::query(
        "UPDATE approvals SET status = 'expired', resolved_at = $1
         WHERE status = 'pending' AND expires_at IS NOT NULL AND expires_at <= $1",
    )
    .bind(now)
    .execute(&mut *conn)
    .await
    .map(|r| r.rows_affected()))?)
}
