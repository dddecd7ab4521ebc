//! Test helpers shared by the integration suites: a fresh database per test on SQLite (always)
//! and on PostgreSQL (when `CSCX_TEST_DATABASE_URL` is set), dropped afterwards. With the `app`
//! feature also the whole product in-process ([`app::TestApp`]), a scripted language model and
//! in-process fakes of the outside systems (`connect`), for any crate's tests.

#[cfg(feature = "app")]
pub mod app;
#[cfg(feature = "app")]
pub mod connect;
#[cfg(feature = "model")]
pub mod model;

use std::path::PathBuf;
use std::sync::Once;

use cscx_store::{Backend, Db, PoolConfig};

/// Environment variable naming a PostgreSQL server for tests, e.g.
/// `postgres://postgres@127.0.0.1:5432/postgres`. Each test creates and drops its own database.
pub const PG_ENV: &str = "CSCX_TEST_DATABASE_URL";

/// Under CI (`CI=true`) a test whose service or tool is missing must fail, not pass by
/// skipping: call this where a test would otherwise return early.
pub fn require_in_ci(what: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("CI=true but {what} is not available: .ci/run must provide it");
    }
}

/// A scratch directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("{prefix}-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A database that exists for one test.
pub struct TestDb {
    pub db: Db,
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(#[allow(dead_code)] TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    /// A fresh, migrated SQLite database in a temp dir.
    pub async fn sqlite() -> TestDb {
        let dir = TempDir::new("cscx-test");
        let url = format!("sqlite://{}", dir.path().join("cscx.db").display());
        let db = Db::connect(&url, &PoolConfig::default())
            .await
            .expect("open sqlite");
        cscx_store::migrate::migrate(&db, 0)
            .await
            .expect("migrate sqlite");
        TestDb {
            db,
            url,
            cleanup: Cleanup::Dir(dir),
        }
    }

    /// A fresh, migrated PostgreSQL database, or `None` (with a notice) when no server is
    /// configured.
    pub async fn postgres() -> Option<TestDb> {
        let Ok(admin_url) = std::env::var(PG_ENV) else {
            require_in_ci(&format!("PostgreSQL ({PG_ENV})"));
            static NOTICE: Once = Once::new();
            NOTICE.call_once(|| {
                eprintln!(
                    "notice: {PG_ENV} is not set; PostgreSQL variants of the tests are skipped"
                );
            });
            return None;
        };
        let name = format!("cscx_test_{}", uuid::Uuid::new_v4().simple());
        let admin = Db::connect(
            &admin_url,
            &PoolConfig {
                max_connections: 1,
                ..Default::default()
            },
        )
        .await
        .expect("connect to CSCX_TEST_DATABASE_URL");
        if let Db::Postgres(pool) = &admin {
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(pool)
                .await
                .expect("create test database");
        }
        admin.close().await;
        let url = replace_db_name(&admin_url, &name);
        let db = Db::connect(&url, &PoolConfig::default())
            .await
            .expect("open test database");
        cscx_store::migrate::migrate(&db, 0)
            .await
            .expect("migrate postgres");
        Some(TestDb {
            db,
            url,
            cleanup: Cleanup::Postgres { admin_url, name },
        })
    }

    /// Every backend available here: SQLite always, PostgreSQL when configured.
    pub async fn all() -> Vec<TestDb> {
        let mut v = vec![TestDb::sqlite().await];
        if let Some(pg) = TestDb::postgres().await {
            v.push(pg);
        }
        v
    }

    pub fn backend(&self) -> Backend {
        self.db.backend()
    }

    /// Closes the pool and drops the PostgreSQL database. Call at the end of a test.
    pub async fn finish(self) {
        self.db.close().await;
        if let Cleanup::Postgres { admin_url, name } = &self.cleanup {
            if let Ok(Db::Postgres(pool)) = Db::connect(
                admin_url,
                &PoolConfig {
                    max_connections: 1,
                    ..Default::default()
                },
            )
            .await
            {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&pool)
                    .await;
                pool.close().await;
            }
        }
    }
}

/// Swaps the database name (the URL path) of a PostgreSQL URL.
pub fn replace_db_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn replaces_the_database_name() {
        assert_eq!(
            super::replace_db_name("postgres://u@h:5432/postgres?sslmode=disable", "x"),
            "postgres://u@h:5432/x?sslmode=disable"
        );
        assert_eq!(
            super::replace_db_name("postgres://u@h", "x"),
            "postgres://u@h/x"
        );
    }
}
