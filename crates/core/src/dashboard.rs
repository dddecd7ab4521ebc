//! The portfolio at a glance for the home page: ARR, ARR at risk, health bands, renewals by
//! window, newest risk signals and pending approvals. A handful of aggregate queries; nothing
//! loads the whole portfolio.

use chrono::Duration;
use serde::Serialize;

use cscx_domain::Role;
use cscx_store::Id;

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
    let t = cscx_store::dashboard::totals(c.c()).await?;
    let today = app.clock.now().date_naive();
    let mut renewals = Vec::new();
    for days in [30i64, 60, 90] {
        let (count, arr, red) =
            cscx_store::dashboard::renewals_between(c.c(), today, today + Duration::days(days))
                .await?;
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
    let pending = cscx_store::dashboard::pending_approvals_for(c.c(), &roles).await?;
    Ok(Summary {
        customers: t.customers,
        total_arr: money_text(t.total_arr),
        arr_at_risk: money_text(t.arr_at_risk),
        green: t.green,
        yellow: t.yellow,
        red: t.red,
        unscored: t.unscored,
        renewals,
        signals: signals
            .into_iter()
            .map(|n| SignalRow {
                customer_id: n.signal.customer_id,
                customer: n.customer_name,
                signal_type: n.signal.signal_type,
                severity: n.signal.severity.to_string(),
                description: n.signal.description,
            })
            .collect(),
        pending_approvals: pending,
    })
}
