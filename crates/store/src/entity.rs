//! Table records and the generic repository every table gets for free.
//!
//! Each table of the data model is declared once with [`entity!`](crate::entity): the struct,
//! its column list, its foreign keys and its bindings for both backends are generated from that
//! declaration, so the SQL column list and the Rust fields cannot drift apart.

use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{FromRow, Postgres, Sqlite};

use crate::error::{Error, Result};
use crate::types::{Embedding, Id, Money, TextList, Timestamp};
use crate::{run, DbConn};

pub type SqliteQuery<'q> = sqlx::query::Query<'q, Sqlite, SqliteArguments<'q>>;
pub type PgQuery<'q> = sqlx::query::Query<'q, Postgres, PgArguments>;

/// A record of one table. Implemented by [`entity!`](crate::entity).
pub trait Entity:
    for<'r> FromRow<'r, SqliteRow>
    + for<'r> FromRow<'r, PgRow>
    + Serialize
    + DeserializeOwned
    + Clone
    + Send
    + Sync
    + Unpin
    + 'static
{
    const TABLE: &'static str;
    /// Column names in declaration order (the order of [`Entity::bind_sqlite`]).
    const COLUMNS: &'static [&'static str];
    /// `(column, referenced table)` for every foreign key.
    const FOREIGN_KEYS: &'static [(&'static str, &'static str)];

    fn id(&self) -> Id;
    /// `(column, referenced table, value)` for every foreign key of this record.
    fn foreign_key_values(&self) -> Vec<(&'static str, &'static str, Option<Id>)>;
    fn bind_sqlite<'q>(&'q self, q: SqliteQuery<'q>) -> SqliteQuery<'q>;
    fn bind_postgres<'q>(&'q self, q: PgQuery<'q>) -> PgQuery<'q>;
    /// Points the foreign key `column` at `id` (`None` clears a nullable one); false if there
    /// is no such foreign key.
    fn set_foreign_key(&mut self, column: &str, id: Option<Id>) -> bool;
    /// A record with every column filled with a deterministic, non-default value (`n` varies
    /// them). Used by the conformance suite to round-trip every column on both backends.
    fn sample(n: u32) -> Self;
}

/// Declares a table record. See `model.rs` for the syntax.
#[macro_export]
macro_rules! entity {
    (
        $(#[$meta:meta])*
        $name:ident in $table:literal {
            $( $field:ident $(as $col:literal)? : $ty:ty $(=> $fk:literal)? ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, sqlx::FromRow, utoipa::ToSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $(
                $( #[serde(rename = $col)] #[sqlx(rename = $col)] )?
                pub $field: $ty,
            )*
        }

        impl $crate::entity::Entity for $name {
            const TABLE: &'static str = $table;
            const COLUMNS: &'static [&'static str] = &[$( $crate::column_name!($field $(, $col)?) ),*];
            const FOREIGN_KEYS: &'static [(&'static str, &'static str)] =
                &[$($( (stringify!($field), $fk), )?)*];

            fn id(&self) -> $crate::types::Id {
                self.id
            }

            fn foreign_key_values(&self) -> Vec<(&'static str, &'static str, Option<$crate::types::Id>)> {
                vec![$($(
                    (stringify!($field), $fk, $crate::entity::AsOptionalId::as_optional_id(&self.$field)),
                )?)*]
            }

            fn bind_sqlite<'q>(&'q self, q: $crate::entity::SqliteQuery<'q>) -> $crate::entity::SqliteQuery<'q> {
                q $( .bind(&self.$field) )*
            }

            fn bind_postgres<'q>(&'q self, q: $crate::entity::PgQuery<'q>) -> $crate::entity::PgQuery<'q> {
                q $( .bind(&self.$field) )*
            }

            fn set_foreign_key(&mut self, column: &str, id: Option<$crate::types::Id>) -> bool {
                $($(
                    if column == stringify!($field) {
                        let _ = $fk;
                        self.$field = $crate::entity::AsOptionalId::from_optional_id(id);
                        return true;
                    }
                )?)*
                let _ = (column, id);
                false
            }

            fn sample(n: u32) -> Self {
                $name {
                    $( $field: $crate::entity::SampleValue::sample_value(n, stringify!($field)), )*
                }
            }
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! column_name {
    ($field:ident) => {
        stringify!($field)
    };
    ($field:ident, $col:literal) => {
        $col
    };
}

/// Reads a foreign-key field whether or not it is nullable.
pub trait AsOptionalId: Sized {
    fn as_optional_id(&self) -> Option<Id>;
    fn from_optional_id(id: Option<Id>) -> Self;
}
impl AsOptionalId for Id {
    fn as_optional_id(&self) -> Option<Id> {
        Some(*self)
    }
    /// A required reference cannot be cleared: `None` becomes the nil id, which no row has,
    /// so the write is refused by the reference check.
    fn from_optional_id(id: Option<Id>) -> Self {
        id.unwrap_or(Id::NIL)
    }
}
impl AsOptionalId for Option<Id> {
    fn as_optional_id(&self) -> Option<Id> {
        *self
    }
    fn from_optional_id(id: Option<Id>) -> Self {
        id
    }
}

/// Deterministic sample values per column type, for [`Entity::sample`].
pub trait SampleValue {
    fn sample_value(n: u32, column: &str) -> Self;
}

impl SampleValue for Id {
    fn sample_value(_: u32, _: &str) -> Self {
        Id::new()
    }
}
impl SampleValue for String {
    fn sample_value(n: u32, column: &str) -> Self {
        // Quotes, non-ASCII and a percent sign catch escaping and collation mistakes.
        format!("{column} #{n} — O'Brien & Søn 100%")
    }
}
impl SampleValue for i32 {
    fn sample_value(n: u32, column: &str) -> Self {
        (column.len() as i32 * 7 + n as i32) % 100 + 1
    }
}
impl SampleValue for bool {
    fn sample_value(_: u32, _: &str) -> Self {
        true
    }
}
impl SampleValue for Money {
    fn sample_value(n: u32, _: &str) -> Self {
        format!("{}.50", 1_234_567 + n)
            .parse()
            .expect("valid decimal")
    }
}
impl SampleValue for Timestamp {
    fn sample_value(n: u32, _: &str) -> Self {
        Timestamp::from_millis(1_767_225_600_123 + n as i64 * 86_400_000)
    }
}
impl SampleValue for chrono::NaiveDate {
    fn sample_value(n: u32, _: &str) -> Self {
        chrono::NaiveDate::from_ymd_opt(2026, 3, 1).expect("valid date")
            + chrono::Duration::days(n as i64)
    }
}
impl SampleValue for serde_json::Value {
    fn sample_value(n: u32, column: &str) -> Self {
        serde_json::json!({ "column": column, "n": n, "nested": { "list": [1, "two", null] } })
    }
}
impl SampleValue for TextList {
    fn sample_value(n: u32, column: &str) -> Self {
        TextList(vec![format!("{column}-{n}"), "second, with comma".into()])
    }
}
impl SampleValue for Embedding {
    fn sample_value(n: u32, _: &str) -> Self {
        Embedding(vec![0.25, -1.5, n as f32])
    }
}
impl<T: cscx_domain::Word> SampleValue for crate::types::Text<T> {
    fn sample_value(n: u32, _: &str) -> Self {
        crate::types::Text(T::ALL[n as usize % T::ALL.len()])
    }
}
impl<T: SampleValue> SampleValue for Option<T> {
    fn sample_value(n: u32, column: &str) -> Self {
        Some(T::sample_value(n, column))
    }
}

fn quoted_columns<E: Entity>() -> String {
    E::COLUMNS
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks every non-null foreign key of `e` and names the first one that points nowhere.
/// SQLite's own foreign-key error does not say which column failed, so we look first.
pub async fn check_references<E: Entity>(mut c: DbConn<'_>, e: &E) -> Result<()> {
    for (field, table, value) in e.foreign_key_values() {
        let Some(id) = value else { continue };
        let sql = format!("SELECT 1 FROM {table} WHERE id = $1");
        let found = run!(c.re(), |conn| sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
            .is_some());
        if !found {
            return Err(Error::MissingReference {
                field: field.to_owned(),
                table: table.to_owned(),
            });
        }
    }
    Ok(())
}

/// Inserts `e` after checking its references.
pub async fn insert<E: Entity>(mut c: DbConn<'_>, e: &E) -> Result<()> {
    check_references(c.re(), e).await?;
    let placeholders = (1..=E::COLUMNS.len())
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "INSERT INTO {} ({}) VALUES ({placeholders})",
        E::TABLE,
        quoted_columns::<E>()
    );
    match c {
        DbConn::Sqlite(conn) => {
            e.bind_sqlite(sqlx::query(&sql)).execute(&mut *conn).await?;
        }
        DbConn::Postgres(conn) => {
            e.bind_postgres(sqlx::query(&sql))
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

/// Writes every column of `e` over the stored row with the same id.
pub async fn update<E: Entity>(mut c: DbConn<'_>, e: &E) -> Result<()> {
    check_references(c.re(), e).await?;
    let sets = E::COLUMNS
        .iter()
        .enumerate()
        .filter(|(_, col)| **col != "id")
        .map(|(i, col)| format!("\"{col}\" = ${}", i + 1))
        .collect::<Vec<_>>()
        .join(", ");
    let id_pos = E::COLUMNS
        .iter()
        .position(|c| *c == "id")
        .expect("every table has an id")
        + 1;
    let sql = format!("UPDATE {} SET {sets} WHERE id = ${id_pos}", E::TABLE);
    let affected = match c {
        DbConn::Sqlite(conn) => e
            .bind_sqlite(sqlx::query(&sql))
            .execute(&mut *conn)
            .await?
            .rows_affected(),
        DbConn::Postgres(conn) => e
            .bind_postgres(sqlx::query(&sql))
            .execute(&mut *conn)
            .await?
            .rows_affected(),
    };
    if affected == 0 {
        return Err(Error::NotFound);
    }
    Ok(())
}

/// Reads one record by id.
pub async fn get<E: Entity>(c: DbConn<'_>, id: Id) -> Result<Option<E>> {
    let sql = format!(
        "SELECT {} FROM {} WHERE id = $1",
        quoted_columns::<E>(),
        E::TABLE
    );
    Ok(crate::sql!(c, optional E, &sql, id)?)
}

/// Reads one record by id for update: on PostgreSQL the row is locked until the transaction
/// ends (SQLite's `BEGIN IMMEDIATE` already serialises writers).
pub async fn get_for_update<E: Entity>(c: DbConn<'_>, id: Id) -> Result<Option<E>> {
    let lock = match c.backend() {
        crate::Backend::Postgres => " FOR UPDATE",
        crate::Backend::Sqlite => "",
    };
    let sql = format!(
        "SELECT {} FROM {} WHERE id = $1{lock}",
        quoted_columns::<E>(),
        E::TABLE
    );
    Ok(crate::sql!(c, optional E, &sql, id)?)
}

/// Deletes one record; false if there was none.
pub async fn delete<E: Entity>(c: DbConn<'_>, id: Id) -> Result<bool> {
    let sql = format!("DELETE FROM {} WHERE id = $1", E::TABLE);
    run!(c, |conn| Ok(sqlx::query(&sql)
        .bind(id)
        .execute(&mut *conn)
        .await?
        .rows_affected()
        > 0))
}

/// Records whose `column` equals `id`, oldest first, after the id `after` (keyset pagination:
/// ids are time-ordered UUID v7, so new rows land at the end and never shift a page).
pub async fn list_by<E: Entity>(
    c: DbConn<'_>,
    column: &str,
    id: Id,
    after: Option<Id>,
    limit: u32,
) -> Result<Vec<E>> {
    assert!(
        E::COLUMNS.contains(&column),
        "{column} is not a column of {}",
        E::TABLE
    );
    let sql = format!(
        "SELECT {} FROM {} WHERE \"{column}\" = $1 AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3",
        quoted_columns::<E>(),
        E::TABLE
    );
    Ok(crate::sql!(c, all E, &sql, id, after, limit as i64)?)
}

/// All records in id order after `after` (keyset pagination).
pub async fn list<E: Entity>(c: DbConn<'_>, after: Option<Id>, limit: u32) -> Result<Vec<E>> {
    let sql = format!(
        "SELECT {} FROM {} WHERE ($1 IS NULL OR id > $1) ORDER BY id LIMIT $2",
        quoted_columns::<E>(),
        E::TABLE
    );
    Ok(crate::sql!(c, all E, &sql, after, limit as i64)?)
}
