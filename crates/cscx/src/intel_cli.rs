//! `cscx usage …` and `cscx health …`: bulk import, rebuilds, point-in-time scores, back-tests
//! and calibration from the command line.

use cscx_domain::import::{csv_event, csv_fields};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Subcommand;
use serde_json::Value;

use cscx_core::ingest::{self, IngestReport};
use cscx_core::intelligence as intel;
use cscx_core::App;

#[derive(Subcommand)]
pub enum UsageCommand {
    /// Import events from an NDJSON or CSV file (header: event_id, customer_id or customer_key,
    /// event_type, user_id, timestamp, metadata; other columns go into metadata), streaming.
    Import {
        file: std::path::PathBuf,
        /// Events per batch.
        #[arg(long, default_value_t = 1000)]
        batch: usize,
        /// Leave the rollups to a running worker instead of doing them before exiting.
        #[arg(long)]
        no_rollup: bool,
    },
    /// Recompute every customer's daily metrics from DATE to today.
    Rollup {
        #[arg(long)]
        from: String,
    },
}

#[derive(Subcommand)]
pub enum HealthCommand {
    /// Every customer's health score as of the end of DATE, from data up to that date only.
    Score {
        #[arg(long)]
        as_of: String,
        #[arg(long, default_value = "csv")]
        format: String,
    },
    /// Score customers as of DATE and measure the score against known outcomes (CSV with
    /// customer_key,outcome): ROC AUC, red-band precision and recall, calibration.
    Backtest {
        #[arg(long)]
        as_of: String,
        #[arg(long)]
        outcomes: std::path::PathBuf,
        #[arg(long, default_value = "text")]
        format: String,
    },
    /// Fit component weights to outcomes and store them as a proposed model.
    Calibrate {
        #[arg(long)]
        as_of: String,
        #[arg(long)]
        outcomes: std::path::PathBuf,
    },
    /// Recompute every customer's health and risk signals now.
    Recompute,
    /// Record point-in-time scores for past days (every STEP days from FROM to TO), so an
    /// imported history has a health trend; days that already have a score are kept.
    Backfill {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        #[arg(long, default_value_t = 7)]
        step: i64,
    },
    /// Health models.
    Model {
        #[command(subcommand)]
        command: ModelCommand,
    },
}

#[derive(Subcommand)]
pub enum ModelCommand {
    /// List stored models.
    List,
    /// Store a model from a JSON file (see README); --activate makes it active for its segment.
    Set {
        file: std::path::PathBuf,
        #[arg(long)]
        activate: bool,
    },
    /// Activate a stored (e.g. proposed) model.
    Activate { id: String },
    /// Print the built-in default model as JSON (a starting point for your own).
    Default,
}

fn err(e: cscx_core::CoreError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

/// Keeps at most this many rejections in memory for the summary; the rest are counted.
const KEEP_REJECTIONS: usize = 1000;

pub async fn import(app: &App, file: &Path, batch: usize, no_rollup: bool) -> anyhow::Result<()> {
    let f = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    let mut reader = BufReader::with_capacity(1 << 20, f);
    let is_csv = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let mut header: Option<Vec<String>> = None;
    let mut total = IngestReport::default();
    let mut rejected_count = 0usize;
    let mut duplicate_count = 0usize;
    let mut pending: Vec<ingest::RawEvent> = Vec::with_capacity(batch);
    let (mut line_no, mut bytes_read) = (0usize, 0u64);
    let started = Instant::now();
    let mut last_progress = Instant::now();
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader.read_line(&mut line)?;
        if n == 0 {
            break;
        }
        bytes_read += n as u64;
        line_no += 1;
        let text = line.trim_end_matches(['\n', '\r']);
        if text.trim().is_empty() {
            continue;
        }
        if is_csv && header.is_none() {
            header = Some(
                csv_fields(text)
                    .map_err(anyhow::Error::msg)?
                    .into_iter()
                    .map(|h| h.trim().to_lowercase())
                    .collect(),
            );
            continue;
        }
        let parsed = match &header {
            Some(h) => csv_event(h, text),
            None => serde_json::from_str::<Value>(text).map_err(|e| format!("not JSON: {e}")),
        };
        pending.push((line_no, parsed));
        if pending.len() >= batch {
            let report = ingest::ingest(app, std::mem::take(&mut pending))
                .await
                .map_err(err)?;
            absorb(
                &mut total,
                report,
                &mut rejected_count,
                &mut duplicate_count,
            );
        }
        if last_progress.elapsed().as_millis() >= 500 {
            last_progress = Instant::now();
            let pct = if size > 0 {
                bytes_read as f64 * 100.0 / size as f64
            } else {
                0.0
            };
            let rate = line_no as f64 / started.elapsed().as_secs_f64().max(0.001);
            eprint!(
                "\r{pct:5.1}%  {line_no} lines  {} accepted  {duplicate_count} duplicates  {rejected_count} rejected  {rate:.0} lines/s   ",
                total.accepted
            );
            let _ = std::io::stderr().flush();
        }
    }
    if !pending.is_empty() {
        let report = ingest::ingest(app, pending).await.map_err(err)?;
        absorb(
            &mut total,
            report,
            &mut rejected_count,
            &mut duplicate_count,
        );
    }
    eprintln!();
    println!(
        "{}: {line_no} lines in {:.1} s — {} accepted, {duplicate_count} duplicates, {rejected_count} rejected",
        file.display(),
        started.elapsed().as_secs_f64(),
        total.accepted
    );
    for r in &total.rejected {
        println!("  line {}: {}", r.index, r.reason);
    }
    if rejected_count > total.rejected.len() {
        println!(
            "  … and {} more rejected lines",
            rejected_count - total.rejected.len()
        );
    }
    if !no_rollup && total.accepted > 0 {
        eprintln!("rolling up usage and rescoring the customers touched…");
        let n = app.drain_jobs(4).await.map_err(err)?;
        println!("{n} background jobs done");
    }
    Ok(())
}

fn absorb(
    total: &mut IngestReport,
    report: IngestReport,
    rejected: &mut usize,
    duplicates: &mut usize,
) {
    total.accepted += report.accepted;
    *rejected += report.rejected.len();
    *duplicates += report.duplicates.len();
    let room = KEEP_REJECTIONS.saturating_sub(total.rejected.len());
    total
        .rejected
        .extend(report.rejected.into_iter().take(room));
}

pub async fn usage(app: &App, command: UsageCommand) -> anyhow::Result<()> {
    match command {
        UsageCommand::Import {
            file,
            batch,
            no_rollup,
        } => {
            if batch == 0 || batch > ingest::MAX_BATCH_EVENTS {
                bail!("--batch must be from 1 to {}", ingest::MAX_BATCH_EVENTS);
            }
            import(app, &file, batch, no_rollup).await
        }
        UsageCommand::Rollup { from } => {
            let from = intel::parse_date(&from).map_err(anyhow::Error::msg)?;
            let started = Instant::now();
            let (customers, rows) = intel::rebuild_all(app, from, 4).await.map_err(err)?;
            println!(
                "rebuilt {rows} daily rows for {customers} customers in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
    }
}

/// Point-in-time work reads the daily metrics: events still waiting to be rolled up are rolled
/// up here first, so the answer covers every customer.
async fn finish_rollups(app: &App) -> anyhow::Result<()> {
    let started = Instant::now();
    let n = intel::finish_pending_rollups(app, 4).await.map_err(err)?;
    if n > 0 {
        eprintln!(
            "rolled up the pending events of {n} customers first ({:.1} s)",
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

pub async fn health(app: &App, command: HealthCommand) -> anyhow::Result<()> {
    if matches!(
        command,
        HealthCommand::Score { .. }
            | HealthCommand::Backtest { .. }
            | HealthCommand::Calibrate { .. }
            | HealthCommand::Backfill { .. }
    ) {
        finish_rollups(app).await?;
    }
    match command {
        HealthCommand::Score { as_of, format } => {
            let as_of = intel::parse_date(&as_of).map_err(anyhow::Error::msg)?;
            let rows = intel::scores_as_of(app, as_of, None).await.map_err(err)?;
            match format.as_str() {
                "json" => {
                    let out: Vec<_> = rows.iter().map(|(c, r)| intel::as_of_row(c, r)).collect();
                    println!("{}", serde_json::to_string_pretty(&out)?);
                }
                "csv" => {
                    println!("customer_id,name,score,grade,activity,usage,engagement,risk,business,missing");
                    for (c, r) in &rows {
                        let row = intel::as_of_row(c, r);
                        let comp = |k: &str| {
                            row.components
                                .get(k)
                                .map(|v| v.to_string())
                                .unwrap_or_default()
                        };
                        println!(
                            "{},\"{}\",{},{},{},{},{},{},{},{}",
                            row.customer_id,
                            row.name.replace('"', "\"\""),
                            row.score.map(|s| s.to_string()).unwrap_or_default(),
                            row.grade.unwrap_or_default(),
                            comp("activity"),
                            comp("usage"),
                            comp("engagement"),
                            comp("risk"),
                            comp("business"),
                            row.missing.join(";")
                        );
                    }
                }
                other => bail!("--format must be csv or json, not {other:?}"),
            }
            Ok(())
        }
        HealthCommand::Backtest {
            as_of,
            outcomes,
            format,
        } => {
            let as_of = intel::parse_date(&as_of).map_err(anyhow::Error::msg)?;
            let text = std::fs::read_to_string(&outcomes)
                .with_context(|| format!("reading {}", outcomes.display()))?;
            let rows = intel::parse_outcomes(&text).map_err(anyhow::Error::msg)?;
            let r = intel::backtest(app, as_of, &rows).await.map_err(err)?;
            if format == "json" {
                println!("{}", serde_json::to_string_pretty(&r)?);
                return Ok(());
            }
            let pct = |v: Option<f64>| {
                v.map(|x| format!("{:.1}%", x * 100.0))
                    .unwrap_or_else(|| "n/a".into())
            };
            println!("back-test as of {}: {} customers scored ({} churned), {} without data, {} not found", r.as_of, r.customers_scored, r.positives, r.unscored, r.unmatched.len());
            let auc = |v: Option<f64>| {
                v.map(|a| format!("{a:.3}"))
                    .unwrap_or_else(|| "n/a (need both outcomes)".into())
            };
            println!(
                "ROC AUC: {} over all customers (unscored count as misses), {} over the scored",
                auc(r.roc_auc),
                auc(r.roc_auc_scored)
            );
            let bands: Vec<String> = r.bands.iter().map(|(b, n)| format!("{b} {n}")).collect();
            println!("bands: {}", bands.join(", "));
            println!(
                "red band (score < {}): precision {}, recall {}",
                r.red_below,
                pct(r.red_precision),
                pct(r.red_recall)
            );
            println!("calibration:  score range   customers   mean score   churn rate");
            for row in &r.calibration {
                println!(
                    "              {:>3.0}–{:<3.0}      {:>9}   {:>10.1}   {:>10}",
                    row.from,
                    row.to,
                    row.count,
                    row.mean_score,
                    pct(Some(row.positive_rate))
                );
            }
            Ok(())
        }
        HealthCommand::Calibrate { as_of, outcomes } => {
            let as_of = intel::parse_date(&as_of).map_err(anyhow::Error::msg)?;
            let text = std::fs::read_to_string(&outcomes)
                .with_context(|| format!("reading {}", outcomes.display()))?;
            let rows = intel::parse_outcomes(&text).map_err(anyhow::Error::msg)?;
            let r = intel::calibrate(app, as_of, &rows, None)
                .await
                .map_err(err)?;
            println!("{}", serde_json::to_string_pretty(&r)?);
            if let Some(id) = r.proposed_model_id {
                println!(
                    "proposed model stored; activate it with: cscx health model activate {id}"
                );
            }
            Ok(())
        }
        HealthCommand::Backfill { from, to, step } => {
            let from = intel::parse_date(&from).map_err(anyhow::Error::msg)?;
            let to = intel::parse_date(&to).map_err(anyhow::Error::msg)?;
            let started = Instant::now();
            let n = intel::backfill_history(app, from, to, step)
                .await
                .map_err(err)?;
            println!(
                "{n} health scores recorded for past days in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        HealthCommand::Recompute => {
            let started = Instant::now();
            let n = intel::refresh_all(app, 4).await.map_err(err)?;
            println!(
                "{n} customers rolled up, scored and checked for risk in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        HealthCommand::Model { command } => match command {
            ModelCommand::List => {
                for m in intel::list_models(app).await.map_err(err)? {
                    println!(
                        "{}  {:<9} {:<24} segment {:?}  {}",
                        m.id,
                        m.status,
                        m.name,
                        m.segment_key,
                        m.notes.unwrap_or_default()
                    );
                }
                Ok(())
            }
            ModelCommand::Set { file, activate } => {
                let text = std::fs::read_to_string(&file)
                    .with_context(|| format!("reading {}", file.display()))?;
                let model: cscx_domain::health::HealthModel = serde_json::from_str(&text)
                    .with_context(|| format!("{} is not a health model", file.display()))?;
                let stored = intel::save_model(app, &model, activate, None, None)
                    .await
                    .map_err(err)?;
                println!("stored model {} ({})", stored.id, stored.status);
                Ok(())
            }
            ModelCommand::Activate { id } => {
                let id = id
                    .parse()
                    .map_err(|_| anyhow::anyhow!("{id:?} is not a model id"))?;
                let m = intel::activate_model(app, id).await.map_err(err)?;
                println!(
                    "model {} is now active for {}",
                    m.name,
                    if m.segment_key.is_empty() {
                        "every segment"
                    } else {
                        &m.segment_key
                    }
                );
                Ok(())
            }
            ModelCommand::Default => {
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &cscx_domain::health::HealthModel::default_model()
                    )?
                );
                Ok(())
            }
        },
    }
}
