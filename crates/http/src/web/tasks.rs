//! "My day": the signed-in user's open tasks by when they are due, with complete and snooze
//! buttons and a form to add one.

use super::*;

use cscx_core::tasks::QueueGroup;
use cscx_domain::tasks::TaskStatus;

#[derive(Template)]
#[template(path = "tasks.html")]
struct TasksPage {
    frame: Frame,
    groups: Vec<QueueGroup>,
    truncated: bool,
    /// Customer id → name, for the tasks that name one.
    names: HashMap<Id, String>,
    tomorrow: String,
    message: Option<String>,
    error: Option<String>,
}

impl TasksPage {
    fn customer(&self, id: &Option<Id>) -> String {
        id.and_then(|i| self.names.get(&i).cloned())
            .unwrap_or_default()
    }
}

async fn page(
    s: &AppState,
    v: Visitor,
    message: Option<String>,
    error: Option<String>,
) -> Result<Response, PageError> {
    let (groups, truncated) =
        cscx_core::tasks::queue(&s.app, Some(v.principal.user_id), None).await?;
    let ids: Vec<Id> = groups
        .iter()
        .flat_map(|g| &g.tasks)
        .filter_map(|t| t.customer_id)
        .collect();
    let names = cscx_core::portfolio::customer_names(&s.app, &ids).await?;
    let failed = error.is_some();
    let mut r = render(&TasksPage {
        frame: v.frame("tasks"),
        groups,
        truncated,
        names,
        tomorrow: (s.app.now().date() + chrono::Duration::days(1)).to_string(),
        message,
        error,
    });
    if failed {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

pub(super) async fn my_day(
    State(s): State<AppState>,
    Page(v): Page,
) -> Result<Response, PageError> {
    page(&s, v, None, None).await
}

/// Adds a task for the signed-in user.
pub(super) async fn add(
    State(s): State<AppState>,
    Page(v): Page,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    if let Some(r) = refuse_write(&v, &form, Role::Csm) {
        return Ok(r);
    }
    let mut body = Map::new();
    for key in ["title", "due_date", "priority"] {
        if let Some(val) = form.get(key).filter(|x| !x.trim().is_empty()) {
            body.insert(key.into(), Value::String(val.trim().to_owned()));
        }
    }
    if let Some(c) = form.get("customer_id").filter(|x| !x.is_empty()) {
        body.insert("customer_id".into(), Value::String(c.clone()));
    }
    match cscx_core::tasks::create_task(&s.app, &v.principal, &Value::Object(body)).await {
        Ok(t) => page(&s, v, Some(format!("Added: {}.", t.title)), None).await,
        Err(e) if user_error_status(&e).is_some() => page(&s, v, None, Some(e.to_string())).await,
        Err(e) => Err(e.into()),
    }
}

/// Completes, reopens or snoozes one task (`do` = complete | reopen | snooze, with `until`).
pub(super) async fn act(
    State(s): State<AppState>,
    Page(v): Page,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let id = match writable_id(&v, &form, Role::Csm, &id, "task") {
        Ok(id) => id,
        Err(r) => return Ok(r),
    };
    let app = &s.app;
    let who = &v.principal;
    let result = match form.get("do").map(String::as_str) {
        Some("complete") => cscx_core::tasks::set_status(app, who, id, TaskStatus::Done).await,
        Some("reopen") => cscx_core::tasks::set_status(app, who, id, TaskStatus::Open).await,
        Some("snooze") => match form.get("until").and_then(|u| u.parse().ok()) {
            Some(until) => cscx_core::tasks::snooze(app, who, id, until).await,
            None => Err(cscx_core::CoreError::field(
                "until",
                "must be a date (YYYY-MM-DD)",
            )),
        },
        _ => Err(cscx_core::CoreError::field(
            "do",
            "must be complete, reopen or snooze",
        )),
    };
    match result {
        Ok(t) => page(&s, v, Some(format!("{}: {}.", t.title, t.status)), None).await,
        Err(e) if user_error_status(&e).is_some() => page(&s, v, None, Some(e.to_string())).await,
        Err(e) => Err(e.into()),
    }
}
