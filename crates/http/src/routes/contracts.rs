//! Contracts (metadata and parsed fields) and their entitlements.

use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use cscx_core::contracts;
use cscx_domain::validate;
use cscx_store::model::{Contract, Entitlement};
use serde_json::Value;

use super::{created, id_cursor, id_page, limit, path_id, Page};
use crate::error::{ApiError, ApiResult, Code, ErrorBody};
use crate::extract::{Body, Caller, Params};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_contracts, create_contract))
        .routes(routes!(review_accuracy))
        .routes(routes!(get_contract, update_contract, delete_contract))
        .routes(routes!(contract_file))
        .routes(routes!(confirm_contract))
        .routes(routes!(reextract_contract))
        .routes(routes!(list_entitlements, create_entitlement))
        .routes(routes!(
            get_entitlement,
            update_entitlement,
            delete_entitlement
        ))
}

/// List contracts, optionally of one customer or in one status.
#[utoipa::path(get, path = "/api/v1/contracts", tag = "contracts",
    params(("customer_id" = Option<String>, Query), ("status" = Option<String>, Query),
           ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = Page<Contract>), (status = 400, body = ErrorBody)))]
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
    let rows = cscx_core::portfolio::list_contracts(
        &s.app,
        customer_id,
        status,
        id_cursor(&p)?,
        limit + 1,
    )
    .await?;
    Ok(Json(id_page(rows, limit, |r| r.id)))
}

/// Upload a contract, or create one from known terms.
///
/// **Upload** (`multipart/form-data`): a `file` part (PDF, DOCX, HTML, Markdown or plain text,
/// recognised by content; at most 25 MB, 500 pages, 2 million characters → 413) and an optional
/// `customer_id` part. The text is read at once: a malformed, encrypted or image-only (scanned)
/// file is refused with 422 and a code saying which (`malformed_document`, `encrypted_document`,
/// `needs_ocr`, `unsupported_document`) and nothing is stored. Otherwise the file is kept and the
/// contract is created in `parsing`; a background job extracts its terms (each with confidence
/// and evidence) into `parsed_data` and moves it to `parsed` (in review) or `failed`.
///
/// **JSON**: a contract record from known terms. Writable fields: customer_id, file_url,
/// file_name, raw_text, company_name, arr, contract_term, start_date, end_date, status,
/// parsed_data, pricing_terms, technical_requirements, missing_info, next_steps.
#[utoipa::path(post, path = "/api/v1/contracts", tag = "contracts",
    request_body(content((Contract = "application/json"), (UploadForm = "multipart/form-data"))),
    responses((status = 201, body = Contract), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_contract(
    State(s): State<AppState>,
    c: Caller,
    req: Request,
) -> ApiResult<Response> {
    c.writer()?;
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    let contract = if is_multipart {
        let multipart = Multipart::from_request(req, &s)
            .await
            .map_err(|e| ApiError::bad_request(e.body_text()))?;
        let upload = read_upload(multipart).await?;
        contracts::upload(&s.app, upload).await?
    } else {
        let Body(body) = Body::from_request(req, &s).await?;
        cscx_core::portfolio::create_contract(&s.app, &c.0, &body).await?
    };
    Ok(created(
        format!("/api/v1/contracts/{}", contract.id),
        &contract,
    ))
}

/// The multipart upload form.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct UploadForm {
    /// The contract document.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// The customer the contract belongs to, when known.
    customer_id: Option<String>,
}

async fn read_upload(mut multipart: Multipart) -> ApiResult<contracts::Upload> {
    let too_large = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(Code::DocumentTooLarge, "the file is larger than 25 MB")
        } else {
            ApiError::bad_request(e.body_text())
        }
    };
    let mut upload = contracts::Upload {
        file_name: None,
        bytes: Vec::new(),
        customer_id: None,
    };
    let mut has_file = false;
    while let Some(field) = multipart.next_field().await.map_err(too_large)? {
        match field.name() {
            Some("file") => {
                upload.file_name = field.file_name().map(str::to_string);
                upload.bytes = field.bytes().await.map_err(too_large)?.to_vec();
                has_file = true;
            }
            Some("customer_id") => {
                let text = field.text().await.map_err(too_large)?;
                if !text.trim().is_empty() {
                    upload.customer_id = Some(text.trim().parse().map_err(|_| {
                        ApiError::from(cscx_core::CoreError::field("customer_id", "must be a UUID"))
                    })?);
                }
            }
            Some(other) => {
                return Err(cscx_core::CoreError::field(
                    other,
                    "unknown form field; send file and optionally customer_id",
                )
                .into())
            }
            None => {}
        }
    }
    if !has_file {
        return Err(cscx_core::CoreError::field("file", "is required").into());
    }
    Ok(upload)
}

/// Download the original file of an uploaded contract (always as an attachment).
#[utoipa::path(get, path = "/api/v1/contracts/{id}/file", tag = "contracts",
    params(("id" = String, Path)),
    responses((status = 200, description = "The file as uploaded", content_type = "application/octet-stream"),
              (status = 404, body = ErrorBody)))]
async fn contract_file(
    State(s): State<AppState>,
    _c: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let (contract, bytes, content_type) = contracts::file(&s.app, path_id(&id)?).await?;
    let name: String = contract
        .file_name
        .as_deref()
        .unwrap_or("contract")
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        ],
        bytes,
    )
        .into_response())
}

/// Confirm a reviewed (`parsed`) contract: in one transaction, link or create the customer,
/// fill its ARR and renewal date (only where empty unless `overwrite_customer`), create the
/// entitlements from the line items and the stakeholders (matched by e-mail, then name; matched
/// people only get missing fields filled). The contract becomes `active` (or `expired`).
/// Body (optional): `{"create_customer": bool, "overwrite_customer": bool}`.
#[utoipa::path(post, path = "/api/v1/contracts/{id}/confirm", tag = "contracts",
    params(("id" = String, Path)),
    responses((status = 200, body = contracts::ConfirmReport), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn confirm_contract(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    body: Option<Json<Value>>,
) -> ApiResult<Json<contracts::ConfirmReport>> {
    let user = c.writer()?.user_id;
    let options: contracts::ConfirmOptions = match body {
        Some(Json(v)) if !v.is_null() => serde_json::from_value(v)
            .map_err(|e| ApiError::from(cscx_core::CoreError::field("body", e.to_string())))?,
        _ => Default::default(),
    };
    Ok(Json(
        contracts::confirm(&s.app, user, path_id(&id)?, options).await?,
    ))
}

/// Extract a contract in review again (status back to `parsing`; a job does the work).
#[utoipa::path(post, path = "/api/v1/contracts/{id}/reextract", tag = "contracts",
    params(("id" = String, Path)),
    responses((status = 202, body = Contract), (status = 409, body = ErrorBody)))]
async fn reextract_contract(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    c.writer()?;
    let contract = contracts::reextract(&s.app, path_id(&id)?).await?;
    Ok((StatusCode::ACCEPTED, Json(contract)).into_response())
}

/// Extraction accuracy as reviewers measured it: per field, how many confirmed contracts had
/// it corrected.
#[utoipa::path(get, path = "/api/v1/contracts/accuracy", tag = "contracts",
    responses((status = 200, body = Object)))]
async fn review_accuracy(State(s): State<AppState>, _c: Caller) -> ApiResult<Json<Value>> {
    Ok(Json(contracts::review_accuracy(&s.app).await?))
}

/// Get one contract.
#[utoipa::path(get, path = "/api/v1/contracts/{id}", tag = "contracts",
    params(("id" = String, Path)), responses((status = 200, body = Contract), (status = 404, body = ErrorBody)))]
async fn get_contract(
    State(s): State<AppState>,
    _c: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Contract>> {
    Ok(Json(
        cscx_core::portfolio::get_contract(&s.app, path_id(&id)?).await?,
    ))
}

/// Change some fields of a contract. On an extracted contract this is the review: changes to
/// customer_id, company_name, arr, contract_term, start_date, end_date, pricing_terms,
/// technical_requirements, missing_info, next_steps and `proposals` (what confirming will
/// write) are recorded in `parsed_data.corrections` with who and when.
#[utoipa::path(patch, path = "/api/v1/contracts/{id}", tag = "contracts", request_body = Contract,
    params(("id" = String, Path)), responses((status = 200, body = Contract), (status = 422, body = ErrorBody)))]
async fn update_contract(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    Body(body): Body,
) -> ApiResult<Json<Contract>> {
    let user = c.writer()?.user_id;
    Ok(Json(
        contracts::correct(&s.app, user, path_id(&id)?, &body).await?,
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
    cscx_core::portfolio::delete_contract(&s.app, &c.0, path_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// List a contract's entitlements.
#[utoipa::path(get, path = "/api/v1/contracts/{id}/entitlements", tag = "entitlements",
    params(("id" = String, Path), ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = Page<Entitlement>), (status = 404, body = ErrorBody)))]
async fn list_entitlements(
    State(s): State<AppState>,
    _c: Caller,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<Json<Page<Entitlement>>> {
    p.only(&["limit", "cursor"])?;
    let limit = limit(&p)?;
    let rows =
        cscx_core::portfolio::list_entitlements(&s.app, path_id(&id)?, id_cursor(&p)?, limit + 1)
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
    let e = cscx_core::portfolio::create_entitlement(&s.app, &c.0, path_id(&id)?, &body).await?;
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
    Ok(Json(
        cscx_core::portfolio::get_entitlement(&s.app, path_id(&id)?).await?,
    ))
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
        cscx_core::portfolio::update_entitlement(&s.app, &c.0, path_id(&id)?, &body).await?,
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
    cscx_core::portfolio::delete_entitlement(&s.app, &c.0, path_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
