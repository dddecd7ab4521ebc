//! Tasks: lists, the day's queue, create, edit, complete, reopen, cancel, snooze, delete.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use cscx_core::tasks::{self, QueueGroup};
use cscx_domain::tasks::TaskStatus;
use cscx_store::model::Task;
use cscx_store::tasks::TaskFilter;

use super::{created, id_cursor, id_page, limit, path_id, Page};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Body, Caller, Params};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tasks, create_task))
        .routes(routes!(task_queue))
        .routes(routes!(get_task, update_task, delete_task))
        .routes(routes!(complete_task))
        .routes(routes!(reopen_task))
        .routes(routes!(cancel_task))
        .routes(routes!(snooze_task))
}

/// `owner`: `me` or a user id.
fn owner(c: &Caller, p: &Params) -> Result<Option<cscx_store::Id>, ApiError> {
    match p.str("owner") {
        None => Ok(None),
        Some("me") => Ok(Some(c.0.user_id)),
        Some(_) => p.parse("owner", "`me` or a user id (UUID)"),
    }
}

/// Tasks in creation order. Filters: `owner` (`me` or a user id), `customer_id`, `status`
/// (open, done, cancelled), `due_before` (YYYY-MM-DD, inclusive). `format=csv` answers every
/// matching task as one CSV file.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "tasks",
    params(("format" = Option<String>, Query, description = "json (default) or csv: the whole filtered list"), ("owner" = Option<String>, Query), ("customer_id" = Option<String>, Query),
           ("status" = Option<String>, Query), ("due_before" = Option<String>, Query),
           ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, content((Page<Task> = "application/json"), (String = "text/csv"))), (status = 400, body = ErrorBody)))]
async fn list_tasks(State(s): State<AppState>, c: Caller, p: Params) -> ApiResult<Response> {
    p.only(&[
        "owner",
        "customer_id",
        "status",
        "due_before",
        "limit",
        "cursor",
        "format",
    ])?;
    let status = match p.str("status") {
        None => None,
        Some(v) => Some(
            v.parse::<TaskStatus>()
                .map_err(|m| ApiError::invalid_parameter("status", m))?
                .to_string(),
        ),
    };
    let filter = TaskFilter {
        owner_id: owner(&c, &p)?,
        customer_id: p.parse("customer_id", "a customer id (UUID)")?,
        status,
        due_before: p.parse("due_before", "a date (YYYY-MM-DD)")?,
    };
    if super::wants_csv(&p)? {
        let all =
            super::every_page(id_cursor(&p)?, |a, n| tasks::list(&s.app, &filter, a, n)).await?;
        return Ok(super::csv_response(&all, "tasks.csv"));
    }
    let limit = limit(&p)?;
    let rows = tasks::list(&s.app, &filter, id_cursor(&p)?, limit + 1).await?;
    Ok(Json(id_page(rows, limit, |t| t.id)).into_response())
}

/// A day's queue of open tasks.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Queue {
    /// Overdue, due today, this week, later, no due date, snoozed: only groups with tasks.
    pub groups: Vec<QueueGroup>,
    /// More than 500 open tasks: only the first 500 (soonest due) are grouped.
    pub truncated: bool,
}

/// The open tasks of `owner` (default `me`) or of `customer_id`, grouped as today sees them.
#[utoipa::path(get, path = "/api/v1/tasks/queue", tag = "tasks",
    params(("owner" = Option<String>, Query), ("customer_id" = Option<String>, Query)),
    responses((status = 200, body = Queue), (status = 400, body = ErrorBody)))]
async fn task_queue(State(s): State<AppState>, c: Caller, p: Params) -> ApiResult<Json<Queue>> {
    p.only(&["owner", "customer_id"])?;
    let customer = p.parse("customer_id", "a customer id (UUID)")?;
    let owner = match (owner(&c, &p)?, customer) {
        (Some(o), _) => Some(o),
        (None, Some(_)) => None,
        (None, None) => Some(c.0.user_id),
    };
    let (groups, truncated) = tasks::queue(&s.app, owner, customer).await?;
    Ok(Json(Queue { groups, truncated }))
}

/// Add a task: `title` (required), `description`, `due_date`, `priority` (low, normal, high),
/// `owner_id` (default: you), `customer_id`, `risk_signal_id`, `meeting_id`.
#[utoipa::path(post, path = "/api/v1/tasks", tag = "tasks", request_body = Task,
    responses((status = 201, body = Task), (status = 422, body = ErrorBody)))]
async fn create_task(
    State(s): State<AppState>,
    c: Caller,
    Body(body): Body,
) -> ApiResult<Response> {
    let t = tasks::create_task(&s.app, &c.0, &body).await?;
    Ok(created(format!("/api/v1/tasks/{}", t.id), &t))
}

#[utoipa::path(get, path = "/api/v1/tasks/{id}", tag = "tasks",
    params(("id" = String, Path)), responses((status = 200, body = Task), (status = 404, body = ErrorBody)))]
async fn get_task(
    State(s): State<AppState>,
    _c: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Task>> {
    Ok(Json(tasks::get_task(&s.app, path_id(&id)?).await?))
}

/// Change some fields; reassign by changing `owner_id`.
#[utoipa::path(patch, path = "/api/v1/tasks/{id}", tag = "tasks", request_body = Task,
    params(("id" = String, Path)),
    responses((status = 200, body = Task), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_task(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    Body(body): Body,
) -> ApiResult<Json<Task>> {
    Ok(Json(
        tasks::update_task(&s.app, &c.0, path_id(&id)?, &body).await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/tasks/{id}", tag = "tasks",
    params(("id" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_task(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    tasks::delete_task(&s.app, &c.0, path_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn move_to(s: &AppState, c: &Caller, id: &str, status: TaskStatus) -> ApiResult<Json<Task>> {
    Ok(Json(
        tasks::set_status(&s.app, &c.0, path_id(id)?, status).await?,
    ))
}

/// Mark a task done (stamps `completed_at`).
#[utoipa::path(post, path = "/api/v1/tasks/{id}/complete", tag = "tasks",
    params(("id" = String, Path)), responses((status = 200, body = Task), (status = 404, body = ErrorBody)))]
async fn complete_task(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Task>> {
    move_to(&s, &c, &id, TaskStatus::Done).await
}

/// Open a done or cancelled task again.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/reopen", tag = "tasks",
    params(("id" = String, Path)), responses((status = 200, body = Task), (status = 404, body = ErrorBody)))]
async fn reopen_task(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Task>> {
    move_to(&s, &c, &id, TaskStatus::Open).await
}

#[utoipa::path(post, path = "/api/v1/tasks/{id}/cancel", tag = "tasks",
    params(("id" = String, Path)), responses((status = 200, body = Task), (status = 404, body = ErrorBody)))]
async fn cancel_task(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Task>> {
    move_to(&s, &c, &id, TaskStatus::Cancelled).await
}

/// Put an open task out of the queue until a later day: `{"until": "YYYY-MM-DD"}`.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/snooze", tag = "tasks", request_body = Object,
    params(("id" = String, Path)),
    responses((status = 200, body = Task), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn snooze_task(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    Body(body): Body,
) -> ApiResult<Json<Task>> {
    let until = tasks::parse_until(cscx_core::portfolio::as_object(&body)?)?;
    Ok(Json(
        tasks::snooze(&s.app, &c.0, path_id(&id)?, until).await?,
    ))
}
