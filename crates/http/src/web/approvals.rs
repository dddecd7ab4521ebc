//! The approvals inbox: decide, edit, reject.

use super::*;

pub(super) struct PendingView {
    id: Id,
    summary: String,
    action: String,
    agent: String,
    required_role: String,
    expires: String,
    preview: String,
    allowed: bool,
    editable_body: bool,
    body: String,
}

pub(super) struct DecidedView {
    summary: String,
    status: String,
    comment: String,
    result: String,
}

#[derive(Template)]
#[template(path = "approvals.html")]
pub(super) struct ApprovalsPage {
    frame: Frame,
    can_decide: bool,
    pending: Vec<PendingView>,
    decided: Vec<DecidedView>,
    message: Option<String>,
    error: Option<String>,
}

/// The preview as readable lines ("To: …", "Subject: …", the body) rather than JSON.
pub(super) fn preview_text(p: &Value) -> String {
    let Some(obj) = p.as_object() else {
        return String::new();
    };
    let mut lines = Vec::new();
    for (k, v) in obj {
        if k == "summary" || k == "body" || v.is_null() || v.as_array().is_some_and(Vec::is_empty) {
            continue;
        }
        let value = match v {
            Value::String(s) => s.clone(),
            Value::Array(items) => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| i.to_string())
                })
                .collect::<Vec<_>>()
                .join(", "),
            other => other.to_string(),
        };
        lines.push(format!("{}: {value}", k.replace('_', " ")));
    }
    if let Some(b) = obj.get("body").and_then(Value::as_str) {
        lines.push(String::new());
        lines.push(b.to_string());
    }
    lines.join("\n")
}

pub(super) async fn approvals_page(
    s: &AppState,
    v: Visitor,
    message: Option<String>,
    error: Option<String>,
) -> Result<Response, PageError> {
    let f = |status: &str| cscx_core::approvals::ApprovalFilter {
        status: Some(status.into()),
        ..Default::default()
    };
    let pending = cscx_core::approvals::list(&s.app, &v.principal, &f("pending"), None, 50).await?;
    let mut decided = Vec::new();
    for st in ["executed", "failed", "rejected", "expired"] {
        decided.extend(cscx_core::approvals::list(&s.app, &v.principal, &f(st), None, 10).await?);
    }
    decided.sort_by_key(|a| std::cmp::Reverse(a.resolved_at));
    decided.truncate(20);
    let role = v.principal.role;
    Ok(render(&ApprovalsPage {
        frame: v.frame("approvals"),
        can_decide: role >= Role::Csm,
        pending: pending
            .into_iter()
            .map(|a| {
                let preview = a.preview.clone().unwrap_or(Value::Null);
                let needed = *a.required_role;
                PendingView {
                    id: a.id,
                    summary: a.details.clone().unwrap_or_else(|| a.action.clone()),
                    agent: a.agent_id.clone().unwrap_or_else(|| "—".into()),
                    required_role: a.required_role.to_string(),
                    expires: a
                        .expires_at
                        .map(|e| e.to_rfc3339())
                        .unwrap_or_else(|| "never".into()),
                    preview: preview_text(&preview),
                    allowed: role >= needed,
                    editable_body: a.action == cscx_core::actions::Action::SendEmail.name(),
                    body: a.action_data["body"].as_str().unwrap_or("").to_string(),
                    action: a.action,
                }
            })
            .collect(),
        decided: decided
            .into_iter()
            .map(|a| DecidedView {
                summary: a.details.clone().unwrap_or_else(|| a.action.clone()),
                status: a.status.to_string(),
                comment: a.comment.unwrap_or_default(),
                result: a
                    .result
                    .map(|r| {
                        r.get("note")
                            .or(r.get("error"))
                            .and_then(Value::as_str)
                            .map(str::to_string)
                            .unwrap_or_else(|| "done".into())
                    })
                    .unwrap_or_default(),
            })
            .collect(),
        message,
        error,
    }))
}

pub(super) async fn approvals(State(s): State<AppState>, Page(v): Page) -> Response {
    approvals_page(&s, v, None, None).await.into_response()
}

pub(super) async fn decide(
    s: AppState,
    v: Visitor,
    id: String,
    form: HashMap<String, String>,
    approve: bool,
) -> Response {
    if !csrf_ok(&v, &form) {
        return csrf_refused();
    }
    let Ok(id) = id.parse::<Id>() else {
        return not_found("approval");
    };
    let mut edits = Map::new();
    if approve {
        if let Some(body) = form.get("body") {
            let current = cscx_core::approvals::get(&s.app, &v.principal, id)
                .await
                .ok();
            let unchanged = current
                .as_ref()
                .and_then(|a| a.action_data["body"].as_str())
                == Some(body.as_str());
            if !unchanged && !body.trim().is_empty() {
                edits.insert("body".into(), Value::String(body.replace("\r\n", "\n")));
            }
        }
    }
    let d = cscx_core::approvals::Decision {
        comment: form.get("comment").cloned(),
        edits: (!edits.is_empty()).then_some(edits),
    };
    let result = if approve {
        cscx_core::approvals::approve(&s.app, &v.principal, id, d).await
    } else {
        cscx_core::approvals::reject(&s.app, &v.principal, id, d).await
    };
    match result {
        Ok(a) => {
            let m = format!("{}: {}.", a.details.unwrap_or(a.action), a.status);
            approvals_page(&s, v, Some(m), None).await.into_response()
        }
        Err(e) => {
            let Some(status) = user_error_status(&e) else {
                return failure(e);
            };
            let mut r = approvals_page(&s, v, None, Some(e.to_string()))
                .await
                .into_response();
            *r.status_mut() = status;
            r
        }
    }
}

pub(super) async fn approve(
    State(s): State<AppState>,
    Page(v): Page,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    decide(s, v, id, form, true).await
}

pub(super) async fn reject(
    State(s): State<AppState>,
    Page(v): Page,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    decide(s, v, id, form, false).await
}
