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
    rows: Vec<SignalRow>,
    message: Option<String>,
}

struct SignalRow {
    id: Id,
    customer_id: Id,
    customer: String,
    /// "usage drop", not `usage_drop`.
    kind: String,
    severity: String,
    /// "3 days ago".
    detected: String,
    /// The exact time, for the tooltip.
    detected_at: String,
    details: String,
    open: bool,
}

/// "today", "yesterday", "5 days ago", "3 weeks ago", or the date for older ones.
fn relative(at: cscx_store::Timestamp, today: chrono::NaiveDate) -> String {
    let days = (today - at.date()).num_days();
    match days {
        d if d <= 0 => "today".into(),
        1 => "yesterday".into(),
        d if d < 14 => format!("{d} days ago"),
        d if d < 60 => format!("{} weeks ago", d / 7),
        _ => at.date().to_string(),
    }
}

pub(super) async fn signals(
    State(s): State<AppState>,
    Page(v): Page,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    signals_page(&s, v, q, None).await
}

async fn signals_page(
    s: &AppState,
    v: Visitor,
    q: HashMap<String, String>,
    message: Option<String>,
) -> Result<Response, PageError> {
    let severity = q.get("severity").cloned().unwrap_or_default();
    let status = q.get("status").cloned().unwrap_or_else(|| "open".into());
    let f = cscx_core::intelligence::SignalFilter {
        severity: (!severity.is_empty()).then(|| severity.clone()),
        status: (status != "any").then(|| status.clone()),
        ..Default::default()
    };
    let list = cscx_core::intelligence::list_named_signals(&s.app, &f, None, 100).await?;
    let today = s.app.now().date();
    let rows = list
        .into_iter()
        .map(|n| {
            let r = n.signal;
            SignalRow {
                id: r.id,
                customer_id: r.customer_id,
                customer: n.customer_name,
                kind: r.signal_type.replace('_', " "),
                severity: r.severity.to_string(),
                detected: relative(r.detected_at, today),
                detected_at: r.detected_at.to_rfc3339(),
                details: r.description.unwrap_or_default(),
                open: r.resolved_at.is_none(),
            }
        })
        .collect();
    Ok(render(&SignalsPage {
        frame: v.frame("signals"),
        severity,
        status,
        severities: vec!["low", "medium", "high", "critical"],
        statuses: vec!["open", "resolved", "any"],
        rows,
        message,
    }))
}

/// Resolves a signal (`do=resolve`, with an optional `note`) or makes a follow-up task for the
/// signed-in user linked to it (`do=follow_up`).
pub(super) async fn act(
    State(s): State<AppState>,
    Page(v): Page,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let id = match writable_id(&v, &form, Role::Csm, &id, "risk signal") {
        Ok(id) => id,
        Err(r) => return Ok(r),
    };
    let app = &s.app;
    let outcome: Result<String, cscx_core::CoreError> = match form.get("do").map(String::as_str) {
        Some("resolve") => {
            let note = form.get("note").filter(|n| !n.trim().is_empty()).cloned();
            cscx_core::intelligence::resolve_signal(app, &v.principal, id, note)
                .await
                .map(|r| format!("Resolved: {}.", r.signal_type.replace('_', " ")))
        }
        Some("follow_up") => match cscx_core::intelligence::get_signal(app, id).await {
            Ok(signal) => {
                let body = serde_json::json!({
                    "title": format!("Follow up: {}", signal.signal_type.replace('_', " ")),
                    "customer_id": signal.customer_id,
                    "risk_signal_id": signal.id,
                    "due_date": (app.now().date() + chrono::Duration::days(2)).to_string(),
                });
                cscx_core::tasks::create_task(app, &v.principal, &body)
                    .await
                    .map(|t| format!("Task added to your day: {}.", t.title))
            }
            Err(e) => Err(e),
        },
        _ => return Ok(not_found("action")),
    };
    let message = match outcome {
        Ok(m) => m,
        Err(e) if user_error_status(&e).is_some() => e.to_string(),
        Err(e) => return Err(e.into()),
    };
    let q: HashMap<String, String> = [("status".to_owned(), "open".to_owned())].into();
    signals_page(&s, v, q, Some(message)).await
}
