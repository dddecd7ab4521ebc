//! Recording domain events: one typed record of what happened, appended in the transaction
//! of the change ([`record`]), so an event exists exactly when its change does. Who acted is an
//! [`Actor`]: the signed-in user or API token, the command line, or the system itself (jobs).

use cscx_domain::events::Event;
use cscx_store::events::{self, DomainEvent};
use cscx_store::{DbConn, Id, Timestamp};

use crate::auth::Principal;
use cscx_jobs::queue::NewJob;

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
            label: p.scope_key(),
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
    mut c: DbConn<'_>,
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
    let subscribers: Vec<&str> = Subscriber::ALL
        .iter()
        .filter(|s| s.wants(&row))
        .map(|s| s.name())
        .collect();
    events::append(c.re(), &row).await?;
    if !subscribers.is_empty() {
        events::enqueue_delivery(c.re(), row.id, &subscribers, now).await?;
        let job = NewJob::new(DISPATCH_JOB, serde_json::json!({})).key(DISPATCH_JOB);
        cscx_jobs::queue::enqueue_in(c, &job, now).await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Subscribers: each handles every event it is interested in exactly once, in its own
// transaction with the delivery mark.

/// The job that hands waiting events to their subscribers (one waits at a time).
pub const DISPATCH_JOB: &str = "events.dispatch";

/// Who consumes events. Each has a stable name (its outbox rows carry it), the events it wants,
/// and what it does with one, in the delivery's transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subscriber {
    /// Rescores the customer an event concerns (the recompute job is keyed per customer, so
    /// a burst of changes costs one recompute).
    Health,
    /// Tells the team's Slack channel about approvals waiting and serious risk signals
    /// ([`crate::notify`]).
    Notify,
}

impl Subscriber {
    pub const ALL: [Subscriber; 2] = [Subscriber::Health, Subscriber::Notify];

    pub fn name(self) -> &'static str {
        match self {
            Subscriber::Health => "health",
            Subscriber::Notify => "notify",
        }
    }

    fn wants(self, e: &DomainEvent) -> bool {
        match self {
            Subscriber::Health => e.customer_id.is_some() && Event::affects_health(&e.event_type),
            Subscriber::Notify => crate::notify::wants(e),
        }
    }

    async fn handle(self, c: DbConn<'_>, e: &DomainEvent, now: Timestamp) -> CoreResult<()> {
        match (self, e.customer_id) {
            (Subscriber::Health, Some(id)) => crate::intelligence::enqueue_health(c, id, now).await,
            (Subscriber::Health, None) => Ok(()),
            (Subscriber::Notify, _) => crate::notify::enqueue(c, e, now).await,
        }
    }
}

/// Delivers every waiting event to its subscribers, a batch per transaction. Returns how many
/// deliveries were made.
pub async fn dispatch(app: &App) -> CoreResult<u64> {
    let mut delivered = 0;
    for subscriber in Subscriber::ALL {
        loop {
            let now = app.now();
            let mut tx = app.db.begin().await?;
            let batch = events::pending_for(tx.c(), subscriber.name(), 200).await?;
            if batch.is_empty() {
                break;
            }
            for e in &batch {
                subscriber.handle(tx.c(), e, now).await?;
                events::delivered(tx.c(), subscriber.name(), e.id).await?;
            }
            tx.commit().await?;
            delivered += batch.len() as u64;
        }
    }
    if delivered > 0 {
        app.queue.notify.notify_waiters();
    }
    Ok(delivered)
}

/// Appends `event` in a transaction of its own (for actions with no other write, such as a
/// backup).
pub async fn record_now(app: &App, event: &Event, actor: &Actor) -> CoreResult<()> {
    let mut tx = app.db.begin().await?;
    record(tx.c(), event, actor, None, app.now()).await?;
    tx.commit().await?;
    Ok(())
}
