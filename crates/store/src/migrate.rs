//! Schema migrations, embedded in the binary.
//!
//! Two folders (`migrations/sqlite`, `migrations/postgres`) hold the same versions under the same
//! names. Each file runs in one transaction together with its row in `schema_migrations`, under
//! a lock (SQLite's write lock, PostgreSQL's advisory lock), so several processes starting at
//! once apply each migration exactly once. A changed file that was already applied is refused.

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::{run, Backend, Db, DbConn};

/// One migration file.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

impl Migration {
    pub fn checksum(&self) -> String {
        hex::encode(Sha256::digest(self.sql.as_bytes()))
    }
}

macro_rules! migrations {
    ($dir:literal: $( $version:literal $name:literal $file:literal ),* $(,)?) => {
        &[$( Migration {
            version: $version,
            name: $name,
            sql: include_str!(concat!("../../../migrations/", $dir, "/", $file)),
        } ),*]
    };
}

// File names are `<4-digit version>_<name>.sql`; the parity test checks they match.
pub const SQLITE: &[Migration] = migrations!("sqlite":
    1 "schema" "0001_schema.sql",
    2 "intelligence" "0002_intelligence.sql",
    3 "agents" "0003_agents.sql",
    4 "usage_layout" "0004_usage_layout.sql",
    5 "login_devices" "0005_login_devices.sql",
    6 "domain_events" "0006_domain_events.sql",
    7 "event_outbox" "0007_event_outbox.sql",
    8 "health_band" "0008_health_band.sql",
    9 "tracked_users" "0009_tracked_users.sql",
    10 "mail_deliveries" "0010_mail_deliveries.sql",
    11 "tasks" "0011_tasks.sql",
    12 "customer_notes" "0012_customer_notes.sql",
);
pub const POSTGRES: &[Migration] = migrations!("postgres":
    1 "schema" "0001_schema.sql",
    2 "intelligence" "0002_intelligence.sql",
    3 "agents" "0003_agents.sql",
    4 "usage_layout" "0004_usage_layout.sql",
    5 "login_devices" "0005_login_devices.sql",
    6 "domain_events" "0006_domain_events.sql",
    7 "event_outbox" "0007_event_outbox.sql",
    8 "health_band" "0008_health_band.sql",
    9 "tracked_users" "0009_tracked_users.sql",
    10 "mail_deliveries" "0010_mail_deliveries.sql",
    11 "tasks" "0011_tasks.sql",
    12 "customer_notes" "0012_customer_notes.sql",
);

pub fn for_backend(backend: Backend) -> &'static [Migration] {
    match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    }
}

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at BIGINT NOT NULL
)";

/// An arbitrary constant: the PostgreSQL advisory lock key that serialises migrators.
const PG_LOCK_KEY: i64 = 0x0063_7363_786d_6967; // "cscxmig"

/// Applies every pending migration. Returns the versions applied now.
pub async fn migrate(db: &Db, now_millis: i64) -> Result<Vec<i64>> {
    let mut applied_now = Vec::new();
    for m in for_backend(db.backend()) {
        let mut tx = db.begin().await?;
        if let DbConn::Postgres(conn) = tx.c() {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(PG_LOCK_KEY)
                .execute(&mut *conn)
                .await?;
        }
        crate::sql!(tx.c(), execute, CREATE_TABLE).map(|_| ())?;
        let existing: Option<String> = crate::sql!(
            tx.c(),
            scalar_optional _,
            "SELECT checksum FROM schema_migrations WHERE version = $1",
            m.version,
        )?;
        match existing {
            Some(sum) if sum == m.checksum() => continue,
            Some(_) => {
                return Err(Error::Migration(format!(
                    "migration {} ({}) was changed after it was applied; restore the file or \
                     add a new migration instead",
                    m.version, m.name
                )))
            }
            None => {}
        }
        run!(tx.c(), |conn| sqlx::raw_sql(m.sql)
            .execute(&mut *conn)
            .await
            .map(|_| ()))
        .map_err(|e| Error::Migration(format!("{} ({}): {e}", m.version, m.name)))?;
        crate::sql!(
            tx.c(),
            execute,
            "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)",
            m.version,
            m.name,
            m.checksum(),
            now_millis,
        ).map(|_| ())?;
        tx.commit().await?;
        tracing::info!(version = m.version, name = m.name, "applied migration");
        applied_now.push(m.version);
    }
    Ok(applied_now)
}

/// Versions this binary knows that the database has not applied (empty = current). Also
/// reports a database that is ahead of the binary as an error, since it may not understand it.
pub async fn pending(db: &Db) -> Result<Vec<i64>> {
    let mut c = db.conn().await?;
    let applied: Vec<(i64, String)> = match crate::sql!(
        c.c(),
        all _,
        "SELECT version, checksum FROM schema_migrations ORDER BY version",
    ) {
        Ok(rows) => rows,
        // No table yet: nothing applied.
        Err(sqlx::Error::Database(_)) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    let known = for_backend(db.backend());
    if let Some((v, _)) = applied
        .iter()
        .find(|(v, _)| !known.iter().any(|m| m.version == *v))
    {
        return Err(Error::Migration(format!(
            "the database has migration {v}, which this binary does not know: it is newer than this binary"
        )));
    }
    Ok(known
        .iter()
        .filter(|m| {
            !applied
                .iter()
                .any(|(v, sum)| *v == m.version && *sum == m.checksum())
        })
        .map(|m| m.version)
        .collect())
}
