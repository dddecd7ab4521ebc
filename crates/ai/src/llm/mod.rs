//! Language-model providers behind one interface: chat with tool calling, streamed tokens and
//! tool calls, usage accounting, timeouts, and retries with backoff on 429/5xx that honour
//! `Retry-After`. Cancelling is dropping the future.
//!
//! Implementations: [`openai::OpenAi`] (any OpenAI-compatible chat-completions endpoint: OpenAI,
//! Azure, Ollama, vLLM, llama.cpp server, LM Studio) and [`anthropic::Anthropic`] (Messages API).
//! The builtin engine lives with the tools it composes answers from (in `cscx-core`), behind the
//! same [`Provider`] trait.

pub mod anthropic;
pub mod openai;
mod sse;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
    Tool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub arguments: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// For `Tool` messages: the call this answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl Message {
    pub fn user(content: impl Into<String>) -> Message {
        Message {
            role: Role::User,
            content: content.into(),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }
    pub fn tool_result(call_id: &str, content: impl Into<String>) -> Message {
        Message {
            role: Role::Tool,
            content: content.into(),
            tool_calls: Vec::new(),
            tool_call_id: Some(call_id.to_string()),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ToolDef {
    pub name: String,
    pub description: String,
    pub parameters: Value,
}

#[derive(Debug, Clone, Default)]
pub struct ChatRequest {
    pub system: String,
    pub messages: Vec<Message>,
    pub tools: Vec<ToolDef>,
    pub max_tokens: u32,
    /// Facts for the builtin engine (known customers, the user's time zone, now); remote
    /// providers get what they need through `system` instead.
    pub context: Value,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    pub content: String,
    pub tool_calls: Vec<ToolCall>,
    pub usage: Usage,
    /// `end_turn`/`stop`, `tool_use`/`tool_calls`, `max_tokens`/`length`.
    pub stop_reason: String,
}

/// What a streaming call reports as it goes.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    Token(String),
    ToolCall(ToolCall),
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LlmError {
    #[error("the provider answered {status}: {message}")]
    Status { status: u16, message: String },
    #[error("could not reach the provider: {0}")]
    Transport(String),
    #[error("the provider did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the provider's answer could not be read: {0}")]
    Protocol(String),
}

impl LlmError {
    /// Worth retrying: rate limits, overload and server errors, network trouble.
    pub fn is_retryable(&self) -> bool {
        match self {
            LlmError::Status { status, .. } => {
                matches!(status, 408 | 409 | 425 | 429 | 500 | 502 | 503 | 504 | 529)
            }
            LlmError::Transport(_) | LlmError::Timeout(_) => true,
            LlmError::Protocol(_) => false,
        }
    }
}

pub type EventSink<'a> = &'a (dyn Fn(StreamEvent) + Send + Sync);

/// A chat model with tools.
pub trait Provider: Send + Sync {
    /// `builtin`, `openai:<model>`, `anthropic:<model>`: recorded with every answer.
    fn name(&self) -> String;
    fn chat<'a>(
        &'a self,
        request: &'a ChatRequest,
        on_event: EventSink<'a>,
    ) -> BoxFuture<'a, Result<ChatResponse, LlmError>>;
}

/// Connection settings shared by the HTTP providers.
#[derive(Clone)]
pub struct HttpSettings {
    pub base_url: String,
    pub api_key: Option<String>,
    pub model: String,
    /// Whole-request limit, streaming included.
    pub timeout: Duration,
    pub max_retries: u32,
    /// First backoff; doubles each retry unless the provider says `Retry-After`.
    pub backoff: Duration,
}

impl HttpSettings {
    pub fn new(base_url: &str, api_key: Option<String>, model: &str) -> Self {
        HttpSettings {
            base_url: base_url.trim_end_matches('/').to_string(),
            api_key,
            model: model.to_string(),
            timeout: Duration::from_secs(120),
            max_retries: 3,
            backoff: Duration::from_millis(500),
        }
    }
}

/// Keys never reach logs: settings print (and debug-print) without them.
impl std::fmt::Debug for HttpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl std::fmt::Display for HttpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} model {} (key {})",
            self.base_url,
            self.model,
            if self.api_key.is_some() {
                "set"
            } else {
                "unset"
            }
        )
    }
}

/// `Retry-After` in seconds (or an HTTP date, which we treat as "soon"), capped at 60 s.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    let secs = v.trim().parse::<f64>().unwrap_or(1.0);
    Some(Duration::from_secs_f64(secs.clamp(0.0, 60.0)))
}

/// Sends `build()` with retries: only failures before any streamed output are retried, so a
/// retry never repeats tokens the caller has already seen.
pub(crate) async fn send_with_retries(
    settings: &HttpSettings,
    build: impl Fn() -> reqwest::RequestBuilder,
) -> Result<reqwest::Response, LlmError> {
    let mut attempt = 0;
    loop {
        let outcome = match build().send().await {
            Ok(resp) if resp.status().is_success() => return Ok(resp),
            Ok(resp) => {
                let status = resp.status().as_u16();
                let wait = retry_after(resp.headers());
                let body = resp.text().await.unwrap_or_default();
                let message = serde_json::from_str::<Value>(&body)
                    .ok()
                    .and_then(|v| {
                        v["error"]["message"]
                            .as_str()
                            .or(v["message"].as_str())
                            .map(str::to_string)
                    })
                    .unwrap_or_else(|| body.chars().take(300).collect());
                (LlmError::Status { status, message }, wait)
            }
            Err(e) if e.is_timeout() => (LlmError::Timeout(settings.timeout), None),
            Err(e) => (LlmError::Transport(e.without_url().to_string()), None),
        };
        let (error, wait) = outcome;
        if !error.is_retryable() || attempt >= settings.max_retries {
            return Err(error);
        }
        let backoff = settings.backoff * 2u32.pow(attempt);
        tokio::time::sleep(wait.unwrap_or(backoff)).await;
        attempt += 1;
    }
}

pub(crate) fn client(settings: &HttpSettings) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(settings.timeout)
        .connect_timeout(Duration::from_secs(10))
        .build()
        .expect("a TLS-less HTTP client always builds")
}

/// Parses a tool call's JSON arguments; models sometimes send an empty string for "no arguments".
pub(crate) fn parse_arguments(raw: &str) -> Result<Map<String, Value>, LlmError> {
    if raw.trim().is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str::<Value>(raw) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(other) => Err(LlmError::Protocol(format!(
            "tool arguments are not an object: {other}"
        ))),
        Err(e) => Err(LlmError::Protocol(format!("tool arguments: {e}"))),
    }
}
