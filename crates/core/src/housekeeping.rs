//! Recurring maintenance jobs every deployment runs, and the job registry `serve` and `worker`
//! share.

use serde_json::json;

use cscx_jobs::{schedule, JobError, Registry};

use crate::{agents, approvals, contracts, events, ingest, intelligence, App, CoreError};

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
    let a = app.clone();
    r.register(intelligence::NIGHTLY_JOB, move |_ctx| {
        let app = a.clone();
        async move {
            let n = intelligence::enqueue_all_refreshes(&app)
                .await
                .map_err(job_error)?;
            tracing::info!(customers = n, "queued the nightly refresh");
            Ok(())
        }
    });
    // New usage: roll the touched days up, then rescore. A refresh (nightly, or after a model
    // change) does the same for days without new data.
    for kind in [ingest::ROLLUP_JOB, intelligence::REFRESH_JOB] {
        let a = app.clone();
        r.register(kind, move |ctx| {
            let app = a.clone();
            async move {
                let id = customer_of(&ctx)?;
                intelligence::rollup_customer(&app, id)
                    .await
                    .map_err(job_error)?;
                intelligence::refresh_customer(&app, id)
                    .await
                    .map(|_| ())
                    .map_err(job_error)
            }
        });
    }
    let a = app.clone();
    r.register(crate::notify::NOTIFY_JOB, move |ctx| {
        let app = a.clone();
        async move {
            let id = ctx
                .payload()
                .get("event_id")
                .and_then(serde_json::Value::as_str)
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| JobError::permanent("payload has no valid event_id"))?;
            crate::notify::deliver(&app, id).await.map_err(job_error)
        }
    });
    let a = app.clone();
    r.register(events::DISPATCH_JOB, move |_ctx| {
        let app = a.clone();
        async move {
            events::dispatch(&app).await.map_err(job_error)?;
            Ok(())
        }
    });
    let a = app.clone();
    r.register(intelligence::HEALTH_JOB, move |ctx| {
        let app = a.clone();
        async move {
            let id = customer_of(&ctx)?;
            intelligence::refresh_customer(&app, id)
                .await
                .map(|_| ())
                .map_err(job_error)
        }
    });
    let a = app.clone();
    r.register(contracts::EXTRACT_JOB, move |ctx| {
        let app = a.clone();
        async move {
            let id = ctx
                .payload()
                .get("contract_id")
                .and_then(serde_json::Value::as_str)
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| JobError::permanent("payload has no valid contract_id"))?;
            contracts::run_extraction(&app, id).await.map_err(job_error)
        }
    });
    let a = app.clone();
    r.register(approvals::EXECUTE_JOB, move |ctx| {
        let app = a.clone();
        async move {
            let id = ctx
                .payload()
                .get("approval_id")
                .and_then(serde_json::Value::as_str)
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| JobError::permanent("payload has no valid approval_id"))?;
            match approvals::execute(&app, id).await {
                Ok(()) => Ok(()),
                // The last attempt: the approval ends as failed with the last answer instead
                // of waiting as approved behind a dead job.
                Err(e) if ctx.job.attempts >= ctx.job.max_attempts => {
                    approvals::give_up(&app, id, &e.to_string(), ctx.job.attempts)
                        .await
                        .map_err(job_error)?;
                    Err(job_error(e))
                }
                Err(e) => Err(job_error(e)),
            }
        }
    });
    let a = app.clone();
    r.register(approvals::EXPIRE_JOB, move |_ctx| {
        let app = a.clone();
        async move {
            let expired = approvals::expire_due(&app).await.map_err(job_error)?;
            let timed_out = agents::time_out_sessions(&app).await.map_err(job_error)?;
            if expired + timed_out > 0 {
                tracing::info!(
                    expired,
                    timed_out,
                    "expired approvals and idle agent sessions"
                );
            }
            Ok(())
        }
    });
    let a = app.clone();
    r.register(contracts::STATUS_JOB, move |_ctx| {
        let app = a.clone();
        async move {
            let n = contracts::refresh_statuses(&app).await.map_err(job_error)?;
            tracing::info!(expired = n, "refreshed contract statuses");
            Ok(())
        }
    });
    let a = app.clone();
    r.register(crate::tasks::REMIND_JOB, move |_ctx| {
        let app = a.clone();
        async move {
            let n = crate::tasks::remind_due(&app).await.map_err(job_error)?;
            tracing::info!(reminded = n, "task reminders");
            Ok(())
        }
    });
    r
}

/// A use-case's failure as a job failure: what can never succeed (bad input, a record that is
/// gone, a conflict, a refusal, an unreadable document, corrupt data) ends the job at once with
/// its error; outages and other trouble are retried with backoff.
pub fn job_error(e: CoreError) -> JobError {
    let permanent = match &e {
        CoreError::Validation(_)
        | CoreError::NotFound(_)
        | CoreError::Conflict(_)
        | CoreError::Forbidden(_)
        | CoreError::Unauthenticated(_)
        | CoreError::Document(_) => true,
        CoreError::Store(s) => matches!(
            s,
            cscx_store::Error::NotFound
                | cscx_store::Error::Corrupt(_)
                | cscx_store::Error::Conflict { .. }
                | cscx_store::Error::MissingReference { .. }
        ),
        _ => false,
    };
    if permanent {
        JobError::permanent(e.to_string())
    } else {
        JobError::retry(e.to_string())
    }
}

fn customer_of(ctx: &cscx_jobs::JobContext) -> Result<cscx_store::Id, JobError> {
    ctx.payload()
        .get("customer_id")
        .and_then(serde_json::Value::as_str)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| JobError::permanent("payload has no valid customer_id"))
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
    schedule::upsert(
        &app.db,
        "approvals-expire",
        "*/5 * * * *",
        approvals::EXPIRE_JOB,
        json!({}),
        app.now(),
    )
    .await?;
    // Time passes even when no data comes: a customer who goes quiet must decay.
    schedule::upsert(
        &app.db,
        "health-nightly",
        "10 2 * * *",
        intelligence::NIGHTLY_JOB,
        json!({}),
        app.now(),
    )
    .await?;
    schedule::upsert(
        &app.db,
        "contract-status",
        "7 0 * * *",
        contracts::STATUS_JOB,
        json!({}),
        app.now(),
    )
    .await?;
    // The morning reminder of tasks whose due day has come.
    schedule::upsert(
        &app.db,
        "tasks-due",
        "0 7 * * *",
        crate::tasks::REMIND_JOB,
        json!({}),
        app.now(),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permanent_failures_are_not_retried() {
        assert!(job_error(CoreError::NotFound("contract")).permanent);
        assert!(job_error(CoreError::field("x", "bad")).permanent);
        assert!(job_error(CoreError::Store(cscx_store::Error::NotFound)).permanent);
        assert!(!job_error(CoreError::Unavailable("busy".into())).permanent);
        assert!(!job_error(CoreError::Internal("disk full".into())).permanent);
        let pool = cscx_store::Error::Db(sqlx::Error::PoolTimedOut);
        assert!(!job_error(CoreError::Store(pool)).permanent);
    }
}
