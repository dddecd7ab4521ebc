//! Agents and tools as data, and the builtin planner that routes a CSM's request to an agent and
//! a tool with arguments — no language model needed.
//!
//! `agents.json` declares each agent (role, instructions, allowed tools) and `tools.json` each
//! tool (kind `read` or `action`, JSON schema). The core crate executes tools; action tools never
//! run directly, they become approvals.

pub mod eval;
pub mod nlu;
mod router;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::sync::LazyLock;

pub use router::plan;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AgentSpec {
    pub name: String,
    pub role: String,
    pub instructions: String,
    pub tools: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ToolSpec {
    pub name: String,
    /// `read` tools run at once; `action` tools create an approval.
    pub kind: String,
    pub description: String,
    pub parameters: Value,
}

impl ToolSpec {
    pub fn is_action(&self) -> bool {
        self.kind == "action"
    }
}

static AGENTS: LazyLock<Vec<AgentSpec>> = LazyLock::new(|| {
    serde_json::from_str(include_str!("agents.json")).expect("agents.json is valid")
});
static TOOLS: LazyLock<Vec<ToolSpec>> = LazyLock::new(|| {
    serde_json::from_str(include_str!("tools.json")).expect("tools.json is valid")
});

pub fn agents() -> &'static [AgentSpec] {
    &AGENTS
}

pub fn agent(name: &str) -> Option<&'static AgentSpec> {
    AGENTS.iter().find(|a| a.name == name)
}

pub fn tools() -> &'static [ToolSpec] {
    &TOOLS
}

pub fn tool(name: &str) -> Option<&'static ToolSpec> {
    TOOLS.iter().find(|t| t.name == name)
}

/// What the planner decided: which agent handles the request, and the tool call it makes (or
/// a direct reply when no tool fits).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub agent: String,
    pub tool: Option<String>,
    pub args: Map<String, Value>,
    /// Set when the request cannot be served without more information (e.g. which customer).
    pub clarify: Option<String>,
}

/// Checks arguments against a tool's schema: required fields present, types and enums right.
/// A model's tool call is validated the same way before anything runs.
pub fn validate_args(tool: &ToolSpec, args: &Map<String, Value>) -> Result<(), String> {
    let schema = &tool.parameters;
    for req in schema["required"].as_array().into_iter().flatten() {
        let name = req.as_str().unwrap_or("");
        if args.get(name).is_none_or(Value::is_null) {
            return Err(format!("{} needs `{name}`", tool.name));
        }
    }
    let props = schema["properties"].as_object();
    for (k, v) in args {
        let Some(prop) = props.and_then(|p| p.get(k)) else {
            return Err(format!("{} has no argument `{k}`", tool.name));
        };
        let ok = match prop["type"].as_str() {
            Some("string") => v.is_string(),
            Some("integer") => v.is_i64() || v.is_u64(),
            Some("number") => v.is_number(),
            Some("boolean") => v.is_boolean(),
            Some("array") => v.is_array(),
            _ => true,
        };
        if !ok {
            return Err(format!("{}: `{k}` must be a {}", tool.name, prop["type"]));
        }
        if let Some(allowed) = prop["enum"].as_array() {
            if !allowed.contains(v) {
                return Err(format!(
                    "{}: `{k}` must be one of {}",
                    tool.name, prop["enum"]
                ));
            }
        }
        if let (Some(n), Some(min)) = (v.as_f64(), prop["minimum"].as_f64()) {
            if n < min {
                return Err(format!("{}: `{k}` must be at least {min}", tool.name));
            }
        }
        if let (Some(n), Some(max)) = (v.as_f64(), prop["maximum"].as_f64()) {
            if n > max {
                return Err(format!("{}: `{k}` must be at most {max}", tool.name));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_agent_tool_exists_and_every_tool_has_an_agent() {
        for a in agents() {
            for t in &a.tools {
                assert!(tool(t).is_some(), "{} lists unknown tool {t}", a.name);
            }
        }
        for t in tools() {
            assert!(
                agents().iter().any(|a| a.tools.contains(&t.name)),
                "no agent may use {}",
                t.name
            );
            assert!(t.kind == "read" || t.kind == "action");
        }
    }

    #[test]
    fn arguments_are_checked_against_the_schema() {
        let t = tool("change_stage").unwrap();
        let mut args = Map::new();
        args.insert("customer_id".into(), "c1".into());
        assert!(validate_args(t, &args).unwrap_err().contains("stage"));
        args.insert("stage".into(), "won".into());
        assert!(validate_args(t, &args).unwrap_err().contains("one of"));
        args.insert("stage".into(), "active".into());
        assert!(validate_args(t, &args).is_ok());
        args.insert("colour".into(), "red".into());
        assert!(validate_args(t, &args).is_err());
    }
}
