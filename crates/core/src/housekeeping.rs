//! Recurring maintenance jobs every deployment runs, and the job registry `serve` and `worker`
//! share.

use serde_json::json;

use cscx_jobs::{schedule, JobError, Registry};

use crate::App;

pub const PURGE_EXPIRED: &str = "housekeeping.purge_expired";

/// Every job kind this build can run, bound to the application.
pub fn registry(app: &App) -> Registry {
    let mut r = Registry::new();
    let a = app.clone();
    r.register(PURGE_EXPIRED, move |_ctx| {
        let app = a.clone();
        async move {
            let mut c = app.db.conn().await.map_err(JobError::from)?;
            let removed = cscx_store::product::purge_expired(c.c(), app.now()).await?;
            drop(c);
            let jobs = app.queue.purge_done(chrono::Duration::days(7)).await?;
            // PostgreSQL's autovacuum keeps statistics fresh; SQLite needs to be asked.
            if app.db.backend() == cscx_store::Backend::Sqlite {
                app.db.analyze().await?;
            }
            tracing::info!(
                removed,
                jobs,
                "purged expired sessions, idempotency records, login attempts and old jobs"
            );
            Ok(())
        }
    });
    r
}

/// Registers the recurring schedules (idempotent; every node may call it at start-up).
pub async fn install_schedules(app: &App) -> crate::CoreResult<()> {
    schedule::upsert(
        &app.db,
        "purge-expired",
        "17 * * * *",
        PURGE_EXPIRED,
        json!({}),
        app.now(),
    )
    .await?;
    Ok(())
}
