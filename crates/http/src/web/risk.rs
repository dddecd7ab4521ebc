//! The risk signals page: open (or resolved) signals across the portfolio.

use super::*;

#[derive(Template)]
#[template(path = "signals.html")]
struct SignalsPage {
    frame: Frame,
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
) -> Result<Response, PageError> {
    let severity = q.get("severity").cloned().unwrap_or_default();
    let status = q.get("status").cloned().unwrap_or_else(|| "open".into());
    let f = cscx_core::intelligence::SignalFilter {
        severity: (!severity.is_empty()).then(|| severity.clone()),
        status: (status != "any").then(|| status.clone()),
        ..Default::default()
    };
    let list = cscx_core::intelligence::list_named_signals(&s.app, &f, None, 100).await?;
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
    Ok(render(&SignalsPage {
        frame: v.frame("signals"),
        severity,
        status,
        severities: vec!["low", "medium", "high", "critical"],
        statuses: vec!["open", "resolved", "any"],
        rows,
    }))
}
