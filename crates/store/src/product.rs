//! Tables the product adds to the data model: people who sign in, their API tokens and
//! sessions, login attempts (for rate limiting), and stored responses for `Idempotency-Key`.
//! The job queue's tables (`jobs`, `schedules`) belong to `cscx-jobs`.

use crate::entity;
use crate::error::Result;
use crate::types::{Id, RoleText, Timestamp};
use crate::{run, DbConn};

entity! {
    /// A person who signs in (or owns API tokens). Never serialised to clients as is: the
    /// password hash stays on the server.
    User in "users" {
        id: Id,
        email: String,
        name: Option<String>,
        role: RoleText,
        password_hash: Option<String>,
        disabled: bool,
        time_zone: String,
        last_login_at: Option<Timestamp>,
        created_at: Timestamp,
        updated_at: Timestamp,
    }
}

entity! {
    /// An API token: only its SHA-256 is stored; `prefix` lets people tell tokens apart.
    ApiToken in "api_tokens" {
        id: Id,
        user_id: Id => "users",
        name: String,
        token_hash: String,
        prefix: String,
        role: Option<String>,
        scope: String,
        created_at: Timestamp,
        last_used_at: Option<Timestamp>,
        expires_at: Option<Timestamp>,
        revoked_at: Option<Timestamp>,
    }
}

entity! {
    /// A signed-in browser session (the cookie holds the secret, the table its hash).
    AuthSession in "auth_sessions" {
        id: Id,
        user_id: Id => "users",
        token_hash: String,
        csrf_token: String,
        user_agent: Option<String>,
        ip: Option<String>,
        created_at: Timestamp,
        last_seen_at: Timestamp,
        expires_at: Timestamp,
    }
}

entity! {
    /// One sign-in attempt, kept for a while to rate-limit password guessing across nodes.
    LoginAttempt in "login_attempts" {
        id: Id,
        email: String,
        ip: Option<String>,
        succeeded: bool,
        attempted_at: Timestamp,
        device_id: Option<Id>,
    }
}

entity! {
    /// A browser that signed in to an account before (its device cookie, hashed).
    LoginDevice in "login_devices" {
        id: Id,
        email: String,
        token_hash: String,
        created_at: Timestamp,
        last_used_at: Timestamp,
    }
}

entity! {
    /// The first response to a request sent with an `Idempotency-Key`.
    IdempotencyRecord in "idempotency_keys" {
        id: Id,
        scope: String,
        idem_key: String,
        method: String,
        path: String,
        request_hash: String,
        status_code: Option<i32>,
        response_body: Option<String>,
        created_at: Timestamp,
        expires_at: Timestamp,
    }
}

pub async fn user_by_email(c: DbConn<'_>, email: &str) -> Result<Option<User>> {
    Ok(crate::sql!(c, optional User, "SELECT * FROM users WHERE email = $1", email.to_lowercase())?)
}

/// The one active user whose e-mail starts with `local@` (`None` when none or several do).
pub async fn user_by_email_local_part(c: DbConn<'_>, local: &str) -> Result<Option<User>> {
    let prefix = format!("{}@", local.to_lowercase());
    let mut found = crate::sql!(
        c,
        all User,
        "SELECT * FROM users WHERE substr(email, 1, length($1)) = $1 AND disabled = FALSE LIMIT 2",
        &prefix,
    )?;
    Ok(if found.len() == 1 { found.pop() } else { None })
}

/// Active admins (counted inside a changing transaction, so the last one cannot disappear).
pub async fn active_admins(c: DbConn<'_>) -> Result<i64> {
    Ok(crate::sql!(
        c,
        scalar i64,
        "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = FALSE",
    )?)
}

pub async fn token_by_hash(c: DbConn<'_>, hash: &str) -> Result<Option<ApiToken>> {
    Ok(crate::sql!(c, optional ApiToken, "SELECT * FROM api_tokens WHERE token_hash = $1", hash)?)
}

pub async fn tokens_of_user(c: DbConn<'_>, user_id: Option<Id>) -> Result<Vec<ApiToken>> {
    Ok(crate::sql!(
        c,
        all ApiToken,
        "SELECT * FROM api_tokens WHERE ($1 IS NULL OR user_id = $1) ORDER BY id",
        user_id,
    )?)
}

/// Records the use of a token at most once a minute, to keep reads from turning into writes.
pub async fn touch_token(c: DbConn<'_>, id: Id, now: Timestamp) -> Result<()> {
    let stale = Timestamp::from_millis(now.millis() - 60_000);
    crate::sql!(
        c,
        execute,
        "UPDATE api_tokens SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)",
        id,
        now,
        stale,
    ).map(|_| ())?;
    Ok(())
}

pub async fn session_by_hash(c: DbConn<'_>, hash: &str) -> Result<Option<AuthSession>> {
    Ok(crate::sql!(
        c,
        optional AuthSession,
        "SELECT * FROM auth_sessions WHERE token_hash = $1",
        hash,
    )?)
}

/// Extends a session's life when it is used (sliding expiry), at most once a minute.
pub async fn touch_session(
    c: DbConn<'_>,
    id: Id,
    now: Timestamp,
    expires: Timestamp,
) -> Result<()> {
    let stale = Timestamp::from_millis(now.millis() - 60_000);
    crate::sql!(
        c,
        execute,
        "UPDATE auth_sessions SET last_seen_at = $2, expires_at = $3 WHERE id = $1 AND last_seen_at < $4",
        id,
        now,
        expires,
        stale,
    ).map(|_| ())?;
    Ok(())
}

pub async fn delete_sessions_of_user(c: DbConn<'_>, user_id: Id) -> Result<u64> {
    run!(c, |conn| Ok(sqlx::query(
        "DELETE FROM auth_sessions WHERE user_id = $1"
    )
    .bind(user_id)
    .execute(&mut *conn)
    .await?
    .rows_affected()))
}

/// Failed sign-in attempts in a window, counted the ways the throttle needs them.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoginFailures {
    /// For this e-mail from unknown clients (no device cookie of the account).
    pub account_unknown: i64,
    /// From this address by unknown clients.
    pub address_unknown: i64,
    /// From this device (when the request presented one).
    pub device: i64,
    /// The latest failure for this e-mail from an unknown client.
    pub account_last: Option<Timestamp>,
}

/// Failed attempts since `since`: for the e-mail and from the address by unknown clients, and
/// from `device`.
pub async fn failed_logins_since(
    c: DbConn<'_>,
    email: &str,
    ip: Option<&str>,
    device: Option<Id>,
    since: Timestamp,
) -> Result<LoginFailures> {
    run!(c, |conn| {
        let (account_unknown, account_last): (i64, Option<Timestamp>) = sqlx::query_as(
            "SELECT COUNT(*), MAX(attempted_at) FROM login_attempts
             WHERE email = $1 AND attempted_at >= $2 AND succeeded = FALSE AND device_id IS NULL",
        )
        .bind(email.to_lowercase())
        .bind(since)
        .fetch_one(&mut *conn)
        .await?;
        let address_unknown: i64 = match ip {
            Some(ip) => {
                sqlx::query_scalar(
                    "SELECT COUNT(*) FROM login_attempts
                     WHERE ip = $1 AND attempted_at >= $2 AND succeeded = FALSE AND device_id IS NULL",
                )
                .bind(ip)
                .bind(since)
                .fetch_one(&mut *conn)
                .await?
            }
            None => 0,
        };
        let device: i64 = match device {
            Some(d) => {
                sqlx::query_scalar(
                    "SELECT COUNT(*) FROM login_attempts
                     WHERE device_id = $1 AND attempted_at >= $2 AND succeeded = FALSE",
                )
                .bind(d)
                .bind(since)
                .fetch_one(&mut *conn)
                .await?
            }
            None => 0,
        };
        Ok(LoginFailures {
            account_unknown,
            address_unknown,
            device,
            account_last,
        })
    })
}

/// The device behind a device cookie's hash, if it belongs to `email`.
pub async fn login_device(
    c: DbConn<'_>,
    token_hash: &str,
    email: &str,
) -> Result<Option<LoginDevice>> {
    crate::sql!(
        c,
        optional LoginDevice,
        "SELECT * FROM login_devices WHERE token_hash = $1 AND email = $2",
        token_hash,
        email,
    )
    .map_err(Into::into)
}

pub async fn idempotency_get(
    c: DbConn<'_>,
    scope: &str,
    key: &str,
) -> Result<Option<IdempotencyRecord>> {
    Ok(crate::sql!(
        c,
        optional IdempotencyRecord,
        "SELECT * FROM idempotency_keys WHERE scope = $1 AND idem_key = $2",
        scope,
        key,
    )?)
}

/// Claims a key for a request in progress. False if someone holds it already.
pub async fn idempotency_claim(c: DbConn<'_>, rec: &IdempotencyRecord) -> Result<bool> {
    run!(c, |conn| {
        Ok(sqlx::query(
        "INSERT INTO idempotency_keys (id, scope, idem_key, method, path, request_hash, status_code, response_body, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL, $7, $8) ON CONFLICT (scope, idem_key) DO NOTHING"
    )
    .bind(rec.id)
    .bind(&rec.scope)
    .bind(&rec.idem_key)
    .bind(&rec.method)
    .bind(&rec.path)
    .bind(&rec.request_hash)
    .bind(rec.created_at)
    .bind(rec.expires_at)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1)
    })
}

pub async fn idempotency_complete(c: DbConn<'_>, id: Id, status: i32, body: &str) -> Result<()> {
    crate::sql!(
        c,
        execute,
        "UPDATE idempotency_keys SET status_code = $2, response_body = $3 WHERE id = $1",
        id,
        status,
        body,
    )
    .map(|_| ())?;
    Ok(())
}

pub async fn idempotency_release(c: DbConn<'_>, id: Id) -> Result<()> {
    crate::sql!(c, execute, "DELETE FROM idempotency_keys WHERE id = $1", id).map(|_| ())?;
    Ok(())
}

/// Deletes expired sessions, idempotency records, old login attempts and devices unused for
/// half a year. Returns rows removed.
pub async fn purge_expired(mut c: DbConn<'_>, now: Timestamp) -> Result<u64> {
    let week_ago = Timestamp::from_millis(now.millis() - 7 * 86_400_000);
    let half_year_ago = Timestamp::from_millis(now.millis() - 180 * 86_400_000);
    let mut removed = 0;
    for (sql, at) in [
        ("DELETE FROM auth_sessions WHERE expires_at < $1", now),
        ("DELETE FROM idempotency_keys WHERE expires_at < $1", now),
        (
            "DELETE FROM login_attempts WHERE attempted_at < $1",
            week_ago,
        ),
        (
            "DELETE FROM login_devices WHERE last_used_at < $1",
            half_year_ago,
        ),
    ] {
        removed += run!(c.re(), |conn| sqlx::query(sql)
            .bind(at)
            .execute(&mut *conn)
            .await?
            .rows_affected());
    }
    Ok(removed)
}
