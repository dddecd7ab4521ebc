//! The audit record page (admins): who did what, newest first, with a filter by type.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;

use cscx_store::events::EventFilter;
use cscx_store::Id;

use super::{render, urlencode, Frame, Page, PageError};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    frame: Frame,
    event_type: String,
    /// (when, type, actor, details)
    rows: Vec<(String, String, String, String)>,
    /// The link to older events, when there are more.
    next: Option<String>,
}

pub(super) async fn audit(
    State(s): State<AppState>,
    Page(v): Page,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let event_type = q.get("event_type").cloned().unwrap_or_default();
    let before = q.get("before").and_then(|c| c.parse::<Id>().ok());
    let filter = EventFilter {
        event_type: (!event_type.is_empty()).then(|| event_type.clone()),
        ..Default::default()
    };
    const LIMIT: u32 = 100;
    let mut list = cscx_core::audit::list(&s.app, &v.principal, &filter, before, LIMIT + 1).await?;
    let next = (list.len() > LIMIT as usize).then(|| {
        list.truncate(LIMIT as usize);
        let last = list.last().map(|e| e.id.to_string()).unwrap_or_default();
        format!(
            "/admin/audit?event_type={}&before={last}",
            urlencode(&event_type)
        )
    });
    let rows = list
        .into_iter()
        .map(|e| {
            (
                e.occurred_at.to_rfc3339(),
                e.event_type,
                e.actor,
                e.payload.to_string(),
            )
        })
        .collect();
    Ok(render(&AuditPage {
        frame: v.frame("admin"),
        event_type,
        rows,
        next,
    }))
}
