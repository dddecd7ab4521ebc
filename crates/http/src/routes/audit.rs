//! The audit record of security-relevant actions (admins): sign-ins and sign-outs, user and
//! role changes, token creation and revocation, approval decisions, settings, exports.

use axum::extract::State;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use cscx_store::events::{DomainEvent, EventFilter};

use super::{id_cursor, id_page, limit, Page};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Caller, Params};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit))
}

/// Audit events, newest first (admins). Filters: `event_type` (e.g. `token.created`),
/// `actor_user_id`. Each event: `event_type`, `version`, `actor` (`user:<id>`, `token:<id>`,
/// `cli`, `system`), `actor_user_id`, `customer_id`, `payload`, `occurred_at`. The record is
/// append-only: the database refuses to change or delete it.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit",
    params(("event_type" = Option<String>, Query), ("actor_user_id" = Option<String>, Query),
           ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = Page<DomainEvent>), (status = 403, body = ErrorBody)))]
async fn list_audit(
    State(s): State<AppState>,
    c: Caller,
    p: Params,
) -> ApiResult<Json<Page<DomainEvent>>> {
    p.only(&["event_type", "actor_user_id", "limit", "cursor"])?;
    let filter = EventFilter {
        event_type: p.str("event_type").map(str::to_owned),
        actor_user_id: p.parse("actor_user_id", "a UUID")?,
        ..Default::default()
    };
    let limit = limit(&p)?;
    let rows = cscx_core::audit::list(&s.app, &c.0, &filter, id_cursor(&p)?, limit + 1).await?;
    Ok(Json(id_page(rows, limit, |e| e.id)))
}
