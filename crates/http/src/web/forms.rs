//! Forms that write: customers (create and edit) and the admin pages for users and API tokens.
//! They go through the same use-cases as the API, so validation and messages are the same, and
//! they keep what the user typed when something is wrong.

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

use cscx_core::CoreError;
use cscx_domain::{Role, TokenScope};
use cscx_store::Id;

use super::{failure, not_found, refuse_write, render, writable_id, Frame, Page, Visitor};
use crate::state::AppState;

struct FormField {
    key: &'static str,
    label: &'static str,
    kind: &'static str,
    value: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "customer_form.html")]
struct CustomerForm {
    frame: Frame,
    heading: String,
    action: String,
    fields: Vec<FormField>,
    errors: Vec<(String, String)>,
    stages: Vec<&'static str>,
}

const FIELDS: &[(&str, &str, &str)] = &[
    ("name", "Name", "text"),
    ("stage", "Stage", "stage"),
    ("arr", "ARR", "text"),
    ("segment", "Segment", "text"),
    ("industry", "Industry", "text"),
    ("renewal_date", "Renewal date", "date"),
    ("salesforce_id", "Salesforce id", "text"),
    ("hubspot_id", "HubSpot id", "text"),
];

fn customer_form(
    v: &Visitor,
    id: Option<Id>,
    values: &HashMap<String, String>,
    errors: &HashMap<String, String>,
) -> Response {
    let heading = match id {
        Some(_) => format!("Edit {}", values.get("name").cloned().unwrap_or_default()),
        None => "New customer".to_string(),
    };
    let mut errs: Vec<(String, String)> =
        errors.iter().map(|(k, m)| (k.clone(), m.clone())).collect();
    errs.sort();
    let page = CustomerForm {
        frame: v.frame("customers"),
        heading,
        action: match id {
            Some(id) => format!("/customers/{id}/edit"),
            None => "/customers/new".into(),
        },
        fields: FIELDS
            .iter()
            .map(|(key, label, kind)| FormField {
                key,
                label,
                kind,
                value: values.get(*key).cloned().unwrap_or_default(),
                error: errors.get(*key).cloned(),
            })
            .collect(),
        errors: errs,
        stages: vec!["prospect", "onboarding", "active", "at_risk", "churned"],
    };
    let mut r = render(&page);
    if !errors.is_empty() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

/// The form as an API body: ARR as a number when it reads as one (otherwise the API's own rule
/// reports it), empty fields left out on create and cleared on edit.
fn body_of(form: &HashMap<String, String>, editing: bool) -> Value {
    let mut body = Map::new();
    for (key, _, _) in FIELDS {
        let v = form.get(*key).map(|s| s.trim()).unwrap_or("");
        if v.is_empty() {
            if editing && *key != "name" && *key != "stage" {
                body.insert((*key).into(), Value::Null);
            }
            continue;
        }
        let value = if *key == "arr" {
            serde_json::from_str::<Value>(&v.replace(',', ""))
                .ok()
                .filter(Value::is_number)
                .unwrap_or_else(|| json!(v))
        } else {
            json!(v)
        };
        body.insert((*key).into(), value);
    }
    Value::Object(body)
}

fn field_errors(e: CoreError) -> Result<HashMap<String, String>, CoreError> {
    match e {
        CoreError::Validation(f) => Ok(f.0.into_iter().collect()),
        other => Err(other),
    }
}

pub(super) async fn new_customer(Page(v): Page) -> Response {
    if v.principal.role < Role::Csm {
        return (StatusCode::FORBIDDEN, "viewers cannot create customers").into_response();
    }
    let mut values = HashMap::new();
    values.insert("stage".to_string(), "onboarding".to_string());
    customer_form(&v, None, &values, &HashMap::new())
}

pub(super) async fn create_customer(
    State(s): State<AppState>,
    Page(v): Page,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = refuse_write(&v, &form, Role::Csm) {
        return r;
    }
    match cscx_core::portfolio::create_customer(&s.app, &v.principal, &body_of(&form, false)).await
    {
        Ok(c) => Redirect::to(&format!("/customers/{}", c.id)).into_response(),
        Err(e) => match field_errors(e) {
            Ok(errors) => customer_form(&v, None, &form, &errors),
            Err(e) => failure(e),
        },
    }
}

pub(super) async fn edit_customer(
    State(s): State<AppState>,
    Page(v): Page,
    Path(id): Path<String>,
) -> Response {
    if v.principal.role < Role::Csm {
        return (StatusCode::FORBIDDEN, "viewers cannot edit customers").into_response();
    }
    let Ok(id) = id.parse::<Id>() else {
        return not_found("customer");
    };
    let c = match cscx_core::portfolio::get_customer(&s.app, id).await {
        Ok(c) => c,
        Err(CoreError::NotFound(_)) => return not_found("customer"),
        Err(e) => return failure(e),
    };
    let mut values = HashMap::new();
    values.insert("name".into(), c.name);
    values.insert("stage".into(), c.stage.to_string());
    values.insert(
        "arr".into(),
        c.arr.map(|a| a.0.to_string()).unwrap_or_default(),
    );
    values.insert("segment".into(), c.segment.unwrap_or_default());
    values.insert("industry".into(), c.industry.unwrap_or_default());
    values.insert(
        "renewal_date".into(),
        c.renewal_date.map(|d| d.to_string()).unwrap_or_default(),
    );
    values.insert("salesforce_id".into(), c.salesforce_id.unwrap_or_default());
    values.insert("hubspot_id".into(), c.hubspot_id.unwrap_or_default());
    customer_form(&v, Some(id), &values, &HashMap::new())
}

pub(super) async fn update_customer(
    State(s): State<AppState>,
    Page(v): Page,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let id = match writable_id(&v, &form, Role::Csm, &id, "customer") {
        Ok(id) => id,
        Err(refused) => return refused,
    };
    match cscx_core::portfolio::update_customer(&s.app, &v.principal, id, &body_of(&form, true))
        .await
    {
        Ok(_) => Redirect::to(&format!("/customers/{id}")).into_response(),
        Err(e) => match field_errors(e) {
            Ok(errors) => customer_form(&v, Some(id), &form, &errors),
            Err(CoreError::NotFound(_)) => not_found("customer"),
            Err(e) => failure(e),
        },
    }
}

// --- admin ----------------------------------------------------------------------------------

struct TokenRow {
    id: Id,
    name: String,
    user: String,
    prefix: String,
    scope: String,
    role: String,
    last_used: String,
    status: &'static str,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    frame: Frame,
    users: Vec<cscx_core::users::UserView>,
    tokens: Vec<TokenRow>,
    roles: Vec<&'static str>,
    message: Option<String>,
    error: Option<String>,
    secret: Option<String>,
}

async fn admin_page(
    s: &AppState,
    v: Visitor,
    message: Option<String>,
    error: Option<String>,
    secret: Option<String>,
) -> Response {
    if v.principal.role < Role::Admin {
        return (StatusCode::FORBIDDEN, "only admins manage users and tokens").into_response();
    }
    let users = match cscx_core::users::list(&s.app, None, 500).await {
        Ok(u) => u,
        Err(e) => return failure(e),
    };
    let tokens = match s.app.auth.list_tokens(None).await {
        Ok(t) => t,
        Err(e) => return failure(e),
    };
    let now = s.app.now();
    let email_of = |id: Id| {
        users
            .iter()
            .find(|u| u.id == id)
            .map(|u| u.email.clone())
            .unwrap_or_default()
    };
    let tokens = tokens
        .into_iter()
        .map(|t| TokenRow {
            id: t.id,
            user: email_of(t.user_id),
            prefix: t.prefix,
            scope: t.scope,
            role: t.role.unwrap_or_else(|| "user's role".into()),
            last_used: t
                .last_used_at
                .map(|l| l.to_rfc3339())
                .unwrap_or_else(|| "never".into()),
            status: if t.revoked_at.is_some() {
                "revoked"
            } else if t.expires_at.is_some_and(|e| e <= now) {
                "expired"
            } else {
                "active"
            },
            name: t.name,
        })
        .collect();
    let mut r = render(&AdminPage {
        frame: v.frame("admin"),
        users,
        tokens,
        roles: vec!["viewer", "csm", "manager", "admin"],
        message,
        secret,
        error: error.clone(),
    });
    if error.is_some() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

pub(super) async fn admin(State(s): State<AppState>, Page(v): Page) -> Response {
    admin_page(&s, v, None, None, None).await
}

pub(super) async fn create_user(
    State(s): State<AppState>,
    Page(v): Page,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = refuse_write(&v, &form, Role::Admin) {
        return r;
    }
    let get = |k: &str| {
        form.get(k)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let new = cscx_core::users::NewUser {
        email: get("email").unwrap_or_default(),
        name: get("name"),
        role: get("role").unwrap_or_else(|| "viewer".into()),
        password: form.get("password").cloned().filter(|p| !p.is_empty()),
    };
    let actor = cscx_core::audit::Actor::of(&v.principal);
    match cscx_core::users::create(&s.app, new, &actor).await {
        Ok(u) => {
            admin_page(
                &s,
                v,
                Some(format!("Added {} as {}.", u.email, u.role)),
                None,
                None,
            )
            .await
        }
        Err(e) => admin_page(&s, v, None, Some(e.to_string()), None).await,
    }
}

pub(super) async fn create_token(
    State(s): State<AppState>,
    Page(v): Page,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = refuse_write(&v, &form, Role::Admin) {
        return r;
    }
    let scope = if form.get("scope").map(String::as_str) == Some("ingest") {
        TokenScope::Ingest
    } else {
        TokenScope::Full
    };
    let email = form.get("email").cloned().unwrap_or_default();
    let name = form.get("name").cloned().unwrap_or_default();
    match s
        .app
        .auth
        .create_token(
            email.trim(),
            name.trim(),
            None,
            scope,
            None,
            &cscx_core::audit::Actor::of(&v.principal),
        )
        .await
    {
        Ok((t, secret)) => {
            admin_page(
                &s,
                v,
                Some(format!("Created the token {}.", t.name)),
                None,
                Some(secret),
            )
            .await
        }
        Err(e) => admin_page(&s, v, None, Some(e.to_string()), None).await,
    }
}

pub(super) async fn revoke_token(
    State(s): State<AppState>,
    Page(v): Page,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let id = match writable_id(&v, &form, Role::Admin, &id, "token") {
        Ok(id) => id,
        Err(refused) => return refused,
    };
    let actor = cscx_core::audit::Actor::of(&v.principal);
    match s.app.auth.revoke_token(id, &actor).await {
        Ok(t) => admin_page(&s, v, Some(format!("Revoked {}.", t.name)), None, None).await,
        Err(e) => admin_page(&s, v, None, Some(e.to_string()), None).await,
    }
}
