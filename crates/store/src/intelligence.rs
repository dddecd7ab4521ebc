//! Health history, health models and risk signals.

use chrono::NaiveDate;
use cscx_domain::health::Grade;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{HealthScore, RiskSignal};
use crate::{Backend, DbConn, Id, Result, Timestamp};

// ------------------------------------------------------------------------------------------
// Health history

pub async fn latest_health(c: DbConn<'_>, customer_id: Id) -> Result<Option<HealthScore>> {
    Ok(crate::sql!(
        c,
        optional HealthScore,
        "SELECT * FROM health_score_history WHERE customer_id = $1 ORDER BY recorded_at DESC, id DESC LIMIT 1",
        customer_id,
    )?)
}

/// Newest first, keyset on id.
pub async fn health_page(
    c: DbConn<'_>,
    customer_id: Id,
    before: Option<Id>,
    limit: u32,
) -> Result<Vec<HealthScore>> {
    Ok(crate::sql!(
        c,
        all HealthScore,
        "SELECT * FROM health_score_history WHERE customer_id = $1 AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
        customer_id,
        before,
        limit as i64,
    )?)
}

/// Every score recorded since `from`, oldest first (the detectors read about 30 days).
pub async fn health_since(
    c: DbConn<'_>,
    customer_id: Id,
    from: Timestamp,
) -> Result<Vec<HealthScore>> {
    Ok(crate::sql!(
        c,
        all HealthScore,
        "SELECT * FROM health_score_history WHERE customer_id = $1 AND recorded_at >= $2 ORDER BY recorded_at",
        customer_id,
        from,
    )?)
}

/// Sets `customers.health_score` and its band (what lists sort and filter on).
pub async fn set_customer_health(
    c: DbConn<'_>,
    customer_id: Id,
    score: i32,
    band: Grade,
    now: Timestamp,
) -> Result<()> {
    crate::sql!(
        c,
        execute,
        "UPDATE customers SET health_score = $2, health_band = $3, updated_at = $4 WHERE id = $1",
        customer_id,
        score,
        crate::Text(band),
        now,
    )
    .map(|_| ())?;
    Ok(())
}

/// The last day with usage metrics, if any.
pub async fn last_metric_date(c: DbConn<'_>, customer_id: Id) -> Result<Option<NaiveDate>> {
    Ok(crate::sql!(
        c,
        scalar Option<NaiveDate>,
        "SELECT MAX(metric_date) FROM usage_metrics WHERE customer_id = $1",
        customer_id,
    )?)
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
    Ok(crate::sql!(c, all StoredModel, "SELECT * FROM health_models ORDER BY id")?)
}

pub async fn model(c: DbConn<'_>, id: Id) -> Result<Option<StoredModel>> {
    Ok(crate::sql!(c, optional StoredModel, "SELECT * FROM health_models WHERE id = $1", id)?)
}

pub async fn insert_model(c: DbConn<'_>, m: &StoredModel) -> Result<()> {
    crate::sql!(
        c,
        execute,
        "INSERT INTO health_models (id, name, segment_key, config, status, notes, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        m.id,
        &m.name,
        &m.segment_key,
        &m.config,
        &m.status,
        &m.notes,
        m.created_by,
        m.created_at,
        m.updated_at,
    ).map(|_| ())?;
    Ok(())
}

/// Makes `id` its segment's active model; the segment's previous active one is archived.
pub async fn activate_model(
    mut c: DbConn<'_>,
    id: Id,
    segment_key: &str,
    now: Timestamp,
) -> Result<()> {
    crate::sql!(
        c.re(),
        execute,
        "UPDATE health_models SET status = 'archived', updated_at = $2 WHERE segment_key = $1 AND status = 'active' AND id <> $3",
        segment_key,
        now,
        id,
    ).map(|_| ())?;
    crate::sql!(
        c,
        execute,
        "UPDATE health_models SET status = 'active', updated_at = $2 WHERE id = $1",
        id,
        now,
    )
    .map(|_| ())?;
    Ok(())
}

/// The active configs for `segment` and for the default (`""`): `(segment_key, config)`.
pub async fn active_model_configs(c: DbConn<'_>, segment: &str) -> Result<Vec<(String, Value)>> {
    Ok(crate::sql!(
        c,
        all _,
        "SELECT segment_key, config FROM health_models WHERE status = 'active' AND (segment_key = $1 OR segment_key = '')",
        segment,
    )?)
}

// ------------------------------------------------------------------------------------------
// Risk signals

/// Signals open at `at`: detected before it and not resolved by then.
pub async fn signals_open_at(
    c: DbConn<'_>,
    customer_id: Id,
    at: Timestamp,
) -> Result<Vec<RiskSignal>> {
    Ok(crate::sql!(
        c,
        all RiskSignal,
        "SELECT * FROM risk_signals WHERE customer_id = $1 AND detected_at < $2 AND (resolved_at IS NULL OR resolved_at >= $2)",
        customer_id,
        at,
    )?)
}

/// The detectors' own signals still open.
pub async fn open_auto_signals(c: DbConn<'_>, customer_id: Id) -> Result<Vec<RiskSignal>> {
    Ok(crate::sql!(
        c,
        all RiskSignal,
        "SELECT * FROM risk_signals WHERE customer_id = $1 AND resolved_at IS NULL AND auto_detected = TRUE",
        customer_id,
    )?)
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
    Ok(crate::sql!(
        c,
        scalar _,
        sql,
        s.id,
        s.customer_id,
        &s.signal_type,
        s.severity,
        &s.description,
        s.detected_at,
        &s.source,
        &s.metadata,
    )?)
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
    Ok(crate::sql!(
        c,
        all NamedSignal,
        "SELECT r.*, c.name AS customer_name FROM risk_signals r JOIN customers c ON c.id = r.customer_id
         WHERE ($1 IS NULL OR r.customer_id = $1) AND ($2 IS NULL OR r.severity = $2)
           AND ($3 IS NULL OR r.signal_type = $3)
           AND ($4 IS NULL OR ($4 = TRUE AND r.resolved_at IS NULL) OR ($4 = FALSE AND r.resolved_at IS NOT NULL))
           AND ($5 IS NULL OR r.id < $5)
         ORDER BY r.id DESC LIMIT $6",
        f.customer_id,
        &f.severity,
        &f.signal_type,
        open,
        before,
        limit as i64,
    )?)
}
