//! The customer list: filters, sorting and keyset pagination that stays stable while rows are
//! inserted (a cursor names the last row seen, never an offset).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sqlx::QueryBuilder;

use crate::error::{Error, Result};
use crate::model::Customer;
use crate::types::{Id, Money, Timestamp};
use crate::{Backend, DbConn};

/// Columns the list can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortField {
    Name,
    Arr,
    HealthScore,
    RenewalDate,
    UpdatedAt,
    CreatedAt,
}

impl SortField {
    pub fn parse(s: &str) -> Option<SortField> {
        Some(match s {
            "name" => SortField::Name,
            "arr" => SortField::Arr,
            "health_score" => SortField::HealthScore,
            "renewal_date" => SortField::RenewalDate,
            "updated_at" => SortField::UpdatedAt,
            "created_at" => SortField::CreatedAt,
            _ => return None,
        })
    }

    /// The SQL expression sorted on. Names sort case-insensitively; SQLite keeps money as
    /// exact text, so it sorts on the numeric value (both have matching indexes).
    fn expr(self, backend: Backend) -> &'static str {
        match (self, backend) {
            (SortField::Name, Backend::Sqlite) => "name COLLATE NOCASE",
            (SortField::Name, Backend::Postgres) => "lower(name)",
            (SortField::Arr, Backend::Sqlite) => "CAST(arr AS REAL)",
            (SortField::Arr, Backend::Postgres) => "arr",
            (SortField::HealthScore, _) => "health_score",
            (SortField::RenewalDate, _) => "renewal_date",
            (SortField::UpdatedAt, _) => "updated_at",
            (SortField::CreatedAt, _) => "id",
        }
    }
}

/// `sort=` value: a field and a direction (`-field` is descending).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub field: SortField,
    pub descending: bool,
}

impl Default for Sort {
    fn default() -> Self {
        Sort {
            field: SortField::CreatedAt,
            descending: false,
        }
    }
}

impl Sort {
    pub fn parse(s: &str) -> Option<Sort> {
        let (descending, name) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        Some(Sort {
            field: SortField::parse(name)?,
            descending,
        })
    }
}

/// Filters of `GET /api/v1/customers`; all optional, combined with AND.
#[derive(Debug, Clone, Default)]
pub struct CustomerFilter {
    pub stage: Option<String>,
    pub segment: Option<String>,
    pub csm_id: Option<Id>,
    pub industry: Option<String>,
    pub health_min: Option<i32>,
    pub health_max: Option<i32>,
    /// Only customers whose latest score is in this band (graded by its own model).
    pub band: Option<cscx_domain::health::Grade>,
    /// Only customers without a health score.
    pub unscored: bool,
    pub renewal_before: Option<NaiveDate>,
    pub renewal_after: Option<NaiveDate>,
    /// Case-insensitive substring of the name.
    pub q: Option<String>,
    /// Leave churned customers out (the workspace's default view).
    pub exclude_churned: bool,
}

/// The position after the last row of a page: the sort value of that row and its id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    /// The sort the cursor was made for; a cursor is refused under another sort.
    pub s: String,
    /// The last row's sort value (`null` when the row had none).
    pub v: Option<serde_json::Value>,
    pub id: Id,
}

#[derive(Debug, Clone, PartialEq)]
enum SortValue {
    Text(String),
    Int(i64),
    Time(Timestamp),
    Money(Money),
    Date(NaiveDate),
}

fn sort_value(c: &Customer, field: SortField) -> Option<SortValue> {
    match field {
        SortField::Name => Some(SortValue::Text(c.name.clone())),
        SortField::Arr => c.arr.map(SortValue::Money),
        SortField::HealthScore => c.health_score.map(|h| SortValue::Int(h as i64)),
        SortField::RenewalDate => c.renewal_date.map(SortValue::Date),
        SortField::UpdatedAt => Some(SortValue::Time(c.updated_at)),
        SortField::CreatedAt => None,
    }
}

fn sort_key(sort: Sort) -> String {
    format!("{}{:?}", if sort.descending { "-" } else { "" }, sort.field)
}

impl Cursor {
    /// The cursor pointing after `last` under `sort`.
    pub fn after(last: &Customer, sort: Sort) -> Cursor {
        let v = sort_value(last, sort.field).map(|v| match v {
            SortValue::Text(s) => serde_json::Value::String(s),
            SortValue::Int(i) => serde_json::Value::from(i),
            SortValue::Time(t) => serde_json::Value::from(t.millis()),
            SortValue::Money(m) => serde_json::Value::String(m.to_string()),
            SortValue::Date(d) => serde_json::Value::String(d.to_string()),
        });
        Cursor {
            s: sort_key(sort),
            v,
            id: last.id,
        }
    }

    fn value(&self, field: SortField) -> Result<Option<SortValue>> {
        let bad = || Error::Corrupt("cursor does not match the sort".into());
        let Some(v) = &self.v else { return Ok(None) };
        Ok(Some(match field {
            SortField::Name => SortValue::Text(v.as_str().ok_or_else(bad)?.to_owned()),
            SortField::Arr => {
                SortValue::Money(v.as_str().ok_or_else(bad)?.parse().map_err(|_| bad())?)
            }
            SortField::HealthScore => SortValue::Int(v.as_i64().ok_or_else(bad)?),
            SortField::UpdatedAt => {
                SortValue::Time(Timestamp::from_millis(v.as_i64().ok_or_else(bad)?))
            }
            SortField::RenewalDate => {
                SortValue::Date(v.as_str().ok_or_else(bad)?.parse().map_err(|_| bad())?)
            }
            SortField::CreatedAt => return Ok(None),
        }))
    }
}

fn push_value<'a, DB>(qb: &mut QueryBuilder<'a, DB>, v: &SortValue, backend: Backend)
where
    DB: sqlx::Database,
    String: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    i32: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    Money: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    Timestamp: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    NaiveDate: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    match v {
        SortValue::Text(s) => {
            if backend == Backend::Sqlite {
                qb.push_bind(s.clone());
                qb.push(" COLLATE NOCASE");
            } else {
                qb.push("lower(");
                qb.push_bind(s.clone());
                qb.push(")");
            }
        }
        SortValue::Int(i) => {
            qb.push_bind(*i);
        }
        SortValue::Time(t) => {
            qb.push_bind(*t);
        }
        SortValue::Money(m) => {
            if backend == Backend::Sqlite {
                qb.push("CAST(");
                qb.push_bind(*m);
                qb.push(" AS REAL)");
            } else {
                qb.push_bind(*m);
            }
        }
        SortValue::Date(d) => {
            qb.push_bind(*d);
        }
    }
}

/// Appends the WHERE conditions of `$filter` (after a `WHERE 1=1`) to `$qb`: one text for the
/// list and for its totals, so they always count the same rows.
macro_rules! push_filter {
    ($qb:ident, $filter:expr) => {{
        let filter = $filter;
        if let Some(v) = &filter.stage {
            $qb.push(" AND stage = ").push_bind(v.clone());
        }
        if let Some(v) = &filter.segment {
            $qb.push(" AND segment = ").push_bind(v.clone());
        }
        if let Some(v) = filter.csm_id {
            $qb.push(" AND csm_id = ").push_bind(v);
        }
        if let Some(v) = &filter.industry {
            $qb.push(" AND industry = ").push_bind(v.clone());
        }
        if let Some(v) = filter.health_min {
            $qb.push(" AND health_score >= ").push_bind(v);
        }
        if let Some(v) = filter.health_max {
            $qb.push(" AND health_score <= ").push_bind(v);
        }
        if let Some(b) = filter.band {
            $qb.push(" AND health_band = ").push_bind(crate::Text(b));
        }
        if filter.unscored {
            $qb.push(" AND health_score IS NULL");
        }
        if filter.exclude_churned {
            $qb.push(" AND stage <> 'churned'");
        }
        if let Some(v) = filter.renewal_before {
            $qb.push(" AND renewal_date < ").push_bind(v);
        }
        if let Some(v) = filter.renewal_after {
            $qb.push(" AND renewal_date > ").push_bind(v);
        }
        if let Some(q) = &filter.q {
            // Escape LIKE wildcards so a search for "100%" finds exactly that.
            let pattern = format!(
                "%{}%",
                q.to_lowercase()
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            $qb.push(" AND lower(name) LIKE ")
                .push_bind(pattern)
                .push(" ESCAPE '\\'");
        }
    }};
}

/// Appends the list query for `$filter`/`$sort`/`$cursor_value`/`$limit` to `$qb` (one text for
/// both backends, with the per-backend sort expressions).
macro_rules! build_list {
    ($qb:ident, $filter:expr, $sort:expr, $cursor_value:expr, $limit:expr, $backend:expr) => {{
        let (filter, sort, cursor_value, limit, backend) =
            ($filter, $sort, $cursor_value, $limit, $backend);
        $qb.push("SELECT * FROM customers WHERE 1=1");
        push_filter!($qb, filter);
        let expr = sort.field.expr(backend);
        let (cmp, order) = if sort.descending {
            ("<", "DESC")
        } else {
            (">", "ASC")
        };
        if let Some((value, id)) = &cursor_value {
            if sort.field == SortField::CreatedAt {
                $qb.push(format!(" AND id {cmp} ")).push_bind(*id);
            } else {
                match value {
                    // After a row with a value: larger values (smaller when descending),
                    // then equal values with larger ids, then every row without a value.
                    Some(v) => {
                        $qb.push(format!(" AND ({expr} {cmp} "));
                        push_value(&mut $qb, v, backend);
                        $qb.push(format!(" OR ({expr} = "));
                        push_value(&mut $qb, v, backend);
                        $qb.push(" AND id > ").push_bind(*id);
                        $qb.push(format!(") OR {expr} IS NULL)"));
                    }
                    // Rows without a value come last, in id order.
                    None => {
                        $qb.push(format!(" AND {expr} IS NULL AND id > "))
                            .push_bind(*id);
                    }
                }
            }
        }
        if sort.field == SortField::CreatedAt {
            $qb.push(format!(" ORDER BY id {order}"));
        } else {
            $qb.push(format!(" ORDER BY {expr} {order} NULLS LAST, id ASC"));
        }
        $qb.push(" LIMIT ").push_bind(limit as i64 + 1);
    }};
}

/// Builds and runs the list query. Returns up to `limit` rows and whether more follow.
pub async fn list(
    c: DbConn<'_>,
    filter: &CustomerFilter,
    sort: Sort,
    cursor: Option<&Cursor>,
    limit: u32,
) -> Result<(Vec<Customer>, Option<Cursor>)> {
    let backend = c.backend();
    if let Some(cur) = cursor {
        if cur.s != sort_key(sort) {
            return Err(Error::Corrupt(
                "cursor was made for another sort order".into(),
            ));
        }
    }
    let cursor_value = match cursor {
        Some(cur) => Some((cur.value(sort.field)?, cur.id)),
        None => None,
    };

    let mut rows: Vec<Customer> = match c {
        DbConn::Sqlite(conn) => {
            let mut qb = QueryBuilder::<sqlx::Sqlite>::new("");
            build_list!(qb, filter, sort, &cursor_value, limit, backend);
            qb.build_query_as().fetch_all(&mut *conn).await?
        }
        DbConn::Postgres(conn) => {
            let mut qb = QueryBuilder::<sqlx::Postgres>::new("");
            build_list!(qb, filter, sort, &cursor_value, limit, backend);
            qb.build_query_as().fetch_all(&mut *conn).await?
        }
    };
    let next = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(|last| Cursor::after(last, sort))
    } else {
        None
    };
    Ok((rows, next))
}

/// How many customers match `filter`, and the sum of their ARR (exact: summed as decimals here,
/// not as floating point in the database).
pub async fn totals(c: DbConn<'_>, filter: &CustomerFilter) -> Result<(i64, Money)> {
    let arrs: Vec<Option<Money>> = match c {
        DbConn::Sqlite(conn) => {
            let mut qb = QueryBuilder::<sqlx::Sqlite>::new("SELECT arr FROM customers WHERE 1=1");
            push_filter!(qb, filter);
            qb.build_query_scalar().fetch_all(&mut *conn).await?
        }
        DbConn::Postgres(conn) => {
            let mut qb = QueryBuilder::<sqlx::Postgres>::new("SELECT arr FROM customers WHERE 1=1");
            push_filter!(qb, filter);
            qb.build_query_scalar().fetch_all(&mut *conn).await?
        }
    };
    let sum = arrs
        .iter()
        .flatten()
        .fold(rust_decimal::Decimal::ZERO, |acc, m| acc + m.0);
    Ok((arrs.len() as i64, Money(sum)))
}

/// The database's plan for the list query (EXPLAIN QUERY PLAN on SQLite, EXPLAIN on
/// PostgreSQL), one line per step: shows which indexes a filter and sort use.
pub async fn explain(
    c: DbConn<'_>,
    filter: &CustomerFilter,
    sort: Sort,
    limit: u32,
) -> Result<Vec<String>> {
    let backend = c.backend();
    let cursor_value: Option<(Option<SortValue>, Id)> = None;
    Ok(match c {
        DbConn::Sqlite(conn) => {
            let mut qb = QueryBuilder::<sqlx::Sqlite>::new("EXPLAIN QUERY PLAN ");
            build_list!(qb, filter, sort, &cursor_value, limit, backend);
            let rows: Vec<(i64, i64, i64, String)> =
                qb.build_query_as().fetch_all(&mut *conn).await?;
            rows.into_iter().map(|r| r.3).collect()
        }
        DbConn::Postgres(conn) => {
            let mut qb = QueryBuilder::<sqlx::Postgres>::new("EXPLAIN ");
            build_list!(qb, filter, sort, &cursor_value, limit, backend);
            let rows: Vec<(String,)> = qb.build_query_as().fetch_all(&mut *conn).await?;
            rows.into_iter().map(|r| r.0).collect()
        }
    })
}

/// Customers whose `salesforce_id` or `hubspot_id` equals `key`, or whose
/// `metadata.external_id` does: how product telemetry and CRMs name our customers.
pub async fn find_by_external_key(c: DbConn<'_>, key: &str) -> Result<Option<Customer>> {
    Ok(crate::sql!(
        c,
        optional Customer,
        "SELECT * FROM customers WHERE salesforce_id = $1 OR hubspot_id = $1 OR metadata->>'external_id' = $1 ORDER BY id LIMIT 1",
        key,
    )?)
}

/// Every customer's id, in id order: what portfolio-wide jobs iterate over (16 bytes a
/// customer, where whole rows would be a kilobyte or more).
pub async fn all_ids(c: DbConn<'_>) -> Result<Vec<Id>> {
    Ok(crate::sql!(c, scalars Id, "SELECT id FROM customers ORDER BY id")?)
}

/// Which of `ids` exist (at most 500 a query: both engines bound the number of parameters).
pub async fn existing_ids(mut c: DbConn<'_>, ids: &[Id]) -> Result<Vec<Id>> {
    let mut found = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let placeholders = (1..=chunk.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("SELECT id FROM customers WHERE id IN ({placeholders})");
        let rows: Vec<Id> = crate::run!(c.re(), |conn| {
            let mut q = sqlx::query_scalar::<_, Id>(&sql);
            for id in chunk {
                q = q.bind(*id);
            }
            q.fetch_all(&mut *conn).await
        })?;
        found.extend(rows);
    }
    Ok(found)
}

/// `(id, name)` of those of `ids` that exist (at most 500 a query, like [`existing_ids`]).
pub async fn names_of(mut c: DbConn<'_>, ids: &[Id]) -> Result<Vec<(Id, String)>> {
    let mut found = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let placeholders = (1..=chunk.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("SELECT id, name FROM customers WHERE id IN ({placeholders})");
        let rows: Vec<(Id, String)> = crate::run!(c.re(), |conn| {
            let mut q = sqlx::query_as::<_, (Id, String)>(&sql);
            for id in chunk {
                q = q.bind(*id);
            }
            q.fetch_all(&mut *conn).await
        })?;
        found.extend(rows);
    }
    Ok(found)
}

/// Customers whose lower-cased name contains `fragment` (LIKE wildcards in it are removed), in
/// id order; all of them, however many.
pub async fn name_contains(c: DbConn<'_>, fragment: &str) -> Result<Vec<Customer>> {
    let pattern = format!("%{}%", fragment.to_lowercase().replace(['%', '_'], ""));
    Ok(crate::sql!(
        c,
        all Customer,
        "SELECT * FROM customers WHERE lower(name) LIKE $1 ORDER BY id",
        &pattern,
    )?)
}

/// The demo data's customers (marked in `metadata.demo`), in id order.
pub async fn demo(c: DbConn<'_>) -> Result<Vec<Customer>> {
    Ok(crate::sql!(
        c,
        all Customer,
        "SELECT * FROM customers WHERE metadata->>'demo' IS NOT NULL ORDER BY id",
    )?)
}

/// Only one primary contact per customer: clears the flag on the customer's other contacts.
pub async fn clear_other_primaries(c: DbConn<'_>, customer_id: Id, keep: Id) -> Result<()> {
    crate::sql!(
        c,
        execute,
        "UPDATE stakeholders SET is_primary = FALSE WHERE customer_id = $1 AND id <> $2 AND is_primary = TRUE",
        customer_id,
        keep,
    ).map(|_| ())?;
    Ok(())
}

/// The assistant's portfolio question: customers matching every given filter.
#[derive(Debug, Clone, Default)]
pub struct PortfolioQuery {
    pub stage: Option<String>,
    pub segment: Option<String>,
    pub max_health: Option<i32>,
    pub min_health: Option<i32>,
    pub min_arr: Option<Money>,
    pub renewal_from: Option<NaiveDate>,
    pub renewal_to: Option<NaiveDate>,
    pub csm_id: Option<Id>,
}

/// What [`portfolio`] answers: how many match, their ARR (exact decimal text), and the first
/// `limit` (soonest renewal first when a renewal window is asked, else least healthy).
pub struct PortfolioAnswer {
    pub count: i64,
    pub total_arr: Option<String>,
    pub first: Vec<Customer>,
}

/// Two indexed queries: the count and sum, then the first rows (never the whole portfolio).
pub async fn portfolio(
    mut c: DbConn<'_>,
    q: &PortfolioQuery,
    limit: u32,
) -> Result<PortfolioAnswer> {
    const WHERE: &str = "($1 IS NULL OR stage = $1) AND ($2 IS NULL OR lower(segment) = lower($2))
        AND ($3 IS NULL OR health_score <= $3) AND ($4 IS NULL OR health_score >= $4)
        AND ($5 IS NULL OR CAST(arr AS NUMERIC) >= $5) AND ($6 IS NULL OR renewal_date >= $6)
        AND ($7 IS NULL OR renewal_date <= $7) AND ($8 IS NULL OR csm_id = $8)";
    // The same eight parameters, in WHERE's order, for both queries.
    macro_rules! bind_filters {
        ($query:expr) => {
            $query
                .bind(&q.stage)
                .bind(&q.segment)
                .bind(q.max_health)
                .bind(q.min_health)
                .bind(q.min_arr)
                .bind(q.renewal_from)
                .bind(q.renewal_to)
                .bind(q.csm_id)
        };
    }
    let (count, total_arr): (i64, Option<String>) = crate::run!(c.re(), |conn| {
        bind_filters!(sqlx::query_as(&format!(
            "SELECT COUNT(*), CAST(SUM(CAST(arr AS NUMERIC)) AS TEXT) FROM customers WHERE {WHERE}"
        )))
        .fetch_one(&mut *conn)
        .await
    })?;
    let order = if q.renewal_to.is_some() {
        "renewal_date, id"
    } else {
        "health_score, id"
    };
    let first: Vec<Customer> = crate::run!(c, |conn| {
        bind_filters!(sqlx::query_as(&format!(
            "SELECT * FROM customers WHERE {WHERE} ORDER BY {order} LIMIT {limit}"
        )))
        .fetch_all(&mut *conn)
        .await
    })?;
    Ok(PortfolioAnswer {
        count,
        total_arr,
        first,
    })
}
