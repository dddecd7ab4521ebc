//! Tool implementations over the store. Read tools return JSON facts; action tools are prepared
//! (recipients resolved, drafts written, a human-readable preview built) and then wait for a
//! person's approval in [`crate::approvals`].

use chrono::Duration;
use serde_json::{json, Map, Value};

use cscx_store::model::{
    Contract, Customer, Entitlement, KnowledgeArticle, Meeting, Stakeholder, UsageMetric,
};
use cscx_store::{entity, Id};

use crate::auth::Principal;
use crate::error::CoreResult;
use crate::intelligence::{self, SignalFilter};
use crate::App;

/// A tool failure the model (or the user) can act on, e.g. an unknown customer id.
pub type ToolResult = Result<Value, String>;

fn customer_id(args: &Map<String, Value>) -> Result<Id, String> {
    args.get("customer_id")
        .and_then(Value::as_str)
        .ok_or("customer_id is required")?
        .parse()
        .map_err(|_| "customer_id is not a valid id".to_string())
}

pub(crate) async fn load_customer(
    app: &App,
    args: &Map<String, Value>,
) -> CoreResult<Result<Customer, String>> {
    let id = match customer_id(args) {
        Ok(id) => id,
        Err(e) => return Ok(Err(e)),
    };
    let mut c = app.db.conn().await?;
    Ok(entity::get::<Customer>(c.c(), id)
        .await?
        .ok_or_else(|| "no customer has this id".to_string()))
}

fn customer_json(c: &Customer) -> Value {
    json!({
        "id": c.id, "name": c.name, "arr": c.arr, "stage": c.stage,
        "health_score": c.health_score, "grade": band(c), "renewal_date": c.renewal_date, "segment": c.segment,
    })
}

/// The band of the customer's latest score, as its own model graded it (`unscored` without
/// one): the one answer lists, filters, the dashboard and the agents share.
pub fn band(c: &Customer) -> &'static str {
    match (&c.health_band, c.health_score) {
        (Some(b), _) => b.as_str(),
        (None, Some(_)) => "ungraded",
        (None, None) => "unscored",
    }
}

/// Runs a read tool.
pub async fn run_read(
    app: &App,
    who: &Principal,
    tool: &str,
    args: &Map<String, Value>,
) -> CoreResult<ToolResult> {
    let today = app.clock.now().date_naive();
    Ok(match tool {
        "customer_overview" => {
            let id = match customer_id(args) {
                Ok(id) => id,
                Err(e) => return Ok(Err(e)),
            };
            let Some(o) = crate::overview::of_customer(app, id).await? else {
                return Ok(Err("no customer has this id".into()));
            };
            let open = crate::overview::open_signals(app, id).await?;
            let changes = o
                .latest
                .as_ref()
                .map(|r| json!(r.changes))
                .unwrap_or(json!([]));
            let cu = &o.customer;
            let primary = o.primary_contact();
            Ok(json!({
                "customer": customer_json(cu),
                "health": { "score": cu.health_score, "grade": band(cu), "changes": changes },
                "open_risks": open.iter().take(20).map(|s| json!({"signal_type": s.signal_type, "severity": s.severity, "description": s.description})).collect::<Vec<_>>(),
                "stakeholders": { "count": o.people.len(), "primary": primary.map(|p| json!({"name": p.name, "role": p.role, "email": p.email})) },
                "contracts": { "count": o.contracts.len(), "active": o.active_contracts().count(),
                               "next_end_date": o.contracts.iter().filter_map(|k| k.end_date).filter(|d| *d >= today).min() },
                "usage": o.usage.last().map(usage_json),
            }))
        }
        "health_explain" => {
            let cu = match load_customer(app, args).await? {
                Ok(c) => c,
                Err(e) => return Ok(Err(e)),
            };
            let history = intelligence::health_history(app, cu.id, None, 10).await?;
            let Some(latest) = history.first() else {
                return Ok(Ok(json!({ "customer": customer_json(&cu), "score": null,
                    "note": "no health score yet: there is no usage, engagement, risk or business data to score" })));
            };
            let result = intelligence::stored_result(latest);
            let components: Vec<Value> = result.iter().flat_map(|r| &r.components).map(|c| json!({
                "name": c.key, "score": c.score, "weight": c.effective_weight, "reason": c.reason,
            })).collect();
            Ok(json!({
                "customer": customer_json(&cu),
                "score": latest.score, "grade": result.as_ref().and_then(|r| r.grade).map_or(band(&cu), |g| g.as_str()), "recorded_at": latest.recorded_at,
                "components": components,
                "changes": result.as_ref().map(|r| r.changes.clone()),
                "cap": result.as_ref().and_then(|r| r.cap.clone()),
                "note": result.as_ref().and_then(|r| r.note.clone()),
                "history": history.iter().map(|h| json!({"score": h.score, "recorded_at": h.recorded_at})).collect::<Vec<_>>(),
            }))
        }
        "usage_trend" => {
            let cu = match load_customer(app, args).await? {
                Ok(c) => c,
                Err(e) => return Ok(Err(e)),
            };
            let days = args
                .get("days")
                .and_then(Value::as_i64)
                .unwrap_or(30)
                .clamp(1, 365);
            let mut c = app.db.conn().await?;
            // Up to the last complete day: today's row counts a partial day.
            let last_day = today - Duration::days(1);
            let rows =
                cscx_store::usage::metrics(c.c(), cu.id, last_day - Duration::days(days), last_day)
                    .await?;
            let features = top_features(rows.last(), 5);
            Ok(json!({
                "customer": customer_json(&cu), "days": days, "through": last_day,
                "first": rows.first().map(usage_json), "latest": rows.last().map(usage_json),
                "top_features": features.iter().map(|(f, u)| json!({"feature": f, "users": u})).collect::<Vec<_>>(),
            }))
        }
        "risk_signals" => {
            let customer = match args.get("customer_id") {
                Some(_) => match load_customer(app, args).await? {
                    Ok(c) => Some(c),
                    Err(e) => return Ok(Err(e)),
                },
                None => None,
            };
            let signals = intelligence::list_named_signals(
                app,
                &SignalFilter {
                    customer_id: customer.as_ref().map(|c| c.id),
                    severity: args
                        .get("severity")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    status: Some("open".into()),
                    ..Default::default()
                },
                None,
                25,
            )
            .await?;
            Ok(json!({
                "customer": customer.as_ref().map(customer_json),
                "signals": signals.iter().map(|n| (&n.signal, &n.customer_name)).map(|(s, name)| json!({
                    "customer": name, "signal_type": s.signal_type,
                    "severity": s.severity, "description": s.description, "detected_at": s.detected_at,
                    "auto_detected": s.auto_detected,
                })).collect::<Vec<_>>(),
            }))
        }
        "contracts_entitlements" => {
            let cu = match load_customer(app, args).await? {
                Ok(c) => c,
                Err(e) => return Ok(Err(e)),
            };
            let mut c = app.db.conn().await?;
            let contracts: Vec<Contract> = cscx_store::contracts::of_customer(c.c(), cu.id).await?;
            let mut ents = Vec::new();
            for k in &contracts {
                let e: Vec<Entitlement> =
                    cscx_store::entitlements::of_contract(c.c(), k.id).await?;
                ents.extend(e);
            }
            Ok(json!({
                "customer": customer_json(&cu),
                "contracts": contracts.iter().map(|k| json!({"id": k.id, "status": k.status, "start_date": k.start_date,
                    "end_date": k.end_date, "arr": k.arr, "contract_term": k.contract_term, "file_name": k.file_name})).collect::<Vec<_>>(),
                "entitlements": ents.iter().map(|e| json!({"name": e.name, "quantity": e.quantity, "unit": e.unit, "price": e.price})).collect::<Vec<_>>(),
            }))
        }
        "stakeholders" => {
            let cu = match load_customer(app, args).await? {
                Ok(c) => c,
                Err(e) => return Ok(Err(e)),
            };
            let mut c = app.db.conn().await?;
            let people: Vec<Stakeholder> =
                cscx_store::stakeholders::of_customer(c.c(), cu.id).await?;
            Ok(json!({
                "customer": customer_json(&cu),
                "stakeholders": people.iter().map(|p| json!({"name": p.name, "role": p.role, "email": p.email,
                    "is_primary": p.is_primary, "sentiment": p.sentiment})).collect::<Vec<_>>(),
            }))
        }
        "renewals_due" | "portfolio_query" => {
            let within = args
                .get(if tool == "renewals_due" {
                    "within_days"
                } else {
                    "renewal_within_days"
                })
                .and_then(Value::as_i64)
                .or((tool == "renewals_due").then_some(90));
            let mine = args.get("mine").and_then(Value::as_bool).unwrap_or(false);
            let q = cscx_store::customers::PortfolioQuery {
                stage: args
                    .get("stage")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                segment: args
                    .get("segment")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                max_health: args
                    .get("max_health")
                    .and_then(Value::as_i64)
                    .map(clamp_i32),
                min_health: args
                    .get("min_health")
                    .and_then(Value::as_i64)
                    .map(clamp_i32),
                // The number's own digits, never through a float.
                min_arr: match args.get("min_arr") {
                    Some(v) => match cscx_domain::money::parse_number(&v.to_string()) {
                        Some(d) => Some(d.into()),
                        None => return Ok(Err("min_arr must be an amount".into())),
                    },
                    None => None,
                },
                renewal_from: within.map(|_| today),
                renewal_to: within.map(|d| today + Duration::days(d)),
                csm_id: mine.then_some(who.user_id),
            };
            let mut c = app.db.conn().await?;
            let answer = cscx_store::customers::portfolio(c.c(), &q, 10).await?;
            let (count, rows) = (answer.count, answer.first);
            let total_arr = answer
                .total_arr
                .and_then(|t| t.parse::<rust_decimal::Decimal>().ok())
                .map(|d| d.round_dp(2).to_string())
                .unwrap_or_else(|| "0".into());
            Ok(json!({
                "filters": Value::Object(args.clone()), "within_days": within, "count": count, "total_arr": total_arr,
                "customers": rows.iter().map(customer_json).collect::<Vec<_>>(),
            }))
        }
        "meeting_history" => {
            let cu = match load_customer(app, args).await? {
                Ok(c) => c,
                Err(e) => return Ok(Err(e)),
            };
            let mut c = app.db.conn().await?;
            let mut meetings: Vec<Meeting> =
                cscx_store::meetings::of_customer(c.c(), cu.id).await?;
            meetings.sort_by_key(|m| std::cmp::Reverse(m.scheduled_at));
            Ok(json!({
                "customer": customer_json(&cu),
                "meetings": meetings.iter().take(10).map(|m| json!({"title": m.title, "scheduled_at": m.scheduled_at,
                    "status": m.status, "duration": m.duration})).collect::<Vec<_>>(),
            }))
        }
        "search_knowledge" => {
            let query = args.get("query").and_then(Value::as_str).unwrap_or("");
            let articles = search_knowledge(app, query).await?;
            Ok(json!({
                "query": query,
                "articles": articles.iter().map(|a| json!({"title": a.title, "category": a.category,
                    "excerpt": a.content.chars().take(280).collect::<String>()})).collect::<Vec<_>>(),
            }))
        }
        other => Err(format!("{other} is not a read tool")),
    })
}

/// The most used features of a day's metrics, by users, most first.
pub fn top_features(m: Option<&UsageMetric>, n: usize) -> Vec<(String, i64)> {
    let mut features: Vec<(String, i64)> = m
        .and_then(|m| m.feature_adoption.as_ref())
        .and_then(Value::as_object)
        .map(|f| {
            f.iter()
                .map(|(k, v)| (k.clone(), v["users"].as_i64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default();
    features.sort_by_key(|f| std::cmp::Reverse(f.1));
    features.truncate(n);
    features
}

fn usage_json(m: &UsageMetric) -> Value {
    json!({"metric_date": m.metric_date, "dau": m.dau, "wau": m.wau, "mau": m.mau, "trend": m.usage_trend,
           "adoption_score": m.adoption_score, "logins": m.login_count})
}

fn clamp_i32(v: i64) -> i32 {
    v.clamp(i32::MIN as i64, i32::MAX as i64) as i32
}

/// Articles whose title or content contains the query's words, best match first.
async fn search_knowledge(app: &App, query: &str) -> CoreResult<Vec<KnowledgeArticle>> {
    const STOP: &[&str] = &[
        "how", "what", "the", "our", "for", "and", "with", "do", "is", "a", "to", "of", "i",
        "should", "when", "there",
    ];
    let words: Vec<String> = query
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 2 && !STOP.contains(w))
        .map(str::to_string)
        .collect();
    // Every article is read, a page at a time, keeping only the best three: no cap on how many
    // articles the search sees.
    let mut c = app.db.conn().await?;
    let mut best: Vec<(usize, KnowledgeArticle)> = Vec::new();
    let mut after = None;
    loop {
        let page: Vec<KnowledgeArticle> = entity::list(c.c(), after, 500).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for a in page {
            let hay = format!("{} {}", a.title, a.content).to_lowercase();
            let score = words.iter().filter(|w| hay.contains(w.as_str())).count();
            if score > 0 {
                best.push((score, a));
            }
        }
        // Stable: among equal scores the older article stays first, as before.
        best.sort_by_key(|s| std::cmp::Reverse(s.0));
        best.truncate(3);
    }
    Ok(best.into_iter().map(|(_, a)| a).collect())
}
