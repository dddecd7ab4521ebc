//! Where approved actions leave CSCX and how deliveries went (admins).

use axum::extract::State;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use cscx_core::integrations::{self, IntegrationStatus};

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Caller, Params};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(integration_status))
}

/// The configured mail transport and calendar (`channel`, `target` without credentials,
/// whether it delivers, where the configuration comes from), messages in the SMTP ledger by
/// state, the latest hand-overs, and the messages whose delivery is unknown and need a person
/// (admins).
#[utoipa::path(get, path = "/api/v1/integrations", tag = "integrations",
    responses((status = 200, body = IntegrationStatus), (status = 403, body = ErrorBody)))]
async fn integration_status(
    State(s): State<AppState>,
    c: Caller,
    p: Params,
) -> ApiResult<Json<IntegrationStatus>> {
    p.only(&[])?;
    Ok(Json(integrations::status(&s.app, &c.0).await?))
}
