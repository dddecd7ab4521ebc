//! A scripted language model: answers requests in order from a list, and keeps every request
//! it was sent, so a test can check the prompt and drive the agent loop step by step.

use std::collections::VecDeque;
use std::sync::Mutex;

use futures::future::BoxFuture;

use cscx_ai::llm::{ChatRequest, ChatResponse, EventSink, LlmError, Provider};

pub struct ScriptedModel {
    answers: Mutex<VecDeque<ChatResponse>>,
    seen: Mutex<Vec<ChatRequest>>,
}

impl ScriptedModel {
    /// Answers each request with the next response; when they run out, with an error.
    pub fn new(answers: impl IntoIterator<Item = ChatResponse>) -> ScriptedModel {
        ScriptedModel {
            answers: Mutex::new(answers.into_iter().collect()),
            seen: Mutex::new(Vec::new()),
        }
    }

    /// One plain-text answer.
    pub fn answering(text: &str) -> ScriptedModel {
        ScriptedModel::new([ChatResponse {
            content: text.to_string(),
            ..Default::default()
        }])
    }

    /// Every request received, oldest first.
    pub fn requests(&self) -> Vec<ChatRequest> {
        self.seen.lock().expect("lock").clone()
    }
}

impl Provider for ScriptedModel {
    fn name(&self) -> String {
        "scripted".into()
    }

    fn chat<'a>(
        &'a self,
        req: &'a ChatRequest,
        _on: EventSink<'a>,
    ) -> BoxFuture<'a, Result<ChatResponse, LlmError>> {
        self.seen.lock().expect("lock").push(req.clone());
        let next = self.answers.lock().expect("lock").pop_front();
        Box::pin(async move {
            next.ok_or_else(|| LlmError::Protocol("the script has no more answers".into()))
        })
    }
}
