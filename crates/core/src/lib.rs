//! CSCX use-cases. The HTTP layer and the CLI call these; they hold the rules that involve the
//! database (pure rules live in `cscx-domain`).

pub mod actions;
pub mod agents;
pub mod approvals;
pub mod audit;
pub mod auth;
pub mod authz;
pub mod contracts;
pub mod dashboard;
pub mod demo;
mod demo_usage;
pub mod error;
pub mod events;
pub mod housekeeping;
pub mod ingest;
pub mod integrations;
pub mod intelligence;
pub mod mail;
pub mod notify;
pub mod overview;
pub mod portfolio;
pub mod records;
pub mod secrets;
pub mod segment;
pub mod tasks;
pub mod timeline;
pub mod users;

use std::sync::Arc;

use cscx_domain::Clock;
use cscx_jobs::Queue;
use cscx_store::Db;

pub use error::{CoreError, CoreResult};

/// Everything a request or job needs, built once at start-up. Cheap to clone.
#[derive(Clone)]
pub struct App {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub queue: Queue,
    pub auth: auth::Auth,
    pub master_key: secrets::MasterKey,
    pub contracts: contracts::ContractSettings,
    pub agents: agents::AgentSettings,
    pub ingest: ingest::IngestSettings,
    /// Where notifications go (Slack), and the address links point at.
    pub notify: notify::NotifySettings,
    /// The portfolio's rhythm fits, shared by every health recompute of this process.
    pub rhythm: Arc<intelligence::RhythmCache>,
    /// Started on first use, inside the runtime.
    event_writer: Arc<std::sync::OnceLock<ingest::EventWriter>>,
}

impl App {
    pub fn new(
        db: Db,
        clock: Arc<dyn Clock>,
        master_key: secrets::MasterKey,
        auth_config: auth::AuthConfig,
        contracts: contracts::ContractSettings,
        agents: agents::AgentSettings,
    ) -> App {
        let auth = auth::Auth::new(db.clone(), clock.clone(), auth_config);
        App {
            queue: Queue::new(db.clone(), clock.clone()),
            auth,
            db,
            clock,
            master_key,
            contracts,
            agents,
            rhythm: Default::default(),
            ingest: Default::default(),
            notify: Default::default(),
            event_writer: Default::default(),
        }
    }

    /// Runs every due background job in this process until the queue is idle.
    pub async fn drain_jobs(&self, parallel: usize) -> CoreResult<usize> {
        let worker = cscx_jobs::Worker::new(
            self.queue.clone(),
            housekeeping::registry(self),
            Default::default(),
        );
        Ok(Arc::new(worker).drain(parallel).await?)
    }

    /// The group-committing writer of usage events.
    pub fn event_writer(&self) -> &ingest::EventWriter {
        self.event_writer
            .get_or_init(|| ingest::EventWriter::start(self))
    }

    pub fn now(&self) -> cscx_store::Timestamp {
        cscx_store::Timestamp::from_datetime(self.clock.now())
    }
}
