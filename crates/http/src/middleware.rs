//! Cross-cutting request handling: body limits per route, resolving credentials, and
//! `Idempotency-Key`.

use std::net::SocketAddr;

use axum::body::{to_bytes, Body};
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use cscx_core::auth::Principal;
use cscx_store::product::{self, IdempotencyRecord};
use cscx_store::Id;

use crate::error::{ApiError, Code};
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "cscx_session";
/// Marks a browser that signed in to an account before (see `Auth::login`).
pub const DEVICE_COOKIE: &str = "cscx_device";

/// Finds a cookie's value in the `Cookie` headers.
pub fn cookie_value(req: &Request, name: &str) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// Finds the session cookie's value in a `Cookie` header.
pub fn session_cookie(req: &Request) -> Option<String> {
    cookie_value(req, SESSION_COOKIE)
}

/// The client's address: the socket peer, or the first `X-Forwarded-For` hop behind a proxy.
pub fn client_ip(req: &Request, trust_proxy: bool) -> Option<String> {
    if trust_proxy {
        if let Some(first) = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
        {
            return Some(first.trim().to_owned());
        }
    }
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
}

/// The API token of an `Authorization` header: `Bearer <token>`, or `Basic` with the token as
/// the user name and an empty password, as tracking libraries send a Segment write key.
fn bearer_or_basic_token(auth: &str) -> Option<String> {
    use base64::Engine;
    let (scheme, rest) = auth.split_once(' ')?;
    match scheme.to_ascii_lowercase().as_str() {
        "bearer" => Some(rest.trim().to_owned()),
        "basic" => {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(rest.trim())
                .ok()?;
            let text = String::from_utf8(decoded).ok()?;
            let user = text.split_once(':').map_or(text.as_str(), |(u, _)| u);
            (!user.is_empty()).then(|| user.to_owned())
        }
        _ => None,
    }
}

/// Resolves a bearer token or a session cookie into a [`Principal`] in the request's
/// extensions. A bad bearer token is refused at once; a stale cookie is ignored (the request
/// continues anonymous, and routes that need a caller answer 401).
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_owned());
    if let Some(auth) = bearer {
        let Some(token) = bearer_or_basic_token(&auth) else {
            return ApiError::unauthenticated(
                "Authorization must be `Bearer <API token>` (or Basic with the token as user name)",
            )
            .into_response();
        };
        match state.app.auth.authenticate_bearer(token.trim()).await {
            Ok(p) => {
                req.extensions_mut().insert(p);
            }
            Err(e) => return ApiError::from(e).into_response(),
        }
    } else if let Some(secret) = session_cookie(&req) {
        if let Ok(p) = state.app.auth.authenticate_session(&secret).await {
            req.extensions_mut().insert(p);
        }
    }
    if let Some(p) = req.extensions().get::<Principal>() {
        let limits = state.config.rate_limits;
        let per_minute = match p.scope {
            cscx_domain::TokenScope::Ingest => limits.ingest_per_minute,
            _ => limits.per_minute,
        };
        let key = p.scope_key();
        if let Err(retry_after) = state
            .limiter
            .check(&key, per_minute, std::time::Instant::now())
        {
            let mut e = ApiError::new(
                Code::RateLimited,
                format!("more than {per_minute} requests a minute; retry in {retry_after} s"),
            );
            e.retry_after = Some(retry_after);
            return e.into_response();
        }
    }
    next.run(req).await
}

/// Contract uploads may be 25 MB; the multipart envelope adds a little.
pub const UPLOAD_BODY_LIMIT: usize = 26 * 1024 * 1024;
/// Sign-in forms and JSON are small.
const LOGIN_BODY_LIMIT: usize = 16 * 1024;

/// The largest body a route accepts, by its template: the one table of body limits. Contracts
/// (uploads, and records whose text can be long) and ingestion batches are large, sign-in is
/// tiny, everything else gets the configured JSON limit.
pub fn body_limit_for(route: &str, default: usize) -> usize {
    match route {
        "/contracts/upload" => UPLOAD_BODY_LIMIT,
        r if r.starts_with("/api/v1/contracts") || r.starts_with("/api/v1/entitlements") => {
            UPLOAD_BODY_LIMIT
        }
        "/api/v1/usage/events" => cscx_core::ingest::MAX_BATCH_BYTES,
        r if r.starts_with("/v1/") => cscx_core::ingest::MAX_BATCH_BYTES,
        "/login" | "/api/v1/auth/login" => LOGIN_BODY_LIMIT,
        _ => default,
    }
}

/// The body limit of the route `req` matched.
fn route_body_limit(req: &Request, state: &AppState) -> usize {
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str());
    body_limit_for(route.unwrap_or_default(), state.config.body_limit)
}

fn too_large(limit: usize) -> Response {
    ApiError::new(
        Code::PayloadTooLarge,
        format!("the body is larger than this endpoint accepts ({limit} bytes)"),
    )
    .into_response()
}

/// Bounds every request body by its route's limit before anything reads it: a declared
/// `Content-Length` over the limit is refused at once, and a body that grows past it fails
/// for whoever reads it (extractors then answer 413). Nothing downstream — the idempotency
/// record included — can buffer more than the route accepts.
pub async fn limit_body(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limit = route_body_limit(&req, &state);
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return too_large(limit);
    }
    // Extractors apply their own (default) limit too; this one is the route's.
    let (parts, body) = req.into_parts();
    let body = Body::new(http_body_util::Limited::new(body, limit));
    next.run(Request::from_parts(parts, body)).await
}

/// Refuses a form post (`application/x-www-form-urlencoded`) holding a NUL character, raw or
/// as `%00`: PostgreSQL cannot store one in text, and both backends must answer alike.
pub async fn refuse_nul_in_forms(req: Request, next: Next) -> Response {
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !is_form {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    // The body is already bounded by `limit_body`.
    let bytes = match to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(_) => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                "the form is larger than this page accepts",
            )
                .into_response()
        }
    };
    let nul = bytes.contains(&0)
        || bytes
            .windows(3)
            .any(|w| w[0] == b'%' && w[1] == b'0' && w[2] == b'0');
    if nul {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            "a field of the form holds a NUL character, which cannot be stored",
        )
            .into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// A handler whose response holds a secret sets this extension: an idempotent replay answers
/// with this body instead, and the secret is never stored.
#[derive(Clone)]
pub struct ReplayBody(pub Vec<u8>);

/// How long a stored response answers retries.
const IDEMPOTENCY_TTL_HOURS: i64 = 24;

/// `Idempotency-Key` on a POST: the first response is stored (24 h) and replayed for retries
/// with the same key and body; a retry while the first is still running gets 409; the same key
/// with a different body gets 422. Server errors are not stored, so they can be retried.
pub async fn idempotency(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(key) = req
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
    else {
        return next.run(req).await;
    };
    if key.is_empty() || key.len() > 255 {
        return ApiError::invalid_parameter("Idempotency-Key", "must be 1 to 255 characters")
            .into_response();
    }
    let Some(principal) = req.extensions().get::<Principal>().cloned() else {
        return next.run(req).await; // the handler answers 401
    };
    let limit = route_body_limit(&req, &state);
    let (parts, body) = req.into_parts();
    let bytes = match to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => return too_large(limit),
    };
    let path = parts.uri.path().to_owned();
    let mut hasher = Sha256::new();
    hasher.update(parts.method.as_str());
    hasher.update([0]);
    hasher.update(path.as_bytes());
    hasher.update([0]);
    hasher.update(&bytes);
    let request_hash = hex::encode(hasher.finalize());
    let now = state.app.now();
    let record = IdempotencyRecord {
        id: Id::new(),
        scope: principal.scope_key(),
        idem_key: key.clone(),
        method: parts.method.to_string(),
        path: path.clone(),
        request_hash: request_hash.clone(),
        status_code: None,
        response_body: None,
        created_at: now,
        expires_at: now.add(chrono::Duration::hours(IDEMPOTENCY_TTL_HOURS)),
    };

    let claimed = async {
        let mut c = state.app.db.conn().await?;
        if let Some(old) = product::idempotency_get(c.c(), &record.scope, &key).await? {
            if old.expires_at <= now {
                product::idempotency_release(c.c(), old.id).await?;
            }
        }
        if product::idempotency_claim(c.c(), &record).await? {
            return Ok::<_, cscx_store::Error>(None);
        }
        product::idempotency_get(c.c(), &record.scope, &key).await
    }
    .await;
    match claimed {
        Err(e) => return ApiError::from(e).into_response(),
        Ok(Some(existing)) => {
            if existing.request_hash != request_hash {
                return ApiError::new(
                    Code::IdempotencyKeyReused,
                    "this Idempotency-Key was used for a different request",
                )
                .into_response();
            }
            return match (existing.status_code, existing.response_body) {
                (Some(status), Some(body)) => {
                    let mut resp = Response::new(Body::from(body));
                    *resp.status_mut() =
                        StatusCode::from_u16(status as u16).unwrap_or(StatusCode::OK);
                    resp.headers_mut().insert(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    );
                    resp.headers_mut()
                        .insert("idempotent-replayed", HeaderValue::from_static("true"));
                    resp
                }
                _ => ApiError::new(
                    Code::RequestInProgress,
                    "a request with this Idempotency-Key is still being processed",
                )
                .into_response(),
            };
        }
        Ok(None) => {}
    }

    let resp = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let (mut rparts, rbody) = resp.into_parts();
    let rbytes = to_bytes(rbody, usize::MAX).await.unwrap_or_default();
    let stored = match rparts.extensions.remove::<ReplayBody>() {
        Some(ReplayBody(b)) => b,
        None => rbytes.to_vec(),
    };
    let outcome = async {
        let mut c = state.app.db.conn().await?;
        if rparts.status.is_server_error() {
            product::idempotency_release(c.c(), record.id).await
        } else {
            product::idempotency_complete(
                c.c(),
                record.id,
                rparts.status.as_u16() as i32,
                &String::from_utf8_lossy(&stored),
            )
            .await
        }
    }
    .await;
    if let Err(e) = outcome {
        tracing::error!(error = %e, "could not record the idempotent response");
    }
    Response::from_parts(rparts, Body::from(rbytes))
}
