//! Health history, health models and risk signals.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{HealthScore, RiskSignal};
use crate::{run, Backend, DbConn, Id, Result, Timestamp};

// ------------------------------------------------------------------------------------------
// Health history

pub async fn latest_health(c: DbConn<'_>, customer_id: Id) -> Result<Option<HealthScore>> {
    Ok(run!(c, |conn| {
        sqlx::query_as::<_, HealthScore>(
        "SELECT * FROM health_score_history WHERE customer_id = $1 ORDER BY recorded_at DESC, id DESC LIMIT 1"
    )
    .bind(customer_id)
    .fetch_optional(&mut *conn)
    .await
    })?)
}

/// Newest first, keyset on id.
pub async fn health_page(
    c: DbConn<'_>,
    customer_id: Id,
    before: Option<Id>,
    limit: u32,
) -> Result<Vec<HealthScore>> {
    Ok(run!(c, |conn| {
        sqlx::query_as::<_, HealthScore>(
        "SELECT * FROM health_score_history WHERE customer_id = $1 AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
    )
    .bind(customer_id)
    .bind(before)
    .bind(limit as i64)
    .fetch_all(&mut *conn)
    .await
    })?)
}

/// Every score recorded since `from`, oldest first (the detectors read about 30 days).
pub async fn health_since(
    c: DbConn<'_>,
    customer_id: Id,
    from: Timestamp,
) -> Result<Vec<HealthScore>> {
    Ok(run!(c, |conn| {
        sqlx::query_as::<_, HealthScore>(
        "SELECT * FROM health_score_history WHERE customer_id = $1 AND recorded_at >= $2 ORDER BY recorded_at"
    )
    .bind(customer_id)
    .bind(from)
    .fetch_all(&mut *conn)
    .await
    })?)
}

/// Sets `customers.health_score` (the value lists sort and filter on).
pub async fn set_customer_health(
    c: DbConn<'_>,
    customer_id: Id,
    score: i32,
    now: Timestamp,
) -> Result<()> {
    run!(c, |conn| sqlx::query(
        "UPDATE customers SET health_score = $2, updated_at = $3 WHERE id = $1"
    )
    .bind(customer_id)
    .bind(score)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map(|_| ()))?;
    Ok(())
}

/// The last day with usage metrics, if any.
pub async fn last_metric_date(c: DbConn<'_>, customer_id: Id) -> Result<Option<NaiveDate>> {
    Ok(run!(c, |conn| sqlx::query_scalar::<_, Option<NaiveDate>>(
        "SELECT MAX(metric_date) FROM usage_metrics WHERE customer_id = $1"
    )
    .bind(customer_id)
    .fetch_one(&mut *conn)
    .await)?)
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

/// Every model, oldest first (a handful per segment).
pub async fn models(c: DbConn<'_>) -> Result<Vec<StoredModel>> {
    Ok(run!(c, |conn| sqlx::query_as::<_, StoredModel>(
        "SELECT * FROM health_models ORDER BY id"
    )
    .fetch_all(&mut *conn)
    .await)?)
}

pub async fn model(c: DbConn<'_>, id: Id) -> Result<Option<StoredModel>> {
    Ok(run!(c, |conn| sqlx::query_as::<_, StoredModel>(
        "SELECT * FROM health_models WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await)?)
}

pub async fn insert_model(c: DbConn<'_>, m: &StoredModel) -> Result<()> {
    run!(c, |conn| {
        sqlx::query(
        "INSERT INTO health_models (id, name, segment_key, config, status, notes, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    )
    .bind(m.id)
    .bind(&m.name)
    .bind(&m.segment_key)
    .bind(&m.config)
    .bind(&m.status)
    .bind(&m.notes)
    .bind(m.created_by)
    .bind(m.created_at)
    .bind(m.updated_at)
    .execute(&mut *conn)
    .await
    .map(|_| ())
    })?;
    Ok(())
}

/// Makes `id` its segment's active model; the segment's previous active one is archived.
pub async fn activate_model(
    mut c: DbConn<'_>,
    id: Id,
    segment_key: &str,
    now: Timestamp,
) -> Result<()> {
    run!(c.re(), |conn| {
        sqlx::query(
        "UPDATE health_models SET status = 'archived', updated_at = $2 WHERE segment_key = $1 AND status = 'active' AND id <> $3"
    )
    .bind(segment_key)
    .bind(now)
    .bind(id)
    .execute(&mut *conn)
    .await
    .map(|_| ())
    })?;
    run!(c, |conn| sqlx::query(
        "UPDATE health_models SET status = 'active', updated_at = $2 WHERE id = $1"
    )
    .bind(id)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map(|_| ()))?;
    Ok(())
}

/// The active configs for `segment` and for the default (`""`): `(segment_key, config)`.
pub async fn active_model_configs(c: DbConn<'_>, segment: &str) -> Result<Vec<(String, Value)>> {
    Ok(run!(c, |conn| {
        sqlx::query_as(
        "SELECT segment_key, config FROM health_models WHERE status = 'active' AND (segment_key = $1 OR segment_key = '')"
    )
    .bind(segment)
    .fetch_all(&mut *conn)
    .await
    })?)
}

// ------------------------------------------------------------------------------------------
// Risk signals

/// Signals open at `at`: detected before it and not resolved by then.
pub async fn signals_open_at(
    c: DbConn<'_>,
    customer_id: Id,
    at: Timestamp,
) -> Result<Vec<RiskSignal>> {
    Ok(run!(c, |conn| {
        sqlx::query_as::<_, RiskSignal>(
        "SELECT * FROM risk_signals WHERE customer_id = $1 AND detected_at < $2 AND (resolved_at IS NULL OR resolved_at >= $2)"
    )
    .bind(customer_id)
    .bind(at)
    .fetch_all(&mut *conn)
    .await
    })?)
}

/// The detectors' own signals still open.
pub async fn open_auto_signals(c: DbConn<'_>, customer_id: Id) -> Result<Vec<RiskSignal>> {
    Ok(run!(c, |conn| {
        sqlx::query_as::<_, RiskSignal>(
        "SELECT * FROM risk_signals WHERE customer_id = $1 AND resolved_at IS NULL AND auto_detected = TRUE"
    )
    .bind(customer_id)
    .fetch_all(&mut *conn)
    .await
    })?)
}

/// The upsert on the partial unique index of open automatic signals. Each backend's text
/// repeats its index's predicate exactly, as the conflict target requires (SQLite keeps
/// booleans as 0/1).
macro_rules! upsert_open_auto {
    ($true:literal) => {
        concat!(
            "INSERT INTO risk_signals (id, customer_id, signal_type, severity, description, detected_at, resolved_at, resolution_notes, auto_detected, source, metadata)
             VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL, TRUE, $7, $8)
             ON CONFLICT (customer_id, signal_type) WHERE resolved_at IS NULL AND auto_detected = ",
            $true,
            " DO UPDATE SET severity = excluded.severity, description = excluded.description, metadata = excluded.metadata
             RETURNING id"
        )
    };
}

/// Opens an automatic signal, or refreshes the one of its type already open. Returns the id
/// of the signal now open.
pub async fn raise_auto_signal(c: DbConn<'_>, s: &RiskSignal) -> Result<Id> {
    let sql = match c.backend() {
        Backend::Sqlite => upsert_open_auto!("1"),
        Backend::Postgres => upsert_open_auto!("true"),
    };
    Ok(run!(c, |conn| sqlx::query_scalar(sql)
        .bind(s.id)
        .bind(s.customer_id)
        .bind(&s.signal_type)
        .bind(s.severity)
        .bind(&s.description)
        .bind(s.detected_at)
        .bind(&s.source)
        .bind(&s.metadata)
        .fetch_one(&mut *conn)
        .await)?)
}

/// Filters of the portfolio-wide signal list.
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

/// Newest first, keyset on id.
pub async fn signals_page(
    c: DbConn<'_>,
    f: &SignalFilter,
    before: Option<Id>,
    limit: u32,
) -> Result<Vec<NamedSignal>> {
    let open = f.status.as_deref().map(|s| s == "open");
    Ok(run!(c, |conn| {
        sqlx::query_as::<_, NamedSignal>(
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
    .await
    })?)
}
