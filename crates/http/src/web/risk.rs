//! The risk signals page: open (or resolved) signals across the portfolio.

use super::*;

#[derive(Template)]
#[template(path = "signals.html")]
struct SignalsPage {
    nav: &'static str,
    user: String,
    role: Role,
    csrf: String,
    severity: String,
    status: String,
    severities: Vec<&'static str>,
    statuses: Vec<&'static str>,
    rows: Vec<(Id, String, String, String, String, String)>,
}

pub(super) async fn signals(
    State(s): State<AppState>,
    Page(v): Page,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let severity = q.get("severity").cloned().unwrap_or_default();
    let status = q.get("status").cloned().unwrap_or_else(|| "open".into());
    let f = cscx_core::intelligence::SignalFilter {
        severity: (!severity.is_empty()).then(|| severity.clone()),
        status: (status != "any").then(|| status.clone()),
        ..Default::default()
    };
    let list = match cscx_core::intelligence::list_named_signals(&s.app, &f, None, 100).await {
        Ok(x) => x,
        Err(e) => return failure(e),
    };
    let rows = list
        .into_iter()
        .map(|n| {
            let r = n.signal;
            (
                r.customer_id,
                n.customer_name,
                r.signal_type,
                r.severity.to_string(),
                r.detected_at.to_rfc3339(),
                r.description.unwrap_or_default(),
            )
        })
        .collect();
    render(&SignalsPage {
        nav: "signals",
        user: v.name(),
        role: v.principal.role,
        csrf: v.csrf,
        severity,
        status,
        severities: vec!["low", "medium", "high", "critical"],
        statuses: vec!["open", "resolved", "any"],
        rows,
    })
}
