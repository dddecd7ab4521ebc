//! The multi-step loop of one message: planner context, the engine (model → tool calls →
//! results → … → answer, approval wait or step limit), every step logged, replays answered
//! from the log.

use super::*;

/// What one request produced.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TurnOutcome {
    pub agent: String,
    pub content: String,
    #[schema(value_type = Vec<Object>)]
    pub tool_calls: Vec<Value>,
    #[schema(value_type = Vec<String>)]
    pub approvals: Vec<Id>,
    pub message_id: Option<String>,
}

struct Turn<'a> {
    app: &'a App,
    who: &'a Principal,
    session_id: Option<Id>,
    customer: Option<KnownCustomer>,
    sink: Option<&'a Sink>,
    root_activity: Id,
}

impl Turn<'_> {
    fn emit(&self, e: AgentEvent) {
        if let Some(s) = self.sink {
            let _ = s.send(e);
        }
    }

    async fn persist(&self, m: AgentMessage) -> CoreResult<Id> {
        let id = m.id;
        if self.session_id.is_some() {
            let mut c = self.app.db.conn().await?;
            entity::insert(c.c(), &m).await?;
        }
        Ok(id)
    }

    fn message(&self, role: &str, content: &str, agent: &str) -> AgentMessage {
        AgentMessage {
            id: Id::new(),
            session_id: self.session_id.unwrap_or_default(),
            agent_id: Some(agent.to_string()),
            role: role.into(),
            content: content.to_string(),
            thinking: false,
            requires_approval: false,
            deployed_agent: Some(agent.to_string()),
            tool_calls: None,
            metadata: json!({}),
            created_at: self.app.now(),
            client_message_id: None,
        }
    }

    async fn log(
        &self,
        agent: &str,
        action: &str,
        data: Value,
        parent: Option<Id>,
    ) -> CoreResult<AgentActivity> {
        // The customer a call names wins over the session's, so that a chat opened anywhere
        // still files the action under the account it was about.
        let named = data
            .get("customer_id")
            .and_then(Value::as_str)
            .and_then(|s| s.parse().ok());
        let a = AgentActivity {
            id: Id::new(),
            customer_id: named.or_else(|| self.customer.as_ref().and_then(|c| c.id.parse().ok())),
            user_id: Some(self.who.user_id),
            agent_type: Some(agent.to_string()),
            action_type: action.to_string(),
            action_data: Some(data),
            result_data: None,
            status: "running".into(),
            error_message: None,
            started_at: self.app.now(),
            completed_at: None,
            duration_ms: None,
            session_id: self.session_id.map(|s| s.to_string()),
            parent_action_id: parent,
        };
        let mut c = self.app.db.conn().await?;
        entity::insert(c.c(), &a).await?;
        Ok(a)
    }

    async fn finish_log(
        &self,
        mut a: AgentActivity,
        status: &str,
        result: Value,
        error: Option<String>,
    ) -> CoreResult<i64> {
        let now = self.app.now();
        let ms = now.millis() - a.started_at.millis();
        a.status = status.into();
        // A call that named its customer by name: the tool's answer says which one it was.
        if a.customer_id.is_none() {
            a.customer_id = result
                .pointer("/customer/id")
                .or_else(|| result.get("customer_id"))
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok());
        }
        a.result_data = Some(result);
        a.error_message = error;
        a.completed_at = Some(now);
        a.duration_ms = Some(ms as i32);
        let mut c = self.app.db.conn().await?;
        entity::update(c.c(), &a).await?;
        Ok(ms)
    }
}

/// Facts the builtin planner needs: every customer's id and name (for recognising names), the
/// session's customer, the time and the user's zone.
async fn planner_context(
    app: &App,
    customer: Option<&KnownCustomer>,
    tz: &str,
    request: &str,
) -> CoreResult<Value> {
    let names = app.agents.customer_names(app).await?;
    // Only names whose first word is in the request can match, so only those travel (a
    // portfolio of 10,000 names would otherwise be copied and scanned at every step).
    let words: std::collections::HashSet<String> = cscx_ai::agent::nlu::name_key(request)
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let candidates: Vec<Value> = names
        .iter()
        .filter(|n| words.contains(&n.first_word))
        .map(|n| json!({"id": n.id, "name": n.name}))
        .collect();
    Ok(json!({
        "customers": candidates,
        "session_customer": customer,
        "now": app.clock.now().to_rfc3339(),
        "time_zone": tz,
    }))
}

/// A customer name as the planner matches it.
struct CustomerName {
    id: Id,
    name: String,
    first_word: String,
}

/// Customer names, reloaded only when the customers table changed (its row count or latest
/// update), which any node's writes move.
#[derive(Default)]
pub(super) struct NameCache {
    version: Option<(i64, Option<cscx_store::Timestamp>)>,
    names: Arc<Vec<CustomerName>>,
}

impl AgentSettings {
    async fn customer_names(&self, app: &App) -> CoreResult<Arc<Vec<CustomerName>>> {
        let mut c = app.db.conn().await?;
        let version = cscx_store::agents::customer_names_version(c.c()).await?;
        {
            let cache = self.names.lock().expect("name cache lock");
            if cache.version == Some(version) {
                return Ok(cache.names.clone());
            }
        }
        let rows = cscx_store::agents::customer_names(c.c()).await?;
        let names: Arc<Vec<CustomerName>> = Arc::new(
            rows.into_iter()
                .map(|(id, name)| CustomerName {
                    id,
                    first_word: cscx_ai::agent::nlu::name_key(&name)
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .to_string(),
                    name,
                })
                .collect(),
        );
        let mut cache = self.names.lock().expect("name cache lock");
        *cache = NameCache {
            version: Some(version),
            names: names.clone(),
        };
        Ok(names)
    }
}

fn system_prompt(
    agent: &cscx_ai::agent::AgentSpec,
    customer: Option<&KnownCustomer>,
    tz: &str,
    now: &str,
) -> String {
    format!(
        "You are the {} agent of CSCX, a customer-success platform. {}\n{}\nUse the tools for facts; quote numbers from them. Actions (e-mails, meetings, save plays, escalations, changes) only create approvals that a person decides. The user's time zone is {tz}; now is {now}.{}",
        agent.name,
        agent.role,
        agent.instructions,
        customer
            .map(|c| format!(" This conversation is about the customer {} (id {}).", c.name, c.id))
            .unwrap_or_default()
    )
}

/// Runs one user message through the orchestrator and a specialist.
pub(super) async fn run_engine(
    app: &App,
    who: &Principal,
    session_id: Option<Id>,
    customer: Option<KnownCustomer>,
    history: Vec<Message>,
    text: &str,
    sink: Option<&Sink>,
) -> CoreResult<TurnOutcome> {
    let tz = {
        let mut c = app.db.conn().await?;
        entity::get::<cscx_store::product::User>(c.c(), who.user_id)
            .await?
            .map(|u| u.time_zone)
            .unwrap_or_else(|| "UTC".into())
    };
    let context = planner_context(app, customer.as_ref(), &tz, text).await?;
    // The orchestrator picks the specialist with the builtin planner, whatever the provider.
    let routed = cscx_ai::agent::plan(text, &builtin::context_of(&context));
    let agent = cscx_ai::agent::agent(&routed.agent).unwrap_or(&cscx_ai::agent::agents()[0]);
    let tools: Vec<ToolDef> = cscx_ai::agent::tools()
        .iter()
        .filter(|t| agent.tools.contains(&t.name))
        .map(|t| ToolDef {
            name: t.name.clone(),
            description: t.description.clone(),
            parameters: t.parameters.clone(),
        })
        .collect();
    let mut turn = Turn {
        app,
        who,
        session_id,
        customer: customer.clone(),
        sink,
        root_activity: Id::new(),
    };
    let root = turn
        .log(&agent.name, "turn", json!({ "message": text }), None)
        .await?;
    turn.root_activity = root.id;

    let mut messages = history;
    messages.push(Message::user(text));
    let mut request = ChatRequest {
        system: system_prompt(agent, customer.as_ref(), &tz, &app.clock.now().to_rfc3339()),
        messages,
        tools,
        max_tokens: 1024,
        context,
    };
    let mut tool_log = Vec::new();
    let mut approvals_made = Vec::new();
    let mut final_text = None;
    let mut waiting = false;
    for _step in 0..app.agents.step_limit {
        let sink_tokens = |e: StreamEvent| {
            if let StreamEvent::Token(t) = e {
                turn.emit(AgentEvent::Token { text: t });
            }
        };
        let resp = match app.agents.provider.chat(&request, &sink_tokens).await {
            Ok(r) => r,
            Err(e) => {
                let msg = format!("the language model failed: {e}");
                turn.emit(AgentEvent::Error {
                    message: msg.clone(),
                });
                turn.finish_log(root, "failed", json!({}), Some(msg.clone()))
                    .await?;
                return Err(CoreError::Unavailable(msg));
            }
        };
        let mut m = turn.message("assistant", &resp.content, &agent.name);
        if !resp.tool_calls.is_empty() {
            m.tool_calls = Some(serde_json::to_value(&resp.tool_calls).expect("serialisable"));
        }
        m.metadata = json!({ "provider": app.agents.provider.name(), "usage": resp.usage });
        if resp.tool_calls.is_empty() || waiting {
            let id = turn.persist(m).await?;
            final_text = Some((resp.content, id));
            break;
        }
        m.requires_approval = resp
            .tool_calls
            .iter()
            .any(|c| cscx_ai::agent::tool(&c.name).is_some_and(|t| t.is_action()));
        turn.persist(m).await?;
        request.messages.push(Message {
            role: Role::Assistant,
            content: resp.content.clone(),
            tool_calls: resp.tool_calls.clone(),
            tool_call_id: None,
        });
        for call in &resp.tool_calls {
            let result = run_tool(&turn, &agent.name, call, &tz, &mut approvals_made).await?;
            if result.get("approval_id").is_some() && result["status"] == "pending" {
                waiting = true;
            }
            tool_log
                .push(json!({ "tool": call.name, "arguments": call.arguments, "result": result }));
            let mut tm = turn.message("tool", &result.to_string(), &agent.name);
            tm.metadata = json!({ "tool_call_id": call.id, "tool": call.name });
            turn.persist(tm).await?;
            request
                .messages
                .push(Message::tool_result(&call.id, result.to_string()));
        }
    }
    let (content, message_id) = match final_text {
        Some((c, id)) => (c, Some(id)),
        None => {
            let c = format!(
                "I stopped after {} steps without a final answer.",
                app.agents.step_limit
            );
            turn.emit(AgentEvent::Token { text: c.clone() });
            let id = turn
                .persist(turn.message("assistant", &c, &agent.name))
                .await?;
            (c, Some(id))
        }
    };
    turn.finish_log(
        root,
        "completed",
        json!({ "answer": content, "approvals": approvals_made }),
        None,
    )
    .await?;
    if let Some(sid) = session_id {
        let mut c = app.db.conn().await?;
        if let Some(mut s) = entity::get::<AgentSession>(c.c(), sid).await? {
            s.active_agent = Some(agent.name.clone());
            if !s.deployed_agents.0.contains(&agent.name) {
                s.deployed_agents.0.push(agent.name.clone());
            }
            s.updated_at = app.now();
            entity::update(c.c(), &s).await?;
        }
    }
    turn.emit(AgentEvent::Done {
        message_id: message_id.filter(|_| session_id.is_some()),
        agent: agent.name.clone(),
        content: content.clone(),
        approvals: approvals_made.clone(),
    });
    Ok(TurnOutcome {
        agent: agent.name.clone(),
        content,
        tool_calls: tool_log,
        approvals: approvals_made,
        message_id: message_id
            .filter(|_| session_id.is_some())
            .map(|m| m.to_string()),
    })
}

/// Runs one tool call: checks it, runs a read tool, or turns an action into an approval.
async fn run_tool(
    turn: &Turn<'_>,
    agent: &str,
    call: &ToolCall,
    tz: &str,
    approvals_made: &mut Vec<Id>,
) -> CoreResult<Value> {
    turn.emit(AgentEvent::ToolStart {
        tool: call.name.clone(),
        arguments: Value::Object(call.arguments.clone()),
        agent: agent.to_string(),
    });
    let activity = turn
        .log(
            agent,
            &call.name,
            Value::Object(call.arguments.clone()),
            Some(turn.root_activity),
        )
        .await?;
    let spec = cscx_ai::agent::tool(&call.name)
        .filter(|t| cscx_ai::agent::agent(agent).is_some_and(|a| a.tools.contains(&t.name)));
    let checked = match spec {
        None => Err(format!("the {agent} agent has no tool {}", call.name)),
        Some(t) => cscx_ai::agent::validate_args(t, &call.arguments).map(|_| t),
    };
    let (status, result) = match checked {
        Err(e) => ("failed", json!({ "error": e })),
        Ok(t) if !t.is_action() => {
            match tools::run_read(turn.app, turn.who, &t.name, &call.arguments).await? {
                Ok(v) => ("completed", v),
                Err(e) => ("failed", json!({ "error": e })),
            }
        }
        Ok(t) => {
            let zone: chrono_tz::Tz = tz.parse().unwrap_or(chrono_tz::UTC);
            match crate::actions::prepare(turn.app, turn.who, zone, &t.name, call.arguments.clone())
                .await?
            {
                Err(e) => ("failed", json!({ "error": e })),
                Ok(prepared) => {
                    let origin = Origin {
                        session_id: turn.session_id,
                        agent: agent.to_string(),
                        user: turn.who.user_id,
                        customer_id: prepared.customer_id,
                    };
                    let now = turn.app.now();
                    let mut tx = turn.app.db.begin().await?;
                    let a = approvals::request(
                        tx.c(),
                        &origin,
                        &t.name,
                        prepared.args,
                        prepared.preview.clone(),
                        now,
                    )
                    .await?;
                    tx.commit().await?;
                    approvals_made.push(a.id);
                    let mut result = json!({
                        "approval_id": a.id, "status": a.status, "preview": prepared.preview,
                        "required_role": a.required_role, "customer_id": a.customer_id,
                    });
                    if a.status == cscx_domain::ApprovalStatus::Approved {
                        // Auto-approved by policy: run it now; it is still logged as an approval.
                        approvals::execute(turn.app, a.id).await?;
                        let done = approvals::fetch(turn.app, a.id).await?;
                        result["status"] = json!(done.status);
                        result["outcome"] = done.result.clone().unwrap_or(Value::Null);
                        ("completed", result)
                    } else {
                        turn.emit(AgentEvent::ApprovalRequired {
                            approval_id: a.id,
                            action: t.name.clone(),
                            preview: prepared.preview,
                        });
                        ("pending_approval", result)
                    }
                }
            }
        }
    };
    let error = result
        .get("error")
        .and_then(Value::as_str)
        .map(str::to_string);
    let duration_ms = turn
        .finish_log(activity, status, result.clone(), error)
        .await?;
    turn.emit(AgentEvent::ToolEnd {
        tool: call.name.clone(),
        status: status.to_string(),
        duration_ms,
    });
    Ok(result)
}

/// The conversation so far as model messages (the last 20 user/assistant/tool turns).
fn history_of(stored: &[AgentMessage]) -> Vec<Message> {
    let tail = &stored[stored.len().saturating_sub(20)..];
    let mut out = Vec::new();
    for m in tail {
        let msg = match m.role.as_str() {
            "user" => Message::user(&m.content),
            "assistant" => Message {
                role: Role::Assistant,
                content: m.content.clone(),
                tool_calls: m
                    .tool_calls
                    .clone()
                    .and_then(|v| serde_json::from_value(v).ok())
                    .unwrap_or_default(),
                tool_call_id: None,
            },
            "tool" => Message::tool_result(
                m.metadata["tool_call_id"].as_str().unwrap_or(""),
                &m.content,
            ),
            _ => continue,
        };
        out.push(msg);
    }
    // A history must not start with tool results whose call was cut off.
    while out.first().is_some_and(|m| m.role != Role::User) {
        out.remove(0);
    }
    out
}

/// Sends a message in a session. A retried message (same `client_message_id`) replays the
/// stored answer instead of running again.
pub async fn send_message(
    app: &App,
    who: &Principal,
    session_id: Id,
    text: &str,
    client_message_id: Option<String>,
    sink: &Sink,
) -> CoreResult<TurnOutcome> {
    let text = text.trim();
    check_message("content", text)?;
    let session = session_to_post_in(app, who, session_id).await?;
    let stored = messages(app, session_id).await?;
    if let Some(cid) = &client_message_id {
        if let Some(user_msg) = stored
            .iter()
            .find(|m| m.client_message_id.as_deref() == Some(cid))
        {
            return replay(app, &stored, user_msg, sink).await;
        }
    }
    app.agents.admit(who.user_id)?;
    let customer = match session.customer_id {
        Some(id) => {
            let mut c = app.db.conn().await?;
            entity::get::<Customer>(c.c(), id)
                .await?
                .map(|cu| KnownCustomer {
                    id: cu.id.to_string(),
                    name: cu.name,
                })
        }
        None => None,
    };
    let history = history_of(&stored);
    let user_msg = AgentMessage {
        id: Id::new(),
        session_id,
        agent_id: None,
        role: "user".into(),
        content: text.to_string(),
        thinking: false,
        requires_approval: false,
        deployed_agent: None,
        tool_calls: None,
        metadata: json!({ "user_id": who.user_id }),
        created_at: app.now(),
        client_message_id,
    };
    {
        let mut c = app.db.conn().await?;
        match entity::insert(c.c(), &user_msg).await {
            Ok(()) => {}
            // The same message arrived twice at once: the first one answers.
            Err(cscx_store::Error::Conflict { .. }) => {
                return Err(CoreError::Conflict(
                    "this message is already being answered".into(),
                ))
            }
            Err(e) => return Err(e.into()),
        }
    }
    let outcome = run_engine(
        app,
        who,
        Some(session_id),
        customer,
        history,
        text,
        Some(sink),
    )
    .await;
    if let Err(e) = &outcome {
        let _ = sink.send(AgentEvent::Error {
            message: e.to_string(),
        });
        // The failure is the answer on record, so a retried message gets it instead of waiting
        // for an answer that will not come.
        let m = AgentMessage {
            id: Id::new(),
            session_id,
            agent_id: None,
            role: "assistant".into(),
            content: format!("I could not answer: {e}"),
            thinking: false,
            requires_approval: false,
            deployed_agent: None,
            tool_calls: None,
            metadata: json!({ "error": true }),
            created_at: app.now(),
            client_message_id: None,
        };
        let mut c = app.db.conn().await?;
        entity::insert(c.c(), &m).await?;
    }
    outcome
}

/// The stored answer to an earlier copy of a message.
async fn replay(
    app: &App,
    stored: &[AgentMessage],
    user_msg: &AgentMessage,
    sink: &Sink,
) -> CoreResult<TurnOutcome> {
    let _ = app;
    let after: Vec<&AgentMessage> = stored
        .iter()
        .skip_while(|m| m.id != user_msg.id)
        .skip(1)
        .take_while(|m| m.role != "user")
        .collect();
    let Some(answer) = after
        .iter()
        .rev()
        .find(|m| m.role == "assistant" && m.tool_calls.is_none())
    else {
        return Err(CoreError::Conflict(
            "this message is still being answered".into(),
        ));
    };
    let agent = answer
        .deployed_agent
        .clone()
        .unwrap_or_else(|| "orchestrator".into());
    let _ = sink.send(AgentEvent::Token {
        text: answer.content.clone(),
    });
    let _ = sink.send(AgentEvent::Done {
        message_id: Some(answer.id),
        agent: agent.clone(),
        content: answer.content.clone(),
        approvals: vec![],
    });
    Ok(TurnOutcome {
        agent,
        content: answer.content.clone(),
        tool_calls: vec![],
        approvals: vec![],
        message_id: Some(answer.id.to_string()),
    })
}
