//! Segment-compatible ingestion (`/v1/batch`, `/v1/track`, …): the tracking API that Segment's
//! and RudderStack's libraries send to, with the write key as the HTTP Basic user name (an
//! ingest-scoped token) and gzip bodies. The mapping lives in `cscx_core::segment`.

use std::io::Read;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use cscx_core::ingest::{IngestReport, MAX_BATCH_BYTES};
use cscx_core::segment::{self, Call};

use crate::error::{ApiError, ApiResult, Code, ErrorBody};
use crate::extract::{strict_json, IngestCaller};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(receive))
}

/// Receive Segment tracking calls: `call` is `batch` (or its older name `import`), `track`,
/// `identify`, `group`, `page`, `screen` or `alias`, with the body Segment's HTTP tracking API
/// defines (gzip allowed: `Content-Encoding: gzip`). Authenticate with the write key as the HTTP
/// Basic user name (empty password) or as a bearer token: an ingest-scoped token or a writer's.
/// `track`/`page`/`screen` become usage events (`event` → `event_type`, `properties` →
/// `metadata`, `messageId` → `event_id`) for the customer named by `context.groupId` (a customer
/// key) or by an earlier `group` call of the same `userId`; `identify` keeps traits and links the
/// stakeholder with the same e-mail. Answers 200 with the report (accepted, duplicates, and the
/// rejected by index) unless nothing was accepted (422): the libraries retry anything else.
#[utoipa::path(post, path = "/v1/{call}", tag = "usage",
    params(("call" = String, Path, description = "batch, import, track, identify, group, page, screen or alias")),
    request_body(content = Object, description = "A Segment message, or {\"batch\": [messages]}"),
    responses((status = 200, body = IngestReport),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = IngestReport)))]
async fn receive(
    State(s): State<AppState>,
    _c: IngestCaller,
    Path(call): Path<String>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> ApiResult<Response> {
    let call = match call.as_str() {
        "batch" | "import" => None,
        other => Some(Call::parse(other).ok_or_else(|| ApiError::not_found("tracking call"))?),
    };
    let too_large = || {
        ApiError::new(
            Code::PayloadTooLarge,
            format!(
                "a request may be at most {} MB, compressed or not",
                MAX_BATCH_BYTES / 1024 / 1024
            ),
        )
    };
    let bytes = axum::body::to_bytes(body, MAX_BATCH_BYTES)
        .await
        .map_err(|_| too_large())?;
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase());
    let bytes = match encoding.as_deref() {
        None | Some("" | "identity") => bytes.to_vec(),
        Some("gzip" | "x-gzip") => {
            // Inflated into a bounded buffer: a small bomb cannot grow past the limit.
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&bytes[..])
                .take(MAX_BATCH_BYTES as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| ApiError::bad_request(format!("the gzip body is corrupt: {e}")))?;
            if out.len() > MAX_BATCH_BYTES {
                return Err(too_large());
            }
            out
        }
        Some(other) => {
            return Err(ApiError::new(
                Code::UnsupportedMediaType,
                format!("Content-Encoding {other:?} is not supported (gzip or none)"),
            ))
        }
    };
    let body = strict_json(&bytes).map_err(|e| ApiError::new(Code::InvalidJson, e.to_string()))?;
    let report = segment::receive(&s.app, call, body).await?;
    // Tracking libraries retry whatever is neither 200 nor a 4xx: a partly rejected batch is a
    // 200 (the rejections are in the body; sending it again would not help), one with nothing
    // accepted a 422.
    let handled = report.accepted + report.duplicates.len();
    let status = if handled == 0 && !report.rejected.is_empty() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((status, Json(report)).into_response())
}
