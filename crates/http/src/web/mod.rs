//! The CSM workspace: server-rendered pages (askama templates, our own CSS, SVG charts drawn on
//! the server, no JavaScript needed). Pages use the session cookie; forms carry the session's
//! CSRF token. These are HTML pages, not API operations, so they live outside the OpenAPI
//! document.

mod assistant;
mod audit;
mod charts;
mod contracts;
mod forms;

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
use cscx_store::model::{AgentActivity, Contract, Customer, Stakeholder};
use cscx_store::{entity, Id};

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
        .route("/stakeholders/{id}/edit", post(edit_stakeholder))
        .route("/admin", get(forms::admin))
        .route("/admin/audit", get(audit::audit))
        .route("/admin/users", post(forms::create_user))
        .route("/admin/tokens", post(forms::create_token))
        .route("/admin/tokens/{id}/revoke", post(forms::revoke_token))
        .route("/approvals", get(approvals))
        .route("/approvals/{id}/approve", post(approve))
        .route("/approvals/{id}/reject", post(reject))
        .route("/contracts/upload", get(contracts::upload_page))
        .route(
            "/contracts/upload",
            post(contracts::upload).layer(axum::extract::DefaultBodyLimit::max(
                crate::middleware::UPLOAD_BODY_LIMIT,
            )),
        )
        .route("/contracts/{id}", get(contracts::review))
        .route("/contracts/{id}/edit", post(contracts::edit))
        .route("/contracts/{id}/confirm", post(contracts::confirm))
        .route("/contracts/{id}/reextract", post(contracts::reextract))
        .route(
            "/chat",
            get(assistant::chat_page).post(assistant::chat_post),
        )
        .route("/risk-signals", get(assistant::signals))
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

pub(super) fn failure(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "page failed");
    (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
}

/// The form's CSRF token matches the session's.
pub(super) fn csrf_ok(v: &Visitor, form: &HashMap<String, String>) -> bool {
    let sent = form.get("csrf").map(String::as_str).unwrap_or("");
    !sent.is_empty() && sent == v.csrf
}

pub(super) fn csrf_refused() -> Response {
    (
        StatusCode::FORBIDDEN,
        "the form has expired; reload the page and try again",
    )
        .into_response()
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
        return Some((StatusCode::FORBIDDEN, format!("this needs the {min} role")).into_response());
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
    (StatusCode::NOT_FOUND, format!("no such {what}")).into_response()
}

// --- sign in --------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    email: String,
    error: Option<String>,
}

async fn login_page() -> Response {
    render(&LoginPage {
        email: String::new(),
        error: None,
    })
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
}

async fn login(State(s): State<AppState>, req: Request) -> Response {
    let ip = crate::middleware::client_ip(&req, s.config.trust_proxy);
    let ua = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let device = crate::middleware::cookie_value(&req, crate::middleware::DEVICE_COOKIE);
    let f = match <Form<LoginForm> as axum::extract::FromRequest<()>>::from_request(req, &()).await
    {
        Ok(Form(f)) => f,
        Err(rejection) => {
            let mut r = render(&LoginPage {
                email: String::new(),
                error: Some("Enter your e-mail and password.".into()),
            });
            *r.status_mut() = rejection.status();
            return r;
        }
    };
    match s
        .app
        .auth
        .login(cscx_core::auth::LoginRequest {
            email: &f.email,
            password: &f.password,
            ip: ip.as_deref(),
            user_agent: ua.as_deref(),
            device_cookie: device.as_deref(),
        })
        .await
    {
        Ok(signed_in) => {
            let max_age = s.app.auth.config.session_idle.num_seconds();
            let mut r = Redirect::to("/").into_response();
            r.headers_mut().insert(
                header::SET_COOKIE,
                crate::routes::auth::cookie(&s, &signed_in.session_secret, max_age),
            );
            r.headers_mut().append(
                header::SET_COOKIE,
                crate::routes::auth::device_cookie(&s, &signed_in.device_secret),
            );
            r
        }
        Err(e) => {
            let message = match e {
                cscx_core::CoreError::RateLimited { retry_after_secs } => format!(
                    "Too many attempts. Try again in {} minutes.",
                    retry_after_secs.div_ceil(60)
                ),
                _ => "That e-mail and password do not match an active account.".into(),
            };
            let mut r = render(&LoginPage {
                email: f.email,
                error: Some(message),
            });
            *r.status_mut() = StatusCode::UNAUTHORIZED;
            r
        }
    }
}

async fn logout(
    State(s): State<AppState>,
    Page(v): Page,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !csrf_ok(&v, &form) {
        return csrf_refused();
    }
    if let AuthVia::Session { session_id, .. } = v.principal.via {
        let _ = s.app.auth.logout(session_id).await;
    }
    let mut r = Redirect::to("/login").into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, crate::routes::auth::cookie(&s, "", 0));
    r
}

// --- home -----------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    nav: &'static str,
    user: String,
    role: Role,
    csrf: String,
    s: cscx_core::dashboard::Summary,
    health_chart: String,
}

async fn home(State(s): State<AppState>, Page(v): Page) -> Response {
    let summary = match cscx_core::dashboard::summary(&s.app, v.principal.role).await {
        Ok(x) => x,
        Err(e) => return failure(e),
    };
    let health_chart = charts::bands(summary.green, summary.yellow, summary.red, summary.unscored);
    render(&HomePage {
        nav: "home",
        user: v.name(),
        role: v.principal.role,
        csrf: v.csrf,
        s: summary,
        health_chart,
    })
}

// --- customers ------------------------------------------------------------------------------

struct Row {
    id: Id,
    name: String,
    stage: String,
    band: &'static str,
    health: String,
    arr: String,
    renewal: String,
    segment: String,
}

fn band(score: Option<i32>) -> &'static str {
    cscx_core::agents::tools::grade(score)
}

fn health_text(score: Option<i32>) -> String {
    match score {
        Some(s) => format!("{s} {}", band(Some(s))),
        None => "not scored".into(),
    }
}

fn money(m: &Option<cscx_store::Money>) -> String {
    match m {
        Some(m) => format!("${}", cscx_domain::money::whole(m.0)),
        None => "—".into(),
    }
}

#[derive(Template)]
#[template(path = "customers.html")]
struct CustomersPage {
    nav: &'static str,
    user: String,
    role: Role,
    csrf: String,
    q: String,
    stage: String,
    band: String,
    renewal_within: String,
    sort: String,
    mine: bool,
    segment: String,
    csm: String,
    csms: Vec<(String, String)>,
    /// Column headers; sortable ones link to the list sorted by them.
    headers: Vec<(&'static str, Option<String>)>,
    stages: Vec<&'static str>,
    bands: Vec<&'static str>,
    sorts: Vec<(&'static str, &'static str)>,
    rows: Vec<Row>,
    next: Option<String>,
    error: Option<String>,
}

async fn customers(
    State(s): State<AppState>,
    Page(v): Page,
    Query(p): Query<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| p.get(k).map(|x| x.trim().to_string()).unwrap_or_default();
    let (q, stage, band_sel, within, sort_key) = (
        get("q"),
        get("stage"),
        get("band"),
        get("renewal_within"),
        get("sort"),
    );
    let mine = p.get("mine").is_some_and(|m| m == "1");
    let (segment, csm) = (get("segment"), get("csm"));
    let mut error = None;
    let mut f = CustomerFilter {
        q: (!q.is_empty()).then(|| q.clone()),
        stage: (!stage.is_empty()).then(|| stage.clone()),
        csm_id: if mine {
            Some(v.principal.user_id)
        } else {
            csm.parse().ok()
        },
        segment: (!segment.is_empty()).then(|| segment.clone()),
        ..Default::default()
    };
    match band_sel.as_str() {
        "green" => f.health_min = Some(75),
        "yellow" => {
            f.health_min = Some(50);
            f.health_max = Some(74);
        }
        "red" => f.health_max = Some(49),
        "unscored" => f.unscored = true,
        _ => {}
    }
    let today = s.app.clock.now().date_naive();
    if !within.is_empty() {
        match within.parse::<i64>() {
            Ok(d) if (1..=3650).contains(&d) => {
                f.renewal_after = Some(today);
                f.renewal_before = Some(today + chrono::Duration::days(d));
            }
            _ => error = Some("Renews within must be a number of days from 1 to 3650.".to_string()),
        }
    }
    let sort = if sort_key.is_empty() {
        Sort::default()
    } else {
        Sort::parse(&sort_key).unwrap_or_default()
    };
    let cursor = p.get("cursor").and_then(|c| decode_cursor(c));
    let (rows, next) = match s
        .app
        .portfolio
        .list_customers(&f, sort, cursor.as_ref(), 50)
        .await
    {
        Ok(x) => x,
        Err(e) => return failure(e),
    };
    // A cursor belongs to one sort and one set of filters: links that change either drop it.
    let next = next.map(|c| customers_url(&p, &[("cursor", encode_cursor(&c))]));
    let rows = rows
        .into_iter()
        .map(|c| Row {
            id: c.id,
            band: band(c.health_score),
            health: health_text(c.health_score),
            arr: money(&c.arr),
            renewal: c
                .renewal_date
                .map(|d| d.to_string())
                .unwrap_or_else(|| "—".into()),
            segment: c.segment.clone().unwrap_or_else(|| "—".into()),
            name: c.name,
            stage: c.stage,
        })
        .collect();
    let csms = match s.app.users.list(None, 500).await {
        Ok(users) => users
            .into_iter()
            .filter(|u| !u.disabled && u.role != "viewer")
            .map(|u| (u.id.to_string(), u.name.unwrap_or(u.email)))
            .collect(),
        Err(e) => return failure(e),
    };
    // Sorting by a column keeps the filters and starts from the first page.
    let sort_link = |key: &str| {
        Some(customers_url(
            &p,
            &[("sort", key.to_string()), ("cursor", String::new())],
        ))
    };
    let headers = vec![
        ("Name", sort_link("name")),
        ("Stage", None),
        ("Health", sort_link("health_score")),
        ("ARR", sort_link("-arr")),
        ("Renewal", sort_link("renewal_date")),
        ("Segment", None),
    ];
    render(&CustomersPage {
        nav: "customers",
        segment,
        csm,
        csms,
        headers,
        user: v.name(),
        role: v.principal.role,
        csrf: v.csrf,
        q,
        stage,
        band: band_sel,
        renewal_within: within,
        sort: sort_key,
        mine,
        stages: vec!["prospect", "onboarding", "active", "at_risk", "churned"],
        bands: vec!["green", "yellow", "red", "unscored"],
        sorts: vec![
            ("name", "Name"),
            ("health_score", "Health (lowest first)"),
            ("-arr", "ARR (highest first)"),
            ("renewal_date", "Renewal date"),
            ("-updated_at", "Recently updated"),
        ],
        rows,
        next,
        error,
    })
}

/// `/customers` with the current query, `set` applied (an empty value removes the parameter).
fn customers_url(current: &HashMap<String, String>, set: &[(&str, String)]) -> String {
    let mut params: Vec<(String, String)> = current
        .iter()
        .filter(|(k, _)| !set.iter().any(|(s, _)| s == k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .chain(
            set.iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (k.to_string(), v.clone())),
        )
        .collect();
    params.sort();
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
        .collect();
    format!("/customers?{}", query.join("&"))
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

#[derive(Template)]
#[template(path = "customer.html")]
struct CustomerPage {
    nav: &'static str,
    user: String,
    role: Role,
    csrf: String,
    c: Customer,
    band: &'static str,
    health: String,
    trend: String,
    arr: String,
    renewal: String,
    csm: String,
    history_chart: String,
    usage_chart: String,
    components: Vec<(String, String, String)>,
    changes: Vec<String>,
    features: Vec<(String, i64)>,
    signals: Vec<(String, String, String, String)>,
    people: Vec<Stakeholder>,
    contracts: Vec<(Id, String, String, String, String)>,
    entitlements: Vec<(String, String, String, String)>,
    activity: Vec<(String, String, String, String)>,
    can_edit: bool,
    sentiments: Vec<&'static str>,
    stake_error: Option<String>,
    stake_name: String,
    stake_role: String,
    stake_email: String,
}

async fn customer(State(s): State<AppState>, Page(v): Page, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<Id>() else {
        return not_found("customer");
    };
    match customer_page(&s, v, id).await {
        Ok(Some(page)) => render(&page),
        Ok(None) => not_found("customer"),
        Err(e) => failure(e),
    }
}

async fn customer_page(
    s: &AppState,
    v: Visitor,
    id: Id,
) -> Result<Option<CustomerPage>, cscx_core::CoreError> {
    let app = &s.app;
    let mut conn = app.db.conn().await?;
    let Some(c) = entity::get::<Customer>(conn.c(), id).await? else {
        return Ok(None);
    };
    let history = cscx_core::intelligence::health_history(app, id, None, 60).await?;
    let latest = history
        .first()
        .and_then(|h| h.components.clone())
        .unwrap_or(Value::Null);
    let components = latest["components"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|x| {
            (
                x["key"].as_str().unwrap_or("").to_string(),
                x["score"].to_string(),
                x["reason"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let changes = latest["changes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str().map(str::to_string))
        .collect();
    let trend = match (history.first(), history.get(1)) {
        (Some(a), Some(b)) if a.score > b.score => format!("up from {}", b.score),
        (Some(a), Some(b)) if a.score < b.score => format!("down from {}", b.score),
        (Some(_), Some(_)) => "unchanged".into(),
        _ => String::new(),
    };
    let points: Vec<(i64, i32)> = history
        .iter()
        .rev()
        .map(|h| (h.recorded_at.millis(), h.score))
        .collect();
    let today = app.clock.now().date_naive();
    let usage =
        cscx_store::usage::metrics(conn.c(), id, today - chrono::Duration::days(30), today).await?;
    let features = cscx_core::agents::tools::top_features(usage.last(), 8);
    let signals = cscx_core::intelligence::list_signals(
        app,
        &cscx_core::intelligence::SignalFilter {
            customer_id: Some(id),
            ..Default::default()
        },
        None,
        20,
    )
    .await?
    .into_iter()
    .map(|r| {
        (
            r.signal_type,
            r.severity,
            if r.resolved_at.is_some() {
                "resolved".to_string()
            } else {
                "open".to_string()
            },
            r.description.or(r.resolution_notes).unwrap_or_default(),
        )
    })
    .collect();
    let people: Vec<Stakeholder> = entity::list_by(conn.c(), "customer_id", id, None, 200).await?;
    let contracts: Vec<Contract> = entity::list_by(conn.c(), "customer_id", id, None, 50).await?;
    let mut entitlements = Vec::new();
    for k in contracts.iter().filter(|k| k.status == "active") {
        let rows: Vec<cscx_store::model::Entitlement> =
            entity::list_by(conn.c(), "contract_id", k.id, None, 200).await?;
        entitlements.extend(rows.into_iter().map(|e| {
            (
                e.name,
                e.quantity
                    .map(|q| format!("{q}{}", e.unit.map(|u| format!(" {u}")).unwrap_or_default()))
                    .unwrap_or_else(|| "—".into()),
                money(&e.price),
                e.category.unwrap_or_default(),
            )
        }));
    }
    let activity: Vec<AgentActivity> = cscx_core::agents::recent_activity(app, id, 10).await?;
    let csm = match c.csm_id {
        Some(u) => entity::get::<cscx_store::product::User>(conn.c(), u)
            .await?
            .map(|u| u.name.unwrap_or(u.email))
            .unwrap_or_else(|| "—".into()),
        None => "unassigned".into(),
    };
    Ok(Some(CustomerPage {
        nav: "customers",
        user: v.name(),
        role: v.principal.role,
        csrf: v.csrf,
        band: band(c.health_score),
        health: health_text(c.health_score),
        trend,
        arr: money(&c.arr),
        renewal: c
            .renewal_date
            .map(|d| d.to_string())
            .unwrap_or_else(|| "—".into()),
        csm,
        history_chart: charts::line(&points, "Health score over time", 0, 100),
        usage_chart: charts::usage(&usage),
        components,
        changes,
        features,
        signals,
        people,
        contracts: contracts
            .into_iter()
            .map(|k| {
                (
                    k.id,
                    k.file_name.unwrap_or_else(|| "—".into()),
                    k.status,
                    k.contract_term.unwrap_or_else(|| {
                        format!(
                            "{} to {}",
                            k.start_date
                                .map(|d| d.to_string())
                                .unwrap_or_else(|| "?".into()),
                            k.end_date
                                .map(|d| d.to_string())
                                .unwrap_or_else(|| "?".into())
                        )
                    }),
                    money(&k.arr),
                )
            })
            .collect(),
        activity: activity
            .into_iter()
            .map(|a| {
                (
                    a.started_at.to_rfc3339(),
                    a.agent_type.unwrap_or_default(),
                    a.action_type,
                    a.status,
                )
            })
            .collect(),
        entitlements,
        can_edit: v.principal.role >= Role::Csm,
        sentiments: cscx_domain::validate::SENTIMENTS.to_vec(),
        stake_error: None,
        stake_name: String::new(),
        stake_role: String::new(),
        stake_email: String::new(),
        c,
    }))
}

/// Adds a stakeholder from the customer 360; on error the page comes back with the message and
/// what was typed.
async fn add_stakeholder(
    State(s): State<AppState>,
    Page(v): Page,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let id = match writable_id(&v, &form, Role::Csm, &id, "customer") {
        Ok(id) => id,
        Err(refused) => return refused,
    };
    let get = |k: &str| {
        form.get(k)
            .map(|x| x.trim().to_string())
            .unwrap_or_default()
    };
    let mut body = Map::new();
    body.insert("name".into(), Value::String(get("name")));
    for k in ["role", "email"] {
        if !get(k).is_empty() {
            body.insert(k.into(), Value::String(get(k)));
        }
    }
    body.insert("is_primary".into(), Value::Bool(get("is_primary") == "1"));
    match s
        .app
        .portfolio
        .create_stakeholder(&v.principal, id, &Value::Object(body))
        .await
    {
        Ok(_) => Redirect::to(&format!("/customers/{id}#sh")).into_response(),
        Err(e) => {
            let (name, role, email) = (get("name"), get("role"), get("email"));
            match customer_page(&s, v, id).await {
                Ok(Some(mut page)) => {
                    page.stake_error = Some(e.to_string());
                    page.stake_name = name;
                    page.stake_role = role;
                    page.stake_email = email;
                    let mut r = render(&page);
                    *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
                    r
                }
                Ok(None) => not_found("customer"),
                Err(e) => failure(e),
            }
        }
    }
}

/// Sentiment and primary flag from the stakeholder table.
async fn edit_stakeholder(
    State(s): State<AppState>,
    Page(v): Page,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let id = match writable_id(&v, &form, Role::Csm, &id, "stakeholder") {
        Ok(id) => id,
        Err(refused) => return refused,
    };
    let mut body = Map::new();
    if let Some(sentiment) = form.get("sentiment") {
        body.insert("sentiment".into(), Value::String(sentiment.clone()));
    }
    body.insert(
        "is_primary".into(),
        Value::Bool(form.get("is_primary").is_some_and(|x| x == "1")),
    );
    match s
        .app
        .portfolio
        .update_stakeholder(&v.principal, id, &Value::Object(body))
        .await
    {
        Ok(st) => Redirect::to(&format!("/customers/{}#sh", st.customer_id)).into_response(),
        Err(cscx_core::CoreError::NotFound(_)) => not_found("stakeholder"),
        Err(e) => (StatusCode::UNPROCESSABLE_ENTITY, e.to_string()).into_response(),
    }
}

// --- approvals ------------------------------------------------------------------------------

struct PendingView {
    id: Id,
    summary: String,
    action: String,
    agent: String,
    required_role: String,
    expires: String,
    preview: String,
    allowed: bool,
    editable_body: bool,
    body: String,
}

struct DecidedView {
    summary: String,
    status: String,
    comment: String,
    result: String,
}

#[derive(Template)]
#[template(path = "approvals.html")]
struct ApprovalsPage {
    nav: &'static str,
    user: String,
    role: Role,
    csrf: String,
    can_decide: bool,
    pending: Vec<PendingView>,
    decided: Vec<DecidedView>,
    message: Option<String>,
    error: Option<String>,
}

/// The preview as readable lines ("To: …", "Subject: …", the body) rather than JSON.
fn preview_text(p: &Value) -> String {
    let Some(obj) = p.as_object() else {
        return String::new();
    };
    let mut lines = Vec::new();
    for (k, v) in obj {
        if k == "summary" || k == "body" || v.is_null() || v.as_array().is_some_and(Vec::is_empty) {
            continue;
        }
        let value = match v {
            Value::String(s) => s.clone(),
            Value::Array(items) => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| i.to_string())
                })
                .collect::<Vec<_>>()
                .join(", "),
            other => other.to_string(),
        };
        lines.push(format!("{}: {value}", k.replace('_', " ")));
    }
    if let Some(b) = obj.get("body").and_then(Value::as_str) {
        lines.push(String::new());
        lines.push(b.to_string());
    }
    lines.join("\n")
}

async fn approvals_page(
    s: &AppState,
    v: Visitor,
    message: Option<String>,
    error: Option<String>,
) -> Response {
    let f = |status: &str| cscx_core::approvals::ApprovalFilter {
        status: Some(status.into()),
        ..Default::default()
    };
    let pending =
        match cscx_core::approvals::list(&s.app, &v.principal, &f("pending"), None, 50).await {
            Ok(x) => x,
            Err(e) => return failure(e),
        };
    let mut decided = Vec::new();
    for st in ["executed", "failed", "rejected", "expired"] {
        match cscx_core::approvals::list(&s.app, &v.principal, &f(st), None, 10).await {
            Ok(x) => decided.extend(x),
            Err(e) => return failure(e),
        }
    }
    decided.sort_by_key(|a| std::cmp::Reverse(a.resolved_at));
    decided.truncate(20);
    let role = v.principal.role;
    render(&ApprovalsPage {
        nav: "approvals",
        user: v.name(),
        role,
        csrf: v.csrf.clone(),
        can_decide: role >= Role::Csm,
        pending: pending
            .into_iter()
            .map(|a| {
                let preview = a.preview.clone().unwrap_or(Value::Null);
                let needed = cscx_core::authz::stored_role(&a.required_role);
                PendingView {
                    id: a.id,
                    summary: a.details.clone().unwrap_or_else(|| a.action.clone()),
                    agent: a.agent_id.clone().unwrap_or_else(|| "—".into()),
                    required_role: a.required_role.clone(),
                    expires: a
                        .expires_at
                        .map(|e| e.to_rfc3339())
                        .unwrap_or_else(|| "never".into()),
                    preview: preview_text(&preview),
                    allowed: role >= needed,
                    editable_body: a.action == "send_email",
                    body: a.action_data["body"].as_str().unwrap_or("").to_string(),
                    action: a.action,
                }
            })
            .collect(),
        decided: decided
            .into_iter()
            .map(|a| DecidedView {
                summary: a.details.clone().unwrap_or_else(|| a.action.clone()),
                status: a.status,
                comment: a.comment.unwrap_or_default(),
                result: a
                    .result
                    .map(|r| {
                        r.get("note")
                            .or(r.get("error"))
                            .and_then(Value::as_str)
                            .map(str::to_string)
                            .unwrap_or_else(|| "done".into())
                    })
                    .unwrap_or_default(),
            })
            .collect(),
        message,
        error,
    })
}

async fn approvals(State(s): State<AppState>, Page(v): Page) -> Response {
    approvals_page(&s, v, None, None).await
}

async fn decide(
    s: AppState,
    v: Visitor,
    id: String,
    form: HashMap<String, String>,
    approve: bool,
) -> Response {
    if !csrf_ok(&v, &form) {
        return csrf_refused();
    }
    let Ok(id) = id.parse::<Id>() else {
        return not_found("approval");
    };
    let mut edits = Map::new();
    if approve {
        if let Some(body) = form.get("body") {
            let current = cscx_core::approvals::get(&s.app, &v.principal, id)
                .await
                .ok();
            let unchanged = current
                .as_ref()
                .and_then(|a| a.action_data["body"].as_str())
                == Some(body.as_str());
            if !unchanged && !body.trim().is_empty() {
                edits.insert("body".into(), Value::String(body.replace("\r\n", "\n")));
            }
        }
    }
    let d = cscx_core::approvals::Decision {
        comment: form.get("comment").cloned(),
        edits: (!edits.is_empty()).then_some(edits),
    };
    let result = if approve {
        cscx_core::approvals::approve(&s.app, &v.principal, id, d).await
    } else {
        cscx_core::approvals::reject(&s.app, &v.principal, id, d).await
    };
    match result {
        Ok(a) => {
            let m = format!("{}: {}.", a.details.unwrap_or(a.action), a.status);
            approvals_page(&s, v, Some(m), None).await
        }
        Err(e) => {
            let Some(status) = user_error_status(&e) else {
                return failure(e);
            };
            let mut r = approvals_page(&s, v, None, Some(e.to_string())).await;
            *r.status_mut() = status;
            r
        }
    }
}

async fn approve(
    State(s): State<AppState>,
    Page(v): Page,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    decide(s, v, id, form, true).await
}

async fn reject(
    State(s): State<AppState>,
    Page(v): Page,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    decide(s, v, id, form, false).await
}
