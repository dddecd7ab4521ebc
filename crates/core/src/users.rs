//! Managing the people who use CSCX (admins only, enforced by the caller).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use cscx_domain::events::{Change, Event};
use cscx_domain::{validate, FieldErrors, Role};
use cscx_store::product::User;
use cscx_store::{entity, Id, Timestamp};

use crate::audit::{self, Actor};
use crate::auth::{check_password_strength, hash_password};
use crate::error::{CoreError, CoreResult};
use crate::App;

/// A user as clients see one: no password hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: Id,
    pub email: String,
    pub name: Option<String>,
    pub role: String,
    pub disabled: bool,
    pub time_zone: String,
    pub last_login_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        UserView {
            id: u.id,
            email: u.email,
            name: u.name,
            role: u.role.to_string(),
            disabled: u.disabled,
            time_zone: u.time_zone,
            last_login_at: u.last_login_at,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

/// `POST /api/v1/users` body.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub email: String,
    pub name: Option<String>,
    pub role: String,
    pub password: Option<String>,
}

/// Active admins, counted inside the changing transaction so the last one cannot disappear.
async fn active_admins(c: cscx_store::DbConn<'_>) -> CoreResult<i64> {
    Ok(cscx_store::product::active_admins(c).await?)
}

/// What an update changed, for the audit record; a password shows as changed, never its value.
fn changes(before: &User, after: &User) -> Vec<Change> {
    let mut out = Vec::new();
    let mut diff = |field: &str, from: Option<String>, to: Option<String>| {
        if from != to {
            out.push(Change {
                field: field.into(),
                from,
                to,
            });
        }
    };
    diff(
        "role",
        Some(before.role.to_string()),
        Some(after.role.to_string()),
    );
    diff(
        "disabled",
        Some(before.disabled.to_string()),
        Some(after.disabled.to_string()),
    );
    diff("name", before.name.clone(), after.name.clone());
    diff(
        "time_zone",
        Some(before.time_zone.clone()),
        Some(after.time_zone.clone()),
    );
    if before.password_hash != after.password_hash {
        out.push(Change {
            field: "password".into(),
            from: None,
            to: None,
        });
    }
    out
}

pub async fn create(app: &App, new: NewUser, actor: &Actor) -> CoreResult<UserView> {
    let role: Role = new
        .role
        .parse()
        .map_err(|e: String| CoreError::field("role", e))?;
    let user = app
        .auth
        .create_user(
            &new.email,
            new.name.as_deref(),
            role,
            new.password.as_deref(),
            actor,
        )
        .await?;
    Ok(user.into())
}

pub async fn get(app: &App, id: Id) -> CoreResult<UserView> {
    let mut c = app.db.conn().await?;
    let u: User = entity::get(c.c(), id)
        .await?
        .ok_or(CoreError::NotFound("user"))?;
    Ok(u.into())
}

pub async fn list(app: &App, after: Option<Id>, limit: u32) -> CoreResult<Vec<UserView>> {
    let mut c = app.db.conn().await?;
    let users: Vec<User> = entity::list(c.c(), after, limit).await?;
    Ok(users.into_iter().map(Into::into).collect())
}

/// Applies `name`, `role`, `disabled`, `time_zone` and `password` changes. Refuses to leave
/// the system without an active admin.
pub async fn update(app: &App, id: Id, body: &Value, actor: &Actor) -> CoreResult<UserView> {
    let body = crate::portfolio::as_object(body)?;
    let mut errors = FieldErrors::new();
    let mut tx = app.db.begin().await?;
    let mut user: User = entity::get_for_update(tx.c(), id)
        .await?
        .ok_or(CoreError::NotFound("user"))?;
    let before = user.clone();
    let mut revoke_sessions = false;
    for (k, v) in body {
        match (k.as_str(), v) {
            ("name", Value::Null) => user.name = None,
            ("name", Value::String(s)) => match validate::text(200)(s) {
                Ok(()) => user.name = Some(s.clone()),
                Err(m) => errors.add(k, m),
            },
            ("role", Value::String(s)) => match s.parse::<Role>() {
                Ok(r) => user.role = r.into(),
                Err(m) => errors.add(k, m),
            },
            ("disabled", Value::Bool(b)) => {
                revoke_sessions |= *b;
                user.disabled = *b;
            }
            ("time_zone", Value::String(s)) => match validate::text(64)(s) {
                Ok(()) => user.time_zone = s.clone(),
                Err(m) => errors.add(k, m),
            },
            ("password", Value::String(s)) => match check_password_strength(s) {
                Ok(()) => {
                    user.password_hash = Some(hash_password(s));
                    revoke_sessions = true;
                }
                Err(m) => errors.add(k, m),
            },
            ("name" | "role" | "disabled" | "time_zone" | "password", _) => {
                errors.add(k, "has the wrong type")
            }
            ("id" | "email" | "created_at" | "updated_at" | "last_login_at", _) => {
                errors.add(k, "cannot be set")
            }
            _ => errors.add(k, "unknown field"),
        }
    }
    errors.into_result()?;
    user.updated_at = Timestamp::from_datetime(app.clock.now());
    entity::update(tx.c(), &user).await?;
    let admins = active_admins(tx.c()).await?;
    if admins == 0 {
        return Err(CoreError::Conflict(
            "this change would leave no active admin".into(),
        ));
    }
    if revoke_sessions {
        cscx_store::product::delete_sessions_of_user(tx.c(), id).await?;
    }
    let changes = changes(&before, &user);
    if !changes.is_empty() {
        let event = Event::UserChanged {
            user_id: user.id.0,
            email: user.email.clone(),
            changes,
        };
        audit::record(tx.c(), &event, actor, None, user.updated_at).await?;
    }
    tx.commit().await?;
    Ok(user.into())
}

pub async fn delete(app: &App, id: Id, actor: &Actor) -> CoreResult<()> {
    let mut tx = app.db.begin().await?;
    let user: User = entity::get(tx.c(), id)
        .await?
        .ok_or(CoreError::NotFound("user"))?;
    entity::delete::<User>(tx.c(), id).await?;
    let event = Event::UserDeleted {
        user_id: id.0,
        email: user.email,
    };
    let now = Timestamp::from_datetime(app.clock.now());
    audit::record(tx.c(), &event, actor, None, now).await?;
    let admins = active_admins(tx.c()).await?;
    if admins == 0 {
        return Err(CoreError::Conflict(
            "cannot delete the last active admin".into(),
        ));
    }
    tx.commit().await?;
    Ok(())
}
