//! Workers: claim due jobs, run their handlers with a heartbeat, record the outcome; and fire
//! due schedules. `cscx serve` embeds one; `cscx worker` runs one alone.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use futures::future::BoxFuture;
use serde_json::Value;
use tokio::sync::{watch, Semaphore};

use cscx_store::{Db, Result};

use crate::queue::{Job, Queue};
use crate::schedule;

/// Why a handler failed. `permanent` failures are not retried (bad payload, missing record).
#[derive(Debug, Clone)]
pub struct JobError {
    pub message: String,
    pub permanent: bool,
}

impl JobError {
    pub fn retry(message: impl Into<String>) -> Self {
        JobError {
            message: message.into(),
            permanent: false,
        }
    }
    pub fn permanent(message: impl Into<String>) -> Self {
        JobError {
            message: message.into(),
            permanent: true,
        }
    }
}

impl<E: std::fmt::Display> From<E> for JobError {
    fn from(e: E) -> Self {
        JobError::retry(e.to_string())
    }
}

/// What a handler gets: the job and the database.
#[derive(Clone)]
pub struct JobContext {
    pub job: Job,
    pub db: Db,
    pub queue: Queue,
}

impl JobContext {
    pub fn payload(&self) -> &Value {
        &self.job.payload
    }
}

type Handler =
    Arc<dyn Fn(JobContext) -> BoxFuture<'static, std::result::Result<(), JobError>> + Send + Sync>;

/// Handlers by job kind. Handlers must be idempotent: a job whose worker died after doing the
/// work but before recording it runs again.
#[derive(Clone, Default)]
pub struct Registry {
    handlers: HashMap<String, Handler>,
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn register<F, Fut>(&mut self, kind: &str, f: F)
    where
        F: Fn(JobContext) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = std::result::Result<(), JobError>> + Send + 'static,
    {
        self.handlers
            .insert(kind.to_owned(), Arc::new(move |ctx| Box::pin(f(ctx))));
    }

    pub fn kinds(&self) -> Vec<String> {
        let mut k: Vec<String> = self.handlers.keys().cloned().collect();
        k.sort();
        k
    }
}

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Unique per process; recorded in `locked_by`.
    pub id: String,
    /// Jobs run at once by this worker.
    pub concurrency: usize,
    /// How often to look for work when idle.
    pub poll_interval: StdDuration,
    pub lease: Duration,
    /// Whether this worker also fires cron schedules.
    pub run_scheduler: bool,
    /// On shutdown, how long the jobs in hand may take to finish; those still running then
    /// are handed back to the queue for another worker.
    pub shutdown_grace: StdDuration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            id: format!("{}-{}", hostname(), uuid::Uuid::new_v4().simple()),
            concurrency: 4,
            poll_interval: StdDuration::from_millis(500),
            lease: Duration::seconds(60),
            run_scheduler: true,
            shutdown_grace: StdDuration::from_secs(30),
        }
    }
}

fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|s| s.trim().to_owned())
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "node".into())
}

pub struct Worker {
    pub queue: Queue,
    pub registry: Arc<Registry>,
    pub config: WorkerConfig,
}

/// What happened to one claimed job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    Retrying(String),
    Dead(String),
    /// The lease was lost before the result could be recorded; the job's new holder decides.
    LostLease,
}

impl Worker {
    pub fn new(queue: Queue, registry: Registry, config: WorkerConfig) -> Worker {
        Worker {
            queue,
            registry: Arc::new(registry),
            config,
        }
    }

    /// Claims and runs one due job, if any. Returns its outcome.
    pub async fn run_once(&self) -> Result<Option<(Job, Outcome)>> {
        let kinds = self.registry.kinds();
        let Some(job) = self
            .queue
            .claim(&self.config.id, &kinds, self.config.lease)
            .await?
        else {
            return Ok(None);
        };
        let outcome = run_job(&self.queue, &self.registry, &self.config, job.clone()).await;
        Ok(Some((job, outcome)))
    }

    /// Runs every due job with `parallel` concurrent claimers until none is left; returns how
    /// many ran. For CLI tasks, demo seeding and tests that want the queue's work done now.
    pub async fn drain(self: std::sync::Arc<Self>, parallel: usize) -> Result<usize> {
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..parallel.max(1) {
            let w = self.clone();
            set.spawn(async move {
                let mut n = 0usize;
                while w.run_once().await?.is_some() {
                    n += 1;
                }
                Ok::<_, cscx_store::Error>(n)
            });
        }
        let mut total = 0;
        while let Some(r) = set.join_next().await {
            total +=
                r.map_err(|e| cscx_store::Error::Config(format!("job drainer failed: {e}")))??;
        }
        Ok(total)
    }

    /// Runs until `shutdown` turns true, then finishes the jobs in hand and returns.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let permits = Arc::new(Semaphore::new(self.config.concurrency.max(1)));
        let kinds = self.registry.kinds();
        let mut last_housekeeping = std::time::Instant::now() - StdDuration::from_secs(3600);
        tracing::info!(worker = %self.config.id, kinds = ?kinds, "worker started");
        loop {
            if *shutdown.borrow() {
                break;
            }
            if last_housekeeping.elapsed() >= StdDuration::from_secs(1) {
                last_housekeeping = std::time::Instant::now();
                if self.config.run_scheduler {
                    match schedule::tick(&self.queue.db, self.queue.now()).await {
                        Ok(fired) if !fired.is_empty() => tracing::info!(?fired, "schedules fired"),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "schedule tick failed"),
                    }
                }
                if let Err(e) = self.queue.bury_expired().await {
                    tracing::warn!(error = %e, "burying expired jobs failed");
                }
            }
            let permit = tokio::select! {
                p = permits.clone().acquire_owned() => p.expect("semaphore open"),
                _ = shutdown.changed() => continue,
            };
            match self
                .queue
                .claim(&self.config.id, &kinds, self.config.lease)
                .await
            {
                Ok(Some(job)) => {
                    let (queue, registry, config) = (
                        self.queue.clone(),
                        self.registry.clone(),
                        self.config.clone(),
                    );
                    tokio::spawn(async move {
                        run_job(&queue, &registry, &config, job).await;
                        drop(permit);
                    });
                }
                Ok(None) => {
                    drop(permit);
                    tokio::select! {
                        _ = tokio::time::sleep(self.config.poll_interval) => {}
                        _ = self.queue.notify.notified() => {}
                        _ = shutdown.changed() => {}
                    }
                }
                Err(e) => {
                    drop(permit);
                    tracing::warn!(error = %e, "claiming a job failed");
                    tokio::time::sleep(self.config.poll_interval).await;
                }
            }
        }
        // Wait for the jobs in hand (every permit back means every job finished), for a while.
        let all = permits.acquire_many(self.config.concurrency.max(1) as u32);
        if tokio::time::timeout(self.config.shutdown_grace, all)
            .await
            .is_err()
        {
            match self.queue.release_held(&self.config.id).await {
                Ok(n) => {
                    tracing::warn!(worker = %self.config.id, jobs = n, "jobs still running at shutdown were handed back to the queue")
                }
                Err(e) => {
                    tracing::warn!(worker = %self.config.id, error = %e, "handing back running jobs failed; their leases will expire")
                }
            }
        }
        tracing::info!(worker = %self.config.id, "worker stopped");
    }
}

async fn run_job(queue: &Queue, registry: &Registry, config: &WorkerConfig, job: Job) -> Outcome {
    let started = std::time::Instant::now();
    let result = match registry.handlers.get(&job.kind) {
        None => Err(JobError::permanent(format!(
            "no handler for job kind {:?}",
            job.kind
        ))),
        Some(handler) => {
            let ctx = JobContext {
                job: job.clone(),
                db: queue.db.clone(),
                queue: queue.clone(),
            };
            let work = handler(ctx);
            let heartbeat = async {
                let every = (config.lease / 3)
                    .to_std()
                    .unwrap_or(StdDuration::from_secs(10));
                loop {
                    tokio::time::sleep(every).await;
                    match queue.heartbeat(&job, &config.id, config.lease).await {
                        Ok(true) => {}
                        Ok(false) => tracing::warn!(job = %job.id, "lease lost while running"),
                        Err(e) => tracing::warn!(job = %job.id, error = %e, "heartbeat failed"),
                    }
                }
            };
            // A panicking handler must not take the worker with it.
            let work = tokio::spawn(work);
            tokio::select! {
                r = work => r.unwrap_or_else(|e| Err(JobError::retry(format!("handler panicked: {e}")))),
                _ = heartbeat => unreachable!("heartbeat loop never ends"),
            }
        }
    };
    let ms = started.elapsed().as_millis() as u64;
    let recorded = match &result {
        Ok(()) => queue.complete(&job, &config.id).await.map(|ok| {
            if ok {
                Outcome::Done
            } else {
                Outcome::LostLease
            }
        }),
        Err(e) => {
            let dead = e.permanent || job.attempts >= job.max_attempts;
            queue
                .fail(&job, &config.id, &e.message, e.permanent)
                .await
                .map(|ok| match (ok, dead) {
                    (false, _) => Outcome::LostLease,
                    (true, true) => Outcome::Dead(e.message.clone()),
                    (true, false) => Outcome::Retrying(e.message.clone()),
                })
        }
    };
    let outcome = recorded.unwrap_or_else(|e| {
        tracing::error!(job = %job.id, error = %e, "could not record the job's outcome; its lease will expire and it will run again");
        Outcome::LostLease
    });
    match &outcome {
        Outcome::Done => tracing::debug!(job = %job.id, kind = %job.kind, ms, "job done"),
        Outcome::Retrying(e) => {
            tracing::warn!(job = %job.id, kind = %job.kind, attempt = job.attempts, error = %e, "job failed; will retry")
        }
        Outcome::Dead(e) => {
            tracing::error!(job = %job.id, kind = %job.kind, attempt = job.attempts, error = %e, "job dead")
        }
        Outcome::LostLease => {
            tracing::warn!(job = %job.id, kind = %job.kind, "job outcome not recorded: lease lost")
        }
    }
    outcome
}
