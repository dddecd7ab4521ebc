//! Provider adapters against a local mock HTTP server that replays recorded exchanges (written
//! from each provider's documented streaming format; nothing here calls out). Each test checks
//! the request we sent as well as how the answer is read.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde_json::{json, Map, Value};

use cscx_ai::llm::anthropic::Anthropic;
use cscx_ai::llm::openai::OpenAi;
use cscx_ai::llm::{
    ChatRequest, HttpSettings, LlmError, Message, Provider, Role, StreamEvent, ToolCall, ToolDef,
};

/// A reply the mock gives: status, extra headers, body.
type Reply = (u16, Vec<(&'static str, &'static str)>, String);

#[derive(Clone, Default)]
struct Mock {
    replies: Arc<Mutex<Vec<Reply>>>,
    seen: Arc<Mutex<Vec<(HeaderMap, Value)>>>,
}

async fn serve_mock(replies: Vec<Reply>) -> (String, Mock) {
    let mock = Mock {
        replies: Arc::new(Mutex::new(replies.into_iter().rev().collect())),
        seen: Default::default(),
    };
    let m = mock.clone();
    let handler = move |headers: HeaderMap, body: Bytes| {
        let m = m.clone();
        async move {
            let parsed = serde_json::from_slice(&body).unwrap_or(Value::Null);
            m.seen.lock().unwrap().push((headers, parsed));
            let (status, extra, body) = m.replies.lock().unwrap().pop().unwrap_or((
                500,
                vec![],
                "no scripted reply".into(),
            ));
            let mut resp = (StatusCode::from_u16(status).unwrap(), body).into_response();
            resp.headers_mut()
                .insert("content-type", "text/event-stream".parse().unwrap());
            for (k, v) in extra {
                resp.headers_mut().insert(k, v.parse().unwrap());
            }
            resp
        }
    };
    let app = axum::Router::new()
        .route("/chat/completions", axum::routing::post(handler.clone()))
        .route("/v1/messages", axum::routing::post(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, mock)
}

fn recording(name: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/recordings")
            .join(name),
    )
    .unwrap()
}

fn settings(base: &str) -> HttpSettings {
    HttpSettings {
        backoff: Duration::from_millis(5),
        ..HttpSettings::new(base, Some("sk-test-secret".into()), "test-model")
    }
}

fn request() -> ChatRequest {
    let mut args = Map::new();
    args.insert("customer_id".into(), json!("c-1"));
    ChatRequest {
        system: "You are a CSM assistant.".into(),
        messages: vec![
            Message::user("How healthy is Acme?"),
            Message {
                role: Role::Assistant,
                content: String::new(),
                tool_calls: vec![ToolCall {
                    id: "call_1".into(),
                    name: "health_explain".into(),
                    arguments: args,
                }],
                tool_call_id: None,
            },
            Message::tool_result("call_1", r#"{"score":64,"grade":"yellow"}"#),
        ],
        tools: vec![ToolDef {
            name: "health_explain".into(),
            description: "Health and reasons".into(),
            parameters: json!({"type": "object", "properties": {"customer_id": {"type": "string"}}}),
        }],
        max_tokens: 512,
        context: Value::Null,
    }
}

fn collect() -> (
    Arc<Mutex<Vec<StreamEvent>>>,
    impl Fn(StreamEvent) + Send + Sync,
) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let e = events.clone();
    (events, move |ev| e.lock().unwrap().push(ev))
}

#[tokio::test]
async fn openai_streams_tokens_and_usage_and_sends_the_conversation() {
    let (base, mock) = serve_mock(vec![(200, vec![], recording("openai_text.sse"))]).await;
    let p = OpenAi::new(settings(&base));
    let (events, sink) = collect();
    let r = p.chat(&request(), &sink).await.unwrap();
    assert_eq!(r.content, "Acme's health is 64 (yellow).");
    assert_eq!(r.stop_reason, "stop");
    assert_eq!((r.usage.input_tokens, r.usage.output_tokens), (812, 9));
    assert_eq!(
        events.lock().unwrap().len(),
        2,
        "one event per streamed token chunk"
    );

    let seen = mock.seen.lock().unwrap();
    let (headers, body) = &seen[0];
    assert_eq!(headers["authorization"], "Bearer sk-test-secret");
    assert_eq!(body["model"], "test-model");
    assert_eq!(body["stream"], true);
    assert_eq!(
        body["messages"][0],
        json!({"role": "system", "content": "You are a CSM assistant."})
    );
    let assistant = &body["messages"][2];
    assert_eq!(
        assistant["tool_calls"][0]["function"]["name"],
        "health_explain"
    );
    assert_eq!(
        assistant["tool_calls"][0]["function"]["arguments"],
        r#"{"customer_id":"c-1"}"#
    );
    assert_eq!(body["messages"][3]["role"], "tool");
    assert_eq!(body["messages"][3]["tool_call_id"], "call_1");
    assert_eq!(body["tools"][0]["type"], "function");
    assert_eq!(body["tools"][0]["function"]["name"], "health_explain");
}

#[tokio::test]
async fn openai_assembles_a_streamed_tool_call() {
    let (base, _mock) = serve_mock(vec![(200, vec![], recording("openai_tool_call.sse"))]).await;
    let (events, sink) = collect();
    let r = OpenAi::new(settings(&base))
        .chat(&request(), &sink)
        .await
        .unwrap();
    assert_eq!(r.stop_reason, "tool_calls");
    assert_eq!(r.tool_calls.len(), 1);
    let call = &r.tool_calls[0];
    assert_eq!(call.id, "call_abc123");
    assert_eq!(call.name, "schedule_meeting");
    assert_eq!(
        Value::Object(call.arguments.clone()),
        json!({"customer_id": "c-1", "title": "QBR", "duration_minutes": 60})
    );
    assert!(matches!(
        events.lock().unwrap()[0],
        StreamEvent::ToolCall(_)
    ));
}

#[tokio::test]
async fn anthropic_streams_text_and_tool_use_and_sends_tool_results_as_user_blocks() {
    let (base, mock) = serve_mock(vec![(200, vec![], recording("anthropic_tool_use.sse"))]).await;
    let (events, sink) = collect();
    let r = Anthropic::new(settings(&base))
        .chat(&request(), &sink)
        .await
        .unwrap();
    assert_eq!(r.content, "Let me check the renewals.");
    assert_eq!(r.stop_reason, "tool_use");
    assert_eq!((r.usage.input_tokens, r.usage.output_tokens), (1024, 57));
    assert_eq!(r.tool_calls[0].name, "renewals_due");
    assert_eq!(
        Value::Object(r.tool_calls[0].arguments.clone()),
        json!({"within_days": 60, "max_health": 60})
    );
    assert_eq!(events.lock().unwrap().len(), 3);

    let seen = mock.seen.lock().unwrap();
    let (headers, body) = &seen[0];
    assert_eq!(headers["x-api-key"], "sk-test-secret");
    assert_eq!(headers["anthropic-version"], "2023-06-01");
    assert!(headers.get("authorization").is_none());
    assert_eq!(body["system"], "You are a CSM assistant.");
    assert_eq!(body["messages"][1]["content"][0]["type"], "tool_use");
    assert_eq!(body["messages"][2]["role"], "user");
    assert_eq!(body["messages"][2]["content"][0]["type"], "tool_result");
    assert_eq!(body["messages"][2]["content"][0]["tool_use_id"], "call_1");
    assert_eq!(body["tools"][0]["input_schema"]["type"], "object");
}

#[tokio::test]
async fn rate_limits_are_retried_honouring_retry_after() {
    let (base, mock) = serve_mock(vec![
        (
            429,
            vec![("retry-after", "0")],
            r#"{"error":{"message":"slow down"}}"#.into(),
        ),
        (503, vec![], "overloaded".into()),
        (200, vec![], recording("openai_text.sse")),
    ])
    .await;
    let (_, sink) = collect();
    let r = OpenAi::new(settings(&base))
        .chat(&request(), &sink)
        .await
        .unwrap();
    assert_eq!(r.content, "Acme's health is 64 (yellow).");
    assert_eq!(mock.seen.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn client_errors_are_not_retried_and_retries_are_bounded() {
    let (base, mock) = serve_mock(vec![(
        400,
        vec![],
        r#"{"error":{"message":"bad tool schema"}}"#.into(),
    )])
    .await;
    let (_, sink) = collect();
    let err = OpenAi::new(settings(&base))
        .chat(&request(), &sink)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        LlmError::Status {
            status: 400,
            message: "bad tool schema".into()
        }
    );
    assert_eq!(mock.seen.lock().unwrap().len(), 1);

    let replies = (0..10).map(|_| (500, vec![], "boom".to_string())).collect();
    let (base, mock) = serve_mock(replies).await;
    let err = Anthropic::new(settings(&base))
        .chat(&request(), &sink)
        .await
        .unwrap_err();
    assert!(matches!(err, LlmError::Status { status: 500, .. }));
    assert_eq!(
        mock.seen.lock().unwrap().len(),
        4,
        "one try and three retries"
    );
}

#[test]
fn settings_never_print_the_key() {
    let s = HttpSettings::new("https://api.example", Some("sk-very-secret".into()), "m");
    assert!(!format!("{s}").contains("sk-very-secret"));
    assert!(!format!("{s:?}").contains("sk-very-secret"));
    assert!(!format!("{s}").is_empty());
}
