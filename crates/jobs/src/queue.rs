//! The job queue: rows in `jobs`, claimed under a lease.
//!
//! - A job key deduplicates: while a job with that key waits, enqueuing it again does not add a
//!   second one (the earlier `run_at` wins and the payload is replaced).
//! - A worker claims a job by setting `locked_by`/`locked_until`; heartbeats extend the lease.
//!   A worker that dies stops heartbeating, its lease runs out and another worker claims the job.
//! - Completion and failure are conditional on still holding the lease (same worker, same
//!   attempt), so a worker that lost its lease cannot mark a job done a second time.
//! - Failures retry with exponential backoff; after `max_attempts` the job is `dead`, kept with
//!   its last error.
//! - PostgreSQL claims with `FOR UPDATE SKIP LOCKED`; SQLite inside `BEGIN IMMEDIATE`.

use std::sync::Arc;

use chrono::Duration;
use serde_json::Value;

use cscx_domain::Clock;
use cscx_store::{entity, run, Backend, Db, DbConn, Id, Result, Timestamp};

entity! {
    /// One unit of background work.
    Job in "jobs" {
        id: Id,
        queue: String,
        kind: String,
        payload: Value,
        job_key: Option<String>,
        status: String,
        priority: i32,
        attempts: i32,
        max_attempts: i32,
        run_at: Timestamp,
        locked_by: Option<String>,
        locked_until: Option<Timestamp>,
        last_error: Option<String>,
        created_at: Timestamp,
        updated_at: Timestamp,
        finished_at: Option<Timestamp>,
    }
}

/// What to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: String,
    pub payload: Value,
    pub queue: String,
    pub job_key: Option<String>,
    /// When to run; now if `None`.
    pub run_at: Option<Timestamp>,
    pub priority: i32,
    pub max_attempts: i32,
}

impl NewJob {
    pub fn new(kind: impl Into<String>, payload: Value) -> NewJob {
        NewJob {
            kind: kind.into(),
            payload,
            queue: "default".into(),
            job_key: None,
            run_at: None,
            priority: 0,
            max_attempts: 10,
        }
    }

    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.job_key = Some(key.into());
        self
    }

    pub fn at(mut self, t: Timestamp) -> Self {
        self.run_at = Some(t);
        self
    }

    pub fn max_attempts(mut self, n: i32) -> Self {
        self.max_attempts = n.max(1);
        self
    }

    pub fn priority(mut self, p: i32) -> Self {
        self.priority = p;
        self
    }
}

/// Delay before retry `attempt` (1-based): 2^attempt seconds, capped at one hour.
pub fn backoff(attempt: i32) -> Duration {
    let secs = 1i64 << attempt.clamp(1, 12);
    Duration::seconds(secs.min(3600))
}

/// Enqueues inside the caller's transaction, so the job exists exactly when the data that
/// asked for it was committed. Returns the id of the new job, or of the waiting job with the
/// same key.
pub async fn enqueue_in(c: DbConn<'_>, job: &NewJob, now: Timestamp) -> Result<Id> {
    let run_at = job.run_at.unwrap_or(now);
    Ok(cscx_store::sql!(
        c,
        scalar Id,
        "INSERT INTO jobs (id, queue, kind, payload, job_key, status, priority, attempts, max_attempts, run_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, 'queued', $6, 0, $7, $8, $9, $9)
         ON CONFLICT (job_key) WHERE job_key IS NOT NULL AND status = 'queued'
         DO UPDATE SET payload = excluded.payload,
                       run_at = CASE WHEN excluded.run_at < jobs.run_at THEN excluded.run_at ELSE jobs.run_at END,
                       updated_at = excluded.updated_at
         RETURNING id",
        Id::new(),
        &job.queue,
        &job.kind,
        &job.payload,
        &job.job_key,
        job.priority,
        job.max_attempts,
        run_at,
        now,
    )?)
}

/// Enqueues many jobs in the caller's transaction. Job keys must be distinct within the call
/// (a statement may not update the same waiting job twice). A waiting job whose payload is the
/// same and whose `run_at` is not later is left untouched, so re-enqueuing costs a lookup, not
/// a row rewrite (ingestion re-enqueues the same rollups with every batch).
pub async fn enqueue_many_in(mut c: DbConn<'_>, jobs: &[NewJob], now: Timestamp) -> Result<()> {
    const CONFLICT: &str = " ON CONFLICT (job_key) WHERE job_key IS NOT NULL AND status = 'queued'
        DO UPDATE SET payload = excluded.payload,
          run_at = CASE WHEN excluded.run_at < jobs.run_at THEN excluded.run_at ELSE jobs.run_at END,
          updated_at = excluded.updated_at
        WHERE jobs.payload IS DISTINCT FROM excluded.payload OR excluded.run_at < jobs.run_at";
    for chunk in jobs.chunks(500) {
        match c.re() {
            // SQLite: one JSON parameter instead of twelve bound per row.
            DbConn::Sqlite(conn) => {
                let rows: Vec<_> = chunk
                    .iter()
                    .map(|j| {
                        (
                            Id::new(),
                            &j.queue,
                            &j.kind,
                            &j.payload,
                            &j.job_key,
                            j.priority,
                            j.max_attempts,
                            j.run_at.unwrap_or(now).millis(),
                        )
                    })
                    .collect();
                let json = serde_json::to_string(&rows).expect("jobs serialize");
                sqlx::query(&format!(
                    "INSERT INTO jobs (id, queue, kind, payload, job_key, status, priority, attempts, max_attempts, run_at, created_at, updated_at)
                     SELECT value->>'$[0]', value->>'$[1]', value->>'$[2]', value->'$[3]', value->>'$[4]', 'queued',
                            value->>'$[5]', 0, value->>'$[6]', value->>'$[7]', $2, $2
                     FROM json_each($1) WHERE 1{CONFLICT}"
                ))
                .bind(json)
                .bind(now)
                .execute(&mut *conn)
                .await?;
            }
            DbConn::Postgres(conn) => {
                let mut qb = sqlx::QueryBuilder::<sqlx::Postgres>::new(
                    "INSERT INTO jobs (id, queue, kind, payload, job_key, status, priority, attempts, max_attempts, run_at, created_at, updated_at) ",
                );
                qb.push_values(chunk, |mut b, job| {
                    b.push_bind(Id::new())
                        .push_bind(job.queue.clone())
                        .push_bind(job.kind.clone())
                        .push_bind(job.payload.clone())
                        .push_bind(job.job_key.clone())
                        .push_bind("queued")
                        .push_bind(job.priority)
                        .push_bind(0i32)
                        .push_bind(job.max_attempts)
                        .push_bind(job.run_at.unwrap_or(now))
                        .push_bind(now)
                        .push_bind(now);
                });
                qb.push(CONFLICT);
                qb.build().execute(&mut *conn).await?;
            }
        }
    }
    Ok(())
}

/// Counts of jobs per status, for operations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueStats {
    pub queued: i64,
    pub running: i64,
    pub done: i64,
    pub dead: i64,
}

/// The queue over a database, with the clock that decides what is due and what has expired.
#[derive(Clone)]
pub struct Queue {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    /// Wakes local workers at once when a job is enqueued in this process.
    pub notify: Arc<tokio::sync::Notify>,
}

impl Queue {
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> Queue {
        Queue {
            db,
            clock,
            notify: Arc::new(tokio::sync::Notify::new()),
        }
    }

    pub fn now(&self) -> Timestamp {
        Timestamp::from_datetime(self.clock.now())
    }

    pub async fn enqueue(&self, job: NewJob) -> Result<Id> {
        let mut c = self.db.conn().await?;
        let id = enqueue_in(c.c(), &job, self.now()).await?;
        self.notify.notify_waiters();
        Ok(id)
    }

    pub async fn get(&self, id: Id) -> Result<Option<Job>> {
        let mut c = self.db.conn().await?;
        cscx_store::entity::get(c.c(), id).await
    }

    /// Claims the next due job of one of `kinds` for `worker`, holding it for `lease`.
    /// Jobs whose previous holder's lease ran out are claimable again (that attempt counts).
    pub async fn claim(
        &self,
        worker: &str,
        kinds: &[String],
        lease: Duration,
    ) -> Result<Option<Job>> {
        if kinds.is_empty() {
            return Ok(None);
        }
        let now = self.now();
        let until = now.add(lease);
        let mut tx = self.db.begin().await?;
        let lock = match tx.backend() {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let kind_params = (0..kinds.len())
            .map(|i| format!("${}", i + 4))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "UPDATE jobs SET status = 'running', locked_by = $1, locked_until = $2, attempts = attempts + 1, updated_at = $3
             WHERE id = (
                SELECT id FROM jobs
                WHERE ((status = 'queued' AND run_at <= $3)
                       OR (status = 'running' AND locked_until < $3 AND attempts < max_attempts))
                  AND kind IN ({kind_params})
                ORDER BY priority DESC, run_at, id
                LIMIT 1{lock})
             RETURNING *"
        );
        let job: Option<Job> = run!(tx.c(), |conn| {
            let mut q = sqlx::query_as::<_, Job>(&sql)
                .bind(worker)
                .bind(until)
                .bind(now);
            for k in kinds {
                q = q.bind(k);
            }
            q.fetch_optional(&mut *conn).await?
        });
        tx.commit().await?;
        Ok(job)
    }

    /// Extends the lease; false if `job` is no longer ours (the lease ran out and another
    /// worker took it).
    pub async fn heartbeat(&self, job: &Job, worker: &str, lease: Duration) -> Result<bool> {
        let now = self.now();
        let mut c = self.db.conn().await?;
        run!(c.c(), |conn| Ok(sqlx::query(
            "UPDATE jobs SET locked_until = $4, updated_at = $5
             WHERE id = $1 AND locked_by = $2 AND attempts = $3 AND status = 'running'"
        )
        .bind(job.id)
        .bind(worker)
        .bind(job.attempts)
        .bind(now.add(lease))
        .bind(now)
        .execute(&mut *conn)
        .await?
        .rows_affected()
            == 1))
    }

    /// Hands the jobs `worker` still holds back to the queue, runnable at once and with the
    /// interrupted attempt not counted (a shutdown is not the job's failure). Returns how many.
    pub async fn release_held(&self, worker: &str) -> Result<u64> {
        let now = self.now();
        let mut c = self.db.conn().await?;
        run!(c.c(), |conn| {
            Ok(sqlx::query(
                "UPDATE jobs SET status = 'queued', locked_by = NULL, locked_until = NULL,
                   attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, run_at = $2, updated_at = $2
                 WHERE locked_by = $1 AND status = 'running'",
            )
            .bind(worker)
            .bind(now)
            .execute(&mut *conn)
            .await?
            .rows_affected())
        })
    }

    /// Marks the job done; false if it was not ours any more (nothing changes then).
    pub async fn complete(&self, job: &Job, worker: &str) -> Result<bool> {
        let now = self.now();
        let mut c = self.db.conn().await?;
        run!(c.c(), |conn| {
            Ok(sqlx::query(
            "UPDATE jobs SET status = 'done', finished_at = $4, updated_at = $4, locked_by = NULL, locked_until = NULL, last_error = NULL
             WHERE id = $1 AND locked_by = $2 AND attempts = $3 AND status = 'running'"
        )
        .bind(job.id)
        .bind(worker)
        .bind(job.attempts)
        .bind(now)
        .execute(&mut *conn)
        .await?
        .rows_affected()
            == 1)
        })
    }

    /// Records a failure: back to the queue after a backoff, or `dead` when attempts are
    /// exhausted or the error is permanent. False if the job was not ours any more.
    pub async fn fail(
        &self,
        job: &Job,
        worker: &str,
        error: &str,
        permanent: bool,
    ) -> Result<bool> {
        let now = self.now();
        let dead = permanent || job.attempts >= job.max_attempts;
        let retry_at = now.add(backoff(job.attempts));
        let mut c = self.db.conn().await?;
        // A job with the same key may have been queued meanwhile; then this retry is redundant
        // (the queued one will do the work) and the failed run is closed as dead instead of
        // colliding with it.
        let (sql, retry_at) = if dead {
            (
                "UPDATE jobs SET status = 'dead', last_error = $4, run_at = $6, finished_at = $5, updated_at = $5, locked_by = NULL, locked_until = NULL
                 WHERE id = $1 AND locked_by = $2 AND attempts = $3 AND status = 'running'",
                now,
            )
        } else {
            (
                "UPDATE jobs SET
                    status = CASE WHEN job_key IS NOT NULL AND EXISTS (SELECT 1 FROM jobs j2 WHERE j2.job_key = jobs.job_key AND j2.status = 'queued') THEN 'dead' ELSE 'queued' END,
                    last_error = $4, run_at = $6, updated_at = $5, locked_by = NULL, locked_until = NULL
                 WHERE id = $1 AND locked_by = $2 AND attempts = $3 AND status = 'running'",
                retry_at,
            )
        };
        run!(c.c(), |conn| Ok(sqlx::query(sql)
            .bind(job.id)
            .bind(worker)
            .bind(job.attempts)
            .bind(error)
            .bind(now)
            .bind(retry_at)
            .execute(&mut *conn)
            .await?
            .rows_affected()
            == 1))
    }

    /// Jobs whose worker vanished and that have no attempts left become `dead` (the others are
    /// simply claimed again). Returns how many.
    pub async fn bury_expired(&self) -> Result<u64> {
        let now = self.now();
        let mut c = self.db.conn().await?;
        run!(c.c(), |conn| {
            Ok(sqlx::query(
            "UPDATE jobs SET status = 'dead', last_error = COALESCE(last_error, 'lease expired: the worker stopped before finishing'),
                    finished_at = $1, updated_at = $1, locked_by = NULL, locked_until = NULL
             WHERE status = 'running' AND locked_until < $1 AND attempts >= max_attempts"
        )
        .bind(now)
        .execute(&mut *conn)
        .await?
        .rows_affected())
        })
    }

    /// Deletes finished (`done`) jobs older than `age`; dead jobs are kept for inspection.
    pub async fn purge_done(&self, age: Duration) -> Result<u64> {
        let cutoff = self.now().add(-age);
        let mut c = self.db.conn().await?;
        run!(c.c(), |conn| Ok(sqlx::query(
            "DELETE FROM jobs WHERE status = 'done' AND finished_at < $1"
        )
        .bind(cutoff)
        .execute(&mut *conn)
        .await?
        .rows_affected()))
    }

    pub async fn stats(&self) -> Result<QueueStats> {
        let mut c = self.db.conn().await?;
        let rows: Vec<(String, i64)> =
            cscx_store::sql!(c.c(), all _, "SELECT status, COUNT(*) FROM jobs GROUP BY status")?;
        let mut s = QueueStats::default();
        for (status, n) in rows {
            match status.as_str() {
                "queued" => s.queued = n,
                "running" => s.running = n,
                "done" => s.done = n,
                "dead" => s.dead = n,
                _ => {}
            }
        }
        Ok(s)
    }

    /// Jobs in a status, newest first (for `cscx jobs list` and the admin API).
    pub async fn list(&self, status: &str, limit: u32) -> Result<Vec<Job>> {
        let mut c = self.db.conn().await?;
        Ok(cscx_store::sql!(
            c.c(),
            all Job,
            "SELECT * FROM jobs WHERE status = $1 ORDER BY updated_at DESC, id DESC LIMIT $2",
            status,
            limit as i64,
        )?)
    }
}
