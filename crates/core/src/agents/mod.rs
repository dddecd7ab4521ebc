//! Conversations with the agents: sessions, the multi-step loop (model → tool calls → results →
//! … → answer, approval wait or step limit), and the persisted trail of every step.
//!
//! The builtin orchestrator routes each message to a specialist (see `cscx_ai::agent`); the
//! specialist runs on the configured provider (the builtin engine by default) with its own
//! instructions and allowed tools. Read tools run at once; action tools become approvals.

pub mod builtin;
mod chat;
pub mod compose;
mod sessions;
pub mod tools;
mod turn;

pub use chat::*;
pub use sessions::*;
pub use turn::*;

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;
use serde_json::{json, Value};

use cscx_ai::agent::nlu::KnownCustomer;
use cscx_ai::llm::{ChatRequest, Message, Provider, Role, StreamEvent, ToolCall, ToolDef};
use cscx_connect::{Calendar, MailTransport, Outbox};
use cscx_store::model::{AgentActivity, AgentMessage, AgentSession, ChatMessage, Customer};
use cscx_store::{entity, Id, TextList};

use crate::approvals::{self, Origin};
use crate::auth::Principal;
use crate::authz;
use crate::error::{CoreError, CoreResult};
use crate::App;

/// How agents run.
#[derive(Clone)]
pub struct AgentSettings {
    pub provider: Arc<dyn Provider>,
    /// How approved e-mails leave ([`cscx_connect::Outbox`] files them when nothing else is
    /// configured).
    pub mail: Arc<dyn MailTransport>,
    /// Where approved meeting invitations go (the outbox by default).
    pub calendar: Arc<dyn Calendar>,
    /// Model calls per message before the loop stops.
    pub step_limit: usize,
    /// Messages per user per minute, per node.
    pub per_minute: usize,
    /// Idle sessions end after this long.
    pub session_timeout_minutes: i64,
    limiter: Arc<Mutex<HashMap<Id, VecDeque<Instant>>>>,
    names: Arc<Mutex<NameCache>>,
}

impl AgentSettings {
    /// The builtin engine, with mail and invitations filed in `outbox_dir`.
    pub fn in_dir(outbox_dir: impl Into<PathBuf>) -> Self {
        let outbox = Arc::new(Outbox::new(outbox_dir));
        AgentSettings {
            provider: Arc::new(builtin::Builtin),
            mail: outbox.clone(),
            calendar: outbox,
            step_limit: 6,
            per_minute: 30,
            session_timeout_minutes: 30,
            limiter: Default::default(),
            names: Default::default(),
        }
    }

    pub fn with_provider(mut self, provider: Arc<dyn Provider>) -> Self {
        self.provider = provider;
        self
    }

    pub fn with_mail(mut self, mail: Arc<dyn MailTransport>) -> Self {
        self.mail = mail;
        self
    }

    pub fn with_calendar(mut self, calendar: Arc<dyn Calendar>) -> Self {
        self.calendar = calendar;
        self
    }

    /// A sliding one-minute window per user.
    fn admit(&self, user: Id) -> CoreResult<()> {
        let now = Instant::now();
        let mut map = self.limiter.lock().expect("limiter lock");
        let q = map.entry(user).or_default();
        while q
            .front()
            .is_some_and(|t| now.duration_since(*t).as_secs() >= 60)
        {
            q.pop_front();
        }
        if q.len() >= self.per_minute {
            let wait = 60 - now.duration_since(*q.front().expect("non-empty")).as_secs();
            return Err(CoreError::RateLimited {
                retry_after_secs: wait.max(1),
            });
        }
        q.push_back(now);
        Ok(())
    }
}

/// What a turn reports as it goes (the SSE events of the HTTP API).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum AgentEvent {
    Token {
        text: String,
    },
    ToolStart {
        tool: String,
        arguments: Value,
        agent: String,
    },
    ToolEnd {
        tool: String,
        status: String,
        duration_ms: i64,
    },
    ApprovalRequired {
        approval_id: Id,
        action: String,
        preview: Value,
    },
    Done {
        message_id: Option<Id>,
        agent: String,
        content: String,
        approvals: Vec<Id>,
    },
    Error {
        message: String,
    },
}

impl AgentEvent {
    pub fn name(&self) -> &'static str {
        match self {
            AgentEvent::Token { .. } => "token",
            AgentEvent::ToolStart { .. } => "tool_start",
            AgentEvent::ToolEnd { .. } => "tool_end",
            AgentEvent::ApprovalRequired { .. } => "approval_required",
            AgentEvent::Done { .. } => "done",
            AgentEvent::Error { .. } => "error",
        }
    }
}

pub type Sink = tokio::sync::mpsc::UnboundedSender<AgentEvent>;
