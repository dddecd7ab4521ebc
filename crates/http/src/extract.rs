//! Request extractors that answer in our error format: JSON bodies, query strings, and the
//! authenticated caller.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;

use cscx_core::auth::{AuthVia, Principal};
use cscx_domain::{Role, TokenScope};

use crate::error::ApiError;

/// A JSON body. Malformed JSON is a 400 naming the problem; a missing or wrong content type a 415.
pub struct Body(pub Value);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<Value>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Body(v)),
            Err(rejection) => {
                use axum::extract::rejection::JsonRejection::*;
                Err(match rejection {
                    MissingJsonContentType(_) => ApiError::new(
                        axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        "unsupported_media_type",
                        "send the body as JSON with Content-Type: application/json",
                    ),
                    JsonSyntaxError(e) => ApiError::new(
                        axum::http::StatusCode::BAD_REQUEST,
                        "invalid_json",
                        format!("the body is not valid JSON: {}", e.body_text()),
                    ),
                    BytesRejection(e)
                        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE =>
                    {
                        ApiError::new(
                            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                            "payload_too_large",
                            "the body is larger than this endpoint accepts",
                        )
                    }
                    other => ApiError::bad_request(other.body_text()),
                })
            }
        }
    }
}

/// A typed JSON body (for fixed-shape requests such as login). Unknown fields are refused by
/// the type's `deny_unknown_fields`.
pub struct Typed<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Typed<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Body(v) = Body::from_request(req, state).await?;
        serde_json::from_value(v).map(Typed).map_err(|e| {
            ApiError::new(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                e.to_string(),
            )
            .with_details(serde_json::json!({ "body": e.to_string() }))
        })
    }
}

/// The query string as name → value; handlers parse each parameter and name it in errors.
pub struct Params(pub std::collections::HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        let pairs: Vec<(String, String)> = serde_urlencoded_pairs(q)?;
        let mut map = std::collections::HashMap::new();
        for (k, v) in pairs {
            if map.insert(k.clone(), v).is_some() {
                return Err(ApiError::invalid_parameter(&k, "given more than once"));
            }
        }
        Ok(Params(map))
    }
}

fn serde_urlencoded_pairs(q: &str) -> Result<Vec<(String, String)>, ApiError> {
    axum::extract::Query::<Vec<(String, String)>>::try_from_uri(
        &format!("/?{q}")
            .parse()
            .map_err(|_| ApiError::bad_request("malformed query string"))?,
    )
    .map(|axum::extract::Query(v)| v)
    .map_err(|e| ApiError::bad_request(format!("malformed query string: {e}")))
}

impl Params {
    /// Refuses parameters this endpoint does not know (a typo must not silently widen a query).
    pub fn only(&self, known: &[&str]) -> Result<(), ApiError> {
        let mut unknown: Vec<&String> = self
            .0
            .keys()
            .filter(|k| !known.contains(&k.as_str()))
            .collect();
        unknown.sort();
        match unknown.first() {
            Some(k) => Err(ApiError::invalid_parameter(
                k,
                format!("unknown parameter; accepted: {}", known.join(", ")),
            )),
            None => Ok(()),
        }
    }

    pub fn str(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    pub fn parse<T: std::str::FromStr>(
        &self,
        name: &str,
        what: &str,
    ) -> Result<Option<T>, ApiError> {
        match self.str(name) {
            None => Ok(None),
            Some(s) => s
                .parse()
                .map(Some)
                .map_err(|_| ApiError::invalid_parameter(name, format!("must be {what}"))),
        }
    }
}

/// The authenticated caller, resolved by the authentication middleware. Requires a full-scope
/// credential: ingestion-only tokens are refused here.
pub struct Caller(pub Principal);

/// A caller that may hold an ingestion-scoped token (for the ingestion endpoints only).
pub struct IngestCaller(pub Principal);

fn principal(parts: &Parts) -> Result<Principal, ApiError> {
    let p = parts
        .extensions
        .get::<Principal>()
        .cloned()
        .ok_or_else(|| {
            ApiError::unauthenticated("sign in or send Authorization: Bearer <API token>")
        })?;
    // Cookies are sent by browsers on their own; state-changing requests must also carry the
    // session's CSRF token, which another site cannot read.
    if let AuthVia::Session { csrf_token, .. } = &p.via {
        let unsafe_method = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if unsafe_method {
            let sent = parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok());
            if sent != Some(csrf_token.as_str()) {
                return Err(ApiError::forbidden(
                    "missing or wrong X-CSRF-Token header for this session",
                ));
            }
        }
    }
    Ok(p)
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let p = principal(parts)?;
        if p.scope != TokenScope::Full {
            return Err(ApiError::forbidden("this token is limited to ingestion"));
        }
        Ok(Caller(p))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IngestCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let p = principal(parts)?;
        if p.scope == TokenScope::Full && !p.role.can_write_portfolio() {
            return Err(ApiError::forbidden(
                "ingestion needs an ingest-scoped token or a writer role",
            ));
        }
        Ok(IngestCaller(p))
    }
}

impl Caller {
    /// Requires at least `role`.
    pub fn require(&self, role: Role) -> Result<&Principal, ApiError> {
        if self.0.role >= role {
            Ok(&self.0)
        } else {
            Err(ApiError::forbidden(format!(
                "requires the {role} role or higher; you are {}",
                self.0.role
            )))
        }
    }

    pub fn writer(&self) -> Result<&Principal, ApiError> {
        self.require(Role::Csm)
    }

    pub fn admin(&self) -> Result<&Principal, ApiError> {
        self.require(Role::Admin)
    }
}
