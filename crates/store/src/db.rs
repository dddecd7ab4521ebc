//! The database handle: one enum over the two backends, chosen at run time from the URL.
//!
//! Repository code is written once and expanded for each backend by the [`run!`] macro, so a
//! query that is portable SQL (`$1…$n` placeholders, `RETURNING`, `ON CONFLICT`) has one text.

use std::str::FromStr;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool, Transaction};

use crate::error::{Error, Result};

/// Expands `$body` once per backend with `$conn` bound to `&mut SqliteConnection` or
/// `&mut PgConnection`. The body must compile for both, which keeps the SQL portable.
#[macro_export]
macro_rules! run {
    ($c:expr, |$conn:ident| $body:expr) => {
        match $c {
            $crate::DbConn::Sqlite($conn) => $body,
            $crate::DbConn::Postgres($conn) => $body,
        }
    };
}

/// One portable statement on whichever backend `c` is, with its parameters in order:
/// `sql!(c, all Customer, "SELECT * FROM customers WHERE stage = $1", stage)`. The form says
/// what comes back: `all T`, `optional T`, `one T` (rows as `T`, a `FromRow` type or a tuple;
/// `_` to infer), `scalars T`, `scalar T` (one column), `execute` (rows affected). The result is
/// sqlx's; `?` turns it into the store's error.
#[macro_export]
macro_rules! sql {
    ($c:expr, all $t:ty, $q:expr $(, $a:expr)* $(,)?) => {
        $crate::run!($c, |conn| sqlx::query_as::<_, $t>($q)$(.bind($a))*.fetch_all(&mut *conn).await)
    };
    ($c:expr, optional $t:ty, $q:expr $(, $a:expr)* $(,)?) => {
        $crate::run!($c, |conn| sqlx::query_as::<_, $t>($q)$(.bind($a))*.fetch_optional(&mut *conn).await)
    };
    ($c:expr, one $t:ty, $q:expr $(, $a:expr)* $(,)?) => {
        $crate::run!($c, |conn| sqlx::query_as::<_, $t>($q)$(.bind($a))*.fetch_one(&mut *conn).await)
    };
    ($c:expr, scalars $t:ty, $q:expr $(, $a:expr)* $(,)?) => {
        $crate::run!($c, |conn| sqlx::query_scalar::<_, $t>($q)$(.bind($a))*.fetch_all(&mut *conn).await)
    };
    ($c:expr, scalar $t:ty, $q:expr $(, $a:expr)* $(,)?) => {
        $crate::run!($c, |conn| sqlx::query_scalar::<_, $t>($q)$(.bind($a))*.fetch_one(&mut *conn).await)
    };
    ($c:expr, scalar_optional $t:ty, $q:expr $(, $a:expr)* $(,)?) => {
        $crate::run!($c, |conn| sqlx::query_scalar::<_, $t>($q)$(.bind($a))*.fetch_optional(&mut *conn).await)
    };
    ($c:expr, execute, $q:expr $(, $a:expr)* $(,)?) => {
        $crate::run!($c, |conn| sqlx::query($q)$(.bind($a))*.execute(&mut *conn).await.map(|r| r.rows_affected()))
    };
}

/// Which database engine a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Pool sizing and timeouts.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// SQLite only: whether a commit waits for the disk (`synchronous = FULL`) or only for the
    /// OS (`NORMAL`). With FULL an acknowledged write survives a power loss; with NORMAL it
    /// survives the process dying but the last commits can be lost if the machine does.
    pub sqlite_durable: bool,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(10),
            sqlite_durable: true,
        }
    }
}

/// A connection pool for either backend. Cheap to clone.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A borrowed connection (pooled or inside a transaction) that repository functions run on.
pub enum DbConn<'c> {
    Sqlite(&'c mut SqliteConnection),
    Postgres(&'c mut PgConnection),
}

/// A connection checked out of the pool.
pub enum Conn {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
}

/// A write transaction. On SQLite it is opened with `BEGIN IMMEDIATE`, so a transaction that
/// reads before it writes cannot fail to upgrade its lock; dropped without `commit` it rolls back.
pub enum Tx<'c> {
    Sqlite(Transaction<'c, Sqlite>),
    Postgres(Transaction<'c, Postgres>),
}

impl Db {
    /// Connects to `sqlite://path` (created if missing) or `postgres://…`.
    pub async fn connect(url: &str, config: &PoolConfig) -> Result<Db> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let opts = PgConnectOptions::from_str(url).map_err(Error::Db)?;
            let pool = PgPoolOptions::new()
                .max_connections(config.max_connections)
                .acquire_timeout(config.acquire_timeout)
                .connect_with(opts)
                .await?;
            Ok(Db::Postgres(pool))
        } else if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)
                .map_err(Error::Db)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // FULL: every commit is on disk before it is acknowledged. NORMAL in WAL mode
                // loses no commit when the process dies, only when the OS or the power does.
                .synchronous(if config.sqlite_durable {
                    SqliteSynchronous::Full
                } else {
                    SqliteSynchronous::Normal
                })
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(15))
                .pragma("temp_store", "memory")
                .pragma("cache_size", "-32000")
                // Reads through the OS page cache without a syscall per page, shared by every
                // connection (the per-connection cache stays small).
                .pragma("mmap_size", "1073741824")
                // Checkpoints run in the background (below); this is only the backstop that
                // bounds the WAL if they fall behind. A page rewritten by many commits between
                // checkpoints is copied back once.
                .pragma("wal_autocheckpoint", "40000");
            let pool = SqlitePoolOptions::new()
                .max_connections(config.max_connections)
                .acquire_timeout(config.acquire_timeout)
                .connect_with(opts.clone())
                .await?;
            spawn_checkpointer(pool.clone(), opts);
            Ok(Db::Sqlite(pool))
        } else {
            Err(Error::Config(format!(
                "unsupported database URL {url:?}: use sqlite://PATH or postgres://…"
            )))
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Checks a connection out of the pool.
    pub async fn conn(&self) -> Result<Conn> {
        Ok(match self {
            Db::Sqlite(p) => Conn::Sqlite(p.acquire().await?),
            Db::Postgres(p) => Conn::Postgres(p.acquire().await?),
        })
    }

    /// Starts a write transaction.
    ///
    /// Cancel-safe: `BEGIN` runs on a task of its own. sqlx's `Pool::begin` is not: a caller
    /// dropped while `BEGIN` is in flight (a client that disconnects, an aborted task) leaves
    /// the pooled connection inside a transaction nobody rolls back, holding its locks for the
    /// next borrower. Here the task always finishes, and a transaction nobody received is
    /// dropped, which rolls it back.
    pub async fn begin(&self) -> Result<Tx<'static>> {
        let db = self.clone();
        let begun = tokio::spawn(async move {
            Ok::<_, sqlx::Error>(match db {
                Db::Sqlite(p) => Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
                Db::Postgres(p) => Tx::Postgres(p.begin().await?),
            })
        });
        match begun.await {
            Ok(tx) => Ok(tx?),
            Err(e) => Err(Error::Db(sqlx::Error::Io(std::io::Error::other(format!(
                "starting a transaction: {e}"
            ))))),
        }
    }

    /// Connections open and idle, for the `/metrics` pool gauges.
    pub fn pool_stats(&self) -> (u32, usize) {
        match self {
            Db::Sqlite(p) => (p.size(), p.num_idle()),
            Db::Postgres(p) => (p.size(), p.num_idle()),
        }
    }

    /// SQLite: writes a consistent copy of the whole database to `path` (`VACUUM INTO`, which
    /// reads one snapshot while writers go on). Not for PostgreSQL, whose tool is `pg_dump`.
    pub async fn snapshot_into(&self, path: &std::path::Path) -> Result<()> {
        match self {
            Db::Sqlite(pool) => {
                sqlx::query("VACUUM INTO $1")
                    .bind(path.to_string_lossy().into_owned())
                    .execute(pool)
                    .await?;
                Ok(())
            }
            Db::Postgres(_) => Err(Error::Config(
                "PostgreSQL databases are backed up with pg_dump".into(),
            )),
        }
    }

    /// SQLite: `PRAGMA integrity_check` and `foreign_key_check`; `Ok(())` when both are clean.
    pub async fn check_integrity(&self) -> Result<()> {
        let Db::Sqlite(pool) = self else {
            return Ok(());
        };
        let integrity: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_all(pool)
            .await?;
        if integrity != ["ok"] {
            return Err(Error::Corrupt(integrity.join("; ")));
        }
        let dangling = sqlx::query("PRAGMA foreign_key_check")
            .fetch_all(pool)
            .await?;
        if !dangling.is_empty() {
            return Err(Error::Corrupt(format!(
                "{} rows refer to records that do not exist",
                dangling.len()
            )));
        }
        Ok(())
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(p) => p.close().await,
            Db::Postgres(p) => p.close().await,
        }
    }

    /// Refreshes the query planner's statistics.
    pub async fn analyze(&self) -> Result<()> {
        let mut c = self.conn().await?;
        run!(c.c(), |conn| sqlx::query("ANALYZE")
            .execute(&mut *conn)
            .await
            .map(|_| ())
            .map_err(Error::from))
    }

    /// Runs `SELECT 1`: the readiness probe's "database reachable".
    pub async fn ping(&self) -> Result<()> {
        let mut c = self.conn().await?;
        run!(c.c(), |conn| sqlx::query("SELECT 1")
            .execute(&mut *conn)
            .await
            .map(|_| ())
            .map_err(Error::from))
    }
}

/// Copies committed WAL pages back into the database file every 100 ms, on a connection of its
/// own. Left to SQLite, the checkpoint runs inside whichever COMMIT crosses the threshold and
/// stalls that writer for ~100 ms under heavy ingestion; a PASSIVE checkpoint here runs beside
/// the writer instead. Stops when the pool is closed.
fn spawn_checkpointer(pool: SqlitePool, opts: SqliteConnectOptions) {
    use sqlx::{ConnectOptions, Connection};
    // A checkpoint of a large WAL is slow by nature; it is not a slow query worth a warning.
    let opts = opts.disable_statement_logging();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut conn: Option<SqliteConnection> = None;
        loop {
            tick.tick().await;
            if pool.is_closed() {
                if let Some(c) = conn.take() {
                    let _ = c.close().await;
                }
                return;
            }
            let c = match &mut conn {
                Some(c) => c,
                None => match opts.connect().await {
                    Ok(c) => conn.insert(c),
                    Err(_) => continue,
                },
            };
            // Busy: try again at the next tick. A broken connection is replaced.
            if let Err(sqlx::Error::Io(_)) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&mut *c)
                .await
            {
                conn = None;
            }
        }
    });
}

impl Conn {
    pub fn c(&mut self) -> DbConn<'_> {
        match self {
            Conn::Sqlite(c) => DbConn::Sqlite(&mut *c),
            Conn::Postgres(c) => DbConn::Postgres(&mut *c),
        }
    }

    /// Starts a write transaction on this connection, like [`Db::begin`]. A writer that keeps
    /// its connection keeps SQLite's page cache, which another connection's commit would
    /// invalidate.
    pub async fn begin(&mut self) -> Result<Tx<'_>> {
        use sqlx::Connection;
        Ok(match self {
            Conn::Sqlite(c) => Tx::Sqlite(c.begin_with("BEGIN IMMEDIATE").await?),
            Conn::Postgres(c) => Tx::Postgres(c.begin().await?),
        })
    }
}

impl Tx<'_> {
    pub fn c(&mut self) -> DbConn<'_> {
        match self {
            Tx::Sqlite(t) => DbConn::Sqlite(&mut *t),
            Tx::Postgres(t) => DbConn::Postgres(&mut *t),
        }
    }

    pub async fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(_) => Backend::Sqlite,
            Tx::Postgres(_) => Backend::Postgres,
        }
    }
}

impl DbConn<'_> {
    pub fn backend(&self) -> Backend {
        match self {
            DbConn::Sqlite(_) => Backend::Sqlite,
            DbConn::Postgres(_) => Backend::Postgres,
        }
    }

    /// Reborrows, so one connection can be passed to several repository calls in turn.
    pub fn re(&mut self) -> DbConn<'_> {
        match self {
            DbConn::Sqlite(c) => DbConn::Sqlite(c),
            DbConn::Postgres(c) => DbConn::Postgres(c),
        }
    }
}
