//! Load benchmark for the customer API: open-loop requests at a fixed rate (so a slow server
//! cannot slow the load down and hide its latency), latency percentiles per request kind,
//! and the database's query plans for the list queries.

use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, Subcommand};
use serde_json::Value;

use cscx_store::customers::{CustomerFilter, Sort};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Send requests at `rate` per second for `seconds` and report latency.
    Load {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        base: String,
        #[arg(long, env = "CSCX_BENCH_TOKEN")]
        token: String,
        #[arg(long, default_value_t = 1000)]
        rate: u32,
        #[arg(long, default_value_t = 20)]
        seconds: u64,
    },
    /// Print the query plans of the benchmarked list queries.
    Plans {
        #[arg(long)]
        database_url: String,
    },
    /// Builtin contract extraction over a folder of contract texts (CUAD): time per contract
    /// (text in memory, no IO) and the process's peak memory.
    Extract {
        #[arg(long, default_value = "../shared/data/cuad-dev/contracts")]
        dir: std::path::PathBuf,
        /// Passes over the folder; the first warms caches and is not timed.
        #[arg(long, default_value_t = 3)]
        passes: usize,
    },
    /// Upload a document through the API `count` times and time each until it is `parsed`.
    Upload {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        base: String,
        #[arg(long, env = "CSCX_BENCH_TOKEN")]
        token: String,
        #[arg(long, default_value = "crates/ai/tests/fixtures/msa-ten-pages.pdf")]
        file: std::path::PathBuf,
        #[arg(long, default_value_t = 20)]
        count: usize,
    },
    /// The agent evaluation requests through the SSE API (names mapped onto the portfolio's
    /// customers): time to the first event and to `done`; then concurrent approval decisions.
    Agents {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        base: String,
        #[arg(long, env = "CSCX_BENCH_TOKEN")]
        token: String,
        #[arg(long, default_value = "crates/ai/eval")]
        eval_dir: std::path::PathBuf,
        /// Approvals to create and decide concurrently.
        #[arg(long, default_value_t = 200)]
        approvals: usize,
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
    },
    /// Send usage events through the HTTP API in batches and report events per second.
    Ingest {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        base: String,
        #[arg(long, env = "CSCX_BENCH_TOKEN")]
        token: String,
        /// Token the events are sent with (e.g. an ingest-scoped one); default: --token.
        #[arg(long)]
        ingest_token: Option<String>,
        #[arg(long, default_value_t = 200_000)]
        events: usize,
        #[arg(long, default_value_t = 1000)]
        batch: usize,
        /// Batches in flight at once.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// Event ids in no order (like UUIDv4) instead of numbered in sending order.
        #[arg(long)]
        random_event_ids: bool,
        /// Send Segment `track` calls to `/v1/batch` instead (each user put in their customer
        /// by `group` calls first, untimed; the tracks name no groupId, as SDKs send them).
        #[arg(long)]
        segment: bool,
    },
    /// Insert the same kind of rows straight into the database (no HTTP, no validation):
    /// the ceiling the API is compared with.
    Raw {
        #[arg(long)]
        database_url: String,
        #[arg(long, default_value_t = 200_000)]
        events: usize,
        #[arg(long, default_value_t = 1000)]
        batch: usize,
        /// Spread the events over this many days before today.
        #[arg(long, default_value_t = 30)]
        days: i64,
        /// Event ids in no order (like UUIDv4) instead of numbered in insertion order.
        #[arg(long)]
        random_event_ids: bool,
    },
    /// After one batch of 1,000 events for one customer, time until its usage metrics and its
    /// health score reflect it (a worker must be running).
    Freshness {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        base: String,
        #[arg(long, env = "CSCX_BENCH_TOKEN")]
        token: String,
    },
}

/// The list queries the benchmark sends: a filter and a sort each, 50 rows.
const LISTS: &[(&str, &str)] = &[
    ("stage=active", "-arr"),
    ("segment=enterprise", "renewal_date"),
    ("health_max=60", "name"),
    ("renewal_before=2027-03-01", "-health_score"),
];

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

async fn load(base: String, token: String, rate: u32, seconds: u64) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    // Ids to fetch: the first pages of the unfiltered list.
    let ids = customer_ids(&client, &base, &token, 2000).await?;
    println!(
        "{} customer ids loaded; {rate} req/s for {seconds} s (half lists, half gets)",
        ids.len()
    );

    let total = rate as u64 * seconds;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(&'static str, Duration, bool)>();
    let start = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    for i in 0..total {
        // Open loop: request i is sent at its scheduled time whatever happened before.
        let due = start + interval * i as u32;
        tokio::time::sleep_until(due.into()).await;
        let (kind, url) = if i % 2 == 0 {
            let (filter, sort) = LISTS[(i / 2) as usize % LISTS.len()];
            (
                "list",
                format!("{base}/api/v1/customers?limit=50&{filter}&sort={sort}"),
            )
        } else {
            (
                "get",
                format!(
                    "{base}/api/v1/customers/{}",
                    ids[(i as usize * 7919) % ids.len()]
                ),
            )
        };
        let (client, token, tx) = (client.clone(), token.clone(), tx.clone());
        tokio::spawn(async move {
            let t = Instant::now();
            let ok = match client.get(&url).bearer_auth(&token).send().await {
                Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                Err(_) => false,
            };
            let _ = tx.send((kind, t.elapsed(), ok));
        });
    }
    drop(tx);
    let mut by_kind: std::collections::BTreeMap<&str, Vec<Duration>> = Default::default();
    let mut errors = 0u64;
    while let Some((kind, d, ok)) = rx.recv().await {
        if !ok {
            errors += 1;
        }
        by_kind.entry(kind).or_default().push(d);
        by_kind.entry("all").or_default().push(d);
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "sent {total} requests in {elapsed:.1} s: {:.0} req/s achieved, {errors} errors",
        total as f64 / elapsed
    );
    println!(
        "{:<6} {:>8} {:>9} {:>9} {:>9} {:>9}",
        "kind", "count", "p50 ms", "p90 ms", "p99 ms", "max ms"
    );
    for (kind, mut v) in by_kind {
        v.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{kind:<6} {:>8} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
            v.len(),
            ms(percentile(&v, 0.5)),
            ms(percentile(&v, 0.9)),
            ms(percentile(&v, 0.99)),
            ms(*v.last().unwrap())
        );
    }
    Ok(())
}

async fn plans(url: String) -> anyhow::Result<()> {
    let db = cscx_store::Db::connect(&url, &Default::default()).await?;
    let mut conn = db.conn().await?;
    for (filter, sort) in LISTS {
        let (k, v) = filter.split_once('=').unwrap();
        let mut f = CustomerFilter::default();
        match k {
            "stage" => f.stage = Some(v.into()),
            "segment" => f.segment = Some(v.into()),
            "health_max" => f.health_max = v.parse().ok(),
            "renewal_before" => f.renewal_before = v.parse().ok(),
            _ => unreachable!(),
        }
        let plan =
            cscx_store::customers::explain(conn.c(), &f, Sort::parse(sort).unwrap(), 50).await?;
        println!("-- ?{filter}&sort={sort}");
        for line in plan {
            println!("   {line}");
        }
    }
    drop(conn);
    db.close().await;
    Ok(())
}

/// Customer ids through the API (the first `max`).
async fn customer_ids(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    max: usize,
) -> anyhow::Result<Vec<String>> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    while ids.len() < max {
        let mut url = format!("{base}/api/v1/customers?limit=500");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page: Value = client
            .get(&url)
            .bearer_auth(token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        for c in page["data"].as_array().context("data")? {
            ids.push(c["id"].as_str().context("id")?.to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    ids.truncate(max);
    anyhow::ensure!(!ids.is_empty(), "no customers: seed first");
    Ok(ids)
}

/// The event id of synthetic event `i`: numbered, or scattered like random UUIDs (a
/// deterministic mix of `i`, so reruns send the same ids).
fn event_id(i: usize, random: bool) -> String {
    if !random {
        return format!("bench-{i}");
    }
    let mut x = (i as u64).wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    format!("{:016x}-{i}", x ^ (x >> 31))
}

/// A deterministic synthetic event: logins and feature use by ~40 users per customer.
fn synthetic(i: usize, customer: &str, now_ms: i64, days: i64, random_ids: bool) -> Value {
    let ts = now_ms - ((i as i64 * 7_919) % (days * 86_400_000)) - 60_000;
    let user = format!("user-{}", (i * 31) % 40);
    let id = event_id(i, random_ids);
    if i.is_multiple_of(3) {
        serde_json::json!({"event_id": id, "customer_id": customer, "event_type": "feature_used", "user_id": user, "timestamp": ts, "metadata": {"feature": format!("f{}", i % 9)}})
    } else {
        serde_json::json!({"event_id": id, "customer_id": customer, "event_type": "login", "user_id": user, "timestamp": ts})
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Synthetic event `v` (native shape) as a Segment `track` message. Segment user ids are
/// global, so the customer's id prefixes the synthetic user's.
fn as_track(v: &Value) -> Value {
    let at = chrono::DateTime::from_timestamp_millis(v["timestamp"].as_i64().unwrap_or(0))
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    serde_json::json!({
        "type": "track",
        "userId": format!("{}-{}", v["customer_id"].as_str().unwrap_or(""), v["user_id"].as_str().unwrap_or("")),
        "event": v["event_type"],
        "properties": v.get("metadata").cloned().unwrap_or(serde_json::json!({})),
        "messageId": v["event_id"],
        "timestamp": at,
    })
}

/// Puts every synthetic user of `ids` in their customer with Segment `group` calls.
async fn group_users(
    client: &reqwest::Client,
    base: &str,
    (read_token, write_token): (&str, &str),
    ids: &[String],
) -> anyhow::Result<()> {
    let mut calls = Vec::new();
    for id in ids {
        let customer: Value = client
            .get(format!("{base}/api/v1/customers/{id}"))
            .bearer_auth(read_token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let key = customer["salesforce_id"]
            .as_str()
            .context("a customer key")?
            .to_owned();
        for u in 0..40 {
            calls.push(serde_json::json!({"type": "group", "userId": format!("{id}-user-{u}"), "groupId": key}));
        }
    }
    for chunk in calls.chunks(500) {
        let r: Value = client
            .post(format!("{base}/v1/batch"))
            .bearer_auth(write_token)
            .json(&serde_json::json!({"batch": chunk}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        anyhow::ensure!(
            r["rejected"].as_array().is_some_and(|v| v.is_empty()),
            "group calls refused: {r}"
        );
    }
    Ok(())
}

/// `shape` is (events, batch size, batches in flight).
async fn ingest(
    base: String,
    token: String,
    ingest_token: Option<String>,
    shape: (usize, usize, usize),
    random_ids: bool,
    segment: bool,
) -> anyhow::Result<()> {
    let (events, batch, concurrency) = shape;
    let client = reqwest::Client::new();
    let ids = customer_ids(&client, &base, &token, 2000).await?;
    let read_token = token.clone();
    let token = ingest_token.unwrap_or(token);
    if segment {
        group_users(&client, &base, (&read_token, &token), &ids).await?;
    }
    let now = now_ms();
    let batches = events.div_ceil(batch);
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(concurrency));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for b in 0..batches {
        let permit = sem.clone().acquire_owned().await?;
        let body: Vec<Value> = (b * batch..((b + 1) * batch).min(events))
            .map(|i| synthetic(i, &ids[i % ids.len()], now, 30, random_ids))
            .collect();
        let (url, body) = if segment {
            let tracks: Vec<Value> = body.iter().map(as_track).collect();
            (
                format!("{base}/v1/batch"),
                serde_json::json!({"batch": tracks}),
            )
        } else {
            (format!("{base}/api/v1/usage/events"), Value::Array(body))
        };
        let (client, token) = (client.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let r = client
                .post(url)
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await;
            let report: Value = r?.error_for_status()?.json().await?;
            drop(permit);
            anyhow::Ok((t.elapsed(), report["accepted"].as_u64().unwrap_or(0)))
        }));
    }
    let mut accepted = 0;
    let mut latencies = Vec::new();
    for t in tasks {
        let (d, n) = t.await??;
        accepted += n;
        latencies.push(d);
    }
    let secs = start.elapsed().as_secs_f64();
    latencies.sort();
    println!(
        "HTTP ingestion{}: {accepted} events accepted in {secs:.1} s = {:.0} events/s (batches of {batch}, {concurrency} in flight, {} event ids; batch p50 {:.1} ms, p99 {:.1} ms)",
        if segment { " (Segment /v1/batch)" } else { "" },
        accepted as f64 / secs,
        if random_ids { "random" } else { "numbered" },
        percentile(&latencies, 0.5).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0
    );
    Ok(())
}

/// `shape` is (events, rows per transaction, days to spread them over).
async fn raw(url: String, shape: (usize, usize, i64), random_ids: bool) -> anyhow::Result<()> {
    let (events, batch, days) = shape;
    use cscx_store::model::UsageEvent;
    let db = cscx_store::Db::connect(&url, &Default::default()).await?;
    let ids: Vec<cscx_store::Id> = {
        let mut c = db.conn().await?;
        let rows: Vec<cscx_store::model::Customer> =
            cscx_store::entity::list(c.c(), None, 20_000).await?;
        rows.into_iter().map(|c| c.id).collect()
    };
    anyhow::ensure!(!ids.is_empty(), "no customers: seed first");
    let now = now_ms();
    let start = Instant::now();
    let mut inserted = 0;
    let mut last_report = Instant::now();
    for b in 0..events.div_ceil(batch) {
        let rows: Vec<UsageEvent> = (b * batch..((b + 1) * batch).min(events))
            .map(|i| {
                let customer = ids[i % ids.len()];
                let v = synthetic(i, &customer.to_string(), now, days, false);
                UsageEvent {
                    id: cscx_store::Id::new(),
                    customer_id: customer,
                    event_type: v["event_type"].as_str().unwrap_or("login").to_owned(),
                    user_id: v["user_id"].as_str().map(str::to_owned),
                    timestamp: cscx_store::Timestamp::from_millis(
                        v["timestamp"].as_i64().unwrap_or(now),
                    ),
                    metadata: v.get("metadata").cloned().unwrap_or(serde_json::json!({})),
                    created_at: cscx_store::Timestamp::from_millis(now),
                    event_id: Some(format!("raw-{}", event_id(i, random_ids))),
                }
            })
            .collect();
        let mut tx = db.begin().await?;
        inserted += cscx_store::usage::insert_events(tx.c(), &rows)
            .await?
            .iter()
            .filter(|x| **x)
            .count();
        tx.commit().await?;
        if last_report.elapsed() > Duration::from_secs(10) {
            last_report = Instant::now();
            eprintln!("  {inserted} rows…");
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "raw inserts: {inserted} events in {secs:.1} s = {:.0} events/s (transactions of {batch}, {} event ids)",
        inserted as f64 / secs,
        if random_ids { "random" } else { "numbered" }
    );
    db.close().await;
    Ok(())
}

/// Today's UTC date as YYYY-MM-DD, from the system clock (days-from-civil, inverted).
fn today_utc() -> String {
    let z = now_ms() / 86_400_000 + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

async fn freshness(base: String, token: String) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let id = customer_ids(&client, &base, &token, 1).await?.remove(0);
    let recorded_at = || {
        let (client, base, token, id) = (client.clone(), base.clone(), token.clone(), id.clone());
        async move {
            let h: Value = client
                .get(format!("{base}/api/v1/customers/{id}/health"))
                .bearer_auth(&token)
                .send()
                .await?
                .json()
                .await?;
            anyhow::Ok(h["recorded_at"].clone())
        }
    };
    // Let the worker finish any backlog first, so this measures one batch, not a queue.
    let waited = Instant::now();
    loop {
        let metrics = client
            .get(format!("{base}/metrics"))
            .send()
            .await?
            .text()
            .await?;
        if metrics.contains("cscx_jobs{status=\"queued\"} 0")
            && metrics.contains("cscx_jobs{status=\"running\"} 0")
        {
            break;
        }
        anyhow::ensure!(
            waited.elapsed() < Duration::from_secs(600),
            "the job queue did not drain within 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    if waited.elapsed() > Duration::from_secs(1) {
        println!(
            "(waited {:.1} s for the job backlog to drain first)",
            waited.elapsed().as_secs_f64()
        );
    }
    let before = recorded_at().await?;
    let now = now_ms();
    let body: Vec<Value> = (0..1000)
        .map(|i| serde_json::json!({"event_id": format!("fresh-{now}-{i}"), "customer_id": id, "event_type": "login", "user_id": format!("fresh-{now}-{}", i % 250), "timestamp": now - 1000}))
        .collect();
    let start = Instant::now();
    client
        .post(format!("{base}/api/v1/usage/events"))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await?
        .error_for_status()?;
    let acked = start.elapsed();
    let today = today_utc();
    let (mut metrics_at, mut health_at) = (None, None);
    while start.elapsed() < Duration::from_secs(30) && (metrics_at.is_none() || health_at.is_none())
    {
        if metrics_at.is_none() {
            let rows: Value = client
                .get(format!(
                    "{base}/api/v1/customers/{id}/usage?from={today}&to={today}"
                ))
                .bearer_auth(&token)
                .send()
                .await?
                .json()
                .await?;
            if rows[0]["dau"].as_i64().unwrap_or(0) >= 250 {
                metrics_at = Some(start.elapsed());
            }
        }
        if health_at.is_none() && recorded_at().await? != before {
            health_at = Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ms = |d: Option<Duration>| {
        d.map(|d| format!("{:.0} ms", d.as_secs_f64() * 1000.0))
            .unwrap_or_else(|| "not within 30 s".into())
    };
    println!(
        "1,000-event batch acknowledged in {:.0} ms; visible in the daily metrics after {}, in the health score after {}",
        acked.as_secs_f64() * 1000.0,
        ms(metrics_at),
        ms(health_at)
    );
    Ok(())
}

/// Peak resident memory of this process (Linux `VmHWM`), in MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn pct_ms(sorted: &[Duration], q: f64) -> f64 {
    sorted
        .get(((sorted.len() as f64 - 1.0) * q).round() as usize)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

fn extract_bench(dir: std::path::PathBuf, passes: usize) -> anyhow::Result<()> {
    let mut texts = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("{}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "txt") {
            texts.push((path.clone(), std::fs::read_to_string(&path)?));
        }
    }
    anyhow::ensure!(!texts.is_empty(), "no .txt contracts in {}", dir.display());
    let loaded_mib = peak_rss_mib().unwrap_or(0.0);
    let options = cscx_ai::contract::ExtractOptions::default();
    let mut times = Vec::new();
    for pass in 0..passes.max(2) {
        for (_, text) in &texts {
            let start = Instant::now();
            let result = cscx_ai::contract::extract(text, &options);
            let took = start.elapsed();
            std::hint::black_box(result);
            if pass > 0 {
                times.push(took);
            }
        }
    }
    times.sort();
    let over_1s = times.iter().filter(|d| d.as_secs_f64() > 1.0).count();
    println!(
        "{} contracts x {} timed passes: median {:.2} ms, p99 {:.2} ms, max {:.2} ms, {} over 1 s; peak RSS {:.1} MiB ({:.1} MiB with the texts loaded, before extracting)",
        texts.len(),
        passes.max(2) - 1,
        pct_ms(&times, 0.5),
        pct_ms(&times, 0.99),
        pct_ms(&times, 1.0),
        over_1s,
        peak_rss_mib().unwrap_or(0.0),
        loaded_mib
    );
    Ok(())
}

async fn upload_bench(
    base: String,
    token: String,
    file: std::path::PathBuf,
    count: usize,
) -> anyhow::Result<()> {
    let bytes = std::fs::read(&file).with_context(|| format!("{}", file.display()))?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "contract".into());
    let client = reqwest::Client::new();
    let boundary = "cscx-bench-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let (mut acked, mut parsed) = (Vec::new(), Vec::new());
    for _ in 0..count {
        let start = Instant::now();
        let created: Value = client
            .post(format!("{base}/api/v1/contracts"))
            .bearer_auth(&token)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body.clone())
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        acked.push(start.elapsed());
        let id = created["id"].as_str().context("no id")?.to_string();
        loop {
            let c: Value = client
                .get(format!("{base}/api/v1/contracts/{id}"))
                .bearer_auth(&token)
                .send()
                .await?
                .json()
                .await?;
            if c["status"] != "parsing" {
                anyhow::ensure!(c["status"] == "parsed", "extraction ended {}", c["status"]);
                break;
            }
            anyhow::ensure!(
                start.elapsed() < Duration::from_secs(60),
                "not parsed within 60 s"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        parsed.push(start.elapsed());
    }
    acked.sort();
    parsed.sort();
    println!(
        "{count} uploads of {} ({} bytes): upload acknowledged p50 {:.0} ms, p99 {:.0} ms; upload to parsed p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        file.display(),
        bytes.len(),
        pct_ms(&acked, 0.5),
        pct_ms(&acked, 0.99),
        pct_ms(&parsed, 0.5),
        pct_ms(&parsed, 0.99),
        pct_ms(&parsed, 1.0)
    );
    Ok(())
}

async fn agents_bench(
    base: String,
    token: String,
    eval_dir: std::path::PathBuf,
    approvals: usize,
    concurrency: usize,
) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let eval_names: Vec<String> =
        serde_json::from_str(&std::fs::read_to_string(eval_dir.join("customers.json"))?)?;
    let page: Value = client
        .get(format!("{base}/api/v1/customers?limit=50&sort=name"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    let names: Vec<String> = page["data"]
        .as_array()
        .context("customers")?
        .iter()
        .filter_map(|c| c["name"].as_str().map(str::to_string))
        .collect();
    anyhow::ensure!(
        names.len() >= eval_names.len(),
        "load the demo portfolio first"
    );
    let requests: Vec<String> = std::fs::read_to_string(eval_dir.join("agent-requests.jsonl"))?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("eval line");
            let mut r = v["request"].as_str().unwrap_or("").to_string();
            for (i, n) in eval_names.iter().enumerate() {
                r = r.replace(n.as_str(), &names[i]);
            }
            r
        })
        .collect();
    let session: Value = client
        .post(format!("{base}/api/v1/agents/sessions"))
        .bearer_auth(&token)
        .json(&serde_json::json!({}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let sid = session["id"].as_str().context("session id")?.to_string();
    let (mut first, mut done) = (Vec::new(), Vec::new());
    for r in &requests {
        let start = Instant::now();
        let mut resp = client
            .post(format!("{base}/api/v1/agents/sessions/{sid}/messages"))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "content": r }))
            .send()
            .await?
            .error_for_status()?;
        let mut got_first = false;
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await? {
            if !got_first {
                first.push(start.elapsed());
                got_first = true;
            }
            body.extend_from_slice(&chunk);
        }
        done.push(start.elapsed());
        let text = String::from_utf8_lossy(&body);
        anyhow::ensure!(
            text.contains("event: done"),
            "no done event for {r:?}: {text}"
        );
    }
    first.sort();
    done.sort();
    println!(
        "{} evaluation requests over SSE (builtin engine): first event p50 {:.1} ms, p99 {:.1} ms; done p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        requests.len(),
        pct_ms(&first, 0.5),
        pct_ms(&first, 0.99),
        pct_ms(&done, 0.5),
        pct_ms(&done, 0.99),
        pct_ms(&done, 1.0)
    );

    // Approvals: create tasks awaiting approval through the assistant, then decide each one
    // twice at once from `concurrency` clients.
    let mut ids = Vec::new();
    for i in 0..approvals {
        let v: Value = client
            .post(format!("{base}/api/v1/chat"))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "message": format!("Remind me to check on {} item {i}", names[i % names.len()]) }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        ids.push(
            v["approvals"][0]
                .as_str()
                .context("an approval")?
                .to_string(),
        );
    }
    let queue = std::sync::Arc::new(tokio::sync::Mutex::new(
        ids.iter()
            .flat_map(|id| [id.clone(), id.clone()])
            .collect::<Vec<_>>(),
    ));
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (client, base, token, queue) =
            (client.clone(), base.clone(), token.clone(), queue.clone());
        workers.push(tokio::spawn(async move {
            let (mut ok, mut conflict) = (0usize, 0usize);
            loop {
                let Some(id) = queue.lock().await.pop() else {
                    break;
                };
                let s = client
                    .post(format!("{base}/api/v1/approvals/{id}/approve"))
                    .bearer_auth(&token)
                    .send()
                    .await?
                    .status();
                match s.as_u16() {
                    200 => ok += 1,
                    409 => conflict += 1,
                    other => anyhow::bail!("approve answered {other}"),
                }
            }
            anyhow::Ok((ok, conflict))
        }));
    }
    let (mut ok, mut conflict) = (0, 0);
    for w in workers {
        let (o, c) = w.await??;
        ok += o;
        conflict += c;
    }
    let secs = start.elapsed().as_secs_f64();
    let executed: Value = client
        .get(format!(
            "{base}/api/v1/approvals?action=create_task&status=executed&limit=200"
        ))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    println!(
        "{} approvals decided twice each from {concurrency} clients: {ok} approved, {conflict} refused as already decided, {:.0} decisions/s; {} executed",
        ids.len(),
        (ok + conflict) as f64 / secs,
        executed["data"].as_array().map_or(0, |a| a.len())
    );
    anyhow::ensure!(ok == ids.len(), "each approval is approved exactly once");
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Cmd::Load {
            base,
            token,
            rate,
            seconds,
        } => load(base, token, rate, seconds).await,
        Cmd::Plans { database_url } => plans(database_url).await,
        Cmd::Ingest {
            base,
            token,
            ingest_token,
            events,
            batch,
            concurrency,
            random_event_ids,
            segment,
        } => {
            ingest(
                base,
                token,
                ingest_token,
                (events, batch, concurrency),
                random_event_ids,
                segment,
            )
            .await
        }
        Cmd::Raw {
            database_url,
            events,
            batch,
            days,
            random_event_ids,
        } => raw(database_url, (events, batch, days), random_event_ids).await,
        Cmd::Freshness { base, token } => freshness(base, token).await,
        Cmd::Extract { dir, passes } => extract_bench(dir, passes),
        Cmd::Agents {
            base,
            token,
            eval_dir,
            approvals,
            concurrency,
        } => agents_bench(base, token, eval_dir, approvals, concurrency).await,
        Cmd::Upload {
            base,
            token,
            file,
            count,
        } => upload_bench(base, token, file, count).await,
    }
}
