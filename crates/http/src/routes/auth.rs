//! Signing in and out with e-mail and password (browser sessions).

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use cscx_core::auth::{AuthVia, LoginRequest};
use cscx_core::users::UserView;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Caller, Typed};
use crate::middleware::{client_ip, cookie_value, DEVICE_COOKIE, SESSION_COOKIE};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    pub email: String,
    pub password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LoggedIn {
    pub user: UserView,
    /// Send as `X-CSRF-Token` on every state-changing request made with the session cookie.
    pub csrf_token: String,
}

pub(crate) fn cookie(state: &AppState, value: &str, max_age_secs: i64) -> HeaderValue {
    let secure = if state.config.cookie_secure {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
    ))
    .expect("cookie values are hex")
}

/// Sign in. Sets an HttpOnly, SameSite session cookie. Repeated failures for one e-mail (or
/// from one address) are refused with 429 for a while.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = Login,
    responses((status = 200, body = LoggedIn), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn login(State(s): State<AppState>, req: Request) -> ApiResult<Response> {
    let ip = client_ip(&req, s.config.trust_proxy);
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let device = cookie_value(&req, DEVICE_COOKIE);
    let Typed(body) =
        <Typed<Login> as axum::extract::FromRequest<()>>::from_request(req, &()).await?;
    let signed_in = s
        .app
        .auth
        .login(LoginRequest {
            email: &body.email,
            password: &body.password,
            ip: ip.as_deref(),
            user_agent: user_agent.as_deref(),
            device_cookie: device.as_deref(),
        })
        .await?;
    let (principal, secret) = (signed_in.principal, signed_in.session_secret);
    let AuthVia::Session { csrf_token, .. } = principal.via else {
        return Err(ApiError::internal("login did not open a session"));
    };
    let user = cscx_core::users::get(&s.app, principal.user_id).await?;
    let mut resp = Json(LoggedIn { user, csrf_token }).into_response();
    let max_age = s.app.auth.config.session_idle.num_seconds();
    resp.headers_mut()
        .insert(header::SET_COOKIE, cookie(&s, &secret, max_age));
    resp.headers_mut().append(
        header::SET_COOKIE,
        device_cookie(&s, &signed_in.device_secret),
    );
    Ok(resp)
}

/// The device cookie: kept for half a year, sent only to this site, never to scripts.
pub fn device_cookie(state: &AppState, secret: &str) -> HeaderValue {
    let secure = if state.config.cookie_secure {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{DEVICE_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        180 * 86_400
    ))
    .expect("cookie values are hex")
}

/// Sign out: ends the session and clears the cookie.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn logout(State(s): State<AppState>, c: Caller) -> ApiResult<Response> {
    if let AuthVia::Session { session_id, .. } = c.0.via {
        s.app.auth.logout(session_id).await?;
    }
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, cookie(&s, "", 0));
    Ok(resp)
}
