//! The integrations page (admins): where e-mails and meetings go, and how deliveries went.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use cscx_core::integrations::IntegrationStatus;

use super::{render, Frame, Page, PageError};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "integrations.html")]
struct IntegrationsPage {
    frame: Frame,
    s: IntegrationStatus,
}

pub(super) async fn integrations(
    State(s): State<AppState>,
    Page(v): Page,
) -> Result<Response, PageError> {
    let status = cscx_core::integrations::status(&s.app, &v.principal).await?;
    Ok(render(&IntegrationsPage {
        frame: v.frame("admin"),
        s: status,
    }))
}
