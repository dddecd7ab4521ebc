//! The CSM workspace: server-rendered pages (askama templates, our own CSS, SVG charts drawn on
//! the server, no JavaScript needed). Pages use the session cookie; forms carry the session's
//! CSRF token. These are HTML pages, not API operations, so they live outside the OpenAPI
//! document.

mod approvals;
mod assistant;
mod audit;
mod auth;
mod charts;
mod contracts;
mod customer;
mod customers;
mod forms;
mod home;
mod integrations;
mod risk;
mod tasks;

use approvals::*;
use auth::*;
use customer::*;
use customers::*;
use home::*;

use askama::Template;
use axum::extract::{Form, Path, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::HashMap;

use cscx_core::auth::{AuthVia, Principal};
use cscx_domain::Role;
use cscx_store::customers::{CustomerFilter, Sort};
use cscx_store::model::{Customer, Stakeholder};
use cscx_store::Id;

use crate::routes::customers::{decode_cursor, encode_cursor};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/customers", get(customers))
        .route(
            "/customers/new",
            get(forms::new_customer).post(forms::create_customer),
        )
        .route("/customers/{id}", get(customer))
        .route(
            "/customers/{id}/edit",
            get(forms::edit_customer).post(forms::update_customer),
        )
        .route("/customers/{id}/stakeholders", post(add_stakeholder))
        .route("/customers/{id}/notes", post(add_note))
        .route("/stakeholders/{id}/edit", post(edit_stakeholder))
        .route("/admin", get(forms::admin))
        .route("/tasks", get(tasks::my_day).post(tasks::add))
        .route("/tasks/{id}", post(tasks::act))
        .route("/risk-signals/{id}", post(risk::act))
        .route("/admin/audit", get(audit::audit))
        .route("/admin/integrations", get(integrations::integrations))
        .route("/admin/users", post(forms::create_user))
        .route("/admin/tokens", post(forms::create_token))
        .route("/admin/tokens/{id}/revoke", post(forms::revoke_token))
        .route("/approvals", get(approvals))
        .route("/approvals/{id}/approve", post(approve))
        .route("/approvals/{id}/reject", post(reject))
        .route("/contracts/upload", get(contracts::upload_page))
        .route("/contracts/upload", post(contracts::upload))
        .route("/contracts/{id}", get(contracts::review))
        .route("/contracts/{id}/edit", post(contracts::edit))
        .route("/contracts/{id}/confirm", post(contracts::confirm))
        .route("/contracts/{id}/reextract", post(contracts::reextract))
        .route(
            "/chat",
            get(assistant::chat_page).post(assistant::chat_post),
        )
        .route("/risk-signals", get(risk::signals))
        .route("/static/app.css", get(stylesheet))
        .route("/static/chat.js", get(assistant::script))
        .route("/static/upload.js", get(assistant::upload_script))
}

const CSS: &str = include_str!("app.css");

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
        .into_response()
}

/// A signed-in page visitor: the session's principal and CSRF token.
pub(super) struct Visitor {
    pub(super) principal: Principal,
    pub(super) csrf: String,
}

impl Visitor {
    fn from(req_principal: Option<Principal>) -> Option<Visitor> {
        let p = req_principal?;
        let AuthVia::Session { csrf_token, .. } = &p.via else {
            return None;
        };
        let csrf = csrf_token.clone();
        Some(Visitor { principal: p, csrf })
    }

    pub(super) fn name(&self) -> String {
        self.principal
            .name
            .clone()
            .unwrap_or_else(|| self.principal.email.clone())
    }
}

/// What every signed-in page shows around its content: the navigation (with `nav` marked as
/// the current section), who is signed in and as what (which decides the links they see), and
/// the CSRF token their forms carry. One struct, so a page cannot forget a part of it.
pub(super) struct Frame {
    pub(super) nav: &'static str,
    pub(super) user: String,
    pub(super) role: Role,
    pub(super) csrf: String,
}

impl Frame {
    pub(super) fn can_write(&self) -> bool {
        self.role >= Role::Csm
    }

    pub(super) fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

impl Visitor {
    pub(super) fn frame(&self, nav: &'static str) -> Frame {
        Frame {
            nav,
            user: self.name(),
            role: self.principal.role,
            csrf: self.csrf.clone(),
        }
    }
}

/// A page that could not be served: server trouble is logged and answered with a bare 500
/// (no details reach the visitor). Handlers return `Result<Response, PageError>` and use `?`.
pub(super) struct PageError(String);

impl<E: std::fmt::Display> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.to_string())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        failure(self.0)
    }
}

/// Pages need a session; without one they send the visitor to sign in.
pub(super) struct Page(pub(super) Visitor);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Page {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Visitor::from(parts.extensions.get::<Principal>().cloned())
            .map(Page)
            .ok_or_else(|| Redirect::to("/login").into_response())
    }
}

pub(super) fn render<T: Template>(t: &T) -> Response {
    match t.render() {
        Ok(html) => {
            let mut r = Html(html).into_response();
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r.headers_mut().insert(
                "content-security-policy",
                HeaderValue::from_static("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"),
            );
            r
        }
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
}

/// A styled page for an error in the browser (never raw JSON or bare text), with the
/// navigation to go on from.
pub fn error_page(status: StatusCode, message: &str) -> Response {
    let title = match status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::INTERNAL_SERVER_ERROR => "Something went wrong",
        s => s.canonical_reason().unwrap_or("Error"),
    };
    let mut r = render(&ErrorPage { title, message });
    *r.status_mut() = status;
    r
}

pub(super) fn failure(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "page failed");
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "The page could not be shown. The error is in the server's log; try again in a moment.",
    )
}

/// The form's CSRF token matches the session's.
pub(super) fn csrf_ok(v: &Visitor, form: &HashMap<String, String>) -> bool {
    let sent = form.get("csrf").map(String::as_str).unwrap_or("");
    !sent.is_empty() && sent == v.csrf
}

pub(super) fn csrf_refused() -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "The form has expired: go back, reload the page and try again.",
    )
}

/// A form post from someone with at least `min` and the session's CSRF token; otherwise the
/// refusal to send back.
pub(super) fn refuse_write(
    v: &Visitor,
    form: &HashMap<String, String>,
    min: Role,
) -> Option<Response> {
    if !csrf_ok(v, form) {
        return Some(csrf_refused());
    }
    if v.principal.role < min {
        return Some(error_page(
            StatusCode::FORBIDDEN,
            &format!("This needs the {min} role."),
        ));
    }
    None
}

/// [`refuse_write`], then the record id from the path: where every form that acts on one
/// record starts. `what` names the record in the 404.
// The error is the response the handler returns at once, never carried further: boxing it
// would only add an allocation.
#[allow(clippy::result_large_err)]
pub(super) fn writable_id(
    v: &Visitor,
    form: &HashMap<String, String>,
    min: Role,
    id: &str,
    what: &str,
) -> Result<Id, Response> {
    if let Some(r) = refuse_write(v, form, min) {
        return Err(r);
    }
    id.parse().map_err(|_| not_found(what))
}

/// The status of an error the user can act on (shown on the page); `None` for server trouble.
pub(super) fn user_error_status(e: &cscx_core::CoreError) -> Option<StatusCode> {
    use cscx_core::CoreError::*;
    Some(match e {
        Forbidden(_) => StatusCode::FORBIDDEN,
        Conflict(_) => StatusCode::CONFLICT,
        Document(cscx_ai::document::DocumentError::ReaderUnavailable(_)) => return None,
        Validation(_) | Document(_) => StatusCode::UNPROCESSABLE_ENTITY,
        NotFound(_) => StatusCode::NOT_FOUND,
        RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        _ => return None,
    })
}

pub(super) fn not_found(what: &str) -> Response {
    error_page(StatusCode::NOT_FOUND, &format!("There is no such {what}."))
}

pub(super) fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
