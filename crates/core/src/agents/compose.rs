//! Answers composed from tool results: the numbers and names the data holds, in short sentences.

use serde_json::Value;

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "—".into(),
        other => other.to_string(),
    }
}

fn money(v: &Value) -> String {
    cscx_domain::money::compact(s(v).parse().unwrap_or_default())
}

fn health(score: &Value, grade: &Value) -> String {
    match score.as_i64() {
        Some(h) => format!("{h} ({})", s(grade)),
        None => "not scored".into(),
    }
}

fn customer_line(c: &Value) -> String {
    let mut parts = vec![format!("**{}**", s(&c["name"]))];
    parts.push(format!(
        "health {}",
        health(&c["health_score"], &c["grade"])
    ));
    if !c["arr"].is_null() {
        parts.push(format!("ARR {}", money(&c["arr"])));
    }
    if !c["renewal_date"].is_null() {
        parts.push(format!("renews {}", s(&c["renewal_date"])));
    }
    parts.join(", ")
}

/// One answer for one tool result.
pub fn answer(tool: &str, r: &Value) -> String {
    if let Some(e) = r.get("error").and_then(Value::as_str) {
        return format!("I could not complete {}: {e}", tool.replace('_', " "));
    }
    if r.get("approval_id").is_some() {
        let summary = r["preview"]["summary"]
            .as_str()
            .unwrap_or("The action")
            .trim_end_matches('.');
        return match r["status"].as_str() {
            Some("executed") => format!("{summary}: done (approved by policy). {}", s(&r["outcome"])),
            Some("failed") => format!("{summary}: approved by policy but failed: {}", s(&r["outcome"])),
            _ => format!(
                "I have prepared this for your approval: {summary}. Nothing happens until someone with the {} role approves it in the approvals inbox.",
                r["required_role"].as_str().unwrap_or("csm")
            ),
        };
    }
    let name = s(&r["customer"]["name"]);
    match tool {
        "customer_overview" => {
            let c = &r["customer"];
            let mut out = format!(
                "{}: stage {}, health {}, ARR {}{}.",
                name,
                s(&c["stage"]),
                health(&c["health_score"], &c["grade"]),
                money(&c["arr"]),
                c["renewal_date"]
                    .as_str()
                    .map(|d| format!(", renews {d}"))
                    .unwrap_or_default()
            );
            let risks = r["open_risks"].as_array().cloned().unwrap_or_default();
            if risks.is_empty() {
                out.push_str(" No open risk signals.");
            } else {
                let list: Vec<String> = risks
                    .iter()
                    .take(3)
                    .map(|x| {
                        format!(
                            "{} ({})",
                            s(&x["signal_type"]).replace('_', " "),
                            s(&x["severity"])
                        )
                    })
                    .collect();
                out.push_str(&format!(
                    " {} open risk signal(s): {}.",
                    risks.len(),
                    list.join(", ")
                ));
            }
            if let Some(u) = r["usage"].as_object() {
                out.push_str(&format!(
                    " Usage: {} daily / {} monthly active users, trend {}, adoption score {}.",
                    s(&u["dau"]),
                    s(&u["mau"]),
                    s(&u["trend"]),
                    s(&u["adoption_score"])
                ));
            }
            match r["stakeholders"]["primary"].as_object() {
                Some(p) => out.push_str(&format!(
                    " Primary contact: {}{}.",
                    s(&p["name"]),
                    p["role"]
                        .as_str()
                        .map(|x| format!(" ({x})"))
                        .unwrap_or_default()
                )),
                None => out.push_str(&format!(
                    " {} stakeholder(s), none marked primary.",
                    s(&r["stakeholders"]["count"])
                )),
            }
            for ch in r["health"]["changes"]
                .as_array()
                .into_iter()
                .flatten()
                .take(2)
            {
                out.push_str(&format!(" Recently: {}.", s(ch)));
            }
            out
        }
        "health_explain" => {
            if r["score"].is_null() {
                return format!("{name} has no health score yet: {}", s(&r["note"]));
            }
            let mut out = format!("{name}'s health is {}.", health(&r["score"], &r["grade"]));
            if let Some(reasons) = r["cap"]["reasons"].as_array() {
                let reasons: Vec<String> = reasons.iter().map(s).collect();
                out.push_str(&format!(
                    " It is capped there (the components made {}) because {}.",
                    s(&r["cap"]["uncapped"]),
                    reasons.join(" and ")
                ));
            }
            let mut comps: Vec<&Value> = r["components"].as_array().into_iter().flatten().collect();
            comps.sort_by_key(|c| c["score"].as_i64().unwrap_or(100));
            for c in comps.iter().take(3) {
                out.push_str(&format!(
                    " {} {}: {}.",
                    s(&c["name"]),
                    s(&c["score"]),
                    s(&c["reason"])
                ));
            }
            let changes: Vec<String> = r["changes"]
                .as_array()
                .into_iter()
                .flatten()
                .map(s)
                .collect();
            if !changes.is_empty() {
                out.push_str(&format!(" What changed: {}.", changes.join("; ")));
            }
            if let Some(note) = r["note"].as_str() {
                out.push_str(&format!(" ({note})"));
            }
            out
        }
        "usage_trend" => {
            let (f, l) = (&r["first"], &r["latest"]);
            if l.is_null() {
                return format!(
                    "{name} has no usage data in the last {} days.",
                    s(&r["days"])
                );
            }
            let mut out = format!(
                "{name} over {} days to {} (the last complete day): weekly active users {} → {}, monthly {} → {}, trend {}, adoption score {}.",
                s(&r["days"]), s(&l["metric_date"]), s(&f["wau"]), s(&l["wau"]), s(&f["mau"]), s(&l["mau"]), s(&l["trend"]), s(&l["adoption_score"])
            );
            let feats: Vec<String> = r["top_features"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|x| format!("{} ({} users)", s(&x["feature"]), s(&x["users"])))
                .collect();
            if !feats.is_empty() {
                out.push_str(&format!(" Top features: {}.", feats.join(", ")));
            }
            out
        }
        "risk_signals" => {
            let signals = r["signals"].as_array().cloned().unwrap_or_default();
            let whose = if r["customer"].is_null() {
                "across the portfolio".to_string()
            } else {
                format!("for {name}")
            };
            if signals.is_empty() {
                return format!("No open risk signals {whose}.");
            }
            let lines: Vec<String> = signals
                .iter()
                .take(8)
                .map(|x| {
                    format!(
                        "- {}{} ({}): {}",
                        if r["customer"].is_null() {
                            format!("{} — ", s(&x["customer"]))
                        } else {
                            String::new()
                        },
                        s(&x["signal_type"]).replace('_', " "),
                        s(&x["severity"]),
                        s(&x["description"])
                    )
                })
                .collect();
            format!(
                "{} open risk signal(s) {whose}:\n{}",
                signals.len(),
                lines.join("\n")
            )
        }
        "contracts_entitlements" => {
            let contracts = r["contracts"].as_array().cloned().unwrap_or_default();
            if contracts.is_empty() {
                return format!("{name} has no contracts on file.");
            }
            let mut out = format!("{name} has {} contract(s).", contracts.len());
            for k in contracts.iter().take(3) {
                out.push_str(&format!(
                    " {}: {} to {}, ARR {}{}.",
                    s(&k["status"]),
                    s(&k["start_date"]),
                    s(&k["end_date"]),
                    money(&k["arr"]),
                    k["contract_term"]
                        .as_str()
                        .map(|t| format!(" ({t})"))
                        .unwrap_or_default()
                ));
            }
            let ents: Vec<String> = r["entitlements"]
                .as_array()
                .into_iter()
                .flatten()
                .take(6)
                .map(|e| {
                    format!(
                        "{} × {}{}",
                        s(&e["quantity"]),
                        s(&e["name"]),
                        e["unit"]
                            .as_str()
                            .map(|u| format!(" ({u})"))
                            .unwrap_or_default()
                    )
                })
                .collect();
            if !ents.is_empty() {
                out.push_str(&format!(" Entitlements: {}.", ents.join(", ")));
            }
            out
        }
        "stakeholders" => {
            let people = r["stakeholders"].as_array().cloned().unwrap_or_default();
            if people.is_empty() {
                return format!("No stakeholders are recorded for {name}.");
            }
            let lines: Vec<String> = people
                .iter()
                .map(|p| {
                    format!(
                        "- {}{}{}{}",
                        s(&p["name"]),
                        p["role"]
                            .as_str()
                            .map(|x| format!(", {x}"))
                            .unwrap_or_default(),
                        if p["is_primary"].as_bool() == Some(true) {
                            " (primary)"
                        } else {
                            ""
                        },
                        p["sentiment"]
                            .as_str()
                            .map(|x| format!(", sentiment {x}"))
                            .unwrap_or_default()
                    )
                })
                .collect();
            format!(
                "{} stakeholder(s) at {name}:\n{}",
                people.len(),
                lines.join("\n")
            )
        }
        "renewals_due" | "portfolio_query" => {
            let count = r["count"].as_i64().unwrap_or(0);
            let head = if tool == "renewals_due" {
                format!(
                    "{count} customer(s) renew in the next {} days{}, {} ARR in total",
                    s(&r["within_days"]),
                    r["filters"]["max_health"]
                        .as_i64()
                        .map(|h| format!(" with health at most {h}"))
                        .unwrap_or_default(),
                    money(&r["total_arr"])
                )
            } else {
                format!(
                    "{count} customer(s) match, {} ARR in total",
                    money(&r["total_arr"])
                )
            };
            let rows: Vec<String> = r["customers"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| format!("- {}", customer_line(c)))
                .collect();
            if rows.is_empty() {
                format!("{head}.")
            } else {
                format!(
                    "{head}{}:\n{}",
                    if count as usize > rows.len() {
                        format!("; the first {}", rows.len())
                    } else {
                        String::new()
                    },
                    rows.join("\n")
                )
            }
        }
        "meeting_history" => {
            let meetings = r["meetings"].as_array().cloned().unwrap_or_default();
            if meetings.is_empty() {
                return format!("No meetings with {name} are recorded.");
            }
            let lines: Vec<String> = meetings
                .iter()
                .map(|m| {
                    format!(
                        "- {} — {} ({})",
                        s(&m["scheduled_at"]),
                        s(&m["title"]),
                        s(&m["status"])
                    )
                })
                .collect();
            format!("Meetings with {name}:\n{}", lines.join("\n"))
        }
        "search_knowledge" => {
            let articles = r["articles"].as_array().cloned().unwrap_or_default();
            if articles.is_empty() {
                return format!(
                    "The knowledge base has nothing on \"{}\" yet.",
                    s(&r["query"])
                );
            }
            let lines: Vec<String> = articles
                .iter()
                .map(|a| format!("- **{}**: {}", s(&a["title"]), s(&a["excerpt"])))
                .collect();
            format!("From the knowledge base:\n{}", lines.join("\n"))
        }
        other => format!("{other} finished."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_capped_score_says_why_it_is_capped() {
        let r = json!({
            "customer": {"name": "Acme"}, "score": 49, "grade": "red",
            "components": [{"name": "usage", "score": 80, "reason": "busy"}],
            "cap": {"uncapped": 72, "limit": 49, "reasons": ["1 critical risk signal open"]},
        });
        let text = answer("health_explain", &r);
        assert!(
            text.contains(
                "capped there (the components made 72) because 1 critical risk signal open"
            ),
            "{text}"
        );
        let mut uncapped = r.clone();
        uncapped["cap"] = Value::Null;
        assert!(!answer("health_explain", &uncapped).contains("capped"));
    }
}
