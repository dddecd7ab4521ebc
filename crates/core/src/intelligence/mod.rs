//! Customer intelligence: daily usage rollups, health scores with their reasons and history,
//! risk signals raised and cleared by detectors, point-in-time scoring, back-tests and
//! calibration. The math lives in `cscx_domain::{usage, health, risk, stats}`; this module
//! gathers its inputs from the database and writes its results.
//!
//! - [`rollup`]: daily usage metrics from the raw events;
//! - [`models`]: health models per segment;
//! - [`health`]: scores, their inputs and history;
//! - [`rhythm`]: the portfolio's recency–frequency model and the whole-history facts;
//! - [`risk`]: risk signals, detected and by hand;
//! - [`backtest`]: point-in-time scores, back-tests and calibration;
//! - here: the refresh that runs them in order for a customer, and the jobs' names.

pub mod backtest;
pub mod health;
pub mod models;
pub mod rhythm;
pub mod risk;
pub mod rollup;

pub use backtest::*;
pub use health::*;
pub use models::*;
pub use rhythm::*;
pub use risk::*;
pub use rollup::*;

use std::collections::{BTreeMap, HashMap};

use chrono::{Duration, NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use cscx_domain::events::Event;
use cscx_domain::health::{self as health_math, HealthInputs, HealthModel, HealthResult};
use cscx_domain::rhythm::RhythmFit;
use cscx_domain::risk::{self as risk_math, DayUsage, RiskInputs, StakeholderFacts};
use cscx_domain::stats;
use cscx_domain::usage::{self as usage_math, UsageEvent as EventIn};
use cscx_jobs::queue::{enqueue_in, NewJob};
use cscx_store::intelligence as store;
use cscx_store::model::{Contract, Customer, HealthScore, RiskSignal, Stakeholder, UsageMetric};
use cscx_store::{customers, entity, usage, DbConn, Id, Timestamp};

use crate::auth::Principal;
use crate::error::{CoreError, CoreResult};
use crate::events::{record, Actor};
use crate::App;

pub const HEALTH_JOB: &str = "health.recompute";
pub const NIGHTLY_JOB: &str = "intelligence.nightly";
pub const REFRESH_JOB: &str = "customer.refresh";

/// Start of day `d` (UTC), as a timestamp.
pub fn day_start(d: NaiveDate) -> Timestamp {
    Timestamp::from_datetime(d.and_time(NaiveTime::MIN).and_utc())
}

/// Queues a health recompute of `customer_id` in the caller's transaction (deduplicated).
pub async fn enqueue_health(c: DbConn<'_>, customer_id: Id, now: Timestamp) -> CoreResult<()> {
    let job = NewJob::new(HEALTH_JOB, json!({ "customer_id": customer_id }))
        .key(format!("health:{customer_id}"));
    enqueue_in(c, &job, now).await?;
    Ok(())
}

fn parse_f64(s: &Option<String>) -> Option<f64> {
    s.as_deref().and_then(|v| v.trim().parse().ok())
}

/// Health, then risk; when the signals changed, health once more (they feed its risk part).
pub async fn refresh_customer(app: &App, customer_id: Id) -> CoreResult<Option<HealthResult>> {
    let result = recompute_health(app, customer_id).await?;
    if sync_risk_signals(app, customer_id).await? {
        return recompute_health(app, customer_id).await;
    }
    Ok(result)
}

/// Rolls up and refreshes every customer now, `parallel` at a time, in this process
/// (`cscx health recompute`). The nightly job queues the same work per customer instead, so
/// that every worker node takes a share.
pub async fn refresh_all(app: &App, parallel: usize) -> CoreResult<usize> {
    let ids = {
        let mut c = app.db.conn().await?;
        customers::all_ids(c.c()).await?
    };
    let n = ids.len();
    let refresh = |id| {
        let app = app.clone();
        async move {
            rollup_customer(&app, id).await?;
            refresh_customer(&app, id).await.map(|_| ())
        }
    };
    for_each_parallel(ids, parallel, refresh, async |()| Ok(())).await?;
    Ok(n)
}

/// Queues a refresh of every customer (the nightly job: time passes even when no data comes).
pub async fn enqueue_all_refreshes(app: &App) -> CoreResult<usize> {
    let now = app.now();
    let ids = {
        let mut c = app.db.conn().await?;
        customers::all_ids(c.c()).await?
    };
    for chunk in ids.chunks(500) {
        let jobs: Vec<NewJob> = chunk
            .iter()
            .map(|id| {
                NewJob::new(REFRESH_JOB, json!({ "customer_id": id }))
                    .key(format!("refresh:{id}"))
                    .priority(-1)
            })
            .collect();
        let mut tx = app.db.begin().await?;
        cscx_jobs::queue::enqueue_many_in(tx.c(), &jobs, now).await?;
        tx.commit().await?;
    }
    app.queue.notify.notify_waiters();
    Ok(ids.len())
}
