//! Agent sessions, their messages and tool runs, and the general assistant's chat.

use crate::model::{AgentActivity, AgentSession, ChatMessage};
use crate::{DbConn, Id, Result, Timestamp};

/// Sessions newest first, keyset on id: everyone's (`user` None) or one user's.
pub async fn sessions_page(
    c: DbConn<'_>,
    user: Option<Id>,
    before: Option<Id>,
    limit: u32,
) -> Result<Vec<AgentSession>> {
    Ok(crate::sql!(
        c,
        all AgentSession,
        "SELECT * FROM agent_sessions WHERE ($1 IS NULL OR user_id = $1) AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
        user,
        before,
        limit as i64,
    )?)
}

/// Active sessions not touched since `cutoff` become `timed_out`; returns how many.
pub async fn time_out_sessions(c: DbConn<'_>, cutoff: Timestamp, now: Timestamp) -> Result<u64> {
    Ok(crate::sql!(
        c,
        execute,
        "UPDATE agent_sessions SET status = 'timed_out', ended_at = $1, updated_at = $1 WHERE status = 'active' AND updated_at < $2",
        now,
        cutoff,
    )?)
}

/// The latest tool runs about a customer (not the turns that contain them).
pub async fn recent_activity(
    c: DbConn<'_>,
    customer_id: Id,
    limit: u32,
) -> Result<Vec<AgentActivity>> {
    Ok(crate::sql!(
        c,
        all AgentActivity,
        "SELECT * FROM agent_activity_log WHERE customer_id = $1 AND parent_action_id IS NOT NULL ORDER BY id DESC LIMIT $2",
        customer_id,
        limit as i64,
    )?)
}

/// A chat message by its client-chosen id (how a retried request finds its answer).
pub async fn chat_message_by_client_id(
    c: DbConn<'_>,
    user_key: &str,
    client_message_id: &str,
) -> Result<Option<ChatMessage>> {
    Ok(crate::sql!(
        c,
        optional _,
        "SELECT * FROM chat_messages WHERE user_id = $1 AND client_message_id = $2",
        user_key,
        client_message_id,
    )?)
}

/// A user's chat, newest first, keyset on id.
pub async fn chat_page(
    c: DbConn<'_>,
    user_key: &str,
    before: Option<Id>,
    limit: u32,
) -> Result<Vec<ChatMessage>> {
    Ok(crate::sql!(
        c,
        all ChatMessage,
        "SELECT * FROM chat_messages WHERE user_id = $1 AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
        user_key,
        before,
        limit as i64,
    )?)
}

/// What changes when any customer is added, renamed or removed: the row count and the latest
/// update (the planner's name cache compares it).
pub async fn customer_names_version(c: DbConn<'_>) -> Result<(i64, Option<Timestamp>)> {
    Ok(crate::sql!(c, one _, "SELECT COUNT(*), MAX(updated_at) FROM customers")?)
}

/// Every customer's id and name (two short columns: the planner matches names in messages).
pub async fn customer_names(c: DbConn<'_>) -> Result<Vec<(Id, String)>> {
    Ok(crate::sql!(c, all _, "SELECT id, name FROM customers")?)
}
