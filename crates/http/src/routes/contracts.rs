//! Contracts (metadata and parsed fields) and their entitlements.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use cscx_domain::validate;
use cscx_store::model::{Contract, Entitlement};

use super::{created, id_cursor, id_page, limit, path_id, Page};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Body, Caller, Params};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_contracts, create_contract))
        .routes(routes!(get_contract, update_contract, delete_contract))
        .routes(routes!(list_entitlements, create_entitlement))
        .routes(routes!(
            get_entitlement,
            update_entitlement,
            delete_entitlement
        ))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ContractPage {
    pub data: Vec<Contract>,
    pub next_cursor: Option<String>,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct EntitlementPage {
    pub data: Vec<Entitlement>,
    pub next_cursor: Option<String>,
}

/// List contracts, optionally of one customer or in one status.
#[utoipa::path(get, path = "/api/v1/contracts", tag = "contracts",
    params(("customer_id" = Option<String>, Query), ("status" = Option<String>, Query),
           ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ContractPage), (status = 400, body = ErrorBody)))]
async fn list_contracts(
    State(s): State<AppState>,
    _c: Caller,
    p: Params,
) -> ApiResult<Json<Page<Contract>>> {
    p.only(&["customer_id", "status", "limit", "cursor"])?;
    let customer_id = p.parse("customer_id", "a UUID")?;
    let status = p.str("status");
    if let Some(st) = status {
        validate::one_of(validate::CONTRACT_STATUSES)(st)
            .map_err(|m| ApiError::invalid_parameter("status", m))?;
    }
    let limit = limit(&p)?;
    let rows = s
        .app
        .portfolio
        .list_contracts(customer_id, status, id_cursor(&p)?, limit + 1)
        .await?;
    Ok(Json(id_page(rows, limit, |r| r.id)))
}

/// Create a contract record from known terms. Writable fields: customer_id, file_url,
/// file_name, raw_text, company_name, arr, contract_term, start_date, end_date, status,
/// parsed_data, pricing_terms, technical_requirements, missing_info, next_steps.
#[utoipa::path(post, path = "/api/v1/contracts", tag = "contracts", request_body = Contract,
    responses((status = 201, body = Contract), (status = 422, body = ErrorBody)))]
async fn create_contract(
    State(s): State<AppState>,
    c: Caller,
    Body(body): Body,
) -> ApiResult<Response> {
    c.writer()?;
    let contract = s.app.portfolio.create_contract(&body).await?;
    Ok(created(
        format!("/api/v1/contracts/{}", contract.id),
        &contract,
    ))
}

/// Get one contract.
#[utoipa::path(get, path = "/api/v1/contracts/{id}", tag = "contracts",
    params(("id" = String, Path)), responses((status = 200, body = Contract), (status = 404, body = ErrorBody)))]
async fn get_contract(
    State(s): State<AppState>,
    _c: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Contract>> {
    Ok(Json(s.app.portfolio.get_contract(path_id(&id)?).await?))
}

/// Change some fields of a contract.
#[utoipa::path(patch, path = "/api/v1/contracts/{id}", tag = "contracts", request_body = Contract,
    params(("id" = String, Path)), responses((status = 200, body = Contract), (status = 422, body = ErrorBody)))]
async fn update_contract(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    Body(body): Body,
) -> ApiResult<Json<Contract>> {
    c.writer()?;
    Ok(Json(
        s.app
            .portfolio
            .update_contract(path_id(&id)?, &body)
            .await?,
    ))
}

/// Delete a contract and its entitlements.
#[utoipa::path(delete, path = "/api/v1/contracts/{id}", tag = "contracts",
    params(("id" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_contract(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    c.writer()?;
    s.app.portfolio.delete_contract(path_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// List a contract's entitlements.
#[utoipa::path(get, path = "/api/v1/contracts/{id}/entitlements", tag = "entitlements",
    params(("id" = String, Path), ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = EntitlementPage), (status = 404, body = ErrorBody)))]
async fn list_entitlements(
    State(s): State<AppState>,
    _c: Caller,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<Json<Page<Entitlement>>> {
    p.only(&["limit", "cursor"])?;
    let limit = limit(&p)?;
    let rows = s
        .app
        .portfolio
        .list_entitlements(path_id(&id)?, id_cursor(&p)?, limit + 1)
        .await?;
    Ok(Json(id_page(rows, limit, |r| r.id)))
}

/// Add an entitlement to a contract. Writable fields: name (required), description,
/// quantity, unit, price (per unit), category, metadata.
#[utoipa::path(post, path = "/api/v1/contracts/{id}/entitlements", tag = "entitlements", request_body = Entitlement,
    params(("id" = String, Path)), responses((status = 201, body = Entitlement), (status = 422, body = ErrorBody)))]
async fn create_entitlement(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    Body(body): Body,
) -> ApiResult<Response> {
    c.writer()?;
    let e = s
        .app
        .portfolio
        .create_entitlement(path_id(&id)?, &body)
        .await?;
    Ok(created(format!("/api/v1/entitlements/{}", e.id), &e))
}

/// Get one entitlement.
#[utoipa::path(get, path = "/api/v1/entitlements/{id}", tag = "entitlements",
    params(("id" = String, Path)), responses((status = 200, body = Entitlement), (status = 404, body = ErrorBody)))]
async fn get_entitlement(
    State(s): State<AppState>,
    _c: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Entitlement>> {
    Ok(Json(s.app.portfolio.get_entitlement(path_id(&id)?).await?))
}

/// Change some fields of an entitlement.
#[utoipa::path(patch, path = "/api/v1/entitlements/{id}", tag = "entitlements", request_body = Entitlement,
    params(("id" = String, Path)), responses((status = 200, body = Entitlement), (status = 422, body = ErrorBody)))]
async fn update_entitlement(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    Body(body): Body,
) -> ApiResult<Json<Entitlement>> {
    c.writer()?;
    Ok(Json(
        s.app
            .portfolio
            .update_entitlement(path_id(&id)?, &body)
            .await?,
    ))
}

/// Remove an entitlement.
#[utoipa::path(delete, path = "/api/v1/entitlements/{id}", tag = "entitlements",
    params(("id" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_entitlement(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    c.writer()?;
    s.app.portfolio.delete_entitlement(path_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
