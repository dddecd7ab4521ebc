//! A customer's timeline, and the notes the team writes on it.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::Json;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use cscx_core::timeline::{self, TimelineItem};
use cscx_store::model::CustomerNote;

use super::{created, id_cursor, id_page, limit, path_id, Page};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Caller, Params, Typed};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(customer_timeline))
        .routes(routes!(add_note))
}

/// What happened on the account, newest first: notes, tasks, risk signals, approvals,
/// contracts, stakeholders and account changes, each with a sentence (`text`), who (`actor`)
/// and the event's own `payload`. `kind` narrows it to notes, tasks, signals, approvals,
/// contracts, stakeholders or account.
#[utoipa::path(get, path = "/api/v1/customers/{id}/timeline", tag = "timeline",
    params(("id" = String, Path), ("kind" = Option<String>, Query),
           ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = Page<TimelineItem>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn customer_timeline(
    State(s): State<AppState>,
    _c: Caller,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<Json<Page<TimelineItem>>> {
    p.only(&["kind", "limit", "cursor"])?;
    let limit = limit(&p)?;
    let rows = timeline::timeline(
        &s.app,
        path_id(&id)?,
        p.str("kind"),
        id_cursor(&p)?,
        limit + 1,
    )
    .await?;
    Ok(Json(id_page(rows, limit, |r| r.id)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNote {
    /// The note (Markdown is kept as written); `@name` mentions a teammate by e-mail or by the
    /// part of it before the `@`.
    pub body: String,
}

/// Write a note on the account; it joins the timeline.
#[utoipa::path(post, path = "/api/v1/customers/{id}/notes", tag = "timeline", request_body = NewNote,
    params(("id" = String, Path)),
    responses((status = 201, body = CustomerNote), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_note(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    Typed(n): Typed<NewNote>,
) -> ApiResult<Response> {
    let note = timeline::add_note(&s.app, &c.0, path_id(&id)?, &n.body).await?;
    Ok(created(
        format!("/api/v1/customers/{}/timeline?kind=notes", note.customer_id),
        &note,
    ))
}
