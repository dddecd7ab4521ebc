//! Usage ingestion, usage series, health scores and models, back-tests, and risk signals.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use cscx_core::ingest::{self, IngestReport, MAX_BATCH_BYTES, MAX_BATCH_EVENTS};
use cscx_core::intelligence::{
    self as intel, BacktestReport, CalibrationReport, NewSignal, OutcomeRow, SignalFilter,
    StoredModel,
};
use cscx_domain::health::{HealthModel, HealthResult};
use cscx_domain::Role;
use cscx_store::model::{HealthScore, RiskSignal, UsageMetric};
use cscx_store::{usage, Id};

use super::{created, limit, path_id, Page};
use crate::error::{ApiError, ApiResult, Code, ErrorBody};
use crate::extract::{Caller, IngestCaller, Params, Typed};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(ingest_events))
        .routes(routes!(customer_usage))
        .routes(routes!(customer_health))
        .routes(routes!(customer_health_history))
        .routes(routes!(recompute_health))
        .routes(routes!(list_models, create_model))
        .routes(routes!(get_model))
        .routes(routes!(activate_model))
        .routes(routes!(run_backtest))
        .routes(routes!(run_calibration))
        .routes(routes!(list_signals))
        .routes(routes!(customer_signals, create_signal))
        .routes(routes!(resolve_signal))
}

/// Ingest a batch of product usage events: a JSON array, or NDJSON (one event per line), of up
/// to 10,000 events or 5 MB. Each event: `{event_id?, customer_id | customer_key, event_type,
/// user_id?, timestamp?, metadata?}`; `customer_key` matches a customer's salesforce_id,
/// hubspot_id or metadata.external_id. Answers 200 when every event was accepted (or was a
/// duplicate by event_id), 207 when some were rejected (each listed with its index and reason),
/// 422 when all were. Needs an ingest-scoped token or a writer role.
#[utoipa::path(post, path = "/api/v1/usage/events", tag = "usage",
    request_body(content = Vec<Object>, description = "JSON array or NDJSON of events"),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried batch a no-op (24 h)")),
    responses((status = 200, body = IngestReport), (status = 207, body = IngestReport), (status = 413, body = ErrorBody), (status = 422, body = IngestReport)))]
async fn ingest_events(
    State(s): State<AppState>,
    _c: IngestCaller,
    body: axum::body::Body,
) -> ApiResult<Response> {
    let too_large = || {
        ApiError::new(
            Code::PayloadTooLarge,
            format!(
                "a batch may hold at most {MAX_BATCH_EVENTS} events and {} MB",
                MAX_BATCH_BYTES / 1024 / 1024
            ),
        )
    };
    let bytes = axum::body::to_bytes(body, MAX_BATCH_BYTES)
        .await
        .map_err(|_| too_large())?;
    let events = ingest::parse_batch(&bytes).map_err(|m| ApiError::new(Code::InvalidJson, m))?;
    if events.len() > MAX_BATCH_EVENTS {
        return Err(too_large());
    }
    if events.is_empty() {
        return Err(ApiError::bad_request("the batch holds no events"));
    }
    let total = events.len();
    let report = ingest::ingest(&s.app, events).await?;
    let status = if report.rejected.is_empty() {
        StatusCode::OK
    } else if report.rejected.len() == total {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::MULTI_STATUS
    };
    Ok((status, Json(report)).into_response())
}

fn date_param(p: &Params, name: &str) -> Result<Option<NaiveDate>, ApiError> {
    p.parse(name, "a date (YYYY-MM-DD)")
}

/// A customer's daily usage metrics (`from`/`to` inclusive, default the last 90 days).
#[utoipa::path(get, path = "/api/v1/customers/{id}/usage", tag = "usage",
    params(("id" = String, Path), ("from" = Option<String>, Query), ("to" = Option<String>, Query)),
    responses((status = 200, body = Vec<UsageMetric>), (status = 404, body = ErrorBody)))]
async fn customer_usage(
    State(s): State<AppState>,
    _c: Caller,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<Json<Vec<UsageMetric>>> {
    p.only(&["from", "to"])?;
    let id = path_id(&id)?;
    cscx_core::portfolio::get_customer(&s.app, id).await?;
    let to = date_param(&p, "to")?.unwrap_or_else(|| s.app.now().date());
    let from = date_param(&p, "from")?.unwrap_or(to - Duration::days(89));
    if from > to {
        return Err(ApiError::invalid_parameter("from", "must not be after to"));
    }
    if (to - from).num_days() > 731 {
        return Err(ApiError::invalid_parameter(
            "from",
            "the range may span at most two years",
        ));
    }
    let mut c = s.app.db.conn().await?;
    Ok(Json(usage::metrics(c.c(), id, from, to).await?))
}

/// The latest recorded health of a customer, with its components and reasons.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CurrentHealth {
    pub customer_id: Id,
    pub score: Option<i32>,
    pub recorded_at: Option<cscx_store::Timestamp>,
    /// The full explanation: components with score, weight, measures and reason; what was left
    /// out for lack of data; what changed since the score before.
    #[schema(value_type = Option<Object>)]
    pub result: Option<Value>,
}

/// A customer's current health score and why.
#[utoipa::path(get, path = "/api/v1/customers/{id}/health", tag = "health",
    params(("id" = String, Path)), responses((status = 200, body = CurrentHealth), (status = 404, body = ErrorBody)))]
async fn customer_health(
    State(s): State<AppState>,
    _c: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<CurrentHealth>> {
    let id = path_id(&id)?;
    let customer = cscx_core::portfolio::get_customer(&s.app, id).await?;
    let latest = intel::current_health(&s.app, id).await?;
    Ok(Json(CurrentHealth {
        customer_id: id,
        score: customer.health_score,
        recorded_at: latest.as_ref().map(|h| h.recorded_at),
        result: latest.and_then(|h| h.components),
    }))
}

/// A customer's recorded health scores, newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/health/history", tag = "health",
    params(("id" = String, Path), ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = Page<HealthScore>), (status = 404, body = ErrorBody)))]
async fn customer_health_history(
    State(s): State<AppState>,
    _c: Caller,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<Json<Page<HealthScore>>> {
    p.only(&["limit", "cursor"])?;
    let id = path_id(&id)?;
    cscx_core::portfolio::get_customer(&s.app, id).await?;
    let limit = limit(&p)?;
    let rows = intel::health_history(
        &s.app,
        id,
        p.parse("cursor", "a cursor returned by this list")?,
        limit + 1,
    )
    .await?;
    Ok(Json(super::id_page(rows, limit, |h| h.id)))
}

/// Recompute a customer's health and risk signals now (normally done within seconds of new
/// data by the job queue, and nightly).
#[utoipa::path(post, path = "/api/v1/customers/{id}/health/recompute", tag = "health",
    params(("id" = String, Path)), responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn recompute_health(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<HealthResult>> {
    c.writer()?;
    let id = path_id(&id)?;
    cscx_core::portfolio::get_customer(&s.app, id).await?;
    intel::rollup_customer(&s.app, id).await?;
    let result = intel::refresh_customer(&s.app, id)
        .await?
        .ok_or(ApiError::not_found("customer"))?;
    Ok(Json(result))
}

/// Health models: the active one per segment scores customers; proposed ones wait.
#[utoipa::path(get, path = "/api/v1/health/models", tag = "health", responses((status = 200, body = Vec<StoredModel>)))]
async fn list_models(State(s): State<AppState>, _c: Caller) -> ApiResult<Json<Vec<StoredModel>>> {
    Ok(Json(intel::list_models(&s.app).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewModel {
    /// The model: `{name, segment, bands: {red_below, green_from}, components: [{key, weight, measures: {name: weight}}]}`.
    #[schema(value_type = Object)]
    pub model: HealthModel,
    /// Make it the active model of its segment now (default: store as proposed).
    #[serde(default)]
    pub activate: bool,
    pub notes: Option<String>,
}

/// Store a health model (admin). Weights and thresholds are validated.
#[utoipa::path(post, path = "/api/v1/health/models", tag = "health", request_body = NewModel,
    responses((status = 201, body = StoredModel), (status = 422, body = ErrorBody)))]
async fn create_model(
    State(s): State<AppState>,
    c: Caller,
    Typed(m): Typed<NewModel>,
) -> ApiResult<Response> {
    let p = c.admin()?;
    let stored = intel::save_model(
        &s.app,
        &m.model,
        m.activate,
        m.notes.as_deref(),
        Some(p.user_id),
    )
    .await?;
    Ok(created(
        format!("/api/v1/health/models/{}", stored.id),
        &stored,
    ))
}

/// One health model.
#[utoipa::path(get, path = "/api/v1/health/models/{id}", tag = "health",
    params(("id" = String, Path)), responses((status = 200, body = StoredModel), (status = 404, body = ErrorBody)))]
async fn get_model(
    State(s): State<AppState>,
    _c: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<StoredModel>> {
    Ok(Json(intel::get_model(&s.app, path_id(&id)?).await?))
}

/// Make a model the active one of its segment (admin); every customer is rescored.
#[utoipa::path(post, path = "/api/v1/health/models/{id}/activate", tag = "health",
    params(("id" = String, Path)), responses((status = 200, body = StoredModel), (status = 404, body = ErrorBody)))]
async fn activate_model(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<StoredModel>> {
    c.admin()?;
    Ok(Json(intel::activate_model(&s.app, path_id(&id)?).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomesRequest {
    /// Score customers using only data up to the end of this day.
    pub as_of: NaiveDate,
    /// Known outcomes: 1 = churned or did not renew, 0 = stayed.
    pub outcomes: Vec<OutcomeRow>,
}

/// Back-test the health score: score the given customers as of a past date (point in time) and
/// measure how well the score predicted the outcomes (ROC AUC, precision and recall of the red
/// band, calibration table). Managers and admins.
#[utoipa::path(post, path = "/api/v1/health/backtest", tag = "health", request_body = OutcomesRequest,
    responses((status = 200, body = BacktestReport), (status = 409, description = "events still wait to be rolled up", body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn run_backtest(
    State(s): State<AppState>,
    c: Caller,
    Typed(r): Typed<OutcomesRequest>,
) -> ApiResult<Json<BacktestReport>> {
    c.require(Role::Manager)?;
    Ok(Json(intel::backtest(&s.app, r.as_of, &r.outcomes).await?))
}

/// Fit component weights to known outcomes (logistic regression, 5-fold cross-validated AUC)
/// and store them as a proposed model; nothing changes until an admin activates it.
#[utoipa::path(post, path = "/api/v1/health/calibrate", tag = "health", request_body = OutcomesRequest,
    responses((status = 200, body = CalibrationReport), (status = 409, description = "events still wait to be rolled up", body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn run_calibration(
    State(s): State<AppState>,
    c: Caller,
    Typed(r): Typed<OutcomesRequest>,
) -> ApiResult<Json<CalibrationReport>> {
    let p = c.admin()?;
    Ok(Json(
        intel::calibrate(&s.app, r.as_of, &r.outcomes, Some(p.user_id)).await?,
    ))
}

fn signal_filter(p: &Params) -> Result<SignalFilter, ApiError> {
    let severity = p.str("severity").map(str::to_owned);
    if let Some(sv) = &severity {
        sv.parse::<cscx_domain::risk::Severity>().map_err(|_| {
            ApiError::invalid_parameter("severity", "must be low, medium, high or critical")
        })?;
    }
    let status = p.str("status").map(str::to_owned);
    if status
        .as_deref()
        .is_some_and(|s| s != "open" && s != "resolved")
    {
        return Err(ApiError::invalid_parameter(
            "status",
            "must be open or resolved",
        ));
    }
    Ok(SignalFilter {
        customer_id: p.parse("customer_id", "a UUID")?,
        severity,
        signal_type: p.str("signal_type").map(str::to_owned),
        status,
    })
}

/// Risk signals across the portfolio, newest first; with `format=csv`, every matching signal
/// as one CSV file.
#[utoipa::path(get, path = "/api/v1/risk-signals", tag = "risk",
    params(("format" = Option<String>, Query, description = "json (default) or csv: the whole filtered list"), ("severity" = Option<String>, Query), ("signal_type" = Option<String>, Query), ("status" = Option<String>, Query, description = "open or resolved"),
           ("customer_id" = Option<String>, Query), ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, content((Page<RiskSignal> = "application/json"), (String = "text/csv"))), (status = 400, body = ErrorBody)))]
async fn list_signals(State(s): State<AppState>, _c: Caller, p: Params) -> ApiResult<Response> {
    p.only(&[
        "severity",
        "signal_type",
        "status",
        "customer_id",
        "limit",
        "cursor",
        "format",
    ])?;
    let f = signal_filter(&p)?;
    if super::wants_csv(&p)? {
        let after = p.parse("cursor", "a cursor returned by this list")?;
        let all = super::every_page(after, |a, n| intel::list_signals(&s.app, &f, a, n)).await?;
        return Ok(super::csv_response(&all, "risk-signals.csv"));
    }
    let limit = limit(&p)?;
    let rows = intel::list_signals(
        &s.app,
        &f,
        p.parse("cursor", "a cursor returned by this list")?,
        limit + 1,
    )
    .await?;
    Ok(Json(super::id_page(rows, limit, |r| r.id)).into_response())
}

/// A customer's risk signals, newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/risk-signals", tag = "risk",
    params(("id" = String, Path), ("status" = Option<String>, Query), ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = Page<RiskSignal>), (status = 404, body = ErrorBody)))]
async fn customer_signals(
    State(s): State<AppState>,
    _c: Caller,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<Json<Page<RiskSignal>>> {
    p.only(&["status", "severity", "signal_type", "limit", "cursor"])?;
    let id = path_id(&id)?;
    cscx_core::portfolio::get_customer(&s.app, id).await?;
    let mut f = signal_filter(&p)?;
    f.customer_id = Some(id);
    let limit = limit(&p)?;
    let rows = intel::list_signals(
        &s.app,
        &f,
        p.parse("cursor", "a cursor returned by this list")?,
        limit + 1,
    )
    .await?;
    Ok(Json(super::id_page(rows, limit, |r| r.id)))
}

/// Raise a risk signal by hand.
#[utoipa::path(post, path = "/api/v1/customers/{id}/risk-signals", tag = "risk", request_body = NewSignal,
    params(("id" = String, Path)), responses((status = 201, body = RiskSignal), (status = 422, body = ErrorBody)))]
async fn create_signal(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    Typed(new): Typed<NewSignal>,
) -> ApiResult<Response> {
    let p = c.writer()?;
    let signal = intel::create_signal(&s.app, p, path_id(&id)?, new).await?;
    Ok(created(
        format!("/api/v1/risk-signals/{}", signal.id),
        &signal,
    ))
}

#[derive(Deserialize, utoipa::ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct Resolve {
    pub resolution_notes: Option<String>,
}

/// Resolve a risk signal with a note.
#[utoipa::path(post, path = "/api/v1/risk-signals/{id}/resolve", tag = "risk", request_body = Resolve,
    params(("id" = String, Path)), responses((status = 200, body = RiskSignal), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn resolve_signal(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    Typed(r): Typed<Resolve>,
) -> ApiResult<Json<RiskSignal>> {
    let p = c.writer()?;
    Ok(Json(
        intel::resolve_signal(&s.app, p, path_id(&id)?, r.resolution_notes).await?,
    ))
}
