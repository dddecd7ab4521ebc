//! Agent sessions: created, read, posted in, ended, timed out.

use super::*;

pub async fn create_session(
    app: &App,
    who: &Principal,
    customer_id: Option<Id>,
) -> CoreResult<AgentSession> {
    authz::use_assistant(who)?;
    let now = app.now();
    let mut c = app.db.conn().await?;
    if let Some(id) = customer_id {
        entity::get::<Customer>(c.c(), id)
            .await?
            .ok_or_else(|| CoreError::field("customer_id", "no customer has this id"))?;
    }
    let s = AgentSession {
        id: Id::new(),
        customer_id,
        user_id: Some(who.user_id),
        status: "active".into(),
        active_agent: Some("orchestrator".into()),
        deployed_agents: TextList(vec![]),
        context: Some(json!({})),
        created_at: now,
        updated_at: now,
        ended_at: None,
    };
    entity::insert(c.c(), &s).await?;
    Ok(s)
}

/// A session the caller may see: their own, or anyone's for managers and admins.
pub async fn session_for(app: &App, who: &Principal, id: Id) -> CoreResult<AgentSession> {
    let mut c = app.db.conn().await?;
    let s: AgentSession = entity::get(c.c(), id)
        .await?
        .ok_or(CoreError::NotFound("session"))?;
    authz::read_session(who, s.user_id)?;
    Ok(s)
}

/// The longest message a person may send the assistant, in characters.
pub const MAX_MESSAGE_CHARS: usize = 4000;

/// A message must hold something and at most [`MAX_MESSAGE_CHARS`]; `field` names it in the
/// error (`content` in sessions, `message` in the chat).
pub fn check_message(field: &str, text: &str) -> CoreResult<()> {
    let n = text.trim().chars().count();
    if n == 0 || n > MAX_MESSAGE_CHARS {
        return Err(CoreError::field(field, "must be 1 to 4,000 characters"));
    }
    Ok(())
}

/// A session the caller may post in: their own, and still active.
pub async fn session_to_post_in(app: &App, who: &Principal, id: Id) -> CoreResult<AgentSession> {
    authz::use_assistant(who)?;
    let session = session_for(app, who, id).await?;
    authz::post_in_session(who, session.user_id)?;
    if session.status != "active" {
        return Err(CoreError::Conflict(format!(
            "the session is {}",
            session.status
        )));
    }
    Ok(session)
}

pub async fn list_sessions(
    app: &App,
    who: &Principal,
    before: Option<Id>,
    limit: u32,
) -> CoreResult<Vec<AgentSession>> {
    let user = (who.role < cscx_domain::Role::Manager).then_some(who.user_id);
    let mut c = app.db.conn().await?;
    Ok(cscx_store::agents::sessions_page(c.c(), user, before, limit).await?)
}

pub async fn messages(app: &App, session: Id) -> CoreResult<Vec<AgentMessage>> {
    let mut c = app.db.conn().await?;
    Ok(cscx_store::agent_messages::of_session(c.c(), session).await?)
}

pub async fn end_session(app: &App, who: &Principal, id: Id) -> CoreResult<AgentSession> {
    let mut s = session_for(app, who, id).await?;
    authz::post_in_session(who, s.user_id)?;
    if s.status != "active" {
        return Err(CoreError::Conflict(format!(
            "the session is already {}",
            s.status
        )));
    }
    let now = app.now();
    s.status = "completed".into();
    s.ended_at = Some(now);
    s.updated_at = now;
    let mut c = app.db.conn().await?;
    entity::update(c.c(), &s).await?;
    Ok(s)
}

/// Ends sessions idle longer than the timeout (`timed_out`); run by the approvals job.
pub async fn time_out_sessions(app: &App) -> CoreResult<u64> {
    let now = app.now();
    let cutoff = now.add(chrono::Duration::minutes(
        -app.agents.session_timeout_minutes,
    ));
    let mut c = app.db.conn().await?;
    Ok(cscx_store::agents::time_out_sessions(c.c(), cutoff, now).await?)
}
