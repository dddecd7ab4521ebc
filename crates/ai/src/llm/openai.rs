//! OpenAI-compatible chat completions (`POST {base}/chat/completions`, streamed): OpenAI, Azure
//! OpenAI, Ollama, vLLM, llama.cpp server, LM Studio.

use futures::future::BoxFuture;
use serde_json::{json, Value};
use std::collections::BTreeMap;

use super::sse::SseReader;
use super::{
    client, parse_arguments, send_with_retries, ChatRequest, ChatResponse, EventSink, HttpSettings,
    LlmError, Provider, Role, StreamEvent, ToolCall, Usage,
};

pub struct OpenAi {
    settings: HttpSettings,
    http: reqwest::Client,
}

impl OpenAi {
    pub fn new(settings: HttpSettings) -> Self {
        OpenAi {
            http: client(&settings),
            settings,
        }
    }

    /// The request body we send; public so tests can check it.
    pub fn body(&self, req: &ChatRequest) -> Value {
        let mut messages = vec![json!({"role": "system", "content": req.system})];
        for m in &req.messages {
            messages.push(match m.role {
                Role::User => json!({"role": "user", "content": m.content}),
                Role::Assistant if !m.tool_calls.is_empty() => json!({
                    "role": "assistant",
                    "content": if m.content.is_empty() { Value::Null } else { json!(m.content) },
                    "tool_calls": m.tool_calls.iter().map(|c| json!({
                        "id": c.id, "type": "function",
                        "function": {"name": c.name, "arguments": Value::Object(c.arguments.clone()).to_string()},
                    })).collect::<Vec<_>>(),
                }),
                Role::Assistant => json!({"role": "assistant", "content": m.content}),
                Role::Tool => json!({"role": "tool", "tool_call_id": m.tool_call_id, "content": m.content}),
            });
        }
        let mut body = json!({
            "model": self.settings.model,
            "messages": messages,
            "stream": true,
            "stream_options": {"include_usage": true},
            "max_tokens": req.max_tokens.max(1),
        });
        if !req.tools.is_empty() {
            body["tools"] = req
                .tools
                .iter()
                .map(|t| json!({"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}))
                .collect();
        }
        body
    }
}

/// A tool call being assembled from streamed fragments.
#[derive(Default)]
struct PartialCall {
    id: String,
    name: String,
    arguments: String,
}

impl Provider for OpenAi {
    fn name(&self) -> String {
        format!("openai:{}", self.settings.model)
    }

    fn chat<'a>(
        &'a self,
        req: &'a ChatRequest,
        on_event: EventSink<'a>,
    ) -> BoxFuture<'a, Result<ChatResponse, LlmError>> {
        Box::pin(async move {
            let body = self.body(req);
            let url = format!("{}/chat/completions", self.settings.base_url);
            let resp = send_with_retries(&self.settings, || {
                let mut rb = self.http.post(&url).json(&body);
                if let Some(key) = &self.settings.api_key {
                    rb = rb.bearer_auth(key).header("api-key", key);
                }
                rb
            })
            .await?;
            let mut reader = SseReader::new(resp);
            let mut out = ChatResponse::default();
            let mut calls: BTreeMap<u64, PartialCall> = BTreeMap::new();
            while let Some((_, data)) = reader.next().await? {
                if data.trim() == "[DONE]" {
                    break;
                }
                let chunk: Value = serde_json::from_str(&data)
                    .map_err(|e| LlmError::Protocol(format!("stream chunk: {e}")))?;
                if let Some(err) = chunk.get("error") {
                    return Err(LlmError::Protocol(
                        err["message"].as_str().unwrap_or("error").to_string(),
                    ));
                }
                if let Some(u) = chunk.get("usage").filter(|u| !u.is_null()) {
                    out.usage = Usage {
                        input_tokens: u["prompt_tokens"].as_u64().unwrap_or(0),
                        output_tokens: u["completion_tokens"].as_u64().unwrap_or(0),
                    };
                }
                let Some(choice) = chunk["choices"].get(0) else {
                    continue;
                };
                let delta = &choice["delta"];
                if let Some(text) = delta["content"].as_str().filter(|t| !t.is_empty()) {
                    out.content.push_str(text);
                    on_event(StreamEvent::Token(text.to_string()));
                }
                for tc in delta["tool_calls"].as_array().into_iter().flatten() {
                    let index = tc["index"].as_u64().unwrap_or(0);
                    let call = calls.entry(index).or_default();
                    if let Some(id) = tc["id"].as_str() {
                        call.id = id.to_string();
                    }
                    if let Some(name) = tc["function"]["name"].as_str() {
                        call.name.push_str(name);
                    }
                    if let Some(args) = tc["function"]["arguments"].as_str() {
                        call.arguments.push_str(args);
                    }
                }
                if let Some(reason) = choice["finish_reason"].as_str() {
                    out.stop_reason = reason.to_string();
                }
            }
            for (_, c) in calls {
                let call = ToolCall {
                    id: c.id,
                    name: c.name,
                    arguments: parse_arguments(&c.arguments)?,
                };
                on_event(StreamEvent::ToolCall(call.clone()));
                out.tool_calls.push(call);
            }
            Ok(out)
        })
    }
}
