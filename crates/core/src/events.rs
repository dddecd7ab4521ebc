//! Recording domain events: one typed record of what happened, appended in the transaction
//! of the change ([`record`]), so an event exists exactly when its change does. Who acted is an
//! [`Actor`]: the signed-in user or API token, the command line, or the system itself (jobs).

use cscx_domain::events::Event;
use cscx_store::events::{self, DomainEvent};
use cscx_store::{DbConn, Id, Timestamp};

use crate::auth::{AuthVia, Principal};
use crate::error::CoreResult;
use crate::App;

/// Who made a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: Option<Id>,
    /// `user:<id>` (a browser session), `token:<id>`, `cli` or `system`.
    pub label: String,
}

impl Actor {
    pub fn of(p: &Principal) -> Actor {
        Actor {
            user_id: Some(p.user_id),
            label: match &p.via {
                AuthVia::Token { token_id } => format!("token:{token_id}"),
                AuthVia::Session { .. } => format!("user:{}", p.user_id),
            },
        }
    }

    /// An administrator at the command line (`cscx user create`, `cscx backup`, …).
    pub fn cli() -> Actor {
        Actor {
            user_id: None,
            label: "cli".into(),
        }
    }

    /// The application itself (jobs, schedules, seeding).
    pub fn system() -> Actor {
        Actor {
            user_id: None,
            label: "system".into(),
        }
    }

    /// A user acting for themselves (signing in, before any principal exists).
    pub fn user(id: Id) -> Actor {
        Actor {
            user_id: Some(id),
            label: format!("user:{id}"),
        }
    }
}

/// Appends `event` (in the caller's transaction).
pub async fn record(
    c: DbConn<'_>,
    event: &Event,
    actor: &Actor,
    customer_id: Option<Id>,
    now: Timestamp,
) -> CoreResult<()> {
    let (event_type, payload) = event.split();
    let row = DomainEvent {
        id: Id::new(),
        security: Event::is_security(&event_type),
        event_type,
        version: Event::VERSION,
        customer_id,
        actor_user_id: actor.user_id,
        actor: actor.label.clone(),
        payload,
        occurred_at: now,
    };
    events::append(c, &row).await?;
    Ok(())
}

/// Appends `event` in a transaction of its own (for actions with no other write, such as a
/// backup).
pub async fn record_now(app: &App, event: &Event, actor: &Actor) -> CoreResult<()> {
    let mut tx = app.db.begin().await?;
    record(tx.c(), event, actor, None, app.now()).await?;
    tx.commit().await?;
    Ok(())
}
