//! The agent chat: streamed over SSE by a small script, or, without JavaScript, a form post
//! answered in full. Risk signals across the portfolio.

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;

use cscx_core::agents;
use cscx_domain::Role;
use cscx_store::model::Customer;
use cscx_store::{entity, Id};

use super::{csrf_ok, csrf_refused, render, Frame, Page, PageError, Visitor};
use crate::state::AppState;

const CHAT_JS: &str = include_str!("chat.js");
const UPLOAD_JS: &str = include_str!("upload.js");

fn javascript(body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

pub(super) async fn script() -> Response {
    javascript(CHAT_JS)
}

pub(super) async fn upload_script() -> Response {
    javascript(UPLOAD_JS)
}

#[derive(Template)]
#[template(path = "chat.html")]
struct ChatPage {
    frame: Frame,
    session: String,
    customer: Option<(Id, String)>,
    exchange: Vec<(String, String)>,
}

async fn customer_of(s: &AppState, id: Option<&String>) -> Option<(Id, String)> {
    let id: Id = id?.parse().ok()?;
    let mut c = s.app.db.conn().await.ok()?;
    entity::get::<Customer>(c.c(), id)
        .await
        .ok()
        .flatten()
        .map(|c| (c.id, c.name))
}

async fn page(
    s: &AppState,
    v: Visitor,
    customer: Option<(Id, String)>,
    exchange: Vec<(String, String)>,
) -> Result<Response, PageError> {
    if v.principal.role < Role::Csm {
        return Ok((StatusCode::FORBIDDEN, "viewers cannot use the assistant").into_response());
    }
    let session =
        agents::create_session(&s.app, &v.principal, customer.as_ref().map(|c| c.0)).await?;
    Ok(render(&ChatPage {
        frame: v.frame("chat"),
        session: session.id.to_string(),
        customer,
        exchange,
    }))
}

pub(super) async fn chat_page(
    State(s): State<AppState>,
    Page(v): Page,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let customer = customer_of(&s, q.get("customer_id")).await;
    page(&s, v, customer, vec![]).await.into_response()
}

/// Without JavaScript: the whole answer at once.
pub(super) async fn chat_post(
    State(s): State<AppState>,
    Page(v): Page,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !csrf_ok(&v, &form) {
        return csrf_refused();
    }
    let customer = customer_of(&s, form.get("customer_id")).await;
    let message = form.get("message").cloned().unwrap_or_default();
    let reply = match agents::chat(
        &s.app,
        &v.principal,
        &message,
        customer.as_ref().map(|c| c.0),
        None,
    )
    .await
    {
        Ok(o) => o.content,
        Err(e) => e.to_string(),
    };
    page(
        &s,
        v,
        customer,
        vec![("You".into(), message), ("Agent".into(), reply)],
    )
    .await
    .into_response()
}
