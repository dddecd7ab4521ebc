//! The portfolio at a glance for the home page: ARR, ARR at risk, health bands, renewals by
//! window, newest risk signals and pending approvals. A handful of aggregate queries; nothing
//! loads the whole portfolio.

use chrono::Duration;
use serde::Serialize;

use cscx_domain::Role;
use cscx_store::{run, Id};

use crate::error::CoreResult;
use crate::App;

#[derive(Debug, Clone, Serialize)]
pub struct RenewalWindow {
    pub days: i64,
    pub count: i64,
    pub arr: String,
    /// Of those, how many are red (health under 50).
    pub red: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SignalRow {
    pub customer_id: Id,
    pub customer: String,
    pub signal_type: String,
    pub severity: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub customers: i64,
    pub total_arr: String,
    pub arr_at_risk: String,
    pub green: i64,
    pub yellow: i64,
    pub red: i64,
    pub unscored: i64,
    pub renewals: Vec<RenewalWindow>,
    pub signals: Vec<SignalRow>,
    /// Pending approvals the viewer may decide.
    pub pending_approvals: i64,
}

fn money_text(v: Option<String>) -> String {
    let amount = v
        .and_then(|t| t.parse::<rust_decimal::Decimal>().ok())
        .unwrap_or_default();
    cscx_domain::money::whole(amount)
}

pub async fn summary(app: &App, role: Role) -> CoreResult<Summary> {
    let mut c = app.db.conn().await?;
    let (customers, total, at_risk, green, yellow, red, unscored): (i64, Option<String>, Option<String>, i64, i64, i64, i64) =
        run!(c.c(), |conn| sqlx::query_as(
            "SELECT COUNT(*),
                    CAST(SUM(CASE WHEN stage NOT IN ('churned', 'prospect') THEN CAST(arr AS NUMERIC) END) AS TEXT),
                    CAST(SUM(CASE WHEN stage NOT IN ('churned', 'prospect') AND (health_score < 50 OR stage = 'at_risk') THEN CAST(arr AS NUMERIC) END) AS TEXT),
                    COUNT(CASE WHEN health_score >= 75 THEN 1 END),
                    COUNT(CASE WHEN health_score >= 50 AND health_score < 75 THEN 1 END),
                    COUNT(CASE WHEN health_score < 50 THEN 1 END),
                    COUNT(CASE WHEN health_score IS NULL THEN 1 END)
             FROM customers"
        )
        .fetch_one(&mut *conn)
        .await)
        .map_err(cscx_store::Error::from)?;
    let today = app.clock.now().date_naive();
    let mut renewals = Vec::new();
    for days in [30i64, 60, 90] {
        let (count, arr, red): (i64, Option<String>, i64) = run!(c.c(), |conn| sqlx::query_as(
            "SELECT COUNT(*), CAST(SUM(CAST(arr AS NUMERIC)) AS TEXT), COUNT(CASE WHEN health_score < 50 THEN 1 END)
             FROM customers WHERE renewal_date >= $1 AND renewal_date <= $2 AND stage <> 'churned'"
        )
        .bind(today)
        .bind(today + Duration::days(days))
        .fetch_one(&mut *conn)
        .await)
        .map_err(cscx_store::Error::from)?;
        renewals.push(RenewalWindow {
            days,
            count,
            arr: money_text(arr),
            red,
        });
    }
    let open = crate::intelligence::SignalFilter {
        status: Some("open".into()),
        ..Default::default()
    };
    let signals = crate::intelligence::list_named_signals(app, &open, None, 6).await?;
    // Pending approvals whose policy role the viewer holds.
    let roles: Vec<String> = Role::ALL
        .iter()
        .filter(|r| **r <= role)
        .map(|r| r.to_string())
        .collect();
    let pending: i64 = run!(c.c(), |conn| sqlx::query_scalar(
        "SELECT COUNT(*) FROM approvals WHERE status = 'pending' AND required_role IN ($1, $2, $3, $4)"
    )
    .bind(roles.first())
    .bind(roles.get(1))
    .bind(roles.get(2))
    .bind(roles.get(3))
    .fetch_one(&mut *conn)
    .await)
    .map_err(cscx_store::Error::from)?;
    Ok(Summary {
        customers,
        total_arr: money_text(total),
        arr_at_risk: money_text(at_risk),
        green,
        yellow,
        red,
        unscored,
        renewals,
        signals: signals
            .into_iter()
            .map(|n| SignalRow {
                customer_id: n.signal.customer_id,
                customer: n.customer_name,
                signal_type: n.signal.signal_type,
                severity: n.signal.severity,
                description: n.signal.description,
            })
            .collect(),
        pending_approvals: pending,
    })
}
