//! The general assistant (`/api/v1/chat`): one question, answered in full.

use super::*;

/// One question to the general assistant, answered in full (no stream). `chat_messages` keeps
/// the exchange; a retried request with the same `client_message_id` gets the stored answer.
pub async fn chat(
    app: &App,
    who: &Principal,
    text: &str,
    customer_id: Option<Id>,
    client_message_id: Option<String>,
) -> CoreResult<TurnOutcome> {
    authz::use_assistant(who)?;
    let text = text.trim();
    check_message("message", text)?;
    let user_key = who.user_id.to_string();
    if let Some(cid) = &client_message_id {
        let mut c = app.db.conn().await?;
        let reply = cscx_store::agents::chat_message_by_client_id(
            c.c(),
            &user_key,
            &format!("{cid}#reply"),
        )
        .await?;
        if let Some(r) = reply {
            return Ok(TurnOutcome {
                agent: r.agent_type.unwrap_or_else(|| "orchestrator".into()),
                content: r.content,
                tool_calls: r
                    .tool_calls
                    .and_then(|v| v.as_array().cloned())
                    .unwrap_or_default(),
                approvals: vec![],
                message_id: Some(r.id.to_string()),
            });
        }
    }
    app.agents.admit(who.user_id)?;
    let customer = match customer_id {
        Some(id) => {
            let mut c = app.db.conn().await?;
            let cu = entity::get::<Customer>(c.c(), id)
                .await?
                .ok_or_else(|| CoreError::field("customer_id", "no customer has this id"))?;
            Some(KnownCustomer {
                id: cu.id.to_string(),
                name: cu.name,
            })
        }
        None => None,
    };
    let now = app.now();
    let session_key = format!("chat:{user_key}");
    let question = ChatMessage {
        id: Id::new(),
        customer_id,
        user_id: Some(user_key.clone()),
        role: "user".into(),
        content: text.to_string(),
        agent_type: None,
        tool_calls: None,
        session_id: Some(session_key.clone()),
        created_at: now,
        client_message_id: client_message_id.clone(),
    };
    {
        let mut c = app.db.conn().await?;
        match entity::insert(c.c(), &question).await {
            Ok(()) => {}
            Err(cscx_store::Error::Conflict { .. }) => {
                return Err(CoreError::Conflict(
                    "this message is already being answered".into(),
                ))
            }
            Err(e) => return Err(e.into()),
        }
    }
    let outcome = run_engine(app, who, None, customer, vec![], text, None).await?;
    let reply = ChatMessage {
        id: Id::new(),
        customer_id,
        user_id: Some(user_key),
        role: "assistant".into(),
        content: outcome.content.clone(),
        agent_type: Some(outcome.agent.clone()),
        tool_calls: Some(Value::Array(outcome.tool_calls.clone())),
        session_id: Some(session_key),
        created_at: app.now(),
        client_message_id: client_message_id.map(|c| format!("{c}#reply")),
    };
    let mut c = app.db.conn().await?;
    entity::insert(c.c(), &reply).await?;
    Ok(TurnOutcome {
        message_id: Some(reply.id.to_string()),
        ..outcome
    })
}

pub async fn chat_history(
    app: &App,
    who: &Principal,
    before: Option<Id>,
    limit: u32,
) -> CoreResult<Vec<ChatMessage>> {
    let mut c = app.db.conn().await?;
    Ok(cscx_store::agents::chat_page(c.c(), &who.user_id.to_string(), before, limit).await?)
}

/// The latest tool runs about a customer (for the customer 360).
pub async fn recent_activity(
    app: &App,
    customer_id: Id,
    limit: u32,
) -> CoreResult<Vec<AgentActivity>> {
    let mut c = app.db.conn().await?;
    Ok(cscx_store::agents::recent_activity(c.c(), customer_id, limit).await?)
}
