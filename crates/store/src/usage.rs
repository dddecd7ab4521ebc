//! Usage events and daily metrics: batched inserts that report duplicates, the queue of days
//! whose metrics must be recomputed, and the reads the rollup needs.

use chrono::NaiveDate;
use sqlx::QueryBuilder;

use crate::error::Result;
use crate::model::{UsageEvent, UsageMetric};
use crate::types::{Id, Timestamp};
use crate::{run, DbConn};

/// Rows per INSERT statement: 8 parameters a row stays far below both backends' limits.
const CHUNK: usize = 500;

/// Inserts events, skipping those whose `(customer_id, event_id)` is already stored. Returns,
/// per input row, whether it was inserted (false = duplicate of a stored event).
pub async fn insert_events(mut c: DbConn<'_>, events: &[UsageEvent]) -> Result<Vec<bool>> {
    let mut inserted = Vec::with_capacity(events.len());
    for chunk in events.chunks(CHUNK) {
        let ids: Vec<Id> = match c.re() {
            // SQLite: the rows travel as one JSON parameter that SQLite unpacks itself, which
            // costs a fraction of binding eight parameters per row through the driver.
            DbConn::Sqlite(conn) => {
                let rows: Vec<_> = chunk
                    .iter()
                    .map(|e| {
                        (
                            e.id,
                            e.customer_id,
                            &e.event_type,
                            &e.user_id,
                            e.timestamp.millis(),
                            &e.metadata,
                            e.created_at.millis(),
                            &e.event_id,
                        )
                    })
                    .collect();
                let json = serde_json::to_string(&rows).expect("events serialize");
                let stored = sqlx::query(
                    "INSERT INTO usage_events (id, customer_id, event_type, user_id, \"timestamp\", metadata, created_at, event_id)
                     SELECT value->>'$[0]', value->>'$[1]', value->>'$[2]', value->>'$[3]', value->>'$[4]',
                            value->'$[5]', value->>'$[6]', value->>'$[7]'
                     FROM json_each($1) WHERE 1
                     ON CONFLICT (customer_id, event_id) WHERE event_id IS NOT NULL DO NOTHING",
                )
                .bind(&json)
                .execute(&mut *conn)
                .await?
                .rows_affected();
                if stored == chunk.len() as u64 {
                    inserted.extend(std::iter::repeat_n(true, chunk.len()));
                    continue;
                }
                // Some were duplicates: ask which of the new ids are stored (as one JSON row;
                // a row per event through the driver costs more than the insert did).
                let found: String = sqlx::query_scalar(
                    "SELECT json_group_array(id) FROM usage_events
                     WHERE id IN (SELECT value->>'$[0]' FROM json_each($1))",
                )
                .bind(&json)
                .fetch_one(&mut *conn)
                .await?;
                serde_json::from_str::<Vec<Id>>(&found)
                    .map_err(|e| crate::Error::Corrupt(format!("stored events: {e}")))?
            }
            DbConn::Postgres(conn) => {
                let mut qb = QueryBuilder::<sqlx::Postgres>::new(
                    "INSERT INTO usage_events (id, customer_id, event_type, user_id, \"timestamp\", metadata, created_at, event_id) ",
                );
                qb.push_values(chunk, |mut b, e| {
                    b.push_bind(e.id)
                        .push_bind(e.customer_id)
                        .push_bind(e.event_type.clone())
                        .push_bind(e.user_id.clone())
                        .push_bind(e.timestamp)
                        .push_bind(e.metadata.clone())
                        .push_bind(e.created_at)
                        .push_bind(e.event_id.clone());
                });
                qb.push(" ON CONFLICT (customer_id, event_id) WHERE event_id IS NOT NULL DO NOTHING RETURNING id");
                qb.build_query_scalar().fetch_all(&mut *conn).await?
            }
        };
        let ids: std::collections::HashSet<Id> = ids.into_iter().collect();
        inserted.extend(chunk.iter().map(|e| ids.contains(&e.id)));
    }
    Ok(inserted)
}

/// Marks many customers' metrics stale from the given days. Each customer must appear once.
/// Returns the customers that had no pending mark before (version 1): only they need a rollup
/// job, as a marked customer already has one waiting or running (see `clear_pending`).
pub async fn mark_pending_many(
    mut c: DbConn<'_>,
    marks: &[(Id, NaiveDate)],
    now: Timestamp,
) -> Result<Vec<Id>> {
    const CONFLICT: &str = " ON CONFLICT (customer_id) DO UPDATE SET
        from_date = CASE WHEN excluded.from_date < usage_rollup_pending.from_date THEN excluded.from_date ELSE usage_rollup_pending.from_date END,
        version = usage_rollup_pending.version + 1,
        updated_at = excluded.updated_at";
    let mut fresh = Vec::new();
    for chunk in marks.chunks(500) {
        let marked: Vec<(Id, i64)> = match c.re() {
            // SQLite: one JSON parameter instead of four bound per row.
            DbConn::Sqlite(conn) => {
                let json = serde_json::to_string(chunk).expect("marks serialize");
                // Which are new, as one JSON row: returning a row per mark through the driver
                // would cost more than the upsert.
                let fresh: String = sqlx::query_scalar(
                    "SELECT json_group_array(value->>'$[0]') FROM json_each($1)
                     WHERE NOT EXISTS (SELECT 1 FROM usage_rollup_pending p WHERE p.customer_id = value->>'$[0]')",
                )
                .bind(&json)
                .fetch_one(&mut *conn)
                .await?;
                sqlx::query(&format!(
                    "INSERT INTO usage_rollup_pending (customer_id, from_date, version, updated_at)
                     SELECT value->>'$[0]', value->>'$[1]', 1, $2 FROM json_each($1) WHERE 1{CONFLICT}"
                ))
                .bind(json)
                .bind(now)
                .execute(&mut *conn)
                .await?;
                serde_json::from_str::<Vec<Id>>(&fresh)
                    .map_err(|e| crate::Error::Corrupt(format!("pending marks: {e}")))?
                    .into_iter()
                    .map(|id| (id, 1))
                    .collect()
            }
            DbConn::Postgres(conn) => {
                let mut qb = QueryBuilder::<sqlx::Postgres>::new(
                    "INSERT INTO usage_rollup_pending (customer_id, from_date, version, updated_at) ",
                );
                qb.push_values(chunk, |mut b, (id, from)| {
                    b.push_bind(*id)
                        .push_bind(*from)
                        .push_bind(1i64)
                        .push_bind(now);
                });
                qb.push(CONFLICT);
                qb.push(" RETURNING customer_id, version");
                qb.build_query_as().fetch_all(&mut *conn).await?
            }
        };
        fresh.extend(
            marked
                .into_iter()
                .filter(|(_, v)| *v == 1)
                .map(|(id, _)| id),
        );
    }
    Ok(fresh)
}

/// The pending rollup of a customer: `(from_date, version)`.
pub async fn pending(c: DbConn<'_>, customer_id: Id) -> Result<Option<(NaiveDate, i64)>> {
    Ok(crate::sql!(
        c,
        optional(NaiveDate, i64),
        "SELECT from_date, version FROM usage_rollup_pending WHERE customer_id = $1",
        customer_id,
    )?)
}

/// Clears the pending mark if nothing was added since `version` was read. False if more came
/// in: the caller must roll up again, as no new job was queued for the newer events.
pub async fn clear_pending(c: DbConn<'_>, customer_id: Id, version: i64) -> Result<bool> {
    run!(c, |conn| Ok(sqlx::query(
        "DELETE FROM usage_rollup_pending WHERE customer_id = $1 AND version = $2"
    )
    .bind(customer_id)
    .bind(version)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1))
}

/// One event as the rollup reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventFacts {
    pub timestamp: Timestamp,
    pub user_id: Option<String>,
    pub event_type: String,
    /// The metadata field the metrics read for this type, as text (see migration 0004).
    pub metric_value: Option<String>,
}

/// A customer's events with `from <= timestamp < to`.
pub async fn event_facts(
    c: DbConn<'_>,
    customer_id: Id,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<EventFacts>> {
    match c {
        // SQLite: read from the covering index and returned as one JSON array built by the
        // database. Through the driver each row costs a thread hand-off and an allocation per
        // column, several times what SQLite spends reading it.
        DbConn::Sqlite(conn) => {
            let json: String = sqlx::query_scalar(
                "SELECT json_group_array(json_array(\"timestamp\", user_id, event_type, metric_value))
                 FROM usage_events WHERE customer_id = $1 AND \"timestamp\" >= $2 AND \"timestamp\" < $3",
            )
            .bind(customer_id)
            .bind(from)
            .bind(to)
            .fetch_one(&mut *conn)
            .await?;
            let rows: Vec<(i64, Option<String>, String, Option<String>)> =
                serde_json::from_str(&json)
                    .map_err(|e| crate::Error::Corrupt(format!("event facts: {e}")))?;
            Ok(rows
                .into_iter()
                .map(|(ts, user_id, event_type, metric_value)| EventFacts {
                    timestamp: Timestamp::from_millis(ts),
                    user_id,
                    event_type,
                    metric_value,
                })
                .collect())
        }
        DbConn::Postgres(conn) => Ok(sqlx::query_as(
            "SELECT \"timestamp\", user_id, event_type, metric_value
             FROM usage_events WHERE customer_id = $1 AND \"timestamp\" >= $2 AND \"timestamp\" < $3",
        )
        .bind(customer_id)
        .bind(from)
        .bind(to)
        .fetch_all(&mut *conn)
        .await?),
    }
}

/// Writes metrics rows, replacing those of the same customer and day.
pub async fn upsert_metrics(mut c: DbConn<'_>, rows: &[UsageMetric]) -> Result<()> {
    const CONFLICT: &str = " ON CONFLICT (customer_id, metric_date) DO UPDATE SET dau = excluded.dau, wau = excluded.wau, mau = excluded.mau,
        login_count = excluded.login_count, api_calls = excluded.api_calls, session_duration_avg = excluded.session_duration_avg,
        active_users = excluded.active_users, feature_adoption = excluded.feature_adoption, usage_trend = excluded.usage_trend,
        adoption_score = excluded.adoption_score, created_at = excluded.created_at, event_count = excluded.event_count,
        support_tickets = excluded.support_tickets, high_priority_tickets = excluded.high_priority_tickets";
    for chunk in rows.chunks(1000) {
        match c.re() {
            // SQLite: one JSON parameter (rows of two tuples, as serde stops at 16 fields)
            // instead of seventeen bound per row.
            DbConn::Sqlite(conn) => {
                let rows: Vec<_> = chunk
                    .iter()
                    .map(|m| {
                        (
                            (
                                m.id,
                                m.customer_id,
                                m.metric_date,
                                m.dau,
                                m.wau,
                                m.mau,
                                m.login_count,
                                m.api_calls,
                            ),
                            (
                                m.session_duration_avg,
                                m.active_users,
                                &m.feature_adoption,
                                &m.usage_trend,
                                m.adoption_score,
                                m.created_at.millis(),
                                m.event_count,
                                m.support_tickets,
                                m.high_priority_tickets,
                            ),
                        )
                    })
                    .collect();
                let json = serde_json::to_string(&rows).expect("metrics serialize");
                sqlx::query(&format!(
                    "INSERT INTO usage_metrics (id, customer_id, metric_date, dau, wau, mau, login_count, api_calls, session_duration_avg,
                        active_users, feature_adoption, usage_trend, adoption_score, created_at, event_count, support_tickets, high_priority_tickets)
                     SELECT value->>'$[0][0]', value->>'$[0][1]', value->>'$[0][2]', value->>'$[0][3]', value->>'$[0][4]',
                        value->>'$[0][5]', value->>'$[0][6]', value->>'$[0][7]', value->>'$[1][0]', value->>'$[1][1]',
                        CASE WHEN json_type(value, '$[1][2]') = 'null' THEN NULL ELSE value->'$[1][2]' END,
                        value->>'$[1][3]', value->>'$[1][4]', value->>'$[1][5]', value->>'$[1][6]', value->>'$[1][7]', value->>'$[1][8]'
                     FROM json_each($1) WHERE 1{CONFLICT}"
                ))
                .bind(json)
                .execute(&mut *conn)
                .await?;
            }
            DbConn::Postgres(conn) => {
                let mut qb = QueryBuilder::<sqlx::Postgres>::new(
                    "INSERT INTO usage_metrics (id, customer_id, metric_date, dau, wau, mau, login_count, api_calls, session_duration_avg, active_users, feature_adoption, usage_trend, adoption_score, created_at, event_count, support_tickets, high_priority_tickets) ",
                );
                qb.push_values(chunk, |mut b, m| {
                    b.push_bind(m.id)
                        .push_bind(m.customer_id)
                        .push_bind(m.metric_date)
                        .push_bind(m.dau)
                        .push_bind(m.wau)
                        .push_bind(m.mau)
                        .push_bind(m.login_count)
                        .push_bind(m.api_calls)
                        .push_bind(m.session_duration_avg)
                        .push_bind(m.active_users)
                        .push_bind(m.feature_adoption.clone())
                        .push_bind(m.usage_trend.clone())
                        .push_bind(m.adoption_score)
                        .push_bind(m.created_at)
                        .push_bind(m.event_count)
                        .push_bind(m.support_tickets)
                        .push_bind(m.high_priority_tickets);
                });
                qb.push(CONFLICT);
                qb.build().execute(&mut *conn).await?;
            }
        }
    }
    Ok(())
}

/// A customer's metrics rows with `from <= metric_date <= to`, oldest first.
pub async fn metrics(
    c: DbConn<'_>,
    customer_id: Id,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<UsageMetric>> {
    Ok(crate::sql!(
        c,
        all UsageMetric,
        "SELECT * FROM usage_metrics WHERE customer_id = $1 AND metric_date >= $2 AND metric_date <= $3 ORDER BY metric_date",
        customer_id,
        from,
        to,
    )?)
}

/// The first and last day with engagement (active users) up to and including `until`, from
/// the daily metrics (cheaper than scanning events, and days are the unit recency is read in).
pub async fn activity_span(
    c: DbConn<'_>,
    customer_id: Id,
    until: NaiveDate,
) -> Result<(Option<NaiveDate>, Option<NaiveDate>)> {
    Ok(crate::sql!(
        c,
        one(Option<NaiveDate>, Option<NaiveDate>),
        "SELECT MIN(metric_date), MAX(metric_date) FROM usage_metrics
         WHERE customer_id = $1 AND metric_date <= $2 AND active_users > 0",
        customer_id,
        until,
    )?)
}

/// The days with engagement (active users) up to and including `until`, oldest first: the whole
/// history the health model's rhythm reads.
pub async fn active_days(
    c: DbConn<'_>,
    customer_id: Id,
    until: NaiveDate,
) -> Result<Vec<NaiveDate>> {
    Ok(crate::sql!(
        c,
        scalars NaiveDate,
        "SELECT metric_date FROM usage_metrics
         WHERE customer_id = $1 AND metric_date <= $2 AND active_users > 0
         ORDER BY metric_date",
        customer_id,
        until,
    )?)
}

/// Every customer's history up to and including `until` as `(active weeks, first active day,
/// last active day)`, weeks numbered from 1970-01-01 in steps of 7 days: what the portfolio's
/// rhythm model is fitted to. (Week arithmetic differs between the engines, hence two texts.)
pub async fn histories(
    c: DbConn<'_>,
    until: NaiveDate,
) -> Result<Vec<(i64, NaiveDate, NaiveDate)>> {
    Ok(match c {
        DbConn::Sqlite(conn) => {
            sqlx::query_as(
                "SELECT COUNT(DISTINCT CAST((julianday(metric_date) - 2440587.5) / 7 AS INTEGER)),
                        MIN(metric_date), MAX(metric_date)
                 FROM usage_metrics WHERE metric_date <= $1 AND active_users > 0
                 GROUP BY customer_id",
            )
            .bind(until)
            .fetch_all(&mut *conn)
            .await?
        }
        DbConn::Postgres(conn) => {
            sqlx::query_as(
                "SELECT COUNT(DISTINCT (metric_date - DATE '1970-01-01') / 7),
                        MIN(metric_date), MAX(metric_date)
                 FROM usage_metrics WHERE metric_date <= $1 AND active_users > 0
                 GROUP BY customer_id",
            )
            .bind(until)
            .fetch_all(&mut *conn)
            .await?
        }
    })
}

/// The customers with events not yet rolled up into their daily metrics.
pub async fn pending_customers(c: DbConn<'_>) -> Result<Vec<Id>> {
    Ok(crate::sql!(
        c,
        scalars Id,
        "SELECT customer_id FROM usage_rollup_pending ORDER BY customer_id",
    )?)
}

/// How many customers have events not yet rolled up into their daily metrics.
pub async fn pending_rollups(c: DbConn<'_>) -> Result<i64> {
    Ok(crate::sql!(
        c,
        scalar i64,
        "SELECT COUNT(*) FROM usage_rollup_pending",
    )?)
}

/// NPS answers (`nps_response` with a numeric `metadata.score`) in `[from, until)`.
pub async fn nps_responses(
    c: DbConn<'_>,
    customer_id: Id,
    from: Timestamp,
    until: Timestamp,
) -> Result<Vec<(Timestamp, String)>> {
    Ok(crate::sql!(
        c,
        all (Timestamp, String),
        "SELECT \"timestamp\", CAST(metadata->>'score' AS TEXT) FROM usage_events
         WHERE customer_id = $1 AND event_type = 'nps_response' AND \"timestamp\" >= $2 AND \"timestamp\" < $3
           AND metadata->>'score' IS NOT NULL ORDER BY \"timestamp\"",
        customer_id,
        from,
        until,
    )?)
}

/// Ids of customers that have any usage event, for full rebuilds.
pub async fn customers_with_events(c: DbConn<'_>) -> Result<Vec<Id>> {
    Ok(crate::sql!(
        c,
        scalars Id,
        // One probe per customer: scanning the events for distinct ids reads all of them.
    "SELECT id FROM customers c WHERE EXISTS (SELECT 1 FROM usage_events e WHERE e.customer_id = c.id)",
    )?)
}
