//! The builtin engine as a [`Provider`]: it plans a tool call for the user's request with the
//! rule-based planner, and turns tool results into answers with real numbers. No model, no
//! network; deterministic, so it is what tests and CI run.

use futures::future::BoxFuture;
use serde_json::Value;

use cscx_ai::agent::nlu::{Context, KnownCustomer};
use cscx_ai::llm::{
    ChatRequest, ChatResponse, EventSink, LlmError, Message, Provider, Role, StreamEvent, ToolCall,
};

pub struct Builtin;

/// The planner's context from the request's `context` field.
pub fn context_of(v: &Value) -> Context {
    let customers: Vec<KnownCustomer> =
        serde_json::from_value(v["customers"].clone()).unwrap_or_default();
    Context {
        session_customer: serde_json::from_value(v["session_customer"].clone()).ok(),
        customers,
        now: v["now"]
            .as_str()
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            .map(|d| d.with_timezone(&chrono::Utc))
            .unwrap_or_else(chrono::Utc::now),
        time_zone: v["time_zone"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or(chrono_tz::UTC),
    }
}

/// Sends `text` as a few token events, as a model would stream it.
fn stream_text(text: &str, on_event: EventSink<'_>) {
    let mut chunk = String::new();
    for word in text.split_inclusive(' ') {
        chunk.push_str(word);
        if chunk.len() > 24 {
            on_event(StreamEvent::Token(std::mem::take(&mut chunk)));
        }
    }
    if !chunk.is_empty() {
        on_event(StreamEvent::Token(chunk));
    }
}

impl Provider for Builtin {
    fn name(&self) -> String {
        "builtin".into()
    }

    fn chat<'a>(
        &'a self,
        req: &'a ChatRequest,
        on_event: EventSink<'a>,
    ) -> BoxFuture<'a, Result<ChatResponse, LlmError>> {
        Box::pin(async move {
            let Some(last) = req.messages.last() else {
                return Err(LlmError::Protocol("no messages".into()));
            };
            let mut out = ChatResponse {
                stop_reason: "end_turn".into(),
                ..Default::default()
            };
            match last.role {
                Role::User => {
                    let plan = cscx_ai::agent::plan(&last.content, &context_of(&req.context));
                    if let Some(question) = plan.clarify {
                        out.content = question;
                    } else if let Some(tool) = plan.tool {
                        let call = ToolCall {
                            id: format!("call_{}", req.messages.len()),
                            name: tool,
                            arguments: plan.args,
                        };
                        on_event(StreamEvent::ToolCall(call.clone()));
                        out.tool_calls.push(call);
                        out.stop_reason = "tool_use".into();
                        return Ok(out);
                    } else {
                        out.content = "How can I help with your accounts?".into();
                    }
                }
                Role::Tool => {
                    out.content = compose_after_tools(&req.messages);
                }
                Role::Assistant => out.content = last.content.clone(),
            }
            stream_text(&out.content, on_event);
            Ok(out)
        })
    }
}

/// The answer after the latest tool results: one paragraph per tool call of the last step.
fn compose_after_tools(messages: &[Message]) -> String {
    let Some(calls_at) = messages
        .iter()
        .rposition(|m| m.role == Role::Assistant && !m.tool_calls.is_empty())
    else {
        return "Done.".into();
    };
    let calls = &messages[calls_at].tool_calls;
    let mut parts = Vec::new();
    for m in &messages[calls_at + 1..] {
        let Some(call) = calls
            .iter()
            .find(|c| Some(&c.id) == m.tool_call_id.as_ref())
        else {
            continue;
        };
        let result: Value = serde_json::from_str(&m.content).unwrap_or(Value::Null);
        parts.push(super::compose::answer(&call.name, &result));
    }
    if parts.is_empty() {
        "Done.".into()
    } else {
        parts.join("\n\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn plans_a_tool_call_then_answers_from_its_result() {
        let context = json!({
            "customers": [{"id": "c-1", "name": "Acme Corp"}],
            "now": "2026-11-25T15:00:00Z", "time_zone": "America/New_York",
        });
        let mut req = ChatRequest {
            messages: vec![Message::user("why did Acme's health drop?")],
            context,
            ..Default::default()
        };
        let sink = |_e: StreamEvent| {};
        let r = Builtin.chat(&req, &sink).await.unwrap();
        assert_eq!(r.tool_calls[0].name, "health_explain");
        assert_eq!(r.tool_calls[0].arguments["customer_id"], "c-1");
        req.messages.push(Message {
            role: Role::Assistant,
            content: String::new(),
            tool_calls: r.tool_calls.clone(),
            tool_call_id: None,
        });
        let result = json!({"customer": {"name": "Acme Corp"}, "score": 52, "grade": "yellow",
            "components": [{"name": "usage", "score": 40, "weight": 0.4, "reason": "weekly active users down 40%"}],
            "changes": ["usage fell from 78 to 52: weekly active users down 40%"]});
        req.messages.push(Message::tool_result(
            &r.tool_calls[0].id,
            result.to_string(),
        ));
        let tokens = std::sync::Mutex::new(String::new());
        let sink = |e: StreamEvent| {
            if let StreamEvent::Token(t) = e {
                tokens.lock().unwrap().push_str(&t);
            }
        };
        let answer = Builtin.chat(&req, &sink).await.unwrap();
        assert!(answer.content.contains("52"), "{}", answer.content);
        assert!(answer.content.contains("usage fell from 78 to 52"));
        assert_eq!(*tokens.lock().unwrap(), answer.content, "streamed in full");
    }
}
