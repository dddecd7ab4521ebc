//! Demo product usage: a few weeks of events per demo customer whose shape follows its stage
//! (steady for active accounts, ramping for onboarding ones, fading for at-risk ones, silent
//! since churn for churned ones), sent through the real ingestion path and rolled up, so the
//! demo shows health scores with reasons and risk signals. Event ids are deterministic, so a
//! second run only finds duplicates.

use chrono::{Duration, NaiveDate, NaiveTime};
use serde_json::{json, Value};

use cscx_domain::Stage;
use cscx_store::model::Customer;

use crate::demo::{stream, SplitMix64};
use crate::error::CoreResult;
use crate::{ingest, App};

const FEATURES: &[&str] = &[
    "dashboards",
    "reports",
    "alerts",
    "workflows",
    "integrations",
    "exports",
    "sso",
    "api_keys",
    "playbooks",
    "forecasting",
];

/// How likely a user is active on day `age` (0 = today, counting back).
fn activity(stage: &str, age: i64, rng: &mut SplitMix64) -> f64 {
    match stage {
        "active" => 0.42 + rng.range(0, 6) as f64 / 100.0,
        // Ramping up over the period.
        "onboarding" => (0.45 - age as f64 * 0.006).max(0.08),
        // Fine until three weeks ago, then fading.
        "at_risk" => {
            if age > 21 {
                0.4
            } else {
                0.08 + age as f64 * 0.012
            }
        }
        // Went quiet 45 days ago.
        "churned" if age > 45 => 0.3,
        _ => 0.0,
    }
}

fn users_for(segment: Option<&str>, rng: &mut SplitMix64) -> i64 {
    match segment {
        Some("enterprise") => rng.range(40, 90),
        Some("mid_market") => rng.range(15, 40),
        _ => rng.range(5, 14),
    }
}

fn at(day: NaiveDate, minute: i64) -> String {
    (day.and_time(NaiveTime::MIN).and_utc() + Duration::minutes(minute)).to_rfc3339()
}

/// Events for one customer over `days` days ending yesterday.
fn events_for(c: &Customer, seed: u64, n: u64, days: u32, today: NaiveDate) -> Vec<Value> {
    let mut rng = stream(seed, "usage", n);
    let users = users_for(c.segment.as_deref(), &mut rng);
    let breadth = rng.range(3, FEATURES.len() as i64) as usize;
    let mut out = Vec::new();
    for age in (1..=days as i64).rev() {
        let day = today - Duration::days(age);
        let p = activity(c.stage.as_str(), age, &mut rng);
        for u in 0..users {
            if (rng.next_u64() % 1000) as f64 >= p * 1000.0 {
                continue;
            }
            let user = format!("user-{u}");
            let base = rng.range(8 * 60, 17 * 60);
            let key = |kind: &str, k: i64| format!("demo-{}-{day}-{u}-{kind}-{k}", c.id);
            out.push(json!({"event_id": key("login", 0), "customer_id": c.id, "event_type": "login", "user_id": user, "timestamp": at(day, base)}));
            for k in 0..rng.range(1, 4) {
                let feature = FEATURES[rng.range(0, breadth as i64 - 1) as usize];
                out.push(json!({"event_id": key("feature", k), "customer_id": c.id, "event_type": "feature_used", "user_id": user,
                    "timestamp": at(day, base + 5 + k * 7), "metadata": {"feature": feature}}));
            }
            if rng.chance(30) {
                out.push(json!({"event_id": key("api", 0), "customer_id": c.id, "event_type": "api_call", "user_id": user,
                    "timestamp": at(day, base + 30), "metadata": {"count": rng.range(10, 400)}}));
            }
            out.push(json!({"event_id": key("session", 0), "customer_id": c.id, "event_type": "session_end", "user_id": user,
                "timestamp": at(day, base + 45), "metadata": {"duration_seconds": rng.range(5, 70) * 60}}));
        }
        // Support load: a ticket now and then; a burst of urgent ones for at-risk accounts.
        let tickets = match (c.stage.as_str(), age) {
            ("at_risk", 1..=6) => rng.range(0, 2),
            ("churned", _) if age <= 45 => 0,
            _ => i64::from(rng.chance(12)),
        };
        for k in 0..tickets {
            let priority = if c.stage == Stage::AtRisk && age <= 6 {
                "urgent"
            } else {
                "normal"
            };
            out.push(json!({"event_id": format!("demo-{}-{day}-ticket-{k}", c.id), "customer_id": c.id, "event_type": "support_ticket",
                "user_id": format!("user-{}", rng.range(0, users - 1)), "timestamp": at(day, 600 + k), "metadata": {"priority": priority}}));
        }
        // A survey answer every few weeks.
        if age % 25 == 7 && c.stage != Stage::Churned {
            let score = match c.stage.as_str() {
                "at_risk" => rng.range(1, 5),
                "onboarding" => rng.range(6, 9),
                _ => rng.range(7, 10),
            };
            out.push(json!({"event_id": format!("demo-{}-{day}-nps", c.id), "customer_id": c.id, "event_type": "nps_response",
                "user_id": "user-0", "timestamp": at(day, 700), "metadata": {"score": score}}));
        }
    }
    out
}

/// Generates and ingests usage for every demo customer, then runs the rollups and rescoring
/// in-process. Returns the number of events accepted (0 on a second run).
pub async fn seed_usage(app: &App, seed: u64, days: u32) -> CoreResult<usize> {
    let today = app.now().date();
    let demo: Vec<Customer> = {
        let mut c = app.db.conn().await?;
        cscx_store::customers::demo(c.c()).await?
    };
    let mut accepted = 0;
    for (n, customer) in demo.iter().enumerate() {
        let events = events_for(customer, seed, n as u64, days, today);
        for chunk in events.chunks(ingest::MAX_BATCH_EVENTS) {
            let batch = chunk
                .iter()
                .cloned()
                .enumerate()
                .map(|(i, v)| (i, Ok(v)))
                .collect();
            accepted += ingest::ingest(app, batch).await?.accepted;
        }
    }
    // Roll up and score now, so the first page a visitor opens already has health and signals,
    // and give the health chart the weeks behind today.
    app.drain_jobs(2).await?;
    if days >= 14 {
        crate::intelligence::finish_pending_rollups(app, 2).await?;
        let from = today - chrono::Duration::days(i64::from(days) - 7);
        crate::intelligence::backfill_history(app, from, today - chrono::Duration::days(1), 7)
            .await?;
    }
    Ok(accepted)
}
