//! The repository conformance suite: every table, every column, on SQLite always and on
//! PostgreSQL when `CSCX_TEST_DATABASE_URL` is set. Also the schema parity check between the two
//! migration folders.

use std::sync::atomic::{AtomicU32, Ordering};

use futures::future::BoxFuture;

use cscx_store::entity::{self, Entity};
use cscx_store::model::*;
use cscx_store::product::*;
use cscx_store::{Db, Error, Id};
use cscx_testkit::TestDb;

static COUNTER: AtomicU32 = AtomicU32::new(1);

/// Adjusts sample values to the CHECK constraints of the product tables.
fn fit_constraints<E: Entity>(e: E) -> E {
    let mut v = serde_json::to_value(&e).unwrap();
    match E::TABLE {
        "users" => {
            v["role"] = "csm".into();
            v["email"] =
                format!("user{}@example.com", COUNTER.fetch_add(1, Ordering::SeqCst)).into();
        }
        "api_tokens" => {
            v["role"] = "viewer".into();
            v["scope"] = "ingest".into();
        }
        _ => {}
    }
    serde_json::from_value(v).unwrap()
}

fn insert_sample<'a>(db: &'a Db, table: &'a str) -> BoxFuture<'a, Id> {
    macro_rules! dispatch {
        ($($ty:ty),* $(,)?) => {
            match table {
                $( t if t == <$ty as Entity>::TABLE => Box::pin(insert_sample_of::<$ty>(db)), )*
                other => panic!("no entity for table {other}"),
            }
        };
    }
    all_entities!(dispatch)
}

/// Lists every entity type, handing them to `$m`.
macro_rules! all_entities {
    ($m:ident) => {
        $m!(
            Customer,
            Stakeholder,
            Contract,
            Entitlement,
            AgentSession,
            AgentMessage,
            AgentActivity,
            ChatMessage,
            Approval,
            GooglePendingApproval,
            Task,
            UsageMetric,
            UsageEvent,
            RiskSignal,
            HealthScore,
            RenewalOpportunity,
            ExpansionOpportunity,
            SavePlay,
            Meeting,
            Transcript,
            MeetingAnalysis,
            Qbr,
            AccountPlan,
            GoogleToken,
            Integration,
            SlackConnection,
            KnowledgeArticle,
            Playbook,
            Trigger,
            TriggerEvent,
            Automation,
            User,
            ApiToken,
            AuthSession,
            LoginAttempt,
            IdempotencyRecord,
        )
    };
}
use all_entities;

/// A sample record whose foreign keys point at freshly inserted parents.
async fn sample_with_parents<E: Entity>(db: &Db) -> E {
    let mut e = fit_constraints(E::sample(COUNTER.fetch_add(1, Ordering::SeqCst)));
    for (col, table) in E::FOREIGN_KEYS {
        // A self-reference (activity nesting) points at nothing here; nesting is tested below.
        let parent = if *table == E::TABLE {
            None
        } else {
            Some(insert_sample(db, table).await)
        };
        e.set_foreign_key(col, parent);
    }
    e
}

async fn insert_sample_of<E: Entity>(db: &Db) -> Id {
    let e: E = sample_with_parents(db).await;
    let mut c = db.conn().await.unwrap();
    entity::insert(c.c(), &e)
        .await
        .unwrap_or_else(|err| panic!("insert {}: {err}", E::TABLE));
    e.id()
}

/// Insert, read back every column, update every column, list, reject a dangling reference,
/// delete.
async fn round_trip<E: Entity + std::fmt::Debug + PartialEq>(db: &Db) {
    let table = E::TABLE;
    let original: E = sample_with_parents(db).await;
    let mut c = db.conn().await.unwrap();
    entity::insert(c.c(), &original)
        .await
        .unwrap_or_else(|e| panic!("insert {table}: {e}"));
    let read: E = entity::get(c.c(), original.id())
        .await
        .unwrap()
        .expect("row exists");
    assert_eq!(
        read, original,
        "{table}: read differs from what was written"
    );

    // Overwrite every column with other values, keeping id and references.
    let mut changed = fit_constraints(E::sample(COUNTER.fetch_add(1, Ordering::SeqCst) + 1000));
    let mut v = serde_json::to_value(&changed).unwrap();
    let orig_v = serde_json::to_value(&original).unwrap();
    v["id"] = orig_v["id"].clone();
    for (col, _) in E::FOREIGN_KEYS {
        v[*col] = orig_v[*col].clone();
    }
    changed = serde_json::from_value(v).unwrap();
    entity::update(c.c(), &changed)
        .await
        .unwrap_or_else(|e| panic!("update {table}: {e}"));
    let read: E = entity::get(c.c(), original.id()).await.unwrap().unwrap();
    assert_eq!(read, changed, "{table}: update did not write every column");

    // Listing by each foreign key finds it.
    for (col, _) in E::FOREIGN_KEYS {
        if let Some(parent) = orig_v[*col].as_str() {
            let rows: Vec<E> = entity::list_by(c.c(), col, parent.parse().unwrap(), None, 10)
                .await
                .unwrap();
            assert!(
                rows.iter().any(|r| r.id() == original.id()),
                "{table}.{col} listing"
            );
        }
    }
    let all: Vec<E> = entity::list(c.c(), None, 1000).await.unwrap();
    assert!(all.iter().any(|r| r.id() == original.id()));

    // A reference to nothing is refused with the field named, and nothing is written.
    if let Some((col, parent_table)) = E::FOREIGN_KEYS.iter().find(|(_, t)| *t != table) {
        let mut dangling: E = sample_with_parents(db).await;
        dangling.set_foreign_key(col, Some(Id::new()));
        match entity::insert(c.c(), &dangling).await {
            Err(Error::MissingReference { field, table: t }) => {
                assert_eq!(&field, col);
                assert_eq!(&t, parent_table);
            }
            other => panic!("{table}: dangling {col} gave {other:?}"),
        }
        assert!(entity::get::<E>(c.c(), dangling.id())
            .await
            .unwrap()
            .is_none());
    }

    assert!(entity::delete::<E>(c.c(), original.id()).await.unwrap());
    assert!(entity::get::<E>(c.c(), original.id())
        .await
        .unwrap()
        .is_none());
    assert!(!entity::delete::<E>(c.c(), original.id()).await.unwrap());
    assert!(matches!(
        entity::update(c.c(), &changed).await,
        Err(Error::NotFound)
    ));
}

#[tokio::test]
async fn every_table_round_trips_on_every_backend() {
    for t in TestDb::all().await {
        macro_rules! run_all {
            ($($ty:ty),* $(,)?) => { $( round_trip::<$ty>(&t.db).await; )* };
        }
        all_entities!(run_all);
        t.finish().await;
    }
}

#[tokio::test]
async fn the_data_model_has_thirty_tables_and_each_has_an_entity() {
    assert_eq!(DATA_MODEL_TABLES.len(), 30);
    let mut tables = Vec::new();
    macro_rules! names {
        ($($ty:ty),* $(,)?) => { $( tables.push(<$ty as Entity>::TABLE); )* };
    }
    all_entities!(names);
    for t in DATA_MODEL_TABLES {
        assert!(tables.contains(t), "no entity for {t}");
    }
}

/// Columns per table as the database reports them, in column order, generated columns (which
/// no entity writes) marked with a trailing `*`.
async fn schema_of(db: &Db) -> Vec<(String, Vec<String>)> {
    let mut c = db.conn().await.unwrap();
    let tables: Vec<String> = cscx_store::run!(c.c(), |conn| {
        match db.backend() {
        cscx_store::Backend::Sqlite => sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        ).fetch_all(&mut *conn).await.unwrap(),
        cscx_store::Backend::Postgres => sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name"
        ).fetch_all(&mut *conn).await.unwrap(),
    }
    });
    let mut out = Vec::new();
    for t in tables {
        let cols: Vec<String> = cscx_store::run!(c.c(), |conn| {
            match db.backend() {
            // table_xinfo also lists generated columns (hidden 2 or 3), which table_info omits.
            cscx_store::Backend::Sqlite => sqlx::query_scalar(&format!(
                "SELECT name || CASE WHEN hidden IN (2, 3) THEN '*' ELSE '' END FROM pragma_table_xinfo('{t}') ORDER BY cid"
            )).fetch_all(&mut *conn).await.unwrap(),
            cscx_store::Backend::Postgres => sqlx::query_scalar(
                "SELECT column_name::text || CASE WHEN is_generated = 'ALWAYS' THEN '*' ELSE '' END FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position"
            ).bind(&t).fetch_all(&mut *conn).await.unwrap(),
        }
        });
        out.push((t, cols));
    }
    out
}

#[tokio::test]
async fn migrations_give_both_backends_the_same_tables_and_columns() {
    // Same versions and names in both folders, and the folders hold nothing else.
    let names = |ms: &[cscx_store::migrate::Migration]| {
        ms.iter()
            .map(|m| format!("{:04}_{}.sql", m.version, m.name))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(cscx_store::migrate::SQLITE),
        names(cscx_store::migrate::POSTGRES)
    );
    for dir in ["sqlite", "postgres"] {
        let path = format!("{}/../../migrations/{dir}", env!("CARGO_MANIFEST_DIR"));
        let mut on_disk: Vec<String> = std::fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        assert_eq!(
            on_disk,
            names(cscx_store::migrate::SQLITE),
            "{dir} folder vs embedded list"
        );
    }

    let sqlite = TestDb::sqlite().await;
    let sqlite_schema = schema_of(&sqlite.db).await;
    // Every entity's columns are exactly the table's stored columns, in order.
    macro_rules! check_columns {
        ($($ty:ty),* $(,)?) => { $(
            let (_, cols) = sqlite_schema.iter().find(|(t, _)| t == <$ty as Entity>::TABLE)
                .unwrap_or_else(|| panic!("table {} missing", <$ty as Entity>::TABLE));
            let stored: Vec<&str> = cols.iter().map(String::as_str).filter(|c| !c.ends_with('*')).collect();
            assert_eq!(stored, <$ty as Entity>::COLUMNS.to_vec(), "{}", <$ty as Entity>::TABLE);
        )* };
    }
    all_entities!(check_columns);
    if let Some(pg) = TestDb::postgres().await {
        assert_eq!(
            schema_of(&pg.db).await,
            sqlite_schema,
            "PostgreSQL and SQLite schemas differ"
        );
        pg.finish().await;
    }
    sqlite.finish().await;
}

#[tokio::test]
async fn migrating_twice_changes_nothing_and_readiness_sees_it_current() {
    for t in TestDb::all().await {
        assert!(cscx_store::migrate::pending(&t.db)
            .await
            .unwrap()
            .is_empty());
        assert!(cscx_store::migrate::migrate(&t.db, 1)
            .await
            .unwrap()
            .is_empty());
        t.finish().await;
    }
}

#[tokio::test]
async fn activity_entries_nest_and_outlive_their_parent() {
    for t in TestDb::all().await {
        let parent: AgentActivity = sample_with_parents(&t.db).await;
        let mut child: AgentActivity = sample_with_parents(&t.db).await;
        child.parent_action_id = Some(parent.id);
        let mut c = t.db.conn().await.unwrap();
        entity::insert(c.c(), &parent).await.unwrap();
        entity::insert(c.c(), &child).await.unwrap();
        entity::delete::<AgentActivity>(c.c(), parent.id)
            .await
            .unwrap();
        let kept: AgentActivity = entity::get(c.c(), child.id).await.unwrap().unwrap();
        assert_eq!(
            kept.parent_action_id, None,
            "ON DELETE SET NULL keeps the child"
        );
        drop(c);
        t.finish().await;
    }
}

#[tokio::test]
async fn deleting_a_customer_takes_its_own_data_and_keeps_history() {
    for t in TestDb::all().await {
        let contact: Stakeholder = sample_with_parents(&t.db).await;
        let mut c = t.db.conn().await.unwrap();
        entity::insert(c.c(), &contact).await.unwrap();
        let mut session: AgentSession = sample_with_parents(&t.db).await;
        session.customer_id = Some(contact.customer_id);
        entity::insert(c.c(), &session).await.unwrap();

        entity::delete::<Customer>(c.c(), contact.customer_id)
            .await
            .unwrap();
        assert!(entity::get::<Stakeholder>(c.c(), contact.id)
            .await
            .unwrap()
            .is_none());
        let kept: AgentSession = entity::get(c.c(), session.id).await.unwrap().unwrap();
        assert_eq!(kept.customer_id, None);
        drop(c);
        t.finish().await;
    }
}

/// SQLite commits are durable by default (`synchronous = FULL`: an acknowledged write survives
/// a power loss); `sqlite_durable: false` trades that for speed (NORMAL).
#[tokio::test]
async fn sqlite_commits_wait_for_the_disk_unless_told_otherwise() {
    for (durable, expected) in [(true, 2i64), (false, 1)] {
        let dir = cscx_testkit::TempDir::new("cscx-sync");
        let url = format!("sqlite://{}", dir.path().join("x.db").display());
        let db = Db::connect(
            &url,
            &cscx_store::PoolConfig {
                sqlite_durable: durable,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let Db::Sqlite(pool) = &db else {
            unreachable!()
        };
        let level: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(level, expected, "durable: {durable}");
        db.close().await;
    }
}

/// PostgreSQL over TLS: `sslmode` in the URL is honoured (the test server offers TLS).
#[tokio::test]
async fn postgres_connects_over_tls_when_the_url_asks() {
    let Ok(url) = std::env::var(cscx_testkit::PG_ENV) else {
        cscx_testkit::require_in_ci("PostgreSQL");
        return;
    };
    let sep = if url.contains('?') { '&' } else { '?' };
    let db = Db::connect(&format!("{url}{sep}sslmode=require"), &Default::default())
        .await
        .expect("a TLS connection");
    let Db::Postgres(pool) = &db else {
        unreachable!()
    };
    let ssl: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(pool)
        .await
        .unwrap();
    assert!(ssl);
    db.close().await;
}

/// A caller dropped while its transaction is starting (a client that disconnects, an aborted
/// task) must not leave a pooled connection inside a transaction that holds the write lock.
#[tokio::test]
async fn a_cancelled_begin_leaves_no_transaction_open() {
    for t in TestDb::all().await {
        for i in 0..200u64 {
            // Cancel at every point of BEGIN's round trip, from before it is sent to after.
            let wait = std::time::Duration::from_micros(i * 5);
            let _ = tokio::time::timeout(wait, t.db.begin()).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        // Another pool on the same database can take the write lock at once.
        let other = Db::connect(
            &t.url,
            &cscx_store::PoolConfig {
                max_connections: 1,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let tx = tokio::time::timeout(std::time::Duration::from_secs(3), other.begin())
            .await
            .expect("the write lock is free")
            .unwrap();
        tx.commit().await.unwrap();
        if let Db::Postgres(pool) = &t.db {
            let stuck: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM pg_stat_activity
                 WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
            )
            .fetch_one(pool)
            .await
            .unwrap();
            assert_eq!(stuck, 0, "sessions left inside a transaction");
        }
        other.close().await;
        t.finish().await;
    }
}
