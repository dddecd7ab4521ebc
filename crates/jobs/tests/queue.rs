//! The job queue and scheduler under concurrency, on SQLite and (when configured) PostgreSQL.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use chrono::{Duration, TimeZone, Utc};
use serde_json::json;

use cscx_domain::FakeClock;
use cscx_jobs::queue::backoff;
use cscx_jobs::{schedule, JobError, NewJob, Outcome, Queue, Registry, Worker, WorkerConfig};
use cscx_store::{run, Id};
use cscx_testkit::TestDb;

fn clock() -> FakeClock {
    FakeClock::at(Utc.with_ymd_and_hms(2026, 6, 1, 8, 0, 0).unwrap())
}

fn config(id: &str) -> WorkerConfig {
    WorkerConfig {
        id: id.into(),
        concurrency: 3,
        poll_interval: StdDuration::from_millis(20),
        lease: Duration::seconds(30),
        run_scheduler: false,
        shutdown_grace: StdDuration::from_secs(30),
    }
}

type Runs = Arc<Mutex<HashMap<Id, u32>>>;

/// A `count` handler that says it started, then never finishes.
fn hanging_registry(started: Arc<tokio::sync::Notify>) -> Registry {
    let mut r = Registry::new();
    r.register("count", move |_| {
        let s = started.clone();
        async move {
            s.notify_one();
            std::future::pending::<()>().await;
            Ok(())
        }
    });
    r
}

fn counting_registry(runs: Runs) -> Registry {
    let mut r = Registry::new();
    r.register("count", move |ctx| {
        let runs = runs.clone();
        async move {
            tokio::time::sleep(StdDuration::from_millis(2)).await;
            *runs.lock().unwrap().entry(ctx.job.id).or_default() += 1;
            Ok(())
        }
    });
    r
}

#[tokio::test]
async fn a_job_key_keeps_one_waiting_job() {
    for t in TestDb::all().await {
        let q = Queue::new(t.db.clone(), Arc::new(clock()));
        let a = q
            .enqueue(NewJob::new("count", json!({"v": 1})).key("recompute:42"))
            .await
            .unwrap();
        let b = q
            .enqueue(NewJob::new("count", json!({"v": 2})).key("recompute:42"))
            .await
            .unwrap();
        assert_eq!(a, b);
        let job = q.get(a).await.unwrap().unwrap();
        assert_eq!(
            job.payload,
            json!({"v": 2}),
            "the newer payload replaces the waiting one"
        );
        assert_eq!(q.stats().await.unwrap().queued, 1);
        // Once it runs, the key is free again: a change during the run gets its own job.
        let claimed = q
            .claim("w", &["count".into()], Duration::seconds(30))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(claimed.id, a);
        let c = q
            .enqueue(NewJob::new("count", json!({})).key("recompute:42"))
            .await
            .unwrap();
        assert_ne!(c, a);
        t.finish().await;
    }
}

#[tokio::test]
async fn failures_retry_with_backoff_then_die_keeping_the_error() {
    for t in TestDb::all().await {
        let clk = clock();
        let q = Queue::new(t.db.clone(), Arc::new(clk.clone()));
        let mut reg = Registry::new();
        reg.register("flaky", |_| async {
            Err::<(), _>(JobError::retry("upstream said 503"))
        });
        reg.register("bad", |_| async {
            Err::<(), _>(JobError::permanent("payload has no customer_id"))
        });
        let w = Worker::new(q.clone(), reg, config("w1"));
        let id = q
            .enqueue(NewJob::new("flaky", json!({})).max_attempts(3))
            .await
            .unwrap();

        let (_, out) = w.run_once().await.unwrap().unwrap();
        assert_eq!(out, Outcome::Retrying("upstream said 503".into()));
        assert!(
            w.run_once().await.unwrap().is_none(),
            "not due before the backoff"
        );
        clk.advance(backoff(1));
        assert!(matches!(
            w.run_once().await.unwrap().unwrap().1,
            Outcome::Retrying(_)
        ));
        clk.advance(backoff(2));
        assert!(matches!(
            w.run_once().await.unwrap().unwrap().1,
            Outcome::Dead(_)
        ));
        let job = q.get(id).await.unwrap().unwrap();
        assert_eq!((job.status.as_str(), job.attempts), ("dead", 3));
        assert_eq!(job.last_error.as_deref(), Some("upstream said 503"));

        let bad = q.enqueue(NewJob::new("bad", json!({}))).await.unwrap();
        assert!(matches!(
            w.run_once().await.unwrap().unwrap().1,
            Outcome::Dead(_)
        ));
        assert_eq!(
            q.get(bad).await.unwrap().unwrap().attempts,
            1,
            "permanent errors are not retried"
        );
        t.finish().await;
    }
}

#[tokio::test]
async fn concurrent_workers_run_each_job_exactly_once() {
    for t in TestDb::all().await {
        let q = Queue::new(t.db.clone(), Arc::new(clock()));
        let mut ids = Vec::new();
        for i in 0..120 {
            ids.push(
                q.enqueue(NewJob::new("count", json!({ "i": i })))
                    .await
                    .unwrap(),
            );
        }
        let runs: Runs = Default::default();
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut handles = Vec::new();
        for n in 0..4 {
            let w = Worker::new(
                q.clone(),
                counting_registry(runs.clone()),
                config(&format!("w{n}")),
            );
            handles.push(tokio::spawn(w.run(stop_rx.clone())));
        }
        for _ in 0..500 {
            if q.stats().await.unwrap().done == 120 {
                break;
            }
            tokio::time::sleep(StdDuration::from_millis(20)).await;
        }
        stop_tx.send(true).unwrap();
        for h in handles {
            h.await.unwrap();
        }
        let runs = runs.lock().unwrap().clone();
        for id in &ids {
            assert_eq!(
                runs.get(id),
                Some(&1),
                "job {id} ran {:?} times",
                runs.get(id)
            );
        }
        assert_eq!(q.stats().await.unwrap().done, 120);
        t.finish().await;
    }
}

#[tokio::test]
async fn a_killed_worker_job_is_retried_not_lost_and_completes_once() {
    for t in TestDb::all().await {
        let clk = clock();
        let q = Queue::new(t.db.clone(), Arc::new(clk.clone()));
        let runs: Runs = Default::default();
        let started = Arc::new(tokio::sync::Notify::new());

        // Worker A's handler hangs, then A is killed: its task is aborted mid-job, with no chance
        // to clean up, as with kill -9.
        let hanging = hanging_registry(started.clone());
        let id = q.enqueue(NewJob::new("count", json!({}))).await.unwrap();
        let (_stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let a = tokio::spawn(Worker::new(q.clone(), hanging, config("worker-a")).run(stop_rx));
        started.notified().await;
        a.abort();
        let _ = a.await;
        let job = q.get(id).await.unwrap().unwrap();
        assert_eq!(
            (job.status.as_str(), job.locked_by.as_deref()),
            ("running", Some("worker-a"))
        );

        // B cannot take it while A's lease holds; after it runs out, B runs it to completion.
        let b = Worker::new(
            q.clone(),
            counting_registry(runs.clone()),
            config("worker-b"),
        );
        assert!(b.run_once().await.unwrap().is_none());
        clk.advance(Duration::seconds(31));
        let (claimed, outcome) = b.run_once().await.unwrap().unwrap();
        assert_eq!((claimed.id, outcome), (id, Outcome::Done));
        let job = q.get(id).await.unwrap().unwrap();
        assert_eq!((job.status.as_str(), job.attempts), ("done", 2));
        assert_eq!(runs.lock().unwrap().get(&id), Some(&1));

        // Had A come back to life, it could not record a second completion.
        let mut stale = job.clone();
        stale.attempts = 1;
        assert!(!q.complete(&stale, "worker-a").await.unwrap());
        assert!(!q.fail(&stale, "worker-a", "late", false).await.unwrap());
        assert_eq!(q.get(id).await.unwrap().unwrap().status, "done");
        t.finish().await;
    }
}

#[tokio::test]
async fn a_job_whose_workers_keep_dying_is_buried_with_a_reason() {
    for t in TestDb::all().await {
        let clk = clock();
        let q = Queue::new(t.db.clone(), Arc::new(clk.clone()));
        let id = q
            .enqueue(NewJob::new("count", json!({})).max_attempts(1))
            .await
            .unwrap();
        q.claim("gone", &["count".into()], Duration::seconds(30))
            .await
            .unwrap()
            .unwrap();
        clk.advance(Duration::seconds(31));
        assert!(q
            .claim("next", &["count".into()], Duration::seconds(30))
            .await
            .unwrap()
            .is_none());
        assert_eq!(q.bury_expired().await.unwrap(), 1);
        let job = q.get(id).await.unwrap().unwrap();
        assert_eq!(job.status, "dead");
        assert!(job.last_error.unwrap().contains("lease expired"));
        t.finish().await;
    }
}

#[tokio::test]
async fn a_cron_tick_fires_exactly_once_across_nodes() {
    for t in TestDb::all().await {
        let clk = clock(); // 08:00
        let now = || cscx_store::Timestamp::from_datetime(cscx_domain::Clock::now(&clk));
        // Several nodes start and register the same schedule.
        for _ in 0..3 {
            schedule::upsert(&t.db, "nightly", "*/5 * * * *", "count", json!({}), now())
                .await
                .unwrap();
        }
        assert!(
            schedule::tick(&t.db, now()).await.unwrap().is_empty(),
            "08:00 itself is not after 08:00"
        );

        for round in 1..=2 {
            clk.advance(Duration::minutes(5));
            let mut tasks = Vec::new();
            for _ in 0..6 {
                let db = t.db.clone();
                let at = now();
                tasks.push(tokio::spawn(async move {
                    schedule::tick(&db, at).await.unwrap().len()
                }));
            }
            let mut fired = 0;
            for task in tasks {
                fired += task.await.unwrap();
            }
            assert_eq!(fired, 1, "round {round}: one node wins the tick");
            let mut c = t.db.conn().await.unwrap();
            let jobs: i64 = run!(c.c(), |conn| sqlx::query_scalar(
                "SELECT COUNT(*) FROM jobs WHERE kind = 'count'"
            )
            .fetch_one(&mut *conn)
            .await
            .unwrap());
            assert_eq!(jobs, round);
        }

        // Hours of downtime fire the missed schedule once, not once per missed tick.
        clk.advance(Duration::hours(3));
        assert_eq!(schedule::tick(&t.db, now()).await.unwrap().len(), 1);
        assert!(schedule::tick(&t.db, now()).await.unwrap().is_empty());
        t.finish().await;
    }
}

/// Shutdown drains: jobs in hand may finish within the grace period; one still running after it
/// is handed back to the queue (runnable at once, the interrupted attempt not counted) instead
/// of waiting out its lease.
#[tokio::test]
async fn shutdown_finishes_or_hands_back_the_jobs_in_hand() {
    for t in TestDb::all().await {
        let clk = clock();
        let q = Queue::new(t.db.clone(), Arc::new(clk.clone()));
        let started = Arc::new(tokio::sync::Notify::new());
        let hanging = hanging_registry(started.clone());
        let id = q.enqueue(NewJob::new("count", json!({}))).await.unwrap();
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let cfg = WorkerConfig {
            shutdown_grace: StdDuration::from_millis(300),
            ..config("worker-a")
        };
        let a = tokio::spawn(Worker::new(q.clone(), hanging, cfg).run(stop_rx));
        started.notified().await;
        stop_tx.send(true).unwrap();
        tokio::time::timeout(StdDuration::from_secs(10), a)
            .await
            .expect("the worker stops after its grace period")
            .unwrap();
        let job = q.get(id).await.unwrap().unwrap();
        assert_eq!(
            (job.status.as_str(), job.locked_by.as_deref(), job.attempts),
            ("queued", None, 0)
        );
        // Another worker takes it at once, without waiting for the lease to run out.
        let runs: Runs = Default::default();
        let b = Worker::new(
            q.clone(),
            counting_registry(runs.clone()),
            config("worker-b"),
        );
        let (claimed, outcome) = b.run_once().await.unwrap().unwrap();
        assert_eq!((claimed.id, outcome), (id, Outcome::Done));
        t.finish().await;
    }
}
