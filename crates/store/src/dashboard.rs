//! The portfolio summary on the home page: a few aggregate queries.

use chrono::NaiveDate;

use crate::{DbConn, Result};

/// Portfolio totals. Money comes back as exact decimal text.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Totals {
    pub customers: i64,
    pub total_arr: Option<String>,
    pub arr_at_risk: Option<String>,
    pub green: i64,
    pub yellow: i64,
    pub red: i64,
    pub unscored: i64,
}

pub async fn totals(c: DbConn<'_>) -> Result<Totals> {
    Ok(crate::sql!(
        c,
        one Totals,
        "SELECT COUNT(*) AS customers,
                CAST(SUM(CASE WHEN stage NOT IN ('churned', 'prospect') THEN CAST(arr AS NUMERIC) END) AS TEXT) AS total_arr,
                CAST(SUM(CASE WHEN stage NOT IN ('churned', 'prospect') AND (health_band = 'red' OR stage = 'at_risk') THEN CAST(arr AS NUMERIC) END) AS TEXT) AS arr_at_risk,
                COUNT(CASE WHEN health_band = 'green' THEN 1 END) AS green,
                COUNT(CASE WHEN health_band = 'yellow' THEN 1 END) AS yellow,
                COUNT(CASE WHEN health_band = 'red' THEN 1 END) AS red,
                COUNT(CASE WHEN health_score IS NULL THEN 1 END) AS unscored
         FROM customers",
    )?)
}

/// Customers renewing in `from..=to` (not churned): count, ARR (decimal text), how many red.
pub async fn renewals_between(
    c: DbConn<'_>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<(i64, Option<String>, i64)> {
    Ok(crate::sql!(
        c,
        one _,
        "SELECT COUNT(*), CAST(SUM(CAST(arr AS NUMERIC)) AS TEXT), COUNT(CASE WHEN health_band = 'red' THEN 1 END)
     FROM customers WHERE renewal_date >= $1 AND renewal_date <= $2 AND stage <> 'churned'",
        from,
        to,
    )?)
}

/// Pending approvals that a holder of any of `roles` may decide.
pub async fn pending_approvals_for(c: DbConn<'_>, roles: &[String]) -> Result<i64> {
    Ok(crate::sql!(
        c,
        scalar _,
        "SELECT COUNT(*) FROM approvals WHERE status = 'pending' AND required_role IN ($1, $2, $3, $4)",
        roles.first(),
        roles.get(1),
        roles.get(2),
        roles.get(3),
    )?)
}
