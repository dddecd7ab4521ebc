//! Agents over HTTP: sessions with streamed answers (Server-Sent Events), the general assistant,
//! the approval inbox and approval policies.

use std::convert::Infallible;

use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use cscx_core::agents::{self, AgentEvent, TurnOutcome};
use cscx_core::approvals::{self, ApprovalFilter, Decision, Policy, PolicyUpdate};
use cscx_store::model::{AgentMessage, AgentSession, Approval, ChatMessage};

use super::{created, id_cursor, id_page, limit, path_id, Page};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Caller, Params, Typed};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_agents))
        .routes(routes!(list_sessions, create_session))
        .routes(routes!(get_session))
        .routes(routes!(send_message))
        .routes(routes!(end_session))
        .routes(routes!(chat, chat_history))
        .routes(routes!(list_approvals))
        .routes(routes!(get_approval))
        .routes(routes!(approve))
        .routes(routes!(reject))
        .routes(routes!(list_policies))
        .routes(routes!(set_policy))
}

/// The agents (role, instructions, allowed tools) and tools (kind, JSON schema).
#[utoipa::path(get, path = "/api/v1/agents", tag = "agents", responses((status = 200, body = Object)))]
async fn list_agents(_c: Caller) -> Json<Value> {
    Json(json!({ "agents": cscx_ai::agent::agents(), "tools": cscx_ai::agent::tools() }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewSession {
    customer_id: Option<String>,
}

/// Start a conversation, optionally about one customer.
#[utoipa::path(post, path = "/api/v1/agents/sessions", tag = "agents", request_body = NewSession,
    responses((status = 201, body = AgentSession), (status = 422, body = ErrorBody)))]
async fn create_session(
    State(s): State<AppState>,
    c: Caller,
    Typed(body): Typed<NewSession>,
) -> ApiResult<Response> {
    let who = c.writer()?;
    let customer = match body.customer_id {
        Some(id) => Some(id.parse().map_err(|_| {
            ApiError::from(cscx_core::CoreError::field("customer_id", "must be a UUID"))
        })?),
        None => None,
    };
    let session = agents::create_session(&s.app, who, customer).await?;
    Ok(created(
        format!("/api/v1/agents/sessions/{}", session.id),
        &session,
    ))
}

/// Your sessions, newest first (managers and admins see everyone's).
#[utoipa::path(get, path = "/api/v1/agents/sessions", tag = "agents",
    params(("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = Page<AgentSession>)))]
async fn list_sessions(
    State(s): State<AppState>,
    c: Caller,
    p: Params,
) -> ApiResult<Json<Page<AgentSession>>> {
    p.only(&["limit", "cursor"])?;
    let limit = limit(&p)?;
    let rows = agents::list_sessions(&s.app, &c.0, id_cursor(&p)?, limit + 1).await?;
    Ok(Json(id_page(rows, limit, |r| r.id)))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
struct SessionWithMessages {
    #[schema(value_type = Object)]
    session: AgentSession,
    #[schema(value_type = Vec<Object>)]
    messages: Vec<AgentMessage>,
}

/// A session and its whole history: user and agent messages, tool calls and results.
#[utoipa::path(get, path = "/api/v1/agents/sessions/{id}", tag = "agents",
    params(("id" = String, Path)), responses((status = 200, body = SessionWithMessages), (status = 404, body = ErrorBody)))]
async fn get_session(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<SessionWithMessages>> {
    let session = agents::session_for(&s.app, &c.0, path_id(&id)?).await?;
    let messages = agents::messages(&s.app, session.id).await?;
    Ok(Json(SessionWithMessages { session, messages }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewMessage {
    content: String,
    /// A client-chosen id: resending the same message replays the stored answer.
    client_message_id: Option<String>,
}

/// Send a message; the answer streams as Server-Sent Events: `token` (text), `tool_start`,
/// `tool_end`, `approval_required` (an action waiting in the inbox), then `done` (or `error`).
/// Each event's data is JSON. Limited to 30 messages a minute per user.
#[utoipa::path(post, path = "/api/v1/agents/sessions/{id}/messages", tag = "agents",
    params(("id" = String, Path)), request_body = NewMessage,
    responses((status = 200, description = "text/event-stream of agent events", content_type = "text/event-stream"),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn send_message(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    Typed(body): Typed<NewMessage>,
) -> ApiResult<Response> {
    let who = c.writer()?.clone();
    let session_id = path_id(&id)?;
    // Refuse what can be refused before the stream starts, with a proper status.
    agents::session_to_post_in(&s.app, &who, session_id).await?;
    agents::check_message("content", &body.content)?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<AgentEvent>();
    let app = s.app.clone();
    tokio::spawn(async move {
        // Errors are sent as `error` events by the loop; a refused message (rate limit,
        // duplicate in flight) is reported here.
        if let Err(e) = agents::send_message(
            &app,
            &who,
            session_id,
            &body.content,
            body.client_message_id,
            &tx,
        )
        .await
        {
            let _ = tx.send(AgentEvent::Error {
                message: e.to_string(),
            });
        }
    });
    // Events until the turn ends: the last one is `done` or `error`.
    let stream = futures::stream::unfold((rx, false), |(mut rx, finished)| async move {
        if finished {
            return None;
        }
        let e = rx.recv().await?;
        let last = matches!(e, AgentEvent::Done { .. } | AgentEvent::Error { .. });
        let data = serde_json::to_string(&e).unwrap_or_else(|_| "{}".into());
        let event = Event::default().event(e.name()).data(data);
        Some((Ok::<_, Infallible>(event), (rx, last)))
    });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

/// End a session (`completed`).
#[utoipa::path(post, path = "/api/v1/agents/sessions/{id}/end", tag = "agents",
    params(("id" = String, Path)), responses((status = 200, body = AgentSession), (status = 409, body = ErrorBody)))]
async fn end_session(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<AgentSession>> {
    Ok(Json(
        agents::end_session(&s.app, &c.0, path_id(&id)?).await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ChatRequestBody {
    message: String,
    customer_id: Option<String>,
    /// Resending with the same id returns the stored answer instead of asking again.
    client_message_id: Option<String>,
}

/// Ask the general assistant; answered in full (JSON). Actions it proposes wait for approval.
#[utoipa::path(post, path = "/api/v1/chat", tag = "agents", request_body = ChatRequestBody,
    responses((status = 200, body = TurnOutcome), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn chat(
    State(s): State<AppState>,
    c: Caller,
    Typed(body): Typed<ChatRequestBody>,
) -> ApiResult<Json<TurnOutcome>> {
    let who = c.writer()?;
    let customer = match body.customer_id {
        Some(id) => Some(id.parse().map_err(|_| {
            ApiError::from(cscx_core::CoreError::field("customer_id", "must be a UUID"))
        })?),
        None => None,
    };
    Ok(Json(
        agents::chat(&s.app, who, &body.message, customer, body.client_message_id).await?,
    ))
}

/// Your exchanges with the general assistant, newest first.
#[utoipa::path(get, path = "/api/v1/chat", tag = "agents",
    params(("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = Page<ChatMessage>)))]
async fn chat_history(
    State(s): State<AppState>,
    c: Caller,
    p: Params,
) -> ApiResult<Json<Page<ChatMessage>>> {
    p.only(&["limit", "cursor"])?;
    let limit = limit(&p)?;
    let rows = agents::chat_history(&s.app, &c.0, id_cursor(&p)?, limit + 1).await?;
    Ok(Json(id_page(rows, limit, |r| r.id)))
}

/// Approvals, newest first, filtered by `status` (pending, approved, rejected, expired,
/// executed, failed), `action`, `customer_id` or `session_id`.
#[utoipa::path(get, path = "/api/v1/approvals", tag = "approvals",
    params(("status" = Option<String>, Query), ("action" = Option<String>, Query),
           ("customer_id" = Option<String>, Query), ("session_id" = Option<String>, Query),
           ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = Page<Approval>), (status = 400, body = ErrorBody)))]
async fn list_approvals(
    State(s): State<AppState>,
    c: Caller,
    p: Params,
) -> ApiResult<Json<Page<Approval>>> {
    p.only(&[
        "status",
        "action",
        "customer_id",
        "session_id",
        "limit",
        "cursor",
    ])?;
    const STATUSES: &[&str] = &[
        "pending", "approved", "rejected", "expired", "executed", "failed",
    ];
    if let Some(st) = p.str("status") {
        if !STATUSES.contains(&st) {
            return Err(ApiError::invalid_parameter(
                "status",
                format!("must be one of {}", STATUSES.join(", ")),
            ));
        }
    }
    let f = ApprovalFilter {
        status: p.str("status").map(str::to_string),
        action: p.str("action").map(str::to_string),
        customer_id: p.parse("customer_id", "a UUID")?,
        session_id: p.parse("session_id", "a UUID")?,
    };
    let limit = limit(&p)?;
    let rows = approvals::list(&s.app, &c.0, &f, id_cursor(&p)?, limit + 1).await?;
    Ok(Json(id_page(rows, limit, |r| r.id)))
}

/// One approval with its preview, decision and execution result.
#[utoipa::path(get, path = "/api/v1/approvals/{id}", tag = "approvals",
    params(("id" = String, Path)), responses((status = 200, body = Approval), (status = 404, body = ErrorBody)))]
async fn get_approval(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Approval>> {
    Ok(Json(approvals::get(&s.app, &c.0, path_id(&id)?).await?))
}

/// Approve (optionally with `edits` to the action's arguments; the edited action is what runs).
/// The action executes once; a second approval of the same item gets 409. The approver needs
/// the policy's role (escalations and ownership changes: manager).
#[utoipa::path(post, path = "/api/v1/approvals/{id}/approve", tag = "approvals",
    params(("id" = String, Path)), request_body = Decision,
    responses((status = 200, body = Approval), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn approve(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    body: Option<Json<Value>>,
) -> ApiResult<Json<Approval>> {
    let who = c.writer()?;
    let d = decision(body)?;
    Ok(Json(
        approvals::approve(&s.app, who, path_id(&id)?, d).await?,
    ))
}

/// Reject with an optional comment; nothing runs.
#[utoipa::path(post, path = "/api/v1/approvals/{id}/reject", tag = "approvals",
    params(("id" = String, Path)), request_body = Decision,
    responses((status = 200, body = Approval), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn reject(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    body: Option<Json<Value>>,
) -> ApiResult<Json<Approval>> {
    let who = c.writer()?;
    let d = decision(body)?;
    Ok(Json(
        approvals::reject(&s.app, who, path_id(&id)?, d).await?,
    ))
}

/// The optional decision body: `{comment?, edits?}`.
fn decision(body: Option<Json<Value>>) -> ApiResult<Decision> {
    match body {
        Some(Json(v)) if !v.is_null() => serde_json::from_value(v)
            .map_err(|e| cscx_core::CoreError::field("body", e.to_string()).into()),
        _ => Ok(Decision::default()),
    }
}

/// Which role approves each action, whether it runs without approval, and its expiry.
#[utoipa::path(get, path = "/api/v1/approval-policies", tag = "approvals",
    responses((status = 200, body = Vec<Policy>)))]
async fn list_policies(State(s): State<AppState>, _c: Caller) -> ApiResult<Json<Vec<Policy>>> {
    Ok(Json(approvals::list_policies(&s.app).await?))
}

/// Change an action's policy (admins). `auto_approve` lets a low-risk action run without a
/// person; every such run is still recorded as an approval decided by policy.
#[utoipa::path(put, path = "/api/v1/approval-policies/{action}", tag = "approvals",
    params(("action" = String, Path)), request_body = PolicyUpdate,
    responses((status = 200, body = Policy), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn set_policy(
    State(s): State<AppState>,
    c: Caller,
    Path(action): Path<String>,
    Typed(body): Typed<PolicyUpdate>,
) -> ApiResult<Json<Policy>> {
    let who = c.admin()?;
    Ok(Json(
        approvals::set_policy(&s.app, who, &action, body).await?,
    ))
}
