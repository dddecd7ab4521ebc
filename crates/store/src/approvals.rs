//! Approvals and their policies.

use crate::model::Approval;
use crate::{DbConn, Id, Result, Timestamp};

/// A policy row as stored: `(action, required_role, auto_approve, expires_after_hours)`.
pub type StoredPolicy = (String, String, bool, i32);

pub async fn policy(c: DbConn<'_>, action: &str) -> Result<Option<StoredPolicy>> {
    Ok(crate::sql!(
        c,
        optional _,
        "SELECT action, required_role, auto_approve, expires_after_hours FROM approval_policies WHERE action = $1",
        action,
    )?)
}

/// Every stored policy (one per action at most: a handful of rows).
pub async fn policies(c: DbConn<'_>) -> Result<Vec<StoredPolicy>> {
    Ok(crate::sql!(
        c,
        all _,
        "SELECT action, required_role, auto_approve, expires_after_hours FROM approval_policies",
    )?)
}

pub async fn save_policy(c: DbConn<'_>, p: &StoredPolicy, by: Id, now: Timestamp) -> Result<()> {
    crate::sql!(
        c,
        execute,
        "INSERT INTO approval_policies (action, required_role, auto_approve, expires_after_hours, updated_by, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (action) DO UPDATE SET required_role = excluded.required_role,
           auto_approve = excluded.auto_approve, expires_after_hours = excluded.expires_after_hours,
           updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        &p.0,
        &p.1,
        p.2,
        p.3,
        by,
        now,
    ).map(|_| ())?;
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
    Ok(crate::sql!(
        c,
        all Approval,
        "SELECT * FROM approvals WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR action = $2)
           AND ($3 IS NULL OR customer_id = $3) AND ($4 IS NULL OR session_id = $4)
           AND ($5 IS NULL OR id < $5)
           AND ($7 OR requested_by = $8
                OR customer_id IN (SELECT id FROM customers WHERE csm_id = $8))
         ORDER BY id DESC LIMIT $6",
        &f.status,
        &f.action,
        f.customer_id,
        f.session_id,
        before,
        limit as i64,
        all,
        user,
    )?)
}

/// Marks pending approvals past their expiry `expired`; returns how many.
pub async fn expire_due(c: DbConn<'_>, now: Timestamp) -> Result<u64> {
    Ok(crate::sql!(
        c,
        execute,
        "UPDATE approvals SET status = 'expired', resolved_at = $1
         WHERE status = 'pending' AND expires_at IS NOT NULL AND expires_at <= $1",
        now,
    )?)
}
