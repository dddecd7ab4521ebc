//! The routing and tool-choice evaluation: realistic CSM requests with the agent, tool and
//! arguments a good assistant would pick (`eval/agent-requests.jsonl`), run through the builtin
//! planner with a fixed clock (Wednesday 2026-11-25, 10:00 in New York) and a fixed portfolio.

use chrono::{TimeZone, Utc};
use serde_json::{Map, Value};

use super::nlu::{Context, KnownCustomer};
use super::plan;

const REQUESTS: &str = include_str!("../../eval/agent-requests.jsonl");
/// Written after the rules were tuned on `REQUESTS` and never tuned on: the honest figure.
const HOLDOUT: &str = include_str!("../../eval/agent-requests-holdout.jsonl");
const CUSTOMERS: &str = include_str!("../../eval/customers.json");

#[derive(Debug, Clone, serde::Deserialize)]
pub struct Case {
    pub request: String,
    pub session_customer: Option<String>,
    pub agent: String,
    pub tool: Option<String>,
    pub args: Map<String, Value>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Miss {
    pub request: String,
    pub expected: String,
    pub got: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub cases: usize,
    pub agent_correct: usize,
    pub tool_correct: usize,
    /// Tool right and every expected argument equal.
    pub args_correct: usize,
    pub misses: Vec<Miss>,
}

impl Report {
    pub fn routing_accuracy(&self) -> f64 {
        self.agent_correct as f64 / self.cases as f64
    }
    pub fn tool_accuracy(&self) -> f64 {
        self.tool_correct as f64 / self.cases as f64
    }
    pub fn args_accuracy(&self) -> f64 {
        self.args_correct as f64 / self.cases as f64
    }
}

/// `holdout` selects the set the rules were not tuned on.
pub fn cases(holdout: bool) -> Vec<Case> {
    (if holdout { HOLDOUT } else { REQUESTS })
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("valid eval case"))
        .collect()
}

/// The evaluation context; customer ids are their names so expected arguments stay readable.
pub fn context(session_customer: Option<&str>) -> Context {
    let names: Vec<String> = serde_json::from_str(CUSTOMERS).expect("valid customers.json");
    let customers: Vec<KnownCustomer> = names
        .into_iter()
        .map(|n| KnownCustomer {
            id: n.clone(),
            name: n,
        })
        .collect();
    let session = session_customer.and_then(|s| customers.iter().find(|c| c.name == s).cloned());
    Context {
        customers,
        session_customer: session,
        now: Utc.with_ymd_and_hms(2026, 11, 25, 15, 0, 0).unwrap(),
        time_zone: chrono_tz::America::New_York,
    }
}

pub fn run(holdout: bool) -> Report {
    let cases = cases(holdout);
    let mut report = Report {
        cases: cases.len(),
        agent_correct: 0,
        tool_correct: 0,
        args_correct: 0,
        misses: Vec::new(),
    };
    for case in &cases {
        let ctx = context(case.session_customer.as_deref());
        let got = plan(&case.request, &ctx);
        let agent_ok = got.agent == case.agent;
        let tool_ok = got.tool == case.tool;
        let wrong_args: Vec<String> = case
            .args
            .iter()
            .filter(|(k, v)| got.args.get(*k) != Some(*v))
            .map(|(k, v)| format!("{k}={v} (got {})", got.args.get(k).unwrap_or(&Value::Null)))
            .collect();
        report.agent_correct += agent_ok as usize;
        report.tool_correct += tool_ok as usize;
        report.args_correct += (tool_ok && wrong_args.is_empty()) as usize;
        if !(agent_ok && tool_ok && wrong_args.is_empty()) {
            report.misses.push(Miss {
                request: case.request.clone(),
                expected: format!("{} / {:?}", case.agent, case.tool),
                got: format!("{} / {:?} {}", got.agent, got.tool, wrong_args.join(", ")),
            });
        }
    }
    report
}

#[cfg(test)]
mod tests {
    fn show(name: &str, r: &super::Report) {
        for m in &r.misses {
            println!(
                "{name} MISS {:?}\n  expected {}\n  got      {}",
                m.request, m.expected, m.got
            );
        }
        println!(
            "{name}: {} cases: routing {:.3}, tool {:.3}, arguments {:.3}",
            r.cases,
            r.routing_accuracy(),
            r.tool_accuracy(),
            r.args_accuracy()
        );
    }

    /// Floors just under the measured figures: routing or tool choice that gets worse fails CI.
    #[test]
    fn routing_and_tool_choice_stay_above_the_floor() {
        let dev = super::run(false);
        show("development", &dev);
        assert!(dev.cases >= 100);
        assert!(
            dev.routing_accuracy() >= 0.97,
            "routing {:.3}",
            dev.routing_accuracy()
        );
        assert!(
            dev.tool_accuracy() >= 0.97,
            "tool {:.3}",
            dev.tool_accuracy()
        );
        assert!(
            dev.args_accuracy() >= 0.95,
            "arguments {:.3}",
            dev.args_accuracy()
        );
        let holdout = super::run(true);
        show("holdout", &holdout);
        assert!(
            holdout.routing_accuracy() >= 0.9,
            "routing {:.3}",
            holdout.routing_accuracy()
        );
        assert!(
            holdout.tool_accuracy() >= 0.9,
            "tool {:.3}",
            holdout.tool_accuracy()
        );
    }
}
