//! Anthropic Messages API (`POST {base}/v1/messages`, streamed).

use futures::future::BoxFuture;
use serde_json::{json, Value};
use std::collections::BTreeMap;

use super::sse::SseReader;
use super::{
    client, parse_arguments, send_with_retries, ChatRequest, ChatResponse, EventSink, HttpSettings,
    LlmError, Provider, Role, StreamEvent, ToolCall,
};

pub const API_VERSION: &str = "2023-06-01";

pub struct Anthropic {
    settings: HttpSettings,
    http: reqwest::Client,
}

impl Anthropic {
    pub fn new(settings: HttpSettings) -> Self {
        Anthropic {
            http: client(&settings),
            settings,
        }
    }

    /// The request body we send; public so tests can check it. Tool results are user turns
    /// made of `tool_result` blocks; consecutive ones are merged into one turn.
    pub fn body(&self, req: &ChatRequest) -> Value {
        let mut messages: Vec<Value> = Vec::new();
        for m in &req.messages {
            let (role, blocks) = match m.role {
                Role::User => ("user", vec![json!({"type": "text", "text": m.content})]),
                Role::Assistant => {
                    let mut blocks = Vec::new();
                    if !m.content.is_empty() {
                        blocks.push(json!({"type": "text", "text": m.content}));
                    }
                    for c in &m.tool_calls {
                        blocks.push(json!({"type": "tool_use", "id": c.id, "name": c.name, "input": Value::Object(c.arguments.clone())}));
                    }
                    ("assistant", blocks)
                }
                Role::Tool => (
                    "user",
                    vec![
                        json!({"type": "tool_result", "tool_use_id": m.tool_call_id, "content": m.content}),
                    ],
                ),
            };
            match messages.last_mut() {
                Some(last) if last["role"] == role => {
                    last["content"]
                        .as_array_mut()
                        .expect("content is an array")
                        .extend(blocks);
                }
                _ => messages.push(json!({"role": role, "content": blocks})),
            }
        }
        let mut body = json!({
            "model": self.settings.model,
            "max_tokens": req.max_tokens.max(1),
            "system": req.system,
            "messages": messages,
            "stream": true,
        });
        if !req.tools.is_empty() {
            body["tools"] = req
                .tools
                .iter()
                .map(|t| json!({"name": t.name, "description": t.description, "input_schema": t.parameters}))
                .collect();
        }
        body
    }
}

#[derive(Default)]
struct Block {
    kind: String,
    id: String,
    name: String,
    json: String,
}

impl Provider for Anthropic {
    fn name(&self) -> String {
        format!("anthropic:{}", self.settings.model)
    }

    fn chat<'a>(
        &'a self,
        req: &'a ChatRequest,
        on_event: EventSink<'a>,
    ) -> BoxFuture<'a, Result<ChatResponse, LlmError>> {
        Box::pin(async move {
            let body = self.body(req);
            let url = format!("{}/v1/messages", self.settings.base_url);
            let resp = send_with_retries(&self.settings, || {
                let mut rb = self
                    .http
                    .post(&url)
                    .header("anthropic-version", API_VERSION)
                    .json(&body);
                if let Some(key) = &self.settings.api_key {
                    rb = rb.header("x-api-key", key);
                }
                rb
            })
            .await?;
            let mut reader = SseReader::new(resp);
            let mut out = ChatResponse::default();
            let mut blocks: BTreeMap<u64, Block> = BTreeMap::new();
            while let Some((event, data)) = reader.next().await? {
                let v: Value = serde_json::from_str(&data)
                    .map_err(|e| LlmError::Protocol(format!("stream event {event}: {e}")))?;
                match v["type"].as_str().unwrap_or(event.as_str()) {
                    "message_start" => {
                        out.usage.input_tokens =
                            v["message"]["usage"]["input_tokens"].as_u64().unwrap_or(0);
                    }
                    "content_block_start" => {
                        let cb = &v["content_block"];
                        blocks.insert(
                            v["index"].as_u64().unwrap_or(0),
                            Block {
                                kind: cb["type"].as_str().unwrap_or("").to_string(),
                                id: cb["id"].as_str().unwrap_or("").to_string(),
                                name: cb["name"].as_str().unwrap_or("").to_string(),
                                json: String::new(),
                            },
                        );
                    }
                    "content_block_delta" => {
                        let d = &v["delta"];
                        match d["type"].as_str() {
                            Some("text_delta") => {
                                let t = d["text"].as_str().unwrap_or("");
                                out.content.push_str(t);
                                on_event(StreamEvent::Token(t.to_string()));
                            }
                            Some("input_json_delta") => {
                                if let Some(b) = blocks.get_mut(&v["index"].as_u64().unwrap_or(0)) {
                                    b.json.push_str(d["partial_json"].as_str().unwrap_or(""));
                                }
                            }
                            _ => {}
                        }
                    }
                    "content_block_stop" => {
                        let index = v["index"].as_u64().unwrap_or(0);
                        if let Some(b) = blocks.get(&index).filter(|b| b.kind == "tool_use") {
                            let call = ToolCall {
                                id: b.id.clone(),
                                name: b.name.clone(),
                                arguments: parse_arguments(&b.json)?,
                            };
                            on_event(StreamEvent::ToolCall(call.clone()));
                            out.tool_calls.push(call);
                        }
                    }
                    "message_delta" => {
                        if let Some(r) = v["delta"]["stop_reason"].as_str() {
                            out.stop_reason = r.to_string();
                        }
                        if let Some(n) = v["usage"]["output_tokens"].as_u64() {
                            out.usage.output_tokens = n;
                        }
                    }
                    "error" => {
                        return Err(LlmError::Protocol(
                            v["error"]["message"]
                                .as_str()
                                .unwrap_or("error")
                                .to_string(),
                        ))
                    }
                    _ => {}
                }
            }
            Ok(out)
        })
    }
}
