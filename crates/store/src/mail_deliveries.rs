//! The ledger of messages handed to a mail server (migration 0010): at most one hand-over per
//! message key, and what became of it.

use crate::error::Result;
use crate::types::Timestamp;
use crate::DbConn;

#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct MailDelivery {
    pub message_key: String,
    pub channel: String,
    /// sending | sent | retry | refused | unknown
    pub state: String,
    pub reference: Option<String>,
    pub error: Option<String>,
    pub attempts: i32,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
}

pub async fn get(c: DbConn<'_>, key: &str) -> Result<Option<MailDelivery>> {
    Ok(crate::sql!(
        c,
        optional MailDelivery,
        "SELECT * FROM mail_deliveries WHERE message_key = $1",
        key,
    )?)
}

/// Starts an attempt for `key` if none was made or the last one left it safe to retry; returns
/// the attempt number, or `None` when the key is in any other state (one statement, so two
/// executors cannot both start).
pub async fn claim(c: DbConn<'_>, key: &str, channel: &str, now: Timestamp) -> Result<Option<i32>> {
    Ok(crate::sql!(
        c,
        scalar_optional i32,
        "INSERT INTO mail_deliveries (message_key, channel, state, attempts, started_at)
         VALUES ($1, $2, 'sending', 1, $3)
         ON CONFLICT (message_key) DO UPDATE SET state = 'sending',
           attempts = mail_deliveries.attempts + 1, started_at = excluded.started_at,
           error = NULL, finished_at = NULL
         WHERE mail_deliveries.state = 'retry'
         RETURNING attempts",
        key,
        channel,
        now,
    )?)
}

/// Records how an attempt ended.
pub async fn finish(
    c: DbConn<'_>,
    key: &str,
    state: &str,
    (reference, error): (Option<&str>, Option<&str>),
    now: Timestamp,
) -> Result<()> {
    crate::sql!(
        c,
        execute,
        "UPDATE mail_deliveries SET state = $2, reference = $3, error = $4, finished_at = $5
         WHERE message_key = $1",
        key,
        state,
        reference,
        error,
        now,
    )?;
    Ok(())
}

/// How many messages are in each state.
pub async fn counts(c: DbConn<'_>) -> Result<Vec<(String, i64)>> {
    Ok(crate::sql!(
        c,
        all(String, i64),
        "SELECT state, COUNT(*) FROM mail_deliveries GROUP BY state ORDER BY state",
    )?)
}

/// The latest attempts, newest first; only those in `state` when given.
pub async fn recent(c: DbConn<'_>, state: Option<&str>, limit: i64) -> Result<Vec<MailDelivery>> {
    Ok(crate::sql!(
        c,
        all MailDelivery,
        "SELECT * FROM mail_deliveries WHERE ($1 IS NULL OR state = $1)
         ORDER BY started_at DESC, message_key LIMIT $2",
        state,
        limit,
    )?)
}
