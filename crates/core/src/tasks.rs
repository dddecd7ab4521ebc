//! Tasks: the CSM's working queue. People create, edit, complete, reopen, cancel, snooze and
//! reassign them; approved `create_task` actions add them too. "My day" groups a user's open
//! tasks by [`Bucket`] (overdue, today, this week, later, no date; snoozed ones apart), and a
//! daily job records a `task.due` reminder for each task whose day has come.
//!
//! Anyone who may write the portfolio may manage tasks; viewers read them.

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::{Map, Value};

use cscx_domain::events::Event;
use cscx_domain::tasks::{Bucket, TaskPriority, TaskStatus};
use cscx_store::model::Task;
use cscx_store::tasks::{self as store, TaskFilter};
use cscx_store::{entity, Id, Timestamp};

use crate::auth::Principal;
use crate::authz;
use crate::error::{CoreError, CoreResult};
use crate::events::{record, Actor};
use crate::portfolio::{as_object, build, patch_in};
use crate::App;

pub const REMIND_JOB: &str = "tasks.remind";

/// What a person may set on a task (status moves through [`set_status`]).
pub const TASK_FIELDS: &[&str] = &[
    "title",
    "description",
    "due_date",
    "priority",
    "owner_id",
    "customer_id",
    "risk_signal_id",
    "meeting_id",
];

/// A new open task with server-set fields filled.
pub fn new_task(title: &str, owner: Option<Id>, created_by: Option<Id>, now: Timestamp) -> Task {
    Task {
        id: Id::new(),
        customer_id: None,
        owner_id: owner,
        title: title.to_owned(),
        due_date: None,
        status: TaskStatus::Open.into(),
        approval_id: None,
        created_at: now,
        completed_at: None,
        description: None,
        priority: TaskPriority::Normal.into(),
        snoozed_until: None,
        risk_signal_id: None,
        meeting_id: None,
        created_by,
        updated_at: now,
        reminded_on: None,
    }
}

fn validate(t: &Task) -> cscx_domain::FieldErrors {
    let mut e = cscx_domain::FieldErrors::new();
    if t.title.trim().is_empty() {
        e.add("title", "must not be blank");
    }
    if t.title.chars().count() > 300 {
        e.add("title", "must be at most 300 characters");
    }
    e
}

/// Records a new task and its `task.created` event (in the caller's transaction).
pub async fn insert(
    mut c: cscx_store::DbConn<'_>,
    t: &Task,
    actor: &Actor,
    now: Timestamp,
) -> CoreResult<()> {
    entity::insert(c.re(), t).await?;
    let event = Event::TaskCreated {
        task_id: t.id.0,
        title: t.title.clone(),
        owner_id: t.owner_id.map(|o| o.0),
        due_date: t.due_date,
    };
    record(c, &event, actor, t.customer_id, now).await
}

/// Creates a task from a JSON body (`title` required; the owner defaults to the caller).
pub async fn create_task(app: &App, who: &Principal, body: &Value) -> CoreResult<Task> {
    authz::write_portfolio(who)?;
    let now = app.now();
    let template = new_task("", Some(who.user_id), Some(who.user_id), now);
    let t = build(
        template,
        as_object(body)?,
        TASK_FIELDS,
        &["title"],
        validate,
    )?;
    let mut tx = app.db.begin().await?;
    insert(tx.c(), &t, &Actor::of(who), now).await?;
    tx.commit().await?;
    Ok(t)
}

pub async fn get_task(app: &App, id: Id) -> CoreResult<Task> {
    let mut c = app.db.conn().await?;
    entity::get(c.c(), id)
        .await?
        .ok_or(CoreError::NotFound("task"))
}

/// Changes some fields (reassigning is a change of `owner_id`).
pub async fn update_task(app: &App, who: &Principal, id: Id, body: &Value) -> CoreResult<Task> {
    authz::write_portfolio(who)?;
    let fields: Vec<String> = as_object(body)?.keys().cloned().collect();
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let t: Task = patch_in(
        tx.c(),
        "task",
        id,
        as_object(body)?,
        TASK_FIELDS,
        validate,
        now,
    )
    .await?;
    changed(tx.c(), &t, who, fields, now).await?;
    tx.commit().await?;
    Ok(t)
}

async fn changed(
    c: cscx_store::DbConn<'_>,
    t: &Task,
    who: &Principal,
    fields: Vec<String>,
    now: Timestamp,
) -> CoreResult<()> {
    let event = Event::TaskChanged {
        task_id: t.id.0,
        title: t.title.clone(),
        fields,
        status: t.status.to_string(),
    };
    record(c, &event, &Actor::of(who), t.customer_id, now).await
}

/// Moves a task to `status`: done (stamped), open again, or cancelled. Doing what is already
/// so changes nothing.
pub async fn set_status(
    app: &App,
    who: &Principal,
    id: Id,
    status: TaskStatus,
) -> CoreResult<Task> {
    authz::write_portfolio(who)?;
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let mut t: Task = entity::get_for_update(tx.c(), id)
        .await?
        .ok_or(CoreError::NotFound("task"))?;
    if t.status == status {
        return Ok(t);
    }
    t.status = status.into();
    t.completed_at = (status == TaskStatus::Done).then_some(now);
    t.updated_at = now;
    entity::update(tx.c(), &t).await?;
    changed(tx.c(), &t, who, vec!["status".into()], now).await?;
    tx.commit().await?;
    Ok(t)
}

/// Puts an open task out of the queue until `until` (a later day).
pub async fn snooze(app: &App, who: &Principal, id: Id, until: NaiveDate) -> CoreResult<Task> {
    authz::write_portfolio(who)?;
    let now = app.now();
    if until <= now.date() {
        return Err(CoreError::field("until", "must be a later day than today"));
    }
    let mut tx = app.db.begin().await?;
    let mut t: Task = entity::get_for_update(tx.c(), id)
        .await?
        .ok_or(CoreError::NotFound("task"))?;
    if t.status != TaskStatus::Open {
        return Err(CoreError::Conflict(format!(
            "the task is {}; only open tasks are snoozed",
            t.status
        )));
    }
    t.snoozed_until = Some(until);
    t.updated_at = now;
    entity::update(tx.c(), &t).await?;
    changed(tx.c(), &t, who, vec!["snoozed_until".into()], now).await?;
    tx.commit().await?;
    Ok(t)
}

pub async fn delete_task(app: &App, who: &Principal, id: Id) -> CoreResult<()> {
    authz::write_portfolio(who)?;
    let mut c = app.db.conn().await?;
    if entity::delete::<Task>(c.c(), id).await? {
        Ok(())
    } else {
        Err(CoreError::NotFound("task"))
    }
}

pub async fn list(
    app: &App,
    f: &TaskFilter,
    after: Option<Id>,
    limit: u32,
) -> CoreResult<Vec<Task>> {
    let mut c = app.db.conn().await?;
    Ok(store::list(c.c(), f, after, limit).await?)
}

/// One bucket of a queue.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QueueGroup {
    /// overdue, today, this_week, later, someday or snoozed.
    #[schema(value_type = String)]
    pub bucket: Bucket,
    pub label: String,
    pub tasks: Vec<Task>,
}

/// The open tasks of `owner` (or of a customer), grouped as the day sees them, soonest first.
/// Empty groups are left out. At most 500 tasks are read; `truncated` says when there were more.
pub async fn queue(
    app: &App,
    owner: Option<Id>,
    customer: Option<Id>,
) -> CoreResult<(Vec<QueueGroup>, bool)> {
    const MAX: u32 = 500;
    let today = app.now().date();
    let tasks = {
        let mut c = app.db.conn().await?;
        store::open_queue(c.c(), owner, customer, MAX + 1).await?
    };
    let truncated = tasks.len() > MAX as usize;
    let mut groups: Vec<QueueGroup> = Vec::new();
    for t in tasks.into_iter().take(MAX as usize) {
        let bucket = Bucket::of(t.due_date, t.snoozed_until, today);
        match groups.iter_mut().find(|g| g.bucket == bucket) {
            Some(g) => g.tasks.push(t),
            None => groups.push(QueueGroup {
                bucket,
                label: bucket.label().into(),
                tasks: vec![t],
            }),
        }
    }
    groups.sort_by_key(|g| g.bucket);
    Ok((groups, truncated))
}

/// The daily reminder: every open task whose due day has come (and is not snoozed) gets one
/// `task.due` change event, once per due date. Returns how many were reminded.
pub async fn remind_due(app: &App) -> CoreResult<usize> {
    let now = app.now();
    let today = now.date();
    let due = {
        let mut c = app.db.conn().await?;
        store::due_unreminded(c.c(), today).await?
    };
    let n = due.len();
    for mut t in due {
        let mut tx = app.db.begin().await?;
        t.reminded_on = Some(today);
        entity::update(tx.c(), &t).await?;
        let event = Event::TaskDue {
            task_id: t.id.0,
            title: t.title.clone(),
            owner_id: t.owner_id.map(|o| o.0),
            due_date: t.due_date.unwrap_or(today),
        };
        record(tx.c(), &event, &Actor::system(), t.customer_id, now).await?;
        tx.commit().await?;
    }
    Ok(n)
}

/// Reads `{"until": "YYYY-MM-DD"}`.
pub fn parse_until(body: &Map<String, Value>) -> CoreResult<NaiveDate> {
    body.get("until")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| CoreError::field("until", "must be a date (YYYY-MM-DD)"))
}
