//! One error type for every handler, rendered as
//! `{"error": {"code": "…", "message": "…", "details": {…}}}` with a stable code and status.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{json, Value};

use cscx_core::CoreError;

/// Every error code the API answers with, and its status: one table, so codes stay stable and
/// a new kind of error gets a code of its own. Document errors add theirs
/// ([`cscx_ai::document::DocumentError::code`], all 422 but `document_too_large`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// The request is malformed (e.g. an unreadable multipart body).
    BadRequest,
    /// A query parameter is invalid; `details` names it.
    InvalidParameter,
    /// The body is not valid JSON (duplicate keys included).
    InvalidJson,
    /// No valid credentials.
    Unauthenticated,
    /// The caller's role or token scope does not allow this.
    Forbidden,
    /// No such record (or route).
    NotFound,
    /// The change conflicts with the record's state or another record.
    Conflict,
    /// A request with this Idempotency-Key is still running.
    RequestInProgress,
    /// The body is larger than the endpoint accepts.
    PayloadTooLarge,
    /// An uploaded file is over the size, page or text limits.
    DocumentTooLarge,
    /// The body's content type is not one the endpoint reads.
    UnsupportedMediaType,
    /// A field is invalid; `details` names each.
    ValidationFailed,
    /// The Idempotency-Key was used for another request.
    IdempotencyKeyReused,
    /// Too many requests or attempts; see Retry-After.
    RateLimited,
    /// Something went wrong on our side (details are in the log).
    Internal,
    /// The database (or a document reader) is busy or unreachable; retry.
    Unavailable,
}

impl Code {
    pub const ALL: [Code; 16] = [
        Code::BadRequest,
        Code::InvalidParameter,
        Code::InvalidJson,
        Code::Unauthenticated,
        Code::Forbidden,
        Code::NotFound,
        Code::Conflict,
        Code::RequestInProgress,
        Code::PayloadTooLarge,
        Code::DocumentTooLarge,
        Code::UnsupportedMediaType,
        Code::ValidationFailed,
        Code::IdempotencyKeyReused,
        Code::RateLimited,
        Code::Internal,
        Code::Unavailable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Code::BadRequest => "bad_request",
            Code::InvalidParameter => "invalid_parameter",
            Code::InvalidJson => "invalid_json",
            Code::Unauthenticated => "unauthenticated",
            Code::Forbidden => "forbidden",
            Code::NotFound => "not_found",
            Code::Conflict => "conflict",
            Code::RequestInProgress => "request_in_progress",
            Code::PayloadTooLarge => "payload_too_large",
            Code::DocumentTooLarge => "document_too_large",
            Code::UnsupportedMediaType => "unsupported_media_type",
            Code::ValidationFailed => "validation_failed",
            Code::IdempotencyKeyReused => "idempotency_key_reused",
            Code::RateLimited => "rate_limited",
            Code::Internal => "internal",
            Code::Unavailable => "unavailable",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Code::BadRequest => StatusCode::BAD_REQUEST,
            Code::InvalidParameter => StatusCode::BAD_REQUEST,
            Code::InvalidJson => StatusCode::BAD_REQUEST,
            Code::Unauthenticated => StatusCode::UNAUTHORIZED,
            Code::Forbidden => StatusCode::FORBIDDEN,
            Code::NotFound => StatusCode::NOT_FOUND,
            Code::Conflict => StatusCode::CONFLICT,
            Code::RequestInProgress => StatusCode::CONFLICT,
            Code::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Code::DocumentTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Code::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Code::ValidationFailed => StatusCode::UNPROCESSABLE_ENTITY,
            Code::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Code::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Value,
    pub retry_after: Option<u64>,
}

/// The error body, for the OpenAPI document.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `validation_failed`, `not_found`, `unauthenticated`.
    pub code: String,
    pub message: String,
    /// For `validation_failed`: field name → what is wrong with it.
    #[schema(value_type = Object)]
    pub details: Value,
}

impl ApiError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self::with_status(code.status(), code.as_str(), message)
    }

    /// An error whose code comes from elsewhere (a document error's own code).
    fn with_status(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: json!({}),
            retry_after: None,
        }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(Code::BadRequest, message)
    }

    /// A bad query parameter, named in `details`.
    pub fn invalid_parameter(name: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::new(Code::InvalidParameter, format!("{name}: {message}"))
            .with_details(json!({ name: message }))
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(Code::NotFound, format!("{what} not found"))
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(Code::Unauthenticated, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(Code::Forbidden, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(Code::Internal, message)
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::Validation(fields) => ApiError::new(
                Code::ValidationFailed,
                format!("validation failed: {fields}"),
            )
            .with_details(serde_json::to_value(&fields).unwrap_or_default()),
            CoreError::NotFound(what) => ApiError::not_found(what),
            CoreError::Conflict(m) => ApiError::new(Code::Conflict, m),
            CoreError::Unauthenticated(m) => ApiError::unauthenticated(m),
            CoreError::Forbidden(m) => ApiError::forbidden(m),
            CoreError::RateLimited { retry_after_secs } => {
                let mut e = ApiError::new(
                    Code::RateLimited,
                    format!("too many attempts; try again in {retry_after_secs} seconds"),
                );
                e.retry_after = Some(retry_after_secs);
                e
            }
            CoreError::Unavailable(m) => ApiError::new(Code::Unavailable, m),
            CoreError::Store(e) => {
                if e.is_transient() {
                    tracing::warn!(error = %e, "transient database error");
                    ApiError::new(Code::Unavailable, "the database is busy; retry shortly")
                } else {
                    tracing::error!(error = %e, "database error");
                    ApiError::internal("internal error")
                }
            }
            CoreError::Internal(m) => {
                tracing::error!(error = %m, "internal error");
                ApiError::internal("internal error")
            }
            CoreError::Document(d @ cscx_ai::document::DocumentError::ReaderUnavailable(_)) => {
                tracing::error!(error = %d, "document reader unavailable");
                ApiError::new(
                    Code::Unavailable,
                    "documents cannot be read right now; retry shortly",
                )
            }
            CoreError::Document(d) => {
                let status = if d.is_size_limit() {
                    StatusCode::PAYLOAD_TOO_LARGE
                } else {
                    StatusCode::UNPROCESSABLE_ENTITY
                };
                ApiError::with_status(status, d.code(), d.to_string())
            }
        }
    }
}

impl From<cscx_store::Error> for ApiError {
    fn from(e: cscx_store::Error) -> Self {
        CoreError::from(e).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.code, "message": self.message, "details": self.details } });
        let mut resp = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::Code;

    #[test]
    fn codes_are_unique_and_statuses_are_errors() {
        let mut seen = std::collections::HashSet::new();
        for c in Code::ALL {
            assert!(seen.insert(c.as_str()), "{} twice", c.as_str());
            assert!(c.status().is_client_error() || c.status().is_server_error());
        }
    }
}
