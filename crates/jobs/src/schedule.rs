//! Cron schedules that fire exactly once per tick however many workers run.
//!
//! Each schedule row holds its `next_run_at`. Every worker looks for due rows; to fire one it
//! moves `next_run_at` forward with an update conditional on the old value. Only one update can
//! match, and the job is enqueued in the same transaction, so each tick yields one job.
//! A tick missed while nothing ran fires once (not once per missed tick) when a worker returns.

use chrono::Utc;
use croner::Cron;
use serde_json::Value;

use cscx_store::{entity, run, Db, Error, Id, Result, Timestamp};

use crate::queue::{enqueue_in, NewJob};

entity! {
    /// A recurring job.
    Schedule in "schedules" {
        id: Id,
        name: String,
        cron: String,
        job_kind: String,
        payload: Value,
        enabled: bool,
        next_run_at: Timestamp,
        last_run_at: Option<Timestamp>,
        created_at: Timestamp,
        updated_at: Timestamp,
    }
}

/// Parses a five-field cron expression (minute hour day-of-month month day-of-week, UTC).
pub fn parse_cron(expr: &str) -> Result<Cron> {
    Cron::new(expr)
        .parse()
        .map_err(|e| Error::Config(format!("invalid cron expression {expr:?}: {e}")))
}

/// The first tick of `expr` strictly after `after`.
pub fn next_tick(expr: &str, after: Timestamp) -> Result<Timestamp> {
    let cron = parse_cron(expr)?;
    let next = cron
        .find_next_occurrence(&after.datetime(), false)
        .map_err(|e| Error::Config(format!("cron {expr:?} has no next time: {e}")))?;
    Ok(Timestamp::from_datetime(next.with_timezone(&Utc)))
}

/// Creates the schedule or, if its cron changed, updates it. Called at start-up by every node;
/// the unique name makes concurrent calls converge on one row.
pub async fn upsert(
    db: &Db,
    name: &str,
    cron: &str,
    job_kind: &str,
    payload: Value,
    now: Timestamp,
) -> Result<()> {
    let next = next_tick(cron, now)?;
    let mut c = db.conn().await?;
    cscx_store::sql!(
        c.c(),
        execute,
        "INSERT INTO schedules (id, name, cron, job_kind, payload, enabled, next_run_at, last_run_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, TRUE, $6, NULL, $7, $7)
         ON CONFLICT (name) DO UPDATE SET
            job_kind = excluded.job_kind,
            payload = excluded.payload,
            next_run_at = CASE WHEN schedules.cron <> excluded.cron THEN excluded.next_run_at ELSE schedules.next_run_at END,
            cron = excluded.cron,
            updated_at = CASE WHEN schedules.cron <> excluded.cron THEN excluded.updated_at ELSE schedules.updated_at END",
        Id::new(),
        name,
        cron,
        job_kind,
        &payload,
        next,
        now,
    ).map(|_| ())?;
    Ok(())
}

/// Fires every due schedule whose tick this node wins. Returns the names fired here.
pub async fn tick(db: &Db, now: Timestamp) -> Result<Vec<String>> {
    let due: Vec<Schedule> = {
        let mut c = db.conn().await?;
        cscx_store::sql!(
            c.c(),
            all Schedule,
            "SELECT * FROM schedules WHERE enabled = TRUE AND next_run_at <= $1 ORDER BY next_run_at",
            now,
        )?
    };
    let mut fired = Vec::new();
    for s in due {
        let next = next_tick(&s.cron, now)?;
        let mut tx = db.begin().await?;
        let won = run!(tx.c(), |conn| {
            sqlx::query(
            "UPDATE schedules SET next_run_at = $3, last_run_at = $2, updated_at = $4 WHERE id = $1 AND next_run_at = $2"
        )
        .bind(s.id)
        .bind(s.next_run_at)
        .bind(next)
        .bind(now)
        .execute(&mut *conn)
        .await?
        .rows_affected()
            == 1
        });
        if !won {
            continue; // another node fired this tick
        }
        let job = NewJob::new(&s.job_kind, s.payload.clone()).key(format!(
            "schedule:{}:{}",
            s.name,
            s.next_run_at.millis()
        ));
        enqueue_in(tx.c(), &job, now).await?;
        tx.commit().await?;
        fired.push(s.name);
    }
    Ok(fired)
}

/// Validates a cron expression for callers that take one from users.
pub fn validate(expr: &str) -> std::result::Result<(), String> {
    parse_cron(expr).map(|_| ()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn next_tick_is_strictly_after() {
        let t = Timestamp::from_datetime(Utc.with_ymd_and_hms(2026, 5, 1, 3, 0, 0).unwrap());
        let next = next_tick("0 3 * * *", t).unwrap();
        assert_eq!(next.to_rfc3339(), "2026-05-02T03:00:00.000Z");
        let every5 = next_tick("*/5 * * * *", t).unwrap();
        assert_eq!(every5.to_rfc3339(), "2026-05-01T03:05:00.000Z");
        assert!(next_tick("not cron", t).is_err());
    }
}
