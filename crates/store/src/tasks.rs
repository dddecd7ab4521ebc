//! Task queries: lists with filters and the open tasks a queue is built from.

use chrono::NaiveDate;

use crate::error::Result;
use crate::model::Task;
use crate::types::Id;
use crate::DbConn;

/// What a task list is narrowed to; `None` = any.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    pub owner_id: Option<Id>,
    pub customer_id: Option<Id>,
    pub status: Option<String>,
    /// Due on or before this day.
    pub due_before: Option<NaiveDate>,
}

/// Tasks matching `f` in id order (creation order), a page after `after`.
pub async fn list(
    c: DbConn<'_>,
    f: &TaskFilter,
    after: Option<Id>,
    limit: u32,
) -> Result<Vec<Task>> {
    Ok(crate::sql!(
        c,
        all Task,
        "SELECT * FROM tasks
         WHERE ($1 IS NULL OR owner_id = $1) AND ($2 IS NULL OR customer_id = $2)
           AND ($3 IS NULL OR status = $3) AND ($4 IS NULL OR due_date <= $4)
           AND ($5 IS NULL OR id > $5)
         ORDER BY id LIMIT $6",
        f.owner_id,
        f.customer_id,
        f.status.as_deref(),
        f.due_before,
        after,
        i64::from(limit),
    )?)
}

/// The open tasks of `owner` (or of `customer`), soonest due first, undated last.
pub async fn open_queue(
    c: DbConn<'_>,
    owner: Option<Id>,
    customer: Option<Id>,
    limit: u32,
) -> Result<Vec<Task>> {
    Ok(crate::sql!(
        c,
        all Task,
        "SELECT * FROM tasks
         WHERE status = 'open' AND ($1 IS NULL OR owner_id = $1) AND ($2 IS NULL OR customer_id = $2)
         ORDER BY CASE WHEN due_date IS NULL THEN 1 ELSE 0 END, due_date, id LIMIT $3",
        owner,
        customer,
        i64::from(limit),
    )?)
}

/// Open tasks due on or before `day` whose reminder has not gone out for it.
pub async fn due_unreminded(c: DbConn<'_>, day: NaiveDate) -> Result<Vec<Task>> {
    Ok(crate::sql!(
        c,
        all Task,
        "SELECT * FROM tasks
         WHERE status = 'open' AND due_date <= $1
           AND (snoozed_until IS NULL OR snoozed_until <= $1)
           AND (reminded_on IS NULL OR reminded_on < due_date)
         ORDER BY id",
        day,
    )?)
}
