//! The customer 360, assembled once: the account page and the agents' `customer_overview` tool
//! read the same facts, so they cannot disagree about a customer.

use chrono::Duration;
use cscx_domain::health::HealthResult;
use cscx_store::model::{
    AgentActivity, Contract, Customer, Entitlement, HealthScore, RiskSignal, Stakeholder,
    UsageMetric,
};
use cscx_store::{entity, Id};

use crate::error::CoreResult;
use crate::intelligence::{self, SignalFilter};
use crate::App;

/// Everything the 360 shows of one customer.
pub struct Overview {
    pub customer: Customer,
    /// The account owner's name (or e-mail), if the account has one.
    pub csm: Option<String>,
    /// Recorded scores, newest first (the last 60).
    pub history: Vec<HealthScore>,
    /// The latest score's explanation (components, reasons, what changed).
    pub latest: Option<HealthResult>,
    /// The latest signals, open or resolved (20).
    pub recent_signals: Vec<RiskSignal>,
    pub people: Vec<Stakeholder>,
    pub contracts: Vec<Contract>,
    /// The entitlements of the active contracts.
    pub entitlements: Vec<Entitlement>,
    /// Daily usage of the last 30 days, oldest first.
    pub usage: Vec<UsageMetric>,
    /// The agents' latest tool runs about the customer (10).
    pub activity: Vec<AgentActivity>,
}

impl Overview {
    pub fn primary_contact(&self) -> Option<&Stakeholder> {
        self.people.iter().find(|p| p.is_primary)
    }

    pub fn active_contracts(&self) -> impl Iterator<Item = &Contract> {
        self.contracts.iter().filter(|k| k.status == "active")
    }
}

/// Every open signal of a customer (the agents' overview lists what is open, however old).
pub async fn open_signals(app: &App, id: Id) -> CoreResult<Vec<RiskSignal>> {
    let open = SignalFilter {
        customer_id: Some(id),
        status: Some("open".into()),
        ..Default::default()
    };
    intelligence::list_signals(app, &open, None, u32::MAX).await
}

/// The 360 of `id`, or None if there is no such customer.
pub async fn of_customer(app: &App, id: Id) -> CoreResult<Option<Overview>> {
    let mut c = app.db.conn().await?;
    let Some(customer) = entity::get::<Customer>(c.c(), id).await? else {
        return Ok(None);
    };
    let history = intelligence::health_history(app, id, None, 60).await?;
    let latest = history.first().and_then(intelligence::stored_result);
    let recent = SignalFilter {
        customer_id: Some(id),
        ..Default::default()
    };
    let recent_signals = intelligence::list_signals(app, &recent, None, 20).await?;
    // Usage up to the last complete day: today's row counts a partial day (DAU 0 at 9 am).
    let yesterday = app.clock.now().date_naive() - Duration::days(1);
    let usage =
        cscx_store::usage::metrics(c.c(), id, yesterday - Duration::days(29), yesterday).await?;
    let people = cscx_store::stakeholders::of_customer(c.c(), id).await?;
    let contracts = cscx_store::contracts::of_customer(c.c(), id).await?;
    let mut entitlements = Vec::new();
    for k in contracts.iter().filter(|k| k.status == "active") {
        entitlements.extend(cscx_store::entitlements::of_contract(c.c(), k.id).await?);
    }
    let activity = crate::agents::recent_activity(app, id, 10).await?;
    let csm = match customer.csm_id {
        Some(u) => entity::get::<cscx_store::product::User>(c.c(), u)
            .await?
            .map(|u| u.name.unwrap_or(u.email)),
        None => None,
    };
    Ok(Some(Overview {
        customer,
        csm,
        history,
        latest,
        recent_signals,
        people,
        contracts,
        entitlements,
        usage,
        activity,
    }))
}
