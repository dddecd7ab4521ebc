//! Route handlers, one module per resource. Each handler parses, authorises, calls a use-case
//! in `cscx-core`, and renders.

pub mod agents;
pub mod audit;
pub mod auth;
pub mod contracts;
pub mod customers;
pub mod docs;
pub mod integrations;
pub mod intelligence;
pub mod ops;
pub mod segment;
pub mod tasks;
pub mod timeline;
pub mod users;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

use cscx_store::Id;

use crate::error::{ApiError, ApiResult};
use crate::extract::Params;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 500;

/// A page of results: `{"data": [...], "next_cursor": "…" | null}`; `next_cursor` is null on
/// the last page.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Page<T: Serialize> {
    pub data: Vec<T>,
    pub next_cursor: Option<String>,
}

/// `limit` (1–500, default 50).
pub fn limit(p: &Params) -> Result<u32, ApiError> {
    match p.parse::<u32>("limit", "a whole number from 1 to 500")? {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::invalid_parameter(
            "limit",
            "must be from 1 to 500",
        )),
    }
}

/// For lists ordered by id: the cursor is the last id seen.
pub fn id_cursor(p: &Params) -> Result<Option<Id>, ApiError> {
    p.parse::<Id>("cursor", "a cursor returned as next_cursor by this list")
}

/// Pages a list fetched with `limit + 1` rows: the extra row only says that more follow.
pub fn id_page<T: Serialize>(mut rows: Vec<T>, limit: u32, id: impl Fn(&T) -> Id) -> Page<T> {
    let next_cursor = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(|r| id(r).to_string())
    } else {
        None
    };
    Page {
        data: rows,
        next_cursor,
    }
}

pub fn path_id(s: &str) -> Result<Id, ApiError> {
    s.parse()
        .map_err(|_| ApiError::invalid_parameter("id", "must be a UUID"))
}

/// 201 with `Location`.
pub fn created<T: Serialize>(location: String, body: &T) -> Response {
    let mut resp = (StatusCode::CREATED, axum::Json(json!(body))).into_response();
    if let Ok(v) = location.parse() {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// Whether a list was asked for as CSV (`format=csv`; `json`, the default, otherwise).
pub fn wants_csv(p: &Params) -> Result<bool, ApiError> {
    match p.str("format") {
        None | Some("json") => Ok(false),
        Some("csv") => Ok(true),
        Some(_) => Err(ApiError::invalid_parameter("format", "must be json or csv")),
    }
}

/// Records as CSV (RFC 4180, CRLF, a header of the record's columns in table order): text as is,
/// numbers and booleans as written, null as empty, objects and lists as their JSON. A cell
/// that a spreadsheet would run as a formula (`=`, `+`, `-`, `@` first) is prefixed with `'`.
pub fn csv_response<E: cscx_store::Entity>(rows: &[E], filename: &str) -> Response {
    let values: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| serde_json::to_value(r).expect("rows serialise"))
        .collect();
    let columns = E::COLUMNS;
    let cell = |v: &serde_json::Value| -> String {
        let text = match v {
            serde_json::Value::Null => String::new(),
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let text = if text.starts_with(['=', '+', '-', '@'])
            && !matches!(v, serde_json::Value::Number(_))
        {
            format!("'{text}")
        } else {
            text
        };
        if text.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", text.replace('"', "\"\""))
        } else {
            text
        }
    };
    let mut out = String::new();
    out.push_str(&columns.join(","));
    out.push_str("\r\n");
    for v in &values {
        let line: Vec<String> = columns.iter().map(|c| cell(&v[c])).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        out,
    )
        .into_response()
}

/// Every row of an id-keyset list from `after` on, read 500 at a time (CSV exports: no silent
/// cap). `page(after, limit)` answers one page in id order.
pub async fn every_page<E, F, Fut>(mut after: Option<Id>, page: F) -> ApiResult<Vec<E>>
where
    E: cscx_store::Entity,
    F: Fn(Option<Id>, u32) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<E>, cscx_core::CoreError>>,
{
    const PAGE: u32 = 500;
    let mut all = Vec::new();
    loop {
        let rows = page(after, PAGE).await?;
        let done = rows.len() < PAGE as usize;
        after = rows.last().map(|r| r.id());
        all.extend(rows);
        if done {
            return Ok(all);
        }
    }
}
