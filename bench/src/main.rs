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
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    while ids.len() < 2000 {
        let mut url = format!("{base}/api/v1/customers?limit=500");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page: Value = client
            .get(&url)
            .bearer_auth(&token)
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
    anyhow::ensure!(
        !ids.is_empty(),
        "no customers: seed first (cscx demo seed --customers 10000)"
    );
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
    }
}
