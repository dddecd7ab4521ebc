//! The current user, user administration and API tokens (admins).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use cscx_core::audit::Actor;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use cscx_core::auth::AuthVia;
use cscx_core::users::{NewUser, UserView};
use cscx_domain::{Role, TokenScope};
use cscx_store::product::ApiToken;
use cscx_store::{Id, Timestamp};

use super::{created, id_cursor, id_page, limit, path_id, Page};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Body, Caller, Params, Typed};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user, delete_user))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
}

/// Who is calling, with what role and scope.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Me {
    pub user: UserView,
    /// Effective role (a token's role never exceeds its user's).
    #[schema(value_type = String)]
    pub role: Role,
    #[schema(value_type = String)]
    pub scope: TokenScope,
    /// `session` or `token`.
    pub auth: String,
    /// For session callers: send as `X-CSRF-Token` on every state-changing request.
    pub csrf_token: Option<String>,
}

/// The caller.
#[utoipa::path(get, path = "/api/v1/me", tag = "users", responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
async fn me(State(s): State<AppState>, c: Caller) -> ApiResult<Json<Me>> {
    let p = c.0;
    let user = cscx_core::users::get(&s.app, p.user_id).await?;
    let (auth, csrf_token) = match p.via {
        AuthVia::Session { csrf_token, .. } => ("session".to_owned(), Some(csrf_token)),
        AuthVia::Token { .. } => ("token".to_owned(), None),
    };
    Ok(Json(Me {
        user,
        role: p.role,
        scope: p.scope,
        auth,
        csrf_token,
    }))
}

/// List users (admin).
#[utoipa::path(get, path = "/api/v1/users", tag = "users",
    params(("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = Page<UserView>), (status = 403, body = ErrorBody)))]
async fn list_users(
    State(s): State<AppState>,
    c: Caller,
    p: Params,
) -> ApiResult<Json<Page<UserView>>> {
    c.admin()?;
    p.only(&["limit", "cursor"])?;
    let limit = limit(&p)?;
    let rows = cscx_core::users::list(&s.app, id_cursor(&p)?, limit + 1).await?;
    Ok(Json(id_page(rows, limit, |u| u.id)))
}

/// Create a user (admin). Roles: viewer, csm, manager, admin. The password (10+ characters)
/// may be left out for users who only own API tokens.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUser,
    responses((status = 201, body = UserView), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn create_user(
    State(s): State<AppState>,
    c: Caller,
    Typed(new): Typed<NewUser>,
) -> ApiResult<Response> {
    let who = c.admin()?;
    let u = cscx_core::users::create(&s.app, new, &Actor::of(who)).await?;
    Ok(created(format!("/api/v1/users/{}", u.id), &u))
}

/// Get a user (admin, or the user themself).
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users",
    params(("id" = String, Path)), responses((status = 200, body = UserView), (status = 404, body = ErrorBody)))]
async fn get_user(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<UserView>> {
    let id = path_id(&id)?;
    if id != c.0.user_id {
        c.admin()?;
    }
    Ok(Json(cscx_core::users::get(&s.app, id).await?))
}

/// Change a user (admin): name, role, disabled, time_zone, password. Disabling a user or
/// changing the password ends their sessions. The last active admin cannot be demoted.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", request_body = Object,
    params(("id" = String, Path)), responses((status = 200, body = UserView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_user(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    Body(body): Body,
) -> ApiResult<Json<UserView>> {
    let who = c.admin()?;
    Ok(Json(
        cscx_core::users::update(&s.app, path_id(&id)?, &body, &Actor::of(who)).await?,
    ))
}

/// Delete a user (admin). Their tokens and sessions go with them; records they own keep
/// existing with the owner cleared.
#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "users",
    params(("id" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn delete_user(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let who = c.admin()?;
    cscx_core::users::delete(&s.app, path_id(&id)?, &Actor::of(who)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An API token as listed: never the secret.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenView {
    pub id: Id,
    pub user_id: Id,
    pub name: String,
    /// The first characters of the secret, to tell tokens apart.
    pub prefix: String,
    pub role: Option<String>,
    pub scope: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

impl From<ApiToken> for TokenView {
    fn from(t: ApiToken) -> Self {
        TokenView {
            id: t.id,
            user_id: t.user_id,
            name: t.name,
            prefix: t.prefix,
            role: t.role,
            scope: t.scope,
            created_at: t.created_at,
            last_used_at: t.last_used_at,
            expires_at: t.expires_at,
            revoked_at: t.revoked_at,
        }
    }
}

/// `POST /api/v1/tokens` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// The user the token acts as.
    pub email: String,
    pub name: String,
    /// Lower the token's role below its user's (never above).
    pub role: Option<String>,
    /// `full` (default) or `ingest` (ingestion endpoints only).
    pub scope: Option<String>,
    pub expires_at: Option<Timestamp>,
}

/// A new token: the secret is shown this once.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    pub token: TokenView,
    pub secret: String,
}

/// List API tokens (admin).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens",
    responses((status = 200, body = Page<TokenView>), (status = 403, body = ErrorBody)))]
async fn list_tokens(State(s): State<AppState>, c: Caller) -> ApiResult<Json<Page<TokenView>>> {
    c.admin()?;
    let tokens = s.app.auth.list_tokens(None).await?;
    Ok(Json(Page {
        data: tokens.into_iter().map(Into::into).collect(),
        next_cursor: None,
    }))
}

/// Create an API token for a user (admin). The secret is in this response only.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = NewToken,
    responses((status = 201, body = CreatedToken), (status = 422, body = ErrorBody)))]
async fn create_token(
    State(s): State<AppState>,
    c: Caller,
    Typed(t): Typed<NewToken>,
) -> ApiResult<Response> {
    c.admin()?;
    let role = match t.role.as_deref() {
        None => None,
        Some(r) => Some(
            r.parse::<Role>()
                .map_err(|m| cscx_core::CoreError::field("role", m))?,
        ),
    };
    let scope = match t.scope.as_deref() {
        None => TokenScope::Full,
        Some(sc) => sc
            .parse()
            .map_err(|m: String| cscx_core::CoreError::field("scope", m))?,
    };
    let (token, secret) = s
        .app
        .auth
        .create_token(
            &t.email,
            &t.name,
            role,
            scope,
            t.expires_at,
            &Actor::of(&c.0),
        )
        .await?;
    let id = token.id;
    let view: TokenView = token.into();
    // A retry with the same Idempotency-Key gets the token without its secret: the secret is
    // shown once and never stored.
    let replay = serde_json::to_vec(&serde_json::json!({
        "token": &view,
        "secret": null,
        "note": "this is a replay: the secret was shown once, in the first response",
    }))
    .unwrap_or_default();
    let mut resp = created(
        format!("/api/v1/tokens/{id}"),
        &CreatedToken {
            token: view,
            secret,
        },
    );
    resp.extensions_mut()
        .insert(crate::middleware::ReplayBody(replay));
    Ok(resp)
}

/// Revoke an API token (admin). Revoking twice is harmless.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens",
    params(("id" = String, Path)), responses((status = 200, body = TokenView), (status = 404, body = ErrorBody)))]
async fn revoke_token(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<TokenView>> {
    let who = c.admin()?;
    let t = s
        .app
        .auth
        .revoke_token(path_id(&id)?, &Actor::of(who))
        .await
        .map_err(ApiError::from)?;
    Ok(Json(t.into()))
}
