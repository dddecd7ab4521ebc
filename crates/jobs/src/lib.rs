//! Background work over the database: a lease-based job queue with keys, retries and dead
//! jobs, cron schedules that fire once per tick across nodes, and the worker loop.

pub mod queue;
pub mod schedule;
pub mod worker;

pub use queue::{Job, NewJob, Queue, QueueStats};
pub use worker::{JobContext, JobError, Outcome, Registry, Worker, WorkerConfig};
