//! Customers and their stakeholders.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use cscx_store::customers::{Cursor, CustomerFilter, Sort};
use cscx_store::model::{Customer, Stakeholder};

use super::{created, id_cursor, id_page, limit, path_id, Page};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Body, Caller, Params};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_customers, create_customer))
        .routes(routes!(get_customer, update_customer, delete_customer))
        .routes(routes!(list_stakeholders, create_stakeholder))
        .routes(routes!(
            get_stakeholder,
            update_stakeholder,
            delete_stakeholder
        ))
}

const LIST_PARAMS: &[&str] = &[
    "limit",
    "cursor",
    "sort",
    "stage",
    "segment",
    "csm_id",
    "industry",
    "health_min",
    "health_max",
    "band",
    "renewal_before",
    "renewal_after",
    "q",
    "format",
    "exclude_churned",
];

pub(crate) fn decode_cursor(s: &str) -> Option<Cursor> {
    let bytes = B64.decode(s).ok()?;
    serde_json::from_slice(&bytes).ok()
}

pub(crate) fn encode_cursor(c: &Cursor) -> String {
    B64.encode(serde_json::to_vec(c).expect("cursors serialise"))
}

/// List customers, filtered and sorted, a page at a time; with `format=csv`, every matching
/// customer as one CSV file (columns = the JSON fields).
#[utoipa::path(get, path = "/api/v1/customers", tag = "customers",
    params(
        ("format" = Option<String>, Query, description = "json (default) or csv: the whole filtered list"),
        ("exclude_churned" = Option<bool>, Query, description = "true leaves churned customers out"),
        ("limit" = Option<u32>, Query, description = "Page size, 1–500 (default 50)"),
        ("cursor" = Option<String>, Query, description = "next_cursor from the previous page"),
        ("sort" = Option<String>, Query, description = "name, arr, health_score, renewal_date, updated_at or created_at; prefix - for descending"),
        ("stage" = Option<String>, Query, description = "prospect, onboarding, active, at_risk or churned"),
        ("segment" = Option<String>, Query), ("csm_id" = Option<String>, Query), ("industry" = Option<String>, Query),
        ("health_min" = Option<i32>, Query), ("health_max" = Option<i32>, Query),
        ("band" = Option<String>, Query, description = "green, yellow or red: the latest score's band under its own model, or unscored"),
        ("renewal_before" = Option<String>, Query, description = "YYYY-MM-DD, exclusive"),
        ("renewal_after" = Option<String>, Query, description = "YYYY-MM-DD, exclusive"),
        ("q" = Option<String>, Query, description = "Case-insensitive substring of the name"),
    ),
    responses((status = 200, content((Page<Customer> = "application/json"), (String = "text/csv"))), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn list_customers(State(s): State<AppState>, _c: Caller, p: Params) -> ApiResult<Response> {
    p.only(LIST_PARAMS)?;
    let csv = super::wants_csv(&p)?;
    let stage = p.str("stage").map(str::to_owned);
    if let Some(st) = &stage {
        cscx_domain::validate::stage(st)
            .map_err(|m| crate::error::ApiError::invalid_parameter("stage", m))?;
    }
    let filter = CustomerFilter {
        stage,
        segment: p.str("segment").map(str::to_owned),
        csm_id: p.parse("csm_id", "a UUID")?,
        industry: p.str("industry").map(str::to_owned),
        health_min: p.parse("health_min", "a whole number")?,
        health_max: p.parse("health_max", "a whole number")?,
        renewal_before: p.parse("renewal_before", "a date (YYYY-MM-DD)")?,
        renewal_after: p.parse("renewal_after", "a date (YYYY-MM-DD)")?,
        q: p.str("q").map(str::to_owned),
        band: match p.str("band") {
            None | Some("unscored") => None,
            Some(b) => Some(b.parse().map_err(|m: String| {
                crate::error::ApiError::invalid_parameter("band", format!("{m} or unscored"))
            })?),
        },
        unscored: p.str("band") == Some("unscored"),
        exclude_churned: p
            .parse("exclude_churned", "true or false")?
            .unwrap_or(false),
    };
    let sort = match p.str("sort") {
        None => Sort::default(),
        Some(v) => Sort::parse(v).ok_or_else(|| {
            crate::error::ApiError::invalid_parameter(
                "sort",
                "must be name, arr, health_score, renewal_date, updated_at or created_at, optionally prefixed with -",
            )
        })?,
    };
    let cursor = match p.str("cursor") {
        None => None,
        Some(raw) => Some(decode_cursor(raw).ok_or_else(|| {
            crate::error::ApiError::invalid_parameter(
                "cursor",
                "must be a next_cursor returned by this list",
            )
        })?),
    };
    let limit = limit(&p)?;
    let page = |cursor: Option<Cursor>, limit: u32| {
        let (app, filter) = (&s.app, &filter);
        async move {
            cscx_core::portfolio::list_customers(app, filter, sort, cursor.as_ref(), limit)
                .await
                .map_err(|e| match e {
                    // A cursor made under another sort is a bad parameter, not a bad body.
                    cscx_core::CoreError::Validation(f) if f.0.contains_key("cursor") => {
                        crate::error::ApiError::invalid_parameter("cursor", f.0["cursor"].clone())
                    }
                    other => other.into(),
                })
        }
    };
    if csv {
        // Every matching customer, page by page: no silent cap.
        let (mut all, mut next) = page(cursor, 500).await?;
        while let Some(c) = next {
            let (rows, more) = page(Some(c), 500).await?;
            all.extend(rows);
            next = more;
        }
        return Ok(super::csv_response(&all, "customers.csv"));
    }
    let (rows, next) = page(cursor, limit).await?;
    Ok(Json(Page {
        data: rows,
        next_cursor: next.as_ref().map(encode_cursor),
    })
    .into_response())
}

/// Create a customer. Writable fields: name (required), arr, industry, stage, health_score,
/// csm_id, salesforce_id, hubspot_id, segment, renewal_date, metadata.
#[utoipa::path(post, path = "/api/v1/customers", tag = "customers", request_body = Customer,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried create a no-op (24 h)")),
    responses((status = 201, body = Customer), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn create_customer(
    State(s): State<AppState>,
    c: Caller,
    Body(body): Body,
) -> ApiResult<Response> {
    c.writer()?;
    let customer = cscx_core::portfolio::create_customer(&s.app, &c.0, &body).await?;
    Ok(created(
        format!("/api/v1/customers/{}", customer.id),
        &customer,
    ))
}

/// Get one customer.
#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers",
    params(("id" = String, Path)), responses((status = 200, body = Customer), (status = 404, body = ErrorBody)))]
async fn get_customer(
    State(s): State<AppState>,
    _c: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Customer>> {
    Ok(Json(
        cscx_core::portfolio::get_customer(&s.app, path_id(&id)?).await?,
    ))
}

/// Change some fields of a customer (absent fields keep their value; null clears one).
#[utoipa::path(patch, path = "/api/v1/customers/{id}", tag = "customers", request_body = Customer,
    params(("id" = String, Path)), responses((status = 200, body = Customer), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_customer(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    Body(body): Body,
) -> ApiResult<Json<Customer>> {
    c.writer()?;
    Ok(Json(
        cscx_core::portfolio::update_customer(&s.app, &c.0, path_id(&id)?, &body).await?,
    ))
}

/// Delete a customer with its stakeholders, contracts and usage (agent history is kept).
#[utoipa::path(delete, path = "/api/v1/customers/{id}", tag = "customers",
    params(("id" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_customer(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    c.writer()?;
    cscx_core::portfolio::delete_customer(&s.app, &c.0, path_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// List a customer's stakeholders.
#[utoipa::path(get, path = "/api/v1/customers/{id}/stakeholders", tag = "stakeholders",
    params(("id" = String, Path), ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = Page<Stakeholder>), (status = 404, body = ErrorBody)))]
async fn list_stakeholders(
    State(s): State<AppState>,
    _c: Caller,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<Json<Page<Stakeholder>>> {
    p.only(&["limit", "cursor"])?;
    let limit = limit(&p)?;
    let rows =
        cscx_core::portfolio::list_stakeholders(&s.app, path_id(&id)?, id_cursor(&p)?, limit + 1)
            .await?;
    Ok(Json(id_page(rows, limit, |r| r.id)))
}

/// Add a stakeholder to a customer. Writable fields: name (required), role, email, phone,
/// linkedin_url, is_primary (marking one primary clears the others), sentiment, notes, metadata.
#[utoipa::path(post, path = "/api/v1/customers/{id}/stakeholders", tag = "stakeholders", request_body = Stakeholder,
    params(("id" = String, Path)), responses((status = 201, body = Stakeholder), (status = 422, body = ErrorBody)))]
async fn create_stakeholder(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    Body(body): Body,
) -> ApiResult<Response> {
    c.writer()?;
    let st = cscx_core::portfolio::create_stakeholder(&s.app, &c.0, path_id(&id)?, &body).await?;
    Ok(created(format!("/api/v1/stakeholders/{}", st.id), &st))
}

/// Get one stakeholder.
#[utoipa::path(get, path = "/api/v1/stakeholders/{id}", tag = "stakeholders",
    params(("id" = String, Path)), responses((status = 200, body = Stakeholder), (status = 404, body = ErrorBody)))]
async fn get_stakeholder(
    State(s): State<AppState>,
    _c: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Stakeholder>> {
    Ok(Json(
        cscx_core::portfolio::get_stakeholder(&s.app, path_id(&id)?).await?,
    ))
}

/// Change some fields of a stakeholder.
#[utoipa::path(patch, path = "/api/v1/stakeholders/{id}", tag = "stakeholders", request_body = Stakeholder,
    params(("id" = String, Path)), responses((status = 200, body = Stakeholder), (status = 422, body = ErrorBody)))]
async fn update_stakeholder(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    Body(body): Body,
) -> ApiResult<Json<Stakeholder>> {
    c.writer()?;
    Ok(Json(
        cscx_core::portfolio::update_stakeholder(&s.app, &c.0, path_id(&id)?, &body).await?,
    ))
}

/// Remove a stakeholder.
#[utoipa::path(delete, path = "/api/v1/stakeholders/{id}", tag = "stakeholders",
    params(("id" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_stakeholder(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    c.writer()?;
    cscx_core::portfolio::delete_stakeholder(&s.app, &c.0, path_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
