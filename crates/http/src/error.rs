//! One error type for every handler, rendered as
//! `{"error": {"code": "…", "message": "…", "details": {…}}}` with a stable code and status.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{json, Value};

use cscx_core::CoreError;

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
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
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
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// A bad query parameter, named in `details`.
    pub fn invalid_parameter(name: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            format!("{name}: {message}"),
        )
        .with_details(json!({ name: message }))
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::Validation(fields) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                format!("validation failed: {fields}"),
            )
            .with_details(serde_json::to_value(&fields).unwrap_or_default()),
            CoreError::NotFound(what) => ApiError::not_found(what),
            CoreError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            CoreError::Unauthenticated(m) => ApiError::unauthenticated(m),
            CoreError::Forbidden(m) => ApiError::forbidden(m),
            CoreError::RateLimited { retry_after_secs } => {
                let mut e = ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    format!("too many attempts; try again in {retry_after_secs} seconds"),
                );
                e.retry_after = Some(retry_after_secs);
                e
            }
            CoreError::Unavailable(m) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", m)
            }
            CoreError::Store(e) => {
                if e.is_transient() {
                    tracing::warn!(error = %e, "transient database error");
                    ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "unavailable",
                        "the database is busy; retry shortly",
                    )
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
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "documents cannot be read right now; retry shortly",
                )
            }
            CoreError::Document(d) => {
                let status = if d.is_size_limit() {
                    StatusCode::PAYLOAD_TOO_LARGE
                } else {
                    StatusCode::UNPROCESSABLE_ENTITY
                };
                ApiError::new(status, d.code(), d.to_string())
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
