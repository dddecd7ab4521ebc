//! Tool implementations over the store. Read tools return JSON facts; action tools are prepared
//! (recipients resolved, drafts written, a human-readable preview built) and then wait for a
//! person's approval in [`crate::approvals`].

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::{json, Map, Value};

use cscx_store::model::{
    Approval, Contract, Customer, Entitlement, KnowledgeArticle, Meeting, Stakeholder, UsageMetric,
};
use cscx_store::{entity, run, Id};

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

async fn load_customer(
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
        "health_score": c.health_score, "renewal_date": c.renewal_date, "segment": c.segment,
    })
}

pub fn grade(score: Option<i32>) -> &'static str {
    match score {
        Some(s) if s >= 75 => "green",
        Some(s) if s >= 50 => "yellow",
        Some(_) => "red",
        None => "unscored",
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
            let cu = match load_customer(app, args).await? {
                Ok(c) => c,
                Err(e) => return Ok(Err(e)),
            };
            let health = intelligence::current_health(app, cu.id).await?;
            let changes = health
                .as_ref()
                .and_then(|h| h.components.as_ref())
                .and_then(|c| c.get("changes").cloned())
                .unwrap_or(json!([]));
            let signals = intelligence::list_signals(
                app,
                &SignalFilter {
                    customer_id: Some(cu.id),
                    status: Some("open".into()),
                    ..Default::default()
                },
                None,
                20,
            )
            .await?;
            let mut c = app.db.conn().await?;
            let people: Vec<Stakeholder> =
                cscx_store::stakeholders::of_customer(c.c(), cu.id).await?;
            let contracts: Vec<Contract> = cscx_store::contracts::of_customer(c.c(), cu.id).await?;
            let usage =
                cscx_store::usage::metrics(c.c(), cu.id, today - Duration::days(3), today).await?;
            let primary = people.iter().find(|p| p.is_primary);
            Ok(json!({
                "customer": customer_json(&cu),
                "health": { "score": cu.health_score, "grade": grade(cu.health_score), "changes": changes },
                "open_risks": signals.iter().map(|s| json!({"signal_type": s.signal_type, "severity": s.severity, "description": s.description})).collect::<Vec<_>>(),
                "stakeholders": { "count": people.len(), "primary": primary.map(|p| json!({"name": p.name, "role": p.role, "email": p.email})) },
                "contracts": { "count": contracts.len(), "active": contracts.iter().filter(|k| k.status == "active").count(),
                               "next_end_date": contracts.iter().filter_map(|k| k.end_date).filter(|d| *d >= today).min() },
                "usage": usage.last().map(usage_json),
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
                "score": latest.score, "grade": grade(Some(latest.score)), "recorded_at": latest.recorded_at,
                "components": components,
                "changes": result.as_ref().map(|r| r.changes.clone()),
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
            let rows =
                cscx_store::usage::metrics(c.c(), cu.id, today - Duration::days(days), today)
                    .await?;
            let features = top_features(rows.last(), 5);
            Ok(json!({
                "customer": customer_json(&cu), "days": days,
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
            let q = PortfolioQuery {
                stage: args
                    .get("stage")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                segment: args
                    .get("segment")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                max_health: args.get("max_health").and_then(Value::as_i64),
                min_health: args.get("min_health").and_then(Value::as_i64),
                min_arr: args.get("min_arr").and_then(Value::as_f64),
                renewal_from: within.map(|_| today),
                renewal_to: within.map(|d| today + Duration::days(d)),
                csm_id: mine.then_some(who.user_id),
            };
            let (count, total_arr, rows) = portfolio(app, &q).await?;
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

struct PortfolioQuery {
    stage: Option<String>,
    segment: Option<String>,
    max_health: Option<i64>,
    min_health: Option<i64>,
    min_arr: Option<f64>,
    renewal_from: Option<NaiveDate>,
    renewal_to: Option<NaiveDate>,
    csm_id: Option<Id>,
}

/// Count, total ARR and the 10 least healthy customers matching the query, in two indexed
/// queries (no full load of the portfolio).
async fn portfolio(app: &App, q: &PortfolioQuery) -> CoreResult<(i64, String, Vec<Customer>)> {
    const WHERE: &str = "($1 IS NULL OR stage = $1) AND ($2 IS NULL OR lower(segment) = lower($2))
        AND ($3 IS NULL OR health_score <= $3) AND ($4 IS NULL OR health_score >= $4)
        AND ($5 IS NULL OR CAST(arr AS NUMERIC) >= $5) AND ($6 IS NULL OR renewal_date >= $6)
        AND ($7 IS NULL OR renewal_date <= $7) AND ($8 IS NULL OR csm_id = $8)";
    // The same eight parameters, in WHERE's order, for both queries.
    macro_rules! bind_filters {
        ($query:expr) => {
            $query
                .bind(&q.stage)
                .bind(&q.segment)
                .bind(q.max_health.map(|v| v as i32))
                .bind(q.min_health.map(|v| v as i32))
                .bind(q.min_arr)
                .bind(q.renewal_from)
                .bind(q.renewal_to)
                .bind(q.csm_id)
        };
    }
    let mut c = app.db.conn().await?;
    let (count, total): (i64, Option<String>) = run!(c.c(), |conn| {
        bind_filters!(sqlx::query_as(&format!(
            "SELECT COUNT(*), CAST(SUM(CAST(arr AS NUMERIC)) AS TEXT) FROM customers WHERE {WHERE}"
        )))
        .fetch_one(&mut *conn)
        .await
    })
    .map_err(cscx_store::Error::from)?;
    let order = if q.renewal_to.is_some() {
        "renewal_date, id"
    } else {
        "health_score, id"
    };
    let rows: Vec<Customer> = run!(c.c(), |conn| {
        bind_filters!(sqlx::query_as(&format!(
            "SELECT * FROM customers WHERE {WHERE} ORDER BY {order} LIMIT 10"
        )))
        .fetch_all(&mut *conn)
        .await
    })
    .map_err(cscx_store::Error::from)?;
    let total = total
        .and_then(|t| t.parse::<rust_decimal::Decimal>().ok())
        .map(|d| d.round_dp(2).to_string())
        .unwrap_or_else(|| "0".into());
    Ok((count, total, rows))
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
    let mut c = app.db.conn().await?;
    let all: Vec<KnowledgeArticle> = entity::list(c.c(), None, 1000).await?;
    let mut scored: Vec<(usize, KnowledgeArticle)> = all
        .into_iter()
        .map(|a| {
            let hay = format!("{} {}", a.title, a.content).to_lowercase();
            (words.iter().filter(|w| hay.contains(w.as_str())).count(), a)
        })
        .filter(|(s, _)| *s > 0)
        .collect();
    scored.sort_by_key(|s| std::cmp::Reverse(s.0));
    Ok(scored.into_iter().take(3).map(|(_, a)| a).collect())
}

/// Semantic checks on an action's arguments beyond the JSON schema.
pub fn check_action_args(action: &str, args: &Map<String, Value>) -> Result<(), String> {
    let s = |k: &str| args.get(k).and_then(Value::as_str);
    match action {
        "schedule_meeting" => {
            if let Some(start) = s("start") {
                DateTime::parse_from_rfc3339(start)
                    .map_err(|_| "start must be an RFC 3339 date-time".to_string())?;
            }
            if let Some(tz) = s("time_zone") {
                tz.parse::<chrono_tz::Tz>()
                    .map_err(|_| format!("{tz} is not a time zone"))?;
            }
        }
        "send_email" => {
            for to in args
                .get("to")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let addr = to.as_str().unwrap_or("");
                cscx_domain::validate::email(addr).map_err(|m| format!("to: {addr} {m}"))?;
            }
            if s("subject").is_some_and(|v| v.contains(['\r', '\n'])) {
                return Err("subject must be one line".into());
            }
        }
        "change_owner" => {
            cscx_domain::validate::email(s("owner_email").unwrap_or(""))
                .map_err(|m| format!("owner_email {m}"))?;
        }
        "create_task" => {
            if let Some(d) = s("due") {
                d.parse::<NaiveDate>()
                    .map_err(|_| "due must be a date (YYYY-MM-DD)".to_string())?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// What the approver sees, plus the arguments completed from data (recipients, drafts, times).
pub struct PreparedAction {
    pub args: Map<String, Value>,
    pub preview: Value,
    pub customer_id: Option<Id>,
}

/// Completes an action from the data and drafts its content.
pub async fn prepare_action(
    app: &App,
    who: &Principal,
    time_zone: chrono_tz::Tz,
    action: &str,
    mut args: Map<String, Value>,
) -> CoreResult<Result<PreparedAction, String>> {
    let customer = match args.get("customer_id") {
        Some(_) => match load_customer(app, &args).await? {
            Ok(c) => Some(c),
            Err(e) => return Ok(Err(e)),
        },
        None => None,
    };
    let people: Vec<Stakeholder> = match &customer {
        Some(cu) => {
            let mut c = app.db.conn().await?;
            cscx_store::stakeholders::of_customer(c.c(), cu.id).await?
        }
        None => Vec::new(),
    };
    let name = customer
        .as_ref()
        .map(|c| c.name.clone())
        .unwrap_or_default();
    // Names become addresses through the customer's stakeholders; unknown names are kept out
    // and said so in the preview.
    let resolve = |wanted: Option<&Value>| -> (Vec<String>, Vec<String>) {
        let mut found = Vec::new();
        let mut unknown = Vec::new();
        for w in wanted.and_then(Value::as_array).into_iter().flatten() {
            let w = w.as_str().unwrap_or("").trim();
            if w.contains('@') {
                found.push(w.to_string());
            } else if let Some(p) = people.iter().find(|p| {
                p.name.eq_ignore_ascii_case(w)
                    || p.name.to_lowercase().starts_with(&w.to_lowercase())
            }) {
                match &p.email {
                    Some(e) => found.push(e.clone()),
                    None => unknown.push(format!("{} (no e-mail on file)", p.name)),
                }
            } else if !w.is_empty() {
                unknown.push(w.to_string());
            }
        }
        (found, unknown)
    };
    let primary = people
        .iter()
        .find(|p| p.is_primary && p.email.is_some())
        .or_else(|| people.iter().find(|p| p.email.is_some()));
    let sender = who.name.clone().unwrap_or_else(|| who.email.clone());

    let preview = match action {
        "send_email" => {
            let (mut to, unknown) = resolve(args.get("to"));
            if to.is_empty() {
                if let Some(p) = primary {
                    to.push(p.email.clone().unwrap_or_default());
                }
            }
            if to.is_empty() {
                return Ok(Err(format!(
                    "{name} has no contact with an e-mail address; add a stakeholder or name the recipient"
                )));
            }
            let first_name = people
                .iter()
                .find(|p| p.email.as_deref() == to.first().map(String::as_str))
                .map(|p| p.name.split_whitespace().next().unwrap_or("").to_string())
                .unwrap_or_else(|| "there".into());
            let purpose = args
                .get("purpose")
                .and_then(Value::as_str)
                .unwrap_or("check_in")
                .to_string();
            let (subject, body) = draft_email(&purpose, &first_name, customer.as_ref(), &sender);
            args.insert("to".into(), json!(to));
            args.entry("subject").or_insert(json!(subject));
            args.entry("body").or_insert(json!(body));
            json!({
                "summary": format!("E-mail {name}: {}", args["subject"].as_str().unwrap_or("")),
                "to": to, "unresolved_recipients": unknown, "from": who.email,
                "subject": args["subject"], "body": args["body"],
            })
        }
        "schedule_meeting" => {
            let (mut attendees, unknown) = resolve(args.get("attendees"));
            if attendees.is_empty() {
                if let Some(p) = primary {
                    attendees.push(p.email.clone().unwrap_or_default());
                }
            }
            let tz_name = args
                .get("time_zone")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| time_zone.name().to_string());
            let tz: chrono_tz::Tz = tz_name.parse().unwrap_or(time_zone);
            let start = match args.get("start").and_then(Value::as_str) {
                Some(s) => match DateTime::parse_from_rfc3339(s) {
                    Ok(d) => d.with_timezone(&Utc),
                    Err(_) => return Ok(Err("start must be an RFC 3339 date-time".into())),
                },
                None => next_business_morning(app.clock.now(), tz),
            };
            if start < app.clock.now() {
                return Ok(Err(
                    "the meeting would start in the past; pick a later time".into(),
                ));
            }
            let minutes = args
                .get("duration_minutes")
                .and_then(Value::as_i64)
                .unwrap_or(30);
            let title = args
                .get("title")
                .and_then(Value::as_str)
                .unwrap_or("Check-in")
                .to_string();
            let title = if title.contains(&name) {
                title
            } else {
                format!("{title}: {name}")
            };
            args.insert("title".into(), json!(title));
            args.insert("start".into(), json!(start.to_rfc3339()));
            args.insert("duration_minutes".into(), json!(minutes));
            args.insert("attendees".into(), json!(attendees));
            args.insert("time_zone".into(), json!(tz.name()));
            let local = start.with_timezone(&tz);
            json!({
                "summary": format!("Meeting \"{title}\" on {}", local.format("%a %e %b %Y, %H:%M %Z")),
                "title": title, "start_utc": start.to_rfc3339(),
                "start_local": local.format("%A %e %B %Y, %H:%M").to_string(), "time_zone": tz.name(),
                "duration_minutes": minutes, "attendees": attendees, "unresolved_attendees": unknown,
                "organizer": who.email,
            })
        }
        "create_save_play" => {
            let cu = customer.as_ref().expect("save plays name a customer");
            let issue = args
                .get("primary_issue")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| "Health decline".into());
            args.insert("primary_issue".into(), json!(issue));
            let plan = json!([
                format!(
                    "Diagnose: review {issue} with the account team and the usage data this week"
                ),
                format!(
                    "Reach the executive sponsor at {} within 5 business days",
                    cu.name
                ),
                "Agree a recovery plan with success criteria and dates".to_string(),
                "Review progress weekly until health is back above 60".to_string(),
            ]);
            json!({
                "summary": format!("Save play for {}: {issue}", cu.name),
                "customer": cu.name, "primary_issue": issue, "risk_level": args.get("risk_level"),
                "arr_at_risk": cu.arr, "health_score": cu.health_score, "renewal_date": cu.renewal_date,
                "action_plan": plan, "deadline_days": 30,
            })
        }
        "escalate" => json!({
            "summary": format!("Escalate {name} ({})", args.get("severity").and_then(Value::as_str).unwrap_or("high")),
            "customer": name, "reason": args.get("reason"), "severity": args.get("severity"),
            "arr": customer.as_ref().and_then(|c| c.arr), "health_score": customer.as_ref().and_then(|c| c.health_score),
        }),
        "create_risk_signal" => json!({
            "summary": format!("Risk signal on {name}: {}", args.get("signal_type").and_then(Value::as_str).unwrap_or("manual")),
            "customer": name, "signal_type": args.get("signal_type"), "severity": args.get("severity"),
            "description": args.get("description"),
        }),
        "change_stage" => json!({
            "summary": format!("Move {name} from {} to {}", customer.as_ref().map(|c| c.stage.as_str()).unwrap_or("?"),
                args.get("stage").and_then(Value::as_str).unwrap_or("?")),
            "customer": name, "from": customer.as_ref().map(|c| c.stage.clone()), "to": args.get("stage"),
        }),
        "change_owner" => json!({
            "summary": format!("Assign {name} to {}", args.get("owner_email").and_then(Value::as_str).unwrap_or("?")),
            "customer": name, "to": args.get("owner_email"),
        }),
        "create_task" => json!({
            "summary": format!("Task: {}", args.get("title").and_then(Value::as_str).unwrap_or("")),
            "title": args.get("title"), "due": args.get("due"), "customer": customer.as_ref().map(|c| c.name.clone()),
        }),
        other => return Ok(Err(format!("{other} is not an action"))),
    };
    if let Err(e) = check_action_args(action, &args) {
        return Ok(Err(e));
    }
    Ok(Ok(PreparedAction {
        args,
        preview,
        customer_id: customer.map(|c| c.id),
    }))
}

/// 10:00 on the next working day in the user's zone.
fn next_business_morning(now: DateTime<Utc>, tz: chrono_tz::Tz) -> DateTime<Utc> {
    use chrono::{Datelike, TimeZone, Weekday};
    let mut day = now.with_timezone(&tz).date_naive() + Duration::days(1);
    while matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
        day += Duration::days(1);
    }
    tz.from_local_datetime(&day.and_hms_opt(10, 0, 0).expect("valid time"))
        .earliest()
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or(now + Duration::days(1))
}

/// Templated drafts from real account data.
fn draft_email(
    purpose: &str,
    first_name: &str,
    c: Option<&Customer>,
    sender: &str,
) -> (String, String) {
    let name = c.map(|c| c.name.as_str()).unwrap_or("your team");
    let renewal = c
        .and_then(|c| c.renewal_date)
        .map(|d| d.format("%e %B %Y").to_string().trim().to_string());
    let (subject, middle) = match purpose {
        "thank_you" => (
            format!("Thank you from all of us, {name}"),
            "Thank you for the time and the candid feedback. It helps us focus on what matters most to your team, and I will follow up on each point we discussed.".to_string(),
        ),
        "renewal" => (
            format!("{name} renewal{}", renewal.as_ref().map(|d| format!(" on {d}")).unwrap_or_default()),
            format!(
                "Your subscription renews{}. I would like to review the value you have seen this year and plan the next one together. Could we find 30 minutes in the next two weeks?",
                renewal.as_ref().map(|d| format!(" on {d}")).unwrap_or_default()
            ),
        ),
        "qbr_recap" => (
            format!("{name} quarterly business review: recap and next steps"),
            "Thank you for the business review. Attached are the goals we agreed for next quarter; I will check in on progress in four weeks.".to_string(),
        ),
        "onboarding" => (
            format!("Welcome to onboarding, {name}"),
            "Welcome aboard! Over the next weeks we will get your team set up and to first value. I will send a kickoff invitation with the plan shortly.".to_string(),
        ),
        "adoption" => (
            format!("Getting more from the product at {name}"),
            "I noticed your team's activity has changed recently. I would be glad to run a short session on the features other teams find most useful. Would next week work?".to_string(),
        ),
        "follow_up" => (
            format!("Following up: {name}"),
            "Following up on our conversation: here are the next steps we agreed. Let me know if I missed anything.".to_string(),
        ),
        _ => (
            format!("Checking in: {name}"),
            "I wanted to check in and see how things are going. Is there anything we can help with this month?".to_string(),
        ),
    };
    (
        subject,
        format!("Hi {first_name},\n\n{middle}\n\nBest regards,\n{sender}\n"),
    )
}

fn header_safe(s: &str) -> String {
    s.chars().filter(|c| *c != '\r' && *c != '\n').collect()
}

/// An RFC 5322 message for the outbox. The Message-ID carries the approval id so a mail server
/// can recognise a resend.
pub fn render_eml(a: &Approval, args: &Map<String, Value>, now: DateTime<Utc>) -> String {
    let to: Vec<String> = args
        .get("to")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(header_safe))
        .collect();
    let subject = header_safe(args.get("subject").and_then(Value::as_str).unwrap_or(""));
    let body = args
        .get("body")
        .and_then(Value::as_str)
        .unwrap_or("")
        .replace("\r\n", "\n")
        .replace('\n', "\r\n");
    let from = header_safe(
        a.preview
            .as_ref()
            .and_then(|p| p["from"].as_str())
            .unwrap_or("cscx@localhost"),
    );
    format!(
        "From: {from}\r\nTo: {}\r\nSubject: {subject}\r\nDate: {}\r\nMessage-ID: <{}@cscx>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}",
        to.join(", "),
        now.to_rfc2822(),
        a.id
    )
}

fn ics_text(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace(['\r', '\n'], " ")
}

/// An iCalendar invitation (RFC 5545) with a UID fixed by the approval.
pub fn render_ics(a: &Approval, args: &Map<String, Value>, now: DateTime<Utc>) -> String {
    let fmt = |d: DateTime<Utc>| d.format("%Y%m%dT%H%M%SZ").to_string();
    let start = args
        .get("start")
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or(now);
    let minutes = args
        .get("duration_minutes")
        .and_then(Value::as_i64)
        .unwrap_or(30);
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_string(),
        "VERSION:2.0".into(),
        "PRODID:-//CSCX//Agents//EN".into(),
        "METHOD:REQUEST".into(),
        "BEGIN:VEVENT".into(),
        format!("UID:{}@cscx", a.id),
        format!("DTSTAMP:{}", fmt(now)),
        format!("DTSTART:{}", fmt(start)),
        format!("DTEND:{}", fmt(start + Duration::minutes(minutes))),
        format!(
            "SUMMARY:{}",
            ics_text(
                args.get("title")
                    .and_then(Value::as_str)
                    .unwrap_or("Meeting")
            )
        ),
    ];
    if let Some(org) = a.preview.as_ref().and_then(|p| p["organizer"].as_str()) {
        lines.push(format!("ORGANIZER:mailto:{}", ics_text(org)));
    }
    for at in args
        .get("attendees")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(e) = at.as_str() {
            lines.push(format!(
                "ATTENDEE;ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:{}",
                ics_text(e)
            ));
        }
    }
    lines.extend([
        "END:VEVENT".to_string(),
        "END:VCALENDAR".to_string(),
        String::new(),
    ]);
    lines.join("\r\n")
}
