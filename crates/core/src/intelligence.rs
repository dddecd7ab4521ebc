//! Customer intelligence: daily usage rollups, health scores with their reasons and history,
//! risk signals raised and cleared by detectors, point-in-time scoring, back-tests and
//! calibration. The math lives in `cscx_domain::{usage, health, risk, stats}`; this module
//! gathers its inputs from the database and writes its results.

use std::collections::{BTreeMap, HashMap};

use chrono::{Duration, NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use cscx_domain::events::Event;
use cscx_domain::health::{self, HealthInputs, HealthModel, HealthResult};
use cscx_domain::risk::{self, DayUsage, RiskInputs, StakeholderFacts};
use cscx_domain::stats;
use cscx_domain::usage::{self as usage_math, UsageEvent as EventIn};
use cscx_jobs::queue::{enqueue_in, NewJob};
use cscx_store::model::{Contract, Customer, HealthScore, RiskSignal, Stakeholder, UsageMetric};
use cscx_store::{customers, entity, run, usage, DbConn, Id, Timestamp};

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

// ------------------------------------------------------------------------------------------
// Usage rollups

/// `customer_id`'s daily metrics for `from..=to`, computed from the raw events (not stored).
async fn metric_rows(
    app: &App,
    customer_id: Id,
    from: NaiveDate,
    to: NaiveDate,
) -> CoreResult<Vec<UsageMetric>> {
    let facts = {
        let mut c = app.db.conn().await?;
        let since = day_start(from - Duration::days(usage_math::LOOKBACK_DAYS));
        usage::event_facts(c.c(), customer_id, since, day_start(to + Duration::days(1))).await?
    };
    let events: Vec<EventIn> = facts
        .into_iter()
        .map(|f| {
            let mut e = EventIn {
                ts_millis: f.timestamp.millis(),
                user_id: f.user_id,
                event_type: f.event_type,
                feature: None,
                duration_seconds: None,
                count: None,
                priority: None,
                nps_score: None,
            };
            let value = f.metric_value;
            match e.event_type.as_str() {
                "feature_used" => e.feature = value,
                "session_end" => e.duration_seconds = parse_f64(&value),
                "api_call" => e.count = parse_f64(&value).map(|c| c as i64),
                "support_ticket" => e.priority = value,
                "nps_response" => e.nps_score = parse_f64(&value).map(|s| s as i32),
                _ => {}
            }
            e
        })
        .collect();
    let now = app.now();
    Ok(usage_math::daily_metrics(&events, from, to)
        .into_iter()
        .map(|m| UsageMetric {
            id: Id::new(),
            customer_id,
            metric_date: m.date,
            dau: Some(m.dau),
            wau: Some(m.wau),
            mau: Some(m.mau),
            login_count: Some(m.login_count),
            api_calls: Some(m.api_calls),
            session_duration_avg: m.session_duration_avg,
            active_users: Some(m.active_users),
            feature_adoption: Some(
                serde_json::to_value(&m.feature_adoption).expect("serialisable"),
            ),
            usage_trend: Some(m.usage_trend.as_str().to_owned()),
            adoption_score: Some(m.adoption_score),
            created_at: now,
            event_count: Some(m.events),
            support_tickets: Some(m.support_tickets),
            high_priority_tickets: Some(m.high_priority_tickets),
        })
        .collect())
}

/// Recomputes and stores `customer_id`'s daily metrics for `from..=to` from the raw events.
pub async fn compute_metrics(
    app: &App,
    customer_id: Id,
    from: NaiveDate,
    to: NaiveDate,
) -> CoreResult<usize> {
    let rows = metric_rows(app, customer_id, from, to).await?;
    let mut tx = app.db.begin().await?;
    usage::upsert_metrics(tx.c(), &rows).await?;
    tx.commit().await?;
    Ok(rows.len())
}

/// The last day with metrics, if any.
async fn last_metric_date(app: &App, customer_id: Id) -> CoreResult<Option<NaiveDate>> {
    let mut c = app.db.conn().await?;
    Ok(
        run!(c.c(), |conn| sqlx::query_scalar::<_, Option<NaiveDate>>(
            "SELECT MAX(metric_date) FROM usage_metrics WHERE customer_id = $1"
        )
        .bind(customer_id)
        .fetch_one(&mut *conn)
        .await)
        .map_err(cscx_store::Error::from)?,
    )
}

/// Brings a customer's metrics up to today: from the earliest day touched by new events, or
/// (with none pending) from the last computed day, so silent days get their zero rows.
///
/// Events that arrive during a pass only bump the pending mark (ingestion queues no job for
/// an already marked customer), so this rolls up again until the mark is cleared. After a few
/// passes under a steady stream it hands over to a fresh job instead of holding the worker.
pub async fn rollup_customer(app: &App, customer_id: Id) -> CoreResult<usize> {
    const MAX_PASSES: usize = 4;
    let today = app.now().date();
    let mut rows = 0;
    for _ in 0..MAX_PASSES {
        let pending = {
            let mut c = app.db.conn().await?;
            usage::pending(c.c(), customer_id).await?
        };
        let from = match pending {
            Some((from, _)) => Some(from),
            // Nothing new: only days since the last computed one need rows (none if current).
            None => match last_metric_date(app, customer_id).await? {
                Some(last) if last >= today => return Ok(rows),
                other => other,
            },
        };
        if let Some(from) = from {
            rows += compute_metrics(app, customer_id, from.min(today), today).await?;
        }
        let Some((_, version)) = pending else {
            return Ok(rows);
        };
        let mut c = app.db.conn().await?;
        if usage::clear_pending(c.c(), customer_id, version).await? {
            return Ok(rows);
        }
    }
    let mut tx = app.db.begin().await?;
    enqueue_in(tx.c(), &crate::ingest::rollup_job(customer_id), app.now()).await?;
    tx.commit().await?;
    Ok(rows)
}

/// Rebuilds every customer's metrics from `from` to today (`cscx usage rollup --from`):
/// `parallel` customers are read and computed at a time, and their rows are written in
/// transactions of a few thousand (one commit per customer would cost more than the rows).
/// Returns (customers, rows).
pub async fn rebuild_all(
    app: &App,
    from: NaiveDate,
    parallel: usize,
) -> CoreResult<(usize, usize)> {
    const ROWS_PER_COMMIT: usize = 5_000;
    let ids = {
        let mut c = app.db.conn().await?;
        usage::customers_with_events(c.c()).await?
    };
    let customers = ids.len();
    let today = app.now().date();
    let mut rows = 0;
    let mut pending: Vec<UsageMetric> = Vec::new();
    let compute = |id| {
        let app = app.clone();
        async move { metric_rows(&app, id, from, today).await }
    };
    for_each_parallel(ids, parallel, compute, async |computed| {
        pending.extend(computed);
        if pending.len() >= ROWS_PER_COMMIT {
            rows += store_metrics(app, &mut pending).await?;
        }
        Ok(())
    })
    .await?;
    rows += store_metrics(app, &mut pending).await?;
    Ok((customers, rows))
}

/// Upserts `rows` in one transaction and empties the vector; returns how many were written.
async fn store_metrics(app: &App, rows: &mut Vec<UsageMetric>) -> CoreResult<usize> {
    if rows.is_empty() {
        return Ok(0);
    }
    let mut tx = app.db.begin().await?;
    usage::upsert_metrics(tx.c(), rows).await?;
    tx.commit().await?;
    let n = rows.len();
    rows.clear();
    Ok(n)
}

/// Runs `work(id)` for every id, at most `parallel` at once on the runtime's threads, and hands
/// each result to `take` as it finishes (in completion order). The first error stops it.
async fn for_each_parallel<T, Fut>(
    ids: Vec<Id>,
    parallel: usize,
    work: impl Fn(Id) -> Fut,
    mut take: impl AsyncFnMut(T) -> CoreResult<()>,
) -> CoreResult<()>
where
    T: Send + 'static,
    Fut: std::future::Future<Output = CoreResult<T>> + Send + 'static,
{
    let mut set = tokio::task::JoinSet::new();
    let mut ids = ids.into_iter();
    loop {
        while set.len() < parallel.max(1) {
            let Some(id) = ids.next() else { break };
            set.spawn(work(id));
        }
        let Some(done) = set.join_next().await else {
            return Ok(());
        };
        take(done.map_err(|e| CoreError::Internal(e.to_string()))??).await?;
    }
}

// ------------------------------------------------------------------------------------------
// Health models

/// A stored health model.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct StoredModel {
    pub id: Id,
    pub name: String,
    /// `""` = the default for every segment.
    pub segment_key: String,
    #[schema(value_type = Object)]
    pub config: Value,
    /// `active`, `proposed` or `archived`.
    pub status: String,
    pub notes: Option<String>,
    pub created_by: Option<Id>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

pub async fn list_models(app: &App) -> CoreResult<Vec<StoredModel>> {
    let mut c = app.db.conn().await?;
    Ok(run!(c.c(), |conn| sqlx::query_as::<_, StoredModel>(
        "SELECT * FROM health_models ORDER BY id"
    )
    .fetch_all(&mut *conn)
    .await)
    .map_err(cscx_store::Error::from)?)
}

pub async fn get_model(app: &App, id: Id) -> CoreResult<StoredModel> {
    let mut c = app.db.conn().await?;
    run!(c.c(), |conn| sqlx::query_as::<_, StoredModel>(
        "SELECT * FROM health_models WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await)
    .map_err(cscx_store::Error::from)?
    .ok_or(CoreError::NotFound("health model"))
}

/// Validates and stores a model, as `proposed` or (replacing the segment's current one)
/// `active`.
pub async fn save_model(
    app: &App,
    model: &HealthModel,
    activate: bool,
    notes: Option<&str>,
    by: Option<Id>,
) -> CoreResult<StoredModel> {
    if let Err(problems) = model.validate() {
        let mut e = cscx_domain::FieldErrors::new();
        for (field, msg) in problems {
            e.add(&field, msg);
        }
        return Err(CoreError::Validation(e));
    }
    let now = app.now();
    let stored = StoredModel {
        id: Id::new(),
        name: model.name.clone(),
        segment_key: model.segment.clone().unwrap_or_default(),
        config: serde_json::to_value(model).expect("models serialise"),
        status: "proposed".into(),
        notes: notes.map(str::to_owned),
        created_by: by,
        created_at: now,
        updated_at: now,
    };
    let mut tx = app.db.begin().await?;
    run!(tx.c(), |conn| sqlx::query(
        "INSERT INTO health_models (id, name, segment_key, config, status, notes, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    )
    .bind(stored.id)
    .bind(&stored.name)
    .bind(&stored.segment_key)
    .bind(&stored.config)
    .bind(&stored.status)
    .bind(&stored.notes)
    .bind(stored.created_by)
    .bind(now)
    .bind(now)
    .execute(&mut *conn)
    .await.map(|_| ()))
    .map_err(cscx_store::Error::from)?;
    tx.commit().await?;
    if activate {
        return activate_model(app, stored.id).await;
    }
    Ok(stored)
}

/// Makes a model the active one for its segment (the previous one is archived) and queues a
/// recompute of every customer.
pub async fn activate_model(app: &App, id: Id) -> CoreResult<StoredModel> {
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let model: StoredModel = run!(tx.c(), |conn| sqlx::query_as::<_, StoredModel>(
        "SELECT * FROM health_models WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await)
    .map_err(cscx_store::Error::from)?
    .ok_or(CoreError::NotFound("health model"))?;
    run!(tx.c(), |conn| sqlx::query(
        "UPDATE health_models SET status = 'archived', updated_at = $2 WHERE segment_key = $1 AND status = 'active' AND id <> $3"
    )
    .bind(&model.segment_key)
    .bind(now)
    .bind(id)
    .execute(&mut *conn)
    .await.map(|_| ()))
    .map_err(cscx_store::Error::from)?;
    run!(tx.c(), |conn| sqlx::query(
        "UPDATE health_models SET status = 'active', updated_at = $2 WHERE id = $1"
    )
    .bind(id)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map(|_| ()))
    .map_err(cscx_store::Error::from)?;
    enqueue_in(
        tx.c(),
        &NewJob::new(NIGHTLY_JOB, json!({})).key("nightly:model-change"),
        now,
    )
    .await?;
    tx.commit().await?;
    get_model(app, id).await
}

/// The model that scores a customer of `segment`: the segment's active model, else the
/// default active model, else the built-in default.
pub async fn model_for(app: &App, segment: Option<&str>) -> CoreResult<HealthModel> {
    let mut c = app.db.conn().await?;
    let rows: Vec<(String, Value)> = run!(c.c(), |conn| sqlx::query_as(
        "SELECT segment_key, config FROM health_models WHERE status = 'active' AND (segment_key = $1 OR segment_key = '')"
    )
    .bind(segment.unwrap_or(""))
    .fetch_all(&mut *conn)
    .await)
    .map_err(cscx_store::Error::from)?;
    let pick = rows
        .iter()
        .find(|(k, _)| !k.is_empty() && Some(k.as_str()) == segment)
        .or_else(|| rows.iter().find(|(k, _)| k.is_empty()));
    match pick {
        Some((_, config)) => serde_json::from_value(config.clone())
            .map_err(|e| CoreError::Internal(format!("stored health model is invalid: {e}"))),
        None => Ok(HealthModel::default_model()),
    }
}

// ------------------------------------------------------------------------------------------
// Health scores

/// Gathers a customer's health facts using only data up to the end of `as_of`. With
/// `point_in_time`, facts that are not historised (the lifecycle stage) are left out rather
/// than read from today's record, so a past score cannot see the future.
pub async fn gather_inputs(
    app: &App,
    customer: &Customer,
    as_of: NaiveDate,
    point_in_time: bool,
) -> CoreResult<HealthInputs> {
    let end = day_start(as_of + Duration::days(1));
    let mut c = app.db.conn().await?;
    let rows = usage::metrics(c.c(), customer.id, as_of - Duration::days(59), as_of).await?;
    let (first, last) = usage::activity_span(c.c(), customer.id, as_of).await?;
    let window: Vec<&UsageMetric> = rows
        .iter()
        .filter(|m| m.metric_date > as_of - Duration::days(30))
        .collect();
    let at = |d: NaiveDate| rows.iter().find(|m| m.metric_date == d);
    let mut inputs = HealthInputs {
        had_usage_ever: first.is_some(),
        ..Default::default()
    };
    if first.is_some() {
        let mau_now = at(as_of).and_then(|m| m.mau).unwrap_or(0);
        inputs.mau = Some(mau_now as f64);
        inputs.dau_avg_30d = Some(
            window
                .iter()
                .map(|m| m.dau.unwrap_or(0) as f64)
                .sum::<f64>()
                / 30.0,
        );
        inputs.mau_30d_ago = at(as_of - Duration::days(30))
            .and_then(|m| m.mau)
            .map(|v| v as f64);
        inputs.adoption_score = at(as_of).and_then(|m| m.adoption_score).map(|v| v as f64);
        inputs.days_since_activity = last.map(|d| (as_of - d).num_days().max(0));
        let active_weeks = (0..8)
            .filter(|w| {
                let hi = as_of - Duration::days(7 * w);
                let lo = hi - Duration::days(6);
                rows.iter().any(|m| {
                    m.metric_date >= lo && m.metric_date <= hi && m.active_users.unwrap_or(0) > 0
                })
            })
            .count();
        inputs.active_weeks_of_last_8 = Some(active_weeks as i32);
        inputs.tickets_30d = Some(window.iter().map(|m| m.support_tickets.unwrap_or(0)).sum());
        inputs.high_priority_tickets_30d = Some(
            window
                .iter()
                .map(|m| m.high_priority_tickets.unwrap_or(0))
                .sum(),
        );
        inputs.mau_for_tickets = Some(mau_now.max(1) as f64);
    }
    let stakeholders: Vec<Stakeholder> =
        entity::list_by(c.c(), "customer_id", customer.id, None, 1000).await?;
    let present: Vec<&Stakeholder> = stakeholders.iter().filter(|s| s.created_at < end).collect();
    inputs.stakeholders = present.len() as i32;
    inputs.has_primary = present.iter().any(|s| s.is_primary);
    inputs.has_executive = present.iter().any(|s| is_executive(s.role.as_deref()));
    inputs.positive_stakeholders = present
        .iter()
        .filter(|s| s.sentiment.as_deref() == Some("positive"))
        .count() as i32;
    inputs.negative_stakeholders = present
        .iter()
        .filter(|s| s.sentiment.as_deref() == Some("negative"))
        .count() as i32;
    let signals: Vec<RiskSignal> = run!(c.c(), |conn| sqlx::query_as::<_, RiskSignal>(
        "SELECT * FROM risk_signals WHERE customer_id = $1 AND detected_at < $2 AND (resolved_at IS NULL OR resolved_at >= $2)"
    )
    .bind(customer.id)
    .bind(end)
    .fetch_all(&mut *conn)
    .await)
    .map_err(cscx_store::Error::from)?;
    inputs.open_signals = signals.into_iter().map(|s| s.severity).collect();
    inputs.days_to_renewal = customer.renewal_date.map(|d| (d - as_of).num_days());
    let contracts: Vec<Contract> =
        entity::list_by(c.c(), "customer_id", customer.id, None, 1000).await?;
    let started: Vec<&Contract> = contracts
        .iter()
        .filter(|k| k.start_date.is_none_or(|s| s <= as_of) && k.created_at < end)
        .collect();
    inputs.contract_status = if started.is_empty() {
        None
    } else if started.iter().any(|k| {
        k.end_date.is_none_or(|e| e >= as_of) && k.status != "expired" && k.status != "terminated"
    }) {
        Some("active".into())
    } else {
        Some("expired".into())
    };
    inputs.stage = (!point_in_time).then(|| customer.stage.clone());
    Ok(inputs)
}

fn is_executive(role: Option<&str>) -> bool {
    let Some(r) = role else { return false };
    let r = r.to_lowercase();
    [
        "chief",
        "ceo",
        "cfo",
        "cto",
        "coo",
        "cio",
        "vp",
        "vice president",
        "head of",
        "director",
        "executive",
        "founder",
        "president",
    ]
    .iter()
    .any(|k| r.contains(k))
}

/// Scores a customer as of the end of `as_of`.
pub async fn score_as_of(
    app: &App,
    customer: &Customer,
    as_of: NaiveDate,
    point_in_time: bool,
) -> CoreResult<HealthResult> {
    let model = model_for(app, customer.segment.as_deref()).await?;
    let inputs = gather_inputs(app, customer, as_of, point_in_time).await?;
    let mut result = health::compute(&model, &inputs);
    // A prospect has not bought yet: there is no customer health to speak of.
    if !point_in_time && customer.stage == "prospect" {
        result.score = None;
        result.grade = None;
        result.note = Some("prospects are not scored until they become customers".into());
    }
    Ok(result)
}

async fn latest_history(c: DbConn<'_>, customer_id: Id) -> CoreResult<Option<HealthScore>> {
    Ok(run!(c, |conn| sqlx::query_as::<_, HealthScore>(
        "SELECT * FROM health_score_history WHERE customer_id = $1 ORDER BY recorded_at DESC, id DESC LIMIT 1"
    )
    .bind(customer_id)
    .fetch_optional(&mut *conn)
    .await)
    .map_err(cscx_store::Error::from)?)
}

/// Computes the current score, explains what changed since the last one, and records both the
/// history row and `customers.health_score` in one transaction. An unchanged result is not
/// recorded again. Returns the result (None if the customer is gone).
pub async fn recompute_health(app: &App, customer_id: Id) -> CoreResult<Option<HealthResult>> {
    let Some(customer) = ({
        let mut c = app.db.conn().await?;
        entity::get::<Customer>(c.c(), customer_id).await?
    }) else {
        return Ok(None);
    };
    let now = app.now();
    let mut result = score_as_of(app, &customer, now.date(), false).await?;
    let mut tx = app.db.begin().await?;
    let previous = latest_history(tx.c(), customer_id).await?;
    let previous_result: Option<HealthResult> = previous
        .as_ref()
        .and_then(|h| h.components.clone())
        .and_then(|v| serde_json::from_value(v).ok());
    if let Some(prev) = &previous_result {
        result.changes = health::describe_changes(prev, &result);
    }
    let unchanged = previous_result.as_ref().is_some_and(|p| {
        p.score == result.score && p.components == result.components && p.missing == result.missing
    });
    if !unchanged {
        if let Some(score) = result.score {
            let row = HealthScore {
                id: Id::new(),
                customer_id,
                score,
                components: Some(serde_json::to_value(&result).expect("serialisable")),
                recorded_at: now,
            };
            entity::insert(tx.c(), &row).await?;
        }
        // With no data at all there is no score; a value set by hand or imported is kept.
        if result.score.is_some() {
            run!(tx.c(), |conn| sqlx::query(
                "UPDATE customers SET health_score = $2, updated_at = $3 WHERE id = $1"
            )
            .bind(customer_id)
            .bind(result.score)
            .bind(now)
            .execute(&mut *conn)
            .await
            .map(|_| ()))
            .map_err(cscx_store::Error::from)?;
        }
    }
    tx.commit().await?;
    Ok(Some(result))
}

// ------------------------------------------------------------------------------------------
// Risk signals

/// Runs the detectors for a customer now and brings its open automatic signals in line:
/// new conditions open a signal, changed ones update it, cleared ones are resolved with a note.
/// Returns whether anything changed.
pub async fn sync_risk_signals(app: &App, customer_id: Id) -> CoreResult<bool> {
    let now = app.now();
    let today = now.date();
    let mut c = app.db.conn().await?;
    let Some(customer) = entity::get::<Customer>(c.c(), customer_id).await? else {
        return Ok(false);
    };
    let rows = usage::metrics(c.c(), customer_id, today - Duration::days(89), today).await?;
    let (first, last) = usage::activity_span(c.c(), customer_id, today).await?;
    let history: Vec<HealthScore> = run!(c.c(), |conn| sqlx::query_as::<_, HealthScore>(
        "SELECT * FROM health_score_history WHERE customer_id = $1 AND recorded_at >= $2 ORDER BY recorded_at"
    )
    .bind(customer_id)
    .bind(day_start(today - Duration::days(30)))
    .fetch_all(&mut *conn)
    .await)
    .map_err(cscx_store::Error::from)?;
    let stakeholders: Vec<Stakeholder> =
        entity::list_by(c.c(), "customer_id", customer_id, None, 1000).await?;
    let open: Vec<RiskSignal> = run!(c.c(), |conn| sqlx::query_as::<_, RiskSignal>(
        "SELECT * FROM risk_signals WHERE customer_id = $1 AND resolved_at IS NULL AND auto_detected = TRUE"
    )
    .bind(customer_id)
    .fetch_all(&mut *conn)
    .await)
    .map_err(cscx_store::Error::from)?;
    let nps = usage::nps_responses(
        c.c(),
        customer_id,
        day_start(today - Duration::days(90)),
        day_start(today + Duration::days(1)),
    )
    .await?;
    drop(c);

    let has_primary = stakeholders.iter().any(|s| s.is_primary);
    let primary_removed = !has_primary
        && open.iter().any(|s| {
            s.signal_type == "champion_lost"
                && s.metadata.get("reason").and_then(Value::as_str) == Some("primary_removed")
        });
    let inputs = RiskInputs {
        as_of: today,
        customer_since: customer.created_at.date(),
        usage: rows
            .iter()
            .map(|m| DayUsage {
                date: m.metric_date,
                dau: m.dau.unwrap_or(0),
                mau: m.mau.unwrap_or(0),
                adoption_score: m.adoption_score.unwrap_or(0),
                feature_count: m
                    .feature_adoption
                    .as_ref()
                    .and_then(Value::as_object)
                    .map(|o| o.len() as i32)
                    .unwrap_or(0),
                support_tickets: m.support_tickets.unwrap_or(0),
                high_priority_tickets: m.high_priority_tickets.unwrap_or(0),
            })
            .collect(),
        first_activity: first,
        last_activity: last,
        health_now: customer.health_score,
        health_history: history
            .iter()
            .map(|h| (h.recorded_at.date(), h.score))
            .collect(),
        renewal_date: customer.renewal_date,
        stakeholders: stakeholders
            .iter()
            .map(|s| StakeholderFacts {
                is_primary: s.is_primary,
                sentiment: s.sentiment.clone(),
            })
            .collect(),
        primary_contact_removed: primary_removed,
        nps: nps
            .iter()
            .filter_map(|(t, s)| s.trim().parse::<f64>().ok().map(|v| (t.date(), v as i32)))
            .collect(),
    };
    let detections = risk::detect(&inputs);

    let mut changed = false;
    let mut tx = app.db.begin().await?;
    let open_by_type: HashMap<&str, &RiskSignal> =
        open.iter().map(|s| (s.signal_type.as_str(), s)).collect();
    for d in &detections {
        let mut metadata = d.metadata.clone();
        if d.signal_type == "champion_lost" && primary_removed {
            metadata["reason"] = json!("primary_removed");
        }
        match open_by_type.get(d.signal_type) {
            Some(existing) => {
                if existing.severity != d.severity.as_str()
                    || existing.description.as_deref() != Some(d.description.as_str())
                {
                    let mut s = (*existing).clone();
                    s.severity = d.severity.as_str().into();
                    s.description = Some(d.description.clone());
                    s.metadata = metadata;
                    entity::update(tx.c(), &s).await?;
                    changed = true;
                }
            }
            None => {
                let s = RiskSignal {
                    id: Id::new(),
                    customer_id,
                    signal_type: d.signal_type.into(),
                    severity: d.severity.as_str().into(),
                    description: Some(d.description.clone()),
                    detected_at: now,
                    resolved_at: None,
                    resolution_notes: None,
                    auto_detected: true,
                    source: Some(format!("detector:{}", d.signal_type)),
                    metadata,
                };
                entity::insert(tx.c(), &s).await?;
                changed = true;
            }
        }
    }
    for s in &open {
        if !detections.iter().any(|d| d.signal_type == s.signal_type) {
            let mut s = s.clone();
            s.resolved_at = Some(now);
            s.resolution_notes = Some(format!(
                "Resolved automatically on {today}: the condition no longer holds (was: {}).",
                s.description.as_deref().unwrap_or(&s.signal_type)
            ));
            entity::update(tx.c(), &s).await?;
            changed = true;
        }
    }
    tx.commit().await?;
    Ok(changed)
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

/// Raises `champion_lost` at once when the primary contact is deleted (the detectors cannot
/// see a row that is gone). Runs in the caller's transaction.
pub async fn primary_contact_removed(
    c: DbConn<'_>,
    s: &Stakeholder,
    now: Timestamp,
) -> CoreResult<()> {
    let signal = RiskSignal {
        id: Id::new(),
        customer_id: s.customer_id,
        signal_type: "champion_lost".into(),
        severity: "high".into(),
        description: Some(format!(
            "Primary contact {} was removed and not replaced.",
            s.name
        )),
        detected_at: now,
        resolved_at: None,
        resolution_notes: None,
        auto_detected: true,
        source: Some("stakeholders".into()),
        metadata: json!({ "reason": "primary_removed", "stakeholder": s.name }),
    };
    let mut c = c;
    let sql = "INSERT INTO risk_signals (id, customer_id, signal_type, severity, description, detected_at, resolved_at, resolution_notes, auto_detected, source, metadata)
               VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL, TRUE, $7, $8)
               ON CONFLICT (customer_id, signal_type) WHERE resolved_at IS NULL AND auto_detected DO UPDATE SET severity = excluded.severity, description = excluded.description, metadata = excluded.metadata";
    let sql = match c.backend() {
        cscx_store::Backend::Sqlite => {
            sql.replace("AND auto_detected DO", "AND auto_detected = 1 DO")
        }
        cscx_store::Backend::Postgres => {
            sql.replace("AND auto_detected DO", "AND auto_detected = true DO")
        }
    };
    // The id of the signal now open: this one, or the open one it refreshed.
    let sql = format!("{sql} RETURNING id");
    let open: Id = run!(c.re(), |conn| sqlx::query_scalar(&sql)
        .bind(signal.id)
        .bind(signal.customer_id)
        .bind(&signal.signal_type)
        .bind(&signal.severity)
        .bind(&signal.description)
        .bind(now)
        .bind(&signal.source)
        .bind(&signal.metadata)
        .fetch_one(&mut *conn)
        .await)
    .map_err(cscx_store::Error::from)?;
    let event = Event::SignalRaised {
        signal_id: open.0,
        signal_type: signal.signal_type.clone(),
        severity: signal.severity.clone(),
        source: signal.source.clone(),
    };
    record(c, &event, &Actor::system(), Some(s.customer_id), now).await
}

// ------------------------------------------------------------------------------------------
// Point-in-time scores, back-tests and calibration

/// One customer's score as of a date, for `cscx health score --as-of`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AsOfScore {
    pub customer_id: Id,
    pub name: String,
    pub score: Option<i32>,
    pub grade: Option<String>,
    #[schema(value_type = Object)]
    pub components: BTreeMap<String, i32>,
    pub missing: Vec<String>,
}

/// Scores every customer (or those given) as of the end of `as_of`, point in time.
pub async fn scores_as_of(
    app: &App,
    as_of: NaiveDate,
    only: Option<&[Id]>,
) -> CoreResult<Vec<(Customer, HealthResult)>> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page: Vec<Customer> = {
            let mut c = app.db.conn().await?;
            entity::list(c.c(), after, 500).await?
        };
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for customer in page {
            if only.is_some_and(|ids| !ids.contains(&customer.id)) {
                continue;
            }
            let r = score_as_of(app, &customer, as_of, true).await?;
            out.push((customer, r));
        }
    }
    Ok(out)
}

pub fn as_of_row(customer: &Customer, r: &HealthResult) -> AsOfScore {
    AsOfScore {
        customer_id: customer.id,
        name: customer.name.clone(),
        score: r.score,
        grade: r.grade.map(|g| g.as_str().to_owned()),
        components: r
            .components
            .iter()
            .map(|c| (c.key.clone(), c.score))
            .collect(),
        missing: r.missing.clone(),
    }
}

/// A known outcome: the customer (by id, CRM id or external id) and whether it churned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OutcomeRow {
    pub customer_key: String,
    /// 1 = churned / did not renew, 0 = stayed.
    pub outcome: u8,
}

/// Reads `customer_key,outcome` CSV (header required; `customer_id` is accepted as the first
/// column's name too; outcome 0/1, true/false, yes/no).
pub fn parse_outcomes(text: &str) -> Result<Vec<OutcomeRow>, String> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines.next().ok_or("the outcomes file is empty")?;
    let cols: Vec<String> = header
        .split(',')
        .map(|c| c.trim().trim_matches('"').to_lowercase())
        .collect();
    let key_col = cols
        .iter()
        .position(|c| c == "customer_key" || c == "customer_id")
        .ok_or("the header needs a customer_key (or customer_id) column")?;
    let out_col = cols
        .iter()
        .position(|c| c == "outcome")
        .ok_or("the header needs an outcome column")?;
    let mut rows = Vec::new();
    for (n, line) in lines {
        let cells: Vec<&str> = line
            .split(',')
            .map(|c| c.trim().trim_matches('"'))
            .collect();
        let key = cells
            .get(key_col)
            .filter(|k| !k.is_empty())
            .ok_or(format!("line {}: no customer key", n + 1))?;
        let outcome = match cells.get(out_col).map(|v| v.to_lowercase()).as_deref() {
            Some("1" | "true" | "yes" | "churned") => 1,
            Some("0" | "false" | "no" | "renewed" | "retained") => 0,
            other => {
                return Err(format!(
                    "line {}: outcome {:?} is not 0 or 1",
                    n + 1,
                    other.unwrap_or("")
                ))
            }
        };
        rows.push(OutcomeRow {
            customer_key: key.to_string(),
            outcome,
        });
    }
    Ok(rows)
}

async fn match_outcomes(
    app: &App,
    outcomes: &[OutcomeRow],
) -> CoreResult<(Vec<(Id, bool)>, Vec<String>)> {
    let mut matched = Vec::new();
    let mut unmatched = Vec::new();
    let mut c = app.db.conn().await?;
    for o in outcomes {
        let found = match o.customer_key.parse::<Id>() {
            Ok(id) => entity::get::<Customer>(c.c(), id).await?,
            Err(_) => customers::find_by_external_key(c.c(), &o.customer_key).await?,
        };
        match found {
            Some(cust) => matched.push((cust.id, o.outcome == 1)),
            None => unmatched.push(o.customer_key.clone()),
        }
    }
    Ok((matched, unmatched))
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BacktestReport {
    pub as_of: NaiveDate,
    pub customers_scored: usize,
    /// Outcome rows whose customer was not found.
    pub unmatched: Vec<String>,
    /// Customers without enough data for any component.
    pub unscored: usize,
    pub positives: usize,
    /// Area under the ROC curve of (100 − score) predicting the outcome: 0.5 is chance, 1 perfect.
    pub roc_auc: Option<f64>,
    /// Of customers in the red band, the share that churned.
    pub red_precision: Option<f64>,
    /// Of customers that churned, the share that were in the red band.
    pub red_recall: Option<f64>,
    pub red_below: i32,
    #[schema(value_type = Vec<Object>)]
    pub calibration: Vec<stats::CalibrationRow>,
}

/// Scores the outcome customers as of `as_of` (point in time) and measures how well the score
/// predicted the outcomes.
pub async fn backtest(
    app: &App,
    as_of: NaiveDate,
    outcomes: &[OutcomeRow],
) -> CoreResult<BacktestReport> {
    let (matched, unmatched) = match_outcomes(app, outcomes).await?;
    let labels_by_id: HashMap<Id, bool> = matched.iter().copied().collect();
    let ids: Vec<Id> = matched.iter().map(|(id, _)| *id).collect();
    let results = scores_as_of(app, as_of, Some(&ids)).await?;
    // The bands of the model that scores the portfolio by default.
    let model = model_for(app, None).await?;
    let red_below = model.bands.red_below;
    let mut scores = Vec::new();
    let mut labels = Vec::new();
    let mut unscored = 0;
    for (customer, r) in &results {
        match r.score {
            Some(s) => {
                scores.push(s as f64);
                labels.push(labels_by_id[&customer.id]);
            }
            None => unscored += 1,
        }
    }
    let risk: Vec<f64> = scores.iter().map(|s| 100.0 - s).collect();
    let predicted: Vec<bool> = scores.iter().map(|s| *s < red_below as f64).collect();
    let confusion = stats::Confusion::from(&predicted, &labels);
    Ok(BacktestReport {
        as_of,
        customers_scored: scores.len(),
        unmatched,
        unscored,
        positives: labels.iter().filter(|l| **l).count(),
        roc_auc: stats::roc_auc(&risk, &labels),
        red_precision: confusion.precision(),
        red_recall: confusion.recall(),
        red_below,
        calibration: stats::calibration_table(&scores, &labels, &[0.0, 25.0, 50.0, 75.0, 100.0]),
    })
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CalibrationReport {
    pub as_of: NaiveDate,
    pub customers: usize,
    /// Cross-validated AUC of the fitted weights (5 folds).
    pub cross_validated_auc: Option<f64>,
    /// AUC of the current model on the same customers.
    pub current_auc: Option<f64>,
    /// Component → proposed weight.
    #[schema(value_type = Object)]
    pub weights: BTreeMap<String, f64>,
    /// The stored proposal (status `proposed`): activate it to use it.
    pub proposed_model_id: Option<Id>,
    pub note: String,
}

/// Fits component weights to the outcomes with logistic regression and stores the result as a
/// *proposed* model; the active model is untouched until an admin activates the proposal.
pub async fn calibrate(
    app: &App,
    as_of: NaiveDate,
    outcomes: &[OutcomeRow],
    by: Option<Id>,
) -> CoreResult<CalibrationReport> {
    let (matched, _) = match_outcomes(app, outcomes).await?;
    let labels_by_id: HashMap<Id, bool> = matched.iter().copied().collect();
    let ids: Vec<Id> = matched.iter().map(|(id, _)| *id).collect();
    let results = scores_as_of(app, as_of, Some(&ids)).await?;
    // Fit the weights of the active default model (its measures and bands stay).
    let current = model_for(app, None).await?;
    let keys: Vec<String> = current.components.iter().map(|c| c.key.clone()).collect();
    // Component scores as features; a missing component takes the mean of the others' values
    // for that component (documented), so a customer is not dropped for one gap.
    let mut columns: Vec<Vec<Option<f64>>> = vec![Vec::new(); keys.len()];
    let mut labels = Vec::new();
    let mut current_scores = Vec::new();
    for (customer, r) in &results {
        let Some(score) = r.score else { continue };
        for (i, k) in keys.iter().enumerate() {
            columns[i].push(
                r.components
                    .iter()
                    .find(|c| &c.key == k)
                    .map(|c| c.score as f64),
            );
        }
        labels.push(labels_by_id[&customer.id]);
        current_scores.push(100.0 - score as f64);
    }
    let means: Vec<f64> = columns
        .iter()
        .map(|col| {
            let present: Vec<f64> = col.iter().flatten().copied().collect();
            if present.is_empty() {
                50.0
            } else {
                present.iter().sum::<f64>() / present.len() as f64
            }
        })
        .collect();
    let x: Vec<Vec<f64>> = (0..labels.len())
        .map(|row| {
            (0..keys.len())
                .map(|i| columns[i][row].unwrap_or(means[i]))
                .collect()
        })
        .collect();
    let positives = labels.iter().filter(|l| **l).count();
    if x.len() < 10 || positives < 2 || positives == labels.len() {
        return Ok(CalibrationReport {
            as_of,
            customers: x.len(),
            cross_validated_auc: None,
            current_auc: stats::roc_auc(&current_scores, &labels),
            weights: BTreeMap::new(),
            proposed_model_id: None,
            note: "not enough scored customers with both outcomes (need at least 10, with churned and retained ones)".into(),
        });
    }
    let fit = stats::Logistic::fit(&x, &labels, 1e-3, 500);
    let cv = stats::cross_validated_auc(&x, &labels, 5, 1e-3);
    // Higher health should mean less churn: a component's weight is its negative coefficient.
    let raw: Vec<f64> = fit.weights.iter().map(|w| (-w).max(0.0)).collect();
    let total: f64 = raw.iter().sum();
    if total <= 0.0 {
        return Ok(CalibrationReport {
            as_of,
            customers: x.len(),
            cross_validated_auc: cv,
            current_auc: stats::roc_auc(&current_scores, &labels),
            weights: BTreeMap::new(),
            proposed_model_id: None,
            note:
                "no component's score lowered churn in these outcomes; the current weights are kept"
                    .into(),
        });
    }
    let weights: BTreeMap<String, f64> = keys
        .iter()
        .zip(&raw)
        .map(|(k, w)| (k.clone(), (w / total * 1000.0).round() / 1000.0))
        .collect();
    let mut proposed = current.clone();
    proposed.name = format!("calibrated {as_of}");
    for comp in &mut proposed.components {
        comp.weight = weights[&comp.key];
    }
    let note = format!(
        "fitted on {} customers ({positives} churned) scored as of {as_of}",
        x.len()
    );
    let stored = save_model(app, &proposed, false, Some(&note), by).await?;
    Ok(CalibrationReport {
        as_of,
        customers: x.len(),
        cross_validated_auc: cv,
        current_auc: stats::roc_auc(&current_scores, &labels),
        weights,
        proposed_model_id: Some(stored.id),
        note,
    })
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| format!("{s:?} is not a date (YYYY-MM-DD)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_csv() {
        let rows = parse_outcomes("customer_key,outcome\nacct-1,1\n\"acct-2\", no\n").unwrap();
        assert_eq!(
            rows,
            vec![
                OutcomeRow {
                    customer_key: "acct-1".into(),
                    outcome: 1
                },
                OutcomeRow {
                    customer_key: "acct-2".into(),
                    outcome: 0
                },
            ]
        );
        assert!(parse_outcomes("key,result\n").is_err());
        assert!(parse_outcomes("customer_key,outcome\nx,maybe\n")
            .unwrap_err()
            .contains("line 2"));
    }

    #[test]
    fn executives_are_recognised_by_title() {
        assert!(is_executive(Some("VP Customer Success")));
        assert!(is_executive(Some("Chief Financial Officer")));
        assert!(!is_executive(Some("IT Admin")));
        assert!(!is_executive(None));
    }
}

// ------------------------------------------------------------------------------------------
// Risk signals by hand, and listing them

/// Filters of the portfolio-wide risk signal list.
#[derive(Debug, Clone, Default)]
pub struct SignalFilter {
    pub customer_id: Option<Id>,
    pub severity: Option<String>,
    pub signal_type: Option<String>,
    /// `open`, `resolved`, or any.
    pub status: Option<String>,
}

/// A signal with its customer's name, for lists that show both.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NamedSignal {
    #[sqlx(flatten)]
    pub signal: RiskSignal,
    pub customer_name: String,
}

/// Signals, newest first (keyset on id, descending).
pub async fn list_signals(
    app: &App,
    f: &SignalFilter,
    before: Option<Id>,
    limit: u32,
) -> CoreResult<Vec<RiskSignal>> {
    Ok(list_named_signals(app, f, before, limit)
        .await?
        .into_iter()
        .map(|n| n.signal)
        .collect())
}

/// [`list_signals`] with each customer's name, in the same query.
pub async fn list_named_signals(
    app: &App,
    f: &SignalFilter,
    before: Option<Id>,
    limit: u32,
) -> CoreResult<Vec<NamedSignal>> {
    let mut c = app.db.conn().await?;
    let open = f.status.as_deref().map(|s| s == "open");
    Ok(run!(c.c(), |conn| sqlx::query_as::<_, NamedSignal>(
        "SELECT r.*, c.name AS customer_name FROM risk_signals r JOIN customers c ON c.id = r.customer_id
         WHERE ($1 IS NULL OR r.customer_id = $1) AND ($2 IS NULL OR r.severity = $2)
           AND ($3 IS NULL OR r.signal_type = $3)
           AND ($4 IS NULL OR ($4 = TRUE AND r.resolved_at IS NULL) OR ($4 = FALSE AND r.resolved_at IS NOT NULL))
           AND ($5 IS NULL OR r.id < $5)
         ORDER BY r.id DESC LIMIT $6"
    )
    .bind(f.customer_id)
    .bind(&f.severity)
    .bind(&f.signal_type)
    .bind(open)
    .bind(before)
    .bind(limit as i64)
    .fetch_all(&mut *conn)
    .await)
    .map_err(cscx_store::Error::from)?)
}

/// `POST /api/v1/customers/{id}/risk-signals` body.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSignal {
    pub signal_type: String,
    /// low, medium, high or critical.
    pub severity: String,
    pub description: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
}

/// Records a signal raised by a person (`auto_detected` false, `source` names them).
pub async fn create_signal(
    app: &App,
    who: &Principal,
    customer_id: Id,
    new: NewSignal,
) -> CoreResult<RiskSignal> {
    crate::authz::write_portfolio(who)?;
    let by = who.email.as_str();
    let mut e = cscx_domain::FieldErrors::new();
    e.check(
        "signal_type",
        Some(new.signal_type.as_str()),
        cscx_domain::validate::text(50),
    );
    if new.severity.parse::<risk::Severity>().is_err() {
        e.add("severity", "must be one of low, medium, high, critical");
    }
    e.check(
        "description",
        new.description.as_deref(),
        cscx_domain::validate::text(2000),
    );
    if new.metadata.as_ref().is_some_and(|m| !m.is_object()) {
        e.add("metadata", "must be a JSON object");
    }
    e.into_result()?;
    let now = app.now();
    let mut tx = app.db.begin().await?;
    entity::get::<Customer>(tx.c(), customer_id)
        .await?
        .ok_or(CoreError::NotFound("customer"))?;
    let s = RiskSignal {
        id: Id::new(),
        customer_id,
        signal_type: new.signal_type.trim().to_owned(),
        severity: new.severity,
        description: new.description,
        detected_at: now,
        resolved_at: None,
        resolution_notes: None,
        auto_detected: false,
        source: Some(format!("manual:{by}")),
        metadata: new.metadata.unwrap_or_else(|| json!({})),
    };
    entity::insert(tx.c(), &s).await?;
    let event = Event::SignalRaised {
        signal_id: s.id.0,
        signal_type: s.signal_type.clone(),
        severity: s.severity.clone(),
        source: s.source.clone(),
    };
    record(tx.c(), &event, &Actor::of(who), Some(customer_id), now).await?;
    tx.commit().await?;
    Ok(s)
}

/// Resolves a signal with a note. An automatic signal whose condition still holds is raised
/// again by the next detector run (the note says who closed it and when).
pub async fn resolve_signal(
    app: &App,
    who: &Principal,
    id: Id,
    notes: Option<String>,
) -> CoreResult<RiskSignal> {
    crate::authz::write_portfolio(who)?;
    let by = who.email.as_str();
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let mut s: RiskSignal = entity::get_for_update(tx.c(), id)
        .await?
        .ok_or(CoreError::NotFound("risk signal"))?;
    if s.resolved_at.is_some() {
        return Err(CoreError::Conflict(
            "this signal is already resolved".into(),
        ));
    }
    s.resolved_at = Some(now);
    s.resolution_notes = Some(match notes {
        Some(n) if !n.trim().is_empty() => format!("{} (resolved by {by})", n.trim()),
        _ => format!("Resolved by {by}."),
    });
    entity::update(tx.c(), &s).await?;
    let event = Event::SignalResolved {
        signal_id: s.id.0,
        signal_type: s.signal_type.clone(),
    };
    record(tx.c(), &event, &Actor::of(who), Some(s.customer_id), now).await?;
    tx.commit().await?;
    Ok(s)
}

/// Recorded health scores of a customer, newest first (keyset on recorded time and id).
pub async fn health_history(
    app: &App,
    customer_id: Id,
    before: Option<Id>,
    limit: u32,
) -> CoreResult<Vec<HealthScore>> {
    let mut c = app.db.conn().await?;
    Ok(run!(c.c(), |conn| sqlx::query_as::<_, HealthScore>(
        "SELECT * FROM health_score_history WHERE customer_id = $1 AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
    )
    .bind(customer_id)
    .bind(before)
    .bind(limit as i64)
    .fetch_all(&mut *conn)
    .await)
    .map_err(cscx_store::Error::from)?)
}

/// The latest recorded health of a customer.
pub async fn current_health(app: &App, customer_id: Id) -> CoreResult<Option<HealthScore>> {
    let mut c = app.db.conn().await?;
    latest_history(c.c(), customer_id).await
}
