//! Authentication: users and passwords, API tokens, browser sessions, and the login rate limit.
//! Everything lives in the database, so any number of nodes agree on who is signed in.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::Duration;
use rand::RngCore;
use sha2::{Digest, Sha256};

use cscx_domain::events::Event;
use cscx_domain::{validate, Clock, FieldErrors, Role, TokenScope};
use cscx_store::product::{self, ApiToken, AuthSession, LoginAttempt, LoginDevice, User};
use cscx_store::{entity, Db, Id, Timestamp};

use crate::audit::{self, Actor};
use crate::error::{CoreError, CoreResult};

/// Prefix of every API token, so secret scanners and people recognise one.
pub const TOKEN_PREFIX: &str = "cscx_";

#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// A session ends after this long without use.
    pub session_idle: Duration,
    /// Failed logins are counted over this window.
    pub login_window: Duration,
    pub max_failures_per_email: i64,
    pub max_failures_per_ip: i64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            session_idle: Duration::hours(12),
            login_window: Duration::minutes(15),
            max_failures_per_email: 5,
            max_failures_per_ip: 30,
        }
    }
}

/// One sign-in attempt, as the client made it.
#[derive(Debug, Clone, Copy)]
pub struct LoginRequest<'a> {
    pub email: &'a str,
    pub password: &'a str,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    /// The device cookie the browser presented, if any.
    pub device_cookie: Option<&'a str>,
}

/// A successful sign-in: the caller, the session cookie's secret, and the device cookie's.
#[derive(Debug, Clone)]
pub struct LoggedIn {
    pub principal: Principal,
    pub session_secret: String,
    pub device_secret: String,
}

/// How a request proved who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthVia {
    Token { token_id: Id },
    Session { session_id: Id, csrf_token: String },
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: Id,
    pub email: String,
    pub name: Option<String>,
    /// The effective role: a token's role, never above its user's current role.
    pub role: Role,
    pub scope: TokenScope,
    pub via: AuthVia,
}

impl Principal {
    /// Scope key for per-caller records such as idempotency keys.
    pub fn scope_key(&self) -> String {
        match &self.via {
            AuthVia::Token { token_id } => format!("token:{token_id}"),
            AuthVia::Session { .. } => format!("user:{}", self.user_id),
        }
    }
}

/// The caller behind a browser session (sessions always have full scope).
fn session_principal(user: User, role: Role, session: AuthSession) -> Principal {
    Principal {
        user_id: user.id,
        email: user.email,
        name: user.name,
        role,
        scope: TokenScope::Full,
        via: AuthVia::Session {
            session_id: session.id,
            csrf_token: session.csrf_token,
        },
    }
}

pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters accepts any password")
        .to_string()
}

pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A random secret of 32 bytes, hex-encoded.
pub fn random_secret() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// Tokens and session secrets are stored as SHA-256: they are random 256-bit values, so a
/// fast hash is enough (unlike passwords).
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

pub fn check_password_strength(password: &str) -> Result<(), String> {
    if password.chars().count() < 10 {
        return Err("must be at least 10 characters".into());
    }
    if password.chars().count() > 1024 {
        return Err("must be at most 1024 characters".into());
    }
    Ok(())
}

#[derive(Clone)]
pub struct Auth {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub config: AuthConfig,
    /// A valid hash verified when the e-mail is unknown, so timing does not reveal accounts.
    dummy_hash: Arc<String>,
}

impl Auth {
    pub fn new(db: Db, clock: Arc<dyn Clock>, config: AuthConfig) -> Auth {
        Auth {
            db,
            clock,
            config,
            dummy_hash: Arc::new(hash_password("not-a-real-password")),
        }
    }

    fn now(&self) -> Timestamp {
        Timestamp::from_datetime(self.clock.now())
    }

    pub async fn user_by_email(&self, email: &str) -> CoreResult<Option<User>> {
        let mut c = self.db.conn().await?;
        Ok(product::user_by_email(c.c(), email).await?)
    }

    /// The one active user whose address begins `local@` (for `@local` mentions).
    pub async fn user_by_email_local_part(&self, local: &str) -> CoreResult<Option<User>> {
        let mut c = self.db.conn().await?;
        Ok(product::user_by_email_local_part(c.c(), local).await?)
    }

    /// Creates a user. `password` may be absent for users who only own API tokens.
    pub async fn create_user(
        &self,
        email: &str,
        name: Option<&str>,
        role: Role,
        password: Option<&str>,
        actor: &Actor,
    ) -> CoreResult<User> {
        let email = email.trim().to_lowercase();
        let mut errors = FieldErrors::new();
        errors.check("email", Some(email.as_str()), validate::email);
        errors.check("name", name, validate::text(200));
        errors.check("password", password, check_password_strength);
        errors.into_result()?;
        let now = self.now();
        let user = User {
            id: Id::new(),
            email: email.clone(),
            name: name.map(str::to_owned),
            role: role.into(),
            password_hash: password.map(hash_password),
            disabled: false,
            time_zone: "UTC".into(),
            last_login_at: None,
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.db.begin().await?;
        match entity::insert(tx.c(), &user).await {
            Err(cscx_store::Error::Conflict { .. }) => {
                return Err(CoreError::field(
                    "email",
                    format!("a user with e-mail {email} already exists"),
                ))
            }
            other => other?,
        }
        let event = Event::UserCreated {
            user_id: user.id.0,
            email: user.email.clone(),
            role: user.role.to_string(),
        };
        audit::record(tx.c(), &event, actor, None, now).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Creates an API token for the user with `email` and returns it with the only copy of the
    /// secret. `role` may lower the token's power below the user's, never raise it.
    pub async fn create_token(
        &self,
        email: &str,
        name: &str,
        role: Option<Role>,
        scope: TokenScope,
        expires_at: Option<Timestamp>,
        actor: &Actor,
    ) -> CoreResult<(ApiToken, String)> {
        let user = self
            .user_by_email(email)
            .await?
            .ok_or_else(|| CoreError::field("email", format!("no user with e-mail {email}")))?;
        let user_role: Role = *user.role;
        if let Some(r) = role {
            if r > user_role {
                return Err(CoreError::field(
                    "role",
                    format!("cannot exceed the user's own role ({user_role})"),
                ));
            }
        }
        let mut errors = FieldErrors::new();
        errors.check("name", Some(name), validate::text(100));
        errors.into_result()?;
        let secret = format!("{TOKEN_PREFIX}{}", random_secret());
        let token = ApiToken {
            id: Id::new(),
            user_id: user.id,
            name: name.trim().to_owned(),
            token_hash: hash_secret(&secret),
            prefix: secret[..TOKEN_PREFIX.len() + 8].to_owned(),
            role: role.map(|r| r.as_str().to_owned()),
            scope: scope.as_str().to_owned(),
            created_at: self.now(),
            last_used_at: None,
            expires_at,
            revoked_at: None,
        };
        let mut tx = self.db.begin().await?;
        match entity::insert(tx.c(), &token).await {
            Err(cscx_store::Error::Conflict { .. }) => {
                return Err(CoreError::field(
                    "name",
                    format!("{} already has an active token named {name:?}", user.email),
                ))
            }
            other => other?,
        }
        let event = Event::TokenCreated {
            token_id: token.id.0,
            user_id: user.id.0,
            name: token.name.clone(),
            scope: token.scope.clone(),
            role: token.role.clone(),
        };
        audit::record(tx.c(), &event, actor, None, token.created_at).await?;
        tx.commit().await?;
        Ok((token, secret))
    }

    pub async fn list_tokens(&self, user_id: Option<Id>) -> CoreResult<Vec<ApiToken>> {
        let mut c = self.db.conn().await?;
        Ok(product::tokens_of_user(c.c(), user_id).await?)
    }

    /// Revokes a token; revoking twice is harmless. Returns the token.
    pub async fn revoke_token(&self, id: Id, actor: &Actor) -> CoreResult<ApiToken> {
        let mut tx = self.db.begin().await?;
        let mut token: ApiToken = entity::get_for_update(tx.c(), id)
            .await?
            .ok_or(CoreError::NotFound("token"))?;
        if token.revoked_at.is_none() {
            let now = self.now();
            token.revoked_at = Some(now);
            entity::update(tx.c(), &token).await?;
            let event = Event::TokenRevoked {
                token_id: token.id.0,
                user_id: token.user_id.0,
                name: token.name.clone(),
            };
            audit::record(tx.c(), &event, actor, None, now).await?;
        }
        tx.commit().await?;
        Ok(token)
    }

    async fn active_user(&self, id: Id) -> CoreResult<(User, Role)> {
        let mut c = self.db.conn().await?;
        let user: User = entity::get(c.c(), id).await?.ok_or_else(|| {
            CoreError::Unauthenticated("the credential's user no longer exists".into())
        })?;
        if user.disabled {
            return Err(CoreError::Unauthenticated("this user is disabled".into()));
        }
        let role = *user.role;
        Ok((user, role))
    }

    /// Resolves `Authorization: Bearer <token>`.
    pub async fn authenticate_bearer(&self, secret: &str) -> CoreResult<Principal> {
        let invalid = || CoreError::Unauthenticated("invalid API token".into());
        if !secret.starts_with(TOKEN_PREFIX) {
            return Err(invalid());
        }
        let token = {
            let mut c = self.db.conn().await?;
            product::token_by_hash(c.c(), &hash_secret(secret))
                .await?
                .ok_or_else(invalid)?
        };
        let now = self.now();
        if token.revoked_at.is_some() {
            return Err(CoreError::Unauthenticated(
                "this API token was revoked".into(),
            ));
        }
        if token.expires_at.is_some_and(|e| e <= now) {
            return Err(CoreError::Unauthenticated(
                "this API token has expired".into(),
            ));
        }
        let (user, user_role) = self.active_user(token.user_id).await?;
        let role = match token.role.as_deref().map(str::parse::<Role>) {
            Some(Ok(r)) => r.min(user_role),
            Some(Err(e)) => return Err(CoreError::Internal(e)),
            None => user_role,
        };
        let scope = token.scope.parse().map_err(CoreError::Internal)?;
        {
            let mut c = self.db.conn().await?;
            product::touch_token(c.c(), token.id, now).await?;
        }
        Ok(Principal {
            user_id: user.id,
            email: user.email,
            name: user.name,
            role,
            scope,
            via: AuthVia::Token { token_id: token.id },
        })
    }

    /// Checks e-mail and password, subject to the sign-in throttle, and opens a session.
    ///
    /// The throttle follows OWASP's device-cookie scheme so that it cannot lock out the
    /// innocent: a client without a device cookie of this account ("unknown") is refused while
    /// the account has had `max_failures_per_email` recent failures from unknown clients (with
    /// a backoff that doubles per further failure, up to the window), or while its address has
    /// had `max_failures_per_ip`. A browser that signed in to this account before presents its
    /// device cookie and is exempt from both; it has a limit of its own
    /// (`max_failures_per_email` failures locks that device only).
    pub async fn login(&self, attempt: LoginRequest<'_>) -> CoreResult<LoggedIn> {
        let email = attempt.email.trim().to_lowercase();
        let ip = attempt.ip;
        let now = self.now();
        let since = now.add(-self.config.login_window);
        let device = match attempt.device_cookie {
            Some(secret) => {
                let mut c = self.db.conn().await?;
                product::login_device(c.c(), &hash_secret(secret), &email).await?
            }
            None => None,
        };
        {
            let mut c = self.db.conn().await?;
            let f = product::failed_logins_since(
                c.c(),
                &email,
                ip,
                device.as_ref().map(|d| d.id),
                since,
            )
            .await?;
            let retry = self.throttle(&f, device.is_some(), now);
            if let Some(retry_after_secs) = retry {
                return Err(CoreError::RateLimited { retry_after_secs });
            }
        }
        let user = self.user_by_email(&email).await?;
        let ok = match &user {
            Some(u) if !u.disabled => u
                .password_hash
                .as_deref()
                .is_some_and(|h| verify_password(h, attempt.password)),
            _ => {
                verify_password(&self.dummy_hash, attempt.password);
                false
            }
        };
        let mut tx = self.db.begin().await?;
        let record = LoginAttempt {
            id: Id::new(),
            email: email.clone(),
            ip: ip.map(str::to_owned),
            succeeded: ok,
            attempted_at: now,
            device_id: device.as_ref().map(|d| d.id),
        };
        entity::insert(tx.c(), &record).await?;
        if !ok {
            tx.commit().await?;
            return Err(CoreError::Unauthenticated(
                "wrong e-mail or password".into(),
            ));
        }
        let mut user = user.expect("ok implies a user");
        let secret = random_secret();
        let session = AuthSession {
            id: Id::new(),
            user_id: user.id,
            token_hash: hash_secret(&secret),
            csrf_token: random_secret(),
            user_agent: attempt.user_agent.map(|s| s.chars().take(300).collect()),
            ip: ip.map(str::to_owned),
            created_at: now,
            last_seen_at: now,
            expires_at: now.add(self.config.session_idle),
        };
        entity::insert(tx.c(), &session).await?;
        user.last_login_at = Some(now);
        entity::update(tx.c(), &user).await?;
        let event = Event::SignedIn {
            user_id: user.id.0,
            ip: ip.map(str::to_owned),
            known_device: device.is_some(),
        };
        audit::record(tx.c(), &event, &Actor::user(user.id), None, now).await?;
        // The browser is now known for this account: a new device cookie (rotated on every
        // sign-in, so a stolen one stops working at the owner's next sign-in).
        if let Some(old) = &device {
            entity::delete::<LoginDevice>(tx.c(), old.id).await?;
        }
        let device_secret = random_secret();
        entity::insert(
            tx.c(),
            &LoginDevice {
                id: Id::new(),
                email: email.clone(),
                token_hash: hash_secret(&device_secret),
                created_at: device.as_ref().map(|d| d.created_at).unwrap_or(now),
                last_used_at: now,
            },
        )
        .await?;
        tx.commit().await?;
        let role = *user.role;
        Ok(LoggedIn {
            principal: session_principal(user, role, session),
            session_secret: secret,
            device_secret,
        })
    }

    /// Seconds until the next attempt is allowed, or `None` if it may go ahead now.
    fn throttle(&self, f: &product::LoginFailures, known: bool, now: Timestamp) -> Option<u64> {
        let window = self.config.login_window.num_seconds().max(1) as u64;
        if known {
            return (f.device >= self.config.max_failures_per_email).then_some(window);
        }
        if f.address_unknown >= self.config.max_failures_per_ip {
            return Some(window);
        }
        let over = f.account_unknown - self.config.max_failures_per_email;
        if over >= 0 {
            // 30 s after the limit is reached, doubling with each further failure.
            let backoff = (30u64 << over.min(16)).min(window);
            let last = f.account_last.unwrap_or(now);
            let elapsed = ((now.millis() - last.millis()).max(0) / 1000) as u64;
            if elapsed < backoff {
                return Some(backoff - elapsed);
            }
        }
        None
    }

    /// Resolves a session cookie, extending the session's idle expiry.
    pub async fn authenticate_session(&self, secret: &str) -> CoreResult<Principal> {
        let now = self.now();
        let session = {
            let mut c = self.db.conn().await?;
            product::session_by_hash(c.c(), &hash_secret(secret)).await?
        }
        .filter(|s| s.expires_at > now)
        .ok_or_else(|| CoreError::Unauthenticated("session expired; sign in again".into()))?;
        let (user, role) = self.active_user(session.user_id).await?;
        {
            let mut c = self.db.conn().await?;
            product::touch_session(c.c(), session.id, now, now.add(self.config.session_idle))
                .await?;
        }
        Ok(session_principal(user, role, session))
    }

    pub async fn logout(&self, session_id: Id) -> CoreResult<()> {
        let mut tx = self.db.begin().await?;
        if let Some(session) = entity::get::<AuthSession>(tx.c(), session_id).await? {
            entity::delete::<AuthSession>(tx.c(), session_id).await?;
            let event = Event::SignedOut {
                user_id: session.user_id.0,
            };
            let actor = Actor::user(session.user_id);
            audit::record(tx.c(), &event, &actor, None, self.now()).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_salt_and_verify() {
        let h = hash_password("correct horse battery");
        assert!(h.starts_with("$argon2id$"));
        assert_ne!(h, hash_password("correct horse battery"));
        assert!(verify_password(&h, "correct horse battery"));
        assert!(!verify_password(&h, "wrong"));
        assert!(!verify_password("garbage", "x"));
    }

    #[test]
    fn secrets_are_random_and_hashed_deterministically() {
        let a = random_secret();
        assert_eq!(a.len(), 64);
        assert_ne!(a, random_secret());
        assert_eq!(hash_secret(&a), hash_secret(&a));
        assert_ne!(hash_secret(&a), a);
    }
}
