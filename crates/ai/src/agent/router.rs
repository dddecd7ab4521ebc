//! The builtin planner: ordered intent rules (actions before look-ups, specific before general)
//! over the request, then argument filling from recognised entities.

use regex::Regex;
use serde_json::{json, Map, Value};
use std::sync::LazyLock;

use super::nlu::{self, Context};
use super::Plan;

fn re(p: &str) -> Regex {
    Regex::new(p).expect("valid router regex")
}

struct Rule {
    pattern: Regex,
    agent: &'static str,
    tool: &'static str,
}

static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    let r = |pattern: &str, agent, tool| Rule {
        pattern: re(pattern),
        agent,
        tool,
    };
    vec![
        // Questions about past meetings first: "when did we last meet with" is not a booking.
        r(
            r"(?i)\b(last|previous|recent|past|upcoming)\b.{0,30}\b(meetings?|calls?)\b|\bmeeting\s+(history|notes)\b|\bwhen\s+did\s+we\s+(?:last\s+)?(?:meet|talk|speak)\b",
            "meetings",
            "meeting_history",
        ),
        // Actions.
        r(
            r"(?i)\b(schedule|book|set\s+up|arrange|organi[sz]e|put)\b.{0,60}\b(meeting|call|sync|qbr|kick-?off|check-?in|review|session|demo|workshop)\b|\bmeet\s+with\b|\bsend\b.{0,30}\b(invite|invitation)\b|\bline\s+up\b.{0,40}\b(meeting|call|sync|qbr|session)\b|\bget\b.{0,40}\bon\s+the\s+(books|calendar)\b|\b(want|need|like)\s+to\s+meet\b|\bmeet\b.{0,30}\bteam\b",
            "meetings",
            "schedule_meeting",
        ),
        r(
            r"(?i)\b(save[\s-]?play|retention\s+plan|save\s+(?:plan|the\s+account|them))\b",
            "risk",
            "create_save_play",
        ),
        r(r"(?i)\bescalat\w*\b", "risk", "escalate"),
        r(
            r"(?i)\b(flag|raise|log|record|note)\b.{0,40}\b(risk|signal|red\s+flag)\b|\b(create|add|open)\s+(?:a|an|one|new)\b.{0,30}\b(risk|signal|red\s+flag)\b",
            "risk",
            "create_risk_signal",
        ),
        r(
            r"(?i)\b(send|draft|write|compose|prepare)\b.{0,50}\b(e-?mail|note|message|follow[\s-]?up|thank[\s-]you|reply)\b|^\s*e-?mail\b|\be-?mail\s+(?:the|their|to)\b|\b(shoot|fire\s+off|drop)\b.{0,40}\be-?mail\b|\boutreach\b|\breach\s+out\b",
            "communications",
            "send_email",
        ),
        r(
            r"(?i)\b(move|change|set|mark|update|switch)\b.{0,50}\b(stage|lifecycle|to\s+(?:onboarding|active|at[\s_-]?risk|churned|prospect)|as\s+(?:onboarding|active|at[\s_-]?risk|churned|prospect))\b|\b(?:be|is|now)\s+(?:in\s+)?(?:the\s+)?(?:onboarding|active|at[\s_-]?risk|churned|prospect)\s+stage\b",
            "orchestrator",
            "change_stage",
        ),
        r(
            r"(?i)\b(reassign|assign|transfer|hand\s*(?:over|off))\b.{0,60}\b(to|csm|owner)\b|\bchange\s+(?:the\s+)?(?:owner|csm)\b",
            "orchestrator",
            "change_owner",
        ),
        r(
            r"(?i)\b(remind\s+me|create\s+a\s+task|add\s+a\s+task|to-?do|task\s+to|make\s+a\s+note\s+to)\b",
            "orchestrator",
            "create_task",
        ),
        // Look-ups.
        r(
            r"(?i)\b(how\s+do\s+i|how\s+to|how\s+should\s+i|what(?:'s|\s+is)\s+(?:the|our)\s+(?:process|policy|playbook|best\s+practice)|best\s+practices?|playbook\s+for|guide\s+(?:to|for)|documentation)\b",
            "knowledge",
            "search_knowledge",
        ),
        r(
            r"(?i)\b(renew(?:al|als|ing|s)?)\b.{0,80}\b(next|within|coming|upcoming|this|due|soon|quarter|month|days?)\b|\b(upcoming|due)\s+renewals?\b|\bwho\s+renews\b",
            "renewal",
            "renewals_due",
        ),
        r(
            r"(?i)\b(risk\s+signals?|warning\s+signs?)\b",
            "risk",
            "risk_signals",
        ),
        r(
            r"(?i)\b(which|list|show|how\s+many|count|find|give\s+me|what)\b.{0,40}\b(customers|accounts|clients|portfolio)\b|\bmy\s+(?:book|portfolio|accounts)\b|\btotal\s+arr\b",
            "analytics",
            "portfolio_query",
        ),
        r(
            r"(?i)\b(qbr|quarterly\s+business\s+review|account\s+plan|executive\s+(?:brief\w*|summary)|exec\s+(?:brief\w*|summary)|briefing|business\s+review)\b",
            "strategic",
            "customer_overview",
        ),
        r(
            r"(?i)\bhealth(?:y|iness)?\b|\bscore\b|\bwhy\b.{0,40}\b(red|yellow|green|drop\w*|fell|fall\w*|declin\w*|down)\b",
            "risk",
            "health_explain",
        ),
        r(
            r"(?i)\b(usage|adoption|active\s+users|dau|wau|mau|logins?|logging\s+in|log\s+in|features?|engagement|using\s+the\s+product|(?:people|users)\s+(?:use|using)|how\s+many\s+(?:people|users))\b",
            "adoption",
            "usage_trend",
        ),
        r(
            r"(?i)\b(risks?|at[\s-]risk|churn\w*|red\s+flags?|signals?|warning\s+signs?)\b",
            "risk",
            "risk_signals",
        ),
        r(
            r"(?i)\b(contracts?|entitlements?|licen[cs]es?|seats|terms|order\s+form|renewal\s+date|when\s+(?:does|do)\b.{0,30}\brenew)\b",
            "renewal",
            "contracts_entitlements",
        ),
        r(
            r"(?i)\b(stakeholders?|contacts?|champions?|sponsors?|decision[\s-]makers?|who\s+(?:is|are)\s+(?:the|our|their))\b",
            "strategic",
            "stakeholders",
        ),
        r(r"(?i)\bonboard\w*\b", "onboarding", "customer_overview"),
        r(
            r"(?i)\b(tell\s+me\s+about|overview|summary|summari[sz]e|360|status|how\s+(?:is|are)\b.{0,40}\bdoing|what(?:'s|\s+is)\s+going\s+on|update\s+on|brief\s+me)\b",
            "orchestrator",
            "customer_overview",
        ),
    ]
});

/// Tools that need a customer: without one, the planner asks which.
fn needs_customer(tool: &str) -> bool {
    super::tool(tool).is_some_and(|t| {
        t.parameters["required"]
            .as_array()
            .is_some_and(|r| r.iter().any(|v| v == "customer_id"))
    })
}

/// Decide the agent, tool and arguments for a request.
pub fn plan(request: &str, ctx: &Context) -> Plan {
    let customer = nlu::find_customer(request, ctx);
    // Intent comes from the words around the name: "Umbrella Health" is not about health.
    let intent_text = match &customer {
        Some(c) => nlu::without_name(request, &c.name),
        None => request.to_string(),
    };
    let Some(rule) = RULES.iter().find(|r| r.pattern.is_match(&intent_text)) else {
        // A bare customer name ("Acme?") is a request for its overview.
        if let Some(c) = &customer {
            let mut args = Map::new();
            args.insert("customer_id".into(), json!(c.id));
            return Plan {
                agent: "orchestrator".into(),
                tool: Some("customer_overview".into()),
                args,
                clarify: None,
            };
        }
        return Plan {
            agent: "orchestrator".into(),
            tool: None,
            args: Map::new(),
            clarify: Some(
                "I can look up an account (health, usage, risks, contracts, stakeholders), list renewals or customers by health, stage or ARR, and draft e-mails, meetings, save plays and escalations for your approval. Which account or question?".into(),
            ),
        };
    };
    let tool = rule.tool;
    let mut args = Map::new();
    if let Some(c) = &customer {
        if super::tool(tool)
            .is_some_and(|t| t.parameters["properties"].get("customer_id").is_some())
        {
            args.insert("customer_id".into(), json!(c.id));
        }
    }
    fill_args(tool, request, ctx, customer.as_ref(), &mut args);
    let clarify = (needs_customer(tool) && customer.is_none()).then(|| {
        "Which customer do you mean? Name the account (or open the chat from its page).".to_string()
    });
    Plan {
        agent: rule.agent.into(),
        tool: Some(tool.into()),
        args,
        clarify,
    }
}

fn fill_args(
    tool: &str,
    text: &str,
    ctx: &Context,
    customer: Option<&nlu::KnownCustomer>,
    args: &mut Map<String, Value>,
) {
    let lower = text.to_ascii_lowercase();
    match tool {
        "schedule_meeting" => {
            if let Some(start) = nlu::find_datetime(text, ctx) {
                args.insert("start".into(), json!(start.to_rfc3339()));
            }
            args.insert(
                "duration_minutes".into(),
                json!(
                    nlu::find_duration_minutes(text).unwrap_or(if lower.contains("qbr") {
                        60
                    } else {
                        30
                    })
                ),
            );
            let title = if lower.contains("qbr") || lower.contains("business review") {
                "Quarterly business review"
            } else if lower.contains("kickoff") || lower.contains("kick-off") {
                "Kickoff"
            } else if lower.contains("renewal") {
                "Renewal discussion"
            } else if lower.contains("demo") {
                "Product demo"
            } else if lower.contains("training") || lower.contains("workshop") {
                "Training session"
            } else {
                "Check-in"
            };
            args.insert("title".into(), json!(title));
            let mut attendees: Vec<String> = nlu::find_people(text, customer);
            if let Some(e) = nlu::find_email(text) {
                attendees.push(e);
            }
            if !attendees.is_empty() {
                args.insert("attendees".into(), json!(attendees));
            }
            args.insert("time_zone".into(), json!(ctx.time_zone.name()));
        }
        "send_email" => {
            let purpose = if lower.contains("thank") {
                "thank_you"
            } else if lower.contains("renewal") || lower.contains("renew") {
                "renewal"
            } else if lower.contains("qbr") || lower.contains("recap") {
                "qbr_recap"
            } else if lower.contains("onboard") || lower.contains("welcome") {
                "onboarding"
            } else if lower.contains("usage")
                || lower.contains("adoption")
                || lower.contains("login")
            {
                "adoption"
            } else if lower.contains("follow") {
                "follow_up"
            } else {
                "check_in"
            };
            args.insert("purpose".into(), json!(purpose));
            let mut to: Vec<String> = Vec::new();
            if let Some(e) = nlu::find_email(text) {
                to.push(e);
            }
            to.extend(nlu::find_people(text, customer));
            if !to.is_empty() {
                args.insert("to".into(), json!(to));
            }
        }
        "create_save_play" => {
            if let Some(issue) = issue_of(&lower) {
                args.insert("primary_issue".into(), json!(issue));
            }
            if let Some(s) = nlu::find_severity(text) {
                args.insert("risk_level".into(), json!(s));
            }
        }
        "escalate" => {
            args.insert(
                "severity".into(),
                json!(nlu::find_severity(text).unwrap_or("high")),
            );
            if let Some(issue) = issue_of(&lower) {
                args.insert("reason".into(), json!(issue));
            }
        }
        "create_risk_signal" => {
            let signal = if lower.contains("champion") || lower.contains("left") {
                "champion_lost"
            } else if lower.contains("usage") || lower.contains("adoption") {
                "usage_drop"
            } else if lower.contains("budget") || lower.contains("pric") || lower.contains("cost") {
                "budget_concern"
            } else if lower.contains("competitor") || lower.contains("evaluat") {
                "competitor_threat"
            } else if lower.contains("support") || lower.contains("ticket") || lower.contains("bug")
            {
                "support_escalation"
            } else {
                "manual"
            };
            args.insert("signal_type".into(), json!(signal));
            args.insert(
                "severity".into(),
                json!(nlu::find_severity(text).unwrap_or("medium")),
            );
            args.insert("description".into(), json!(text.trim()));
        }
        "change_stage" => {
            // The stage after "to"/"as" is the target, not one mentioned elsewhere.
            let target = lower
                .rfind(" to ")
                .or_else(|| lower.rfind(" as "))
                .map(|i| &text[i..])
                .and_then(nlu::find_stage)
                .or_else(|| nlu::find_stage(text));
            if let Some(s) = target {
                args.insert("stage".into(), json!(s));
            }
        }
        "change_owner" => {
            if let Some(e) = nlu::find_email(text) {
                args.insert("owner_email".into(), json!(e));
            }
        }
        "create_task" => {
            static TITLE: LazyLock<Regex> = LazyLock::new(|| {
                re(
                    r"(?i)(?:remind\s+me\s+to|task\s+to|to-?do:?|make\s+a\s+note\s+to|create\s+a\s+task\s+(?:to|for)?|add\s+a\s+task\s+(?:to|for)?)\s*(?P<t>.+)",
                )
            });
            let title = TITLE
                .captures(text)
                .map(|c| c["t"].trim().trim_end_matches(['.', '?', '!']).to_string())
                .unwrap_or_else(|| text.trim().to_string());
            args.insert("title".into(), json!(title));
            let local_today = ctx.now.with_timezone(&ctx.time_zone).date_naive();
            if let Some(d) = nlu::find_date(text, local_today) {
                args.insert("due".into(), json!(d.to_string()));
            }
        }
        "renewals_due" => {
            args.insert(
                "within_days".into(),
                json!(nlu::find_window_days(text).unwrap_or(90)),
            );
            if let Some(h) = nlu::find_health_max(text) {
                args.insert("max_health".into(), json!(h));
            } else if lower.contains("at risk")
                || lower.contains("at-risk")
                || lower.contains("red")
            {
                args.insert("max_health".into(), json!(50));
            }
        }
        "portfolio_query" => {
            if let Some(h) = nlu::find_health_max(text) {
                args.insert("max_health".into(), json!(h));
            } else if lower.contains(" red") || lower.contains("unhealthy") {
                args.insert("max_health".into(), json!(49));
            }
            if lower.contains("green") || lower.contains("healthy") && !lower.contains("unhealthy")
            {
                args.insert("min_health".into(), json!(75));
            }
            if let Some(s) = nlu::find_stage(text) {
                args.insert("stage".into(), json!(s));
            }
            for seg in ["enterprise", "mid-market", "smb", "strategic"] {
                if lower.contains(seg) {
                    args.insert("segment".into(), json!(seg));
                }
            }
            if lower.contains("arr") || lower.contains('$') {
                if let Some(a) = nlu::find_amount(text) {
                    let v = if a.fract() == 0.0 {
                        json!(a as i64)
                    } else {
                        json!(a)
                    };
                    args.insert("min_arr".into(), v);
                }
            }
            if lower.contains("renew") {
                args.insert(
                    "renewal_within_days".into(),
                    json!(nlu::find_window_days(text).unwrap_or(90)),
                );
            }
            if lower.contains("my ") || lower.starts_with("my") {
                args.insert("mine".into(), json!(true));
            }
        }
        "usage_trend" => {
            if let Some(d) = nlu::find_window_days(text) {
                args.insert("days".into(), json!(d));
            }
        }
        "risk_signals" => {
            if let Some(s) = nlu::find_severity(text) {
                args.insert("severity".into(), json!(s));
            }
        }
        "search_knowledge" => {
            args.insert("query".into(), json!(text.trim()));
        }
        _ => {}
    }
}

/// The issue behind a save play or escalation, from the words used.
fn issue_of(lower: &str) -> Option<&'static str> {
    [
        ("usage", "Usage decline"),
        ("adoption", "Low adoption"),
        ("champion", "Champion lost"),
        ("budget", "Budget pressure"),
        ("price", "Pricing concern"),
        ("competitor", "Competitive threat"),
        ("support", "Support experience"),
        ("outage", "Service outage"),
        ("bug", "Product defects"),
        ("renewal", "Renewal at risk"),
        ("health", "Health decline"),
    ]
    .iter()
    .find(|(k, _)| lower.contains(k))
    .map(|(_, v)| *v)
}
