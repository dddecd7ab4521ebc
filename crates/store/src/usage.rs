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
        macro_rules! build {
            ($qb:ident) => {{
                $qb.push(
                    "INSERT INTO usage_events (id, customer_id, event_type, user_id, \"timestamp\", metadata, created_at, event_id) ",
                );
                $qb.push_values(chunk, |mut b, e| {
                    b.push_bind(e.id)
                        .push_bind(e.customer_id)
                        .push_bind(e.event_type.clone())
                        .push_bind(e.user_id.clone())
                        .push_bind(e.timestamp)
                        .push_bind(e.metadata.clone())
                        .push_bind(e.created_at)
                        .push_bind(e.event_id.clone());
                });
                $qb.push(" ON CONFLICT (customer_id, event_id) WHERE event_id IS NOT NULL DO NOTHING RETURNING id");
            }};
        }
        let ids: Vec<Id> = match c.re() {
            DbConn::Sqlite(conn) => {
                let mut qb = QueryBuilder::<sqlx::Sqlite>::new("");
                build!(qb);
                qb.build_query_scalar().fetch_all(&mut *conn).await?
            }
            DbConn::Postgres(conn) => {
                let mut qb = QueryBuilder::<sqlx::Postgres>::new("");
                build!(qb);
                qb.build_query_scalar().fetch_all(&mut *conn).await?
            }
        };
        let ids: std::collections::HashSet<Id> = ids.into_iter().collect();
        inserted.extend(chunk.iter().map(|e| ids.contains(&e.id)));
    }
    Ok(inserted)
}

/// Marks many customers' metrics stale from the given days, one statement per 500. Each
/// customer must appear once.
pub async fn mark_pending_many(
    mut c: DbConn<'_>,
    marks: &[(Id, NaiveDate)],
    now: Timestamp,
) -> Result<()> {
    for chunk in marks.chunks(500) {
        macro_rules! build {
            ($qb:ident) => {{
                $qb.push("INSERT INTO usage_rollup_pending (customer_id, from_date, version, updated_at) ");
                $qb.push_values(chunk, |mut b, (id, from)| {
                    b.push_bind(*id).push_bind(*from).push_bind(1i64).push_bind(now);
                });
                $qb.push(
                    " ON CONFLICT (customer_id) DO UPDATE SET
                        from_date = CASE WHEN excluded.from_date < usage_rollup_pending.from_date THEN excluded.from_date ELSE usage_rollup_pending.from_date END,
                        version = usage_rollup_pending.version + 1,
                        updated_at = excluded.updated_at",
                );
            }};
        }
        crate::execute_built!(c.re(), |qb| {
            build!(qb);
        })?;
    }
    Ok(())
}

/// The pending rollup of a customer: `(from_date, version)`.
pub async fn pending(c: DbConn<'_>, customer_id: Id) -> Result<Option<(NaiveDate, i64)>> {
    run!(c, |conn| Ok(sqlx::query_as::<_, (NaiveDate, i64)>(
        "SELECT from_date, version FROM usage_rollup_pending WHERE customer_id = $1"
    )
    .bind(customer_id)
    .fetch_optional(&mut *conn)
    .await?))
}

/// Clears the pending mark if nothing was added since `version` was read. False if more came
/// in (the caller's job will run again for it).
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
    pub feature: Option<String>,
    pub duration_seconds: Option<String>,
    pub count: Option<String>,
    pub priority: Option<String>,
    pub nps_score: Option<String>,
}

/// A customer's events with `from <= timestamp < to`, with the metadata fields the metrics use
/// extracted by the database (as text, parsed by the caller; only for the event types that
/// carry them, so a login costs no JSON parsing).
pub async fn event_facts(
    c: DbConn<'_>,
    customer_id: Id,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<EventFacts>> {
    run!(c, |conn| {
        Ok(sqlx::query_as::<_, EventFacts>(
        "SELECT \"timestamp\", user_id, event_type,
                CASE WHEN event_type = 'feature_used' THEN CAST(metadata->>'feature' AS TEXT) END AS feature,
                CASE WHEN event_type = 'session_end' THEN CAST(metadata->>'duration_seconds' AS TEXT) END AS duration_seconds,
                CASE WHEN event_type = 'api_call' THEN CAST(metadata->>'count' AS TEXT) END AS count,
                CASE WHEN event_type = 'support_ticket' THEN CAST(metadata->>'priority' AS TEXT) END AS priority,
                CASE WHEN event_type = 'nps_response' THEN CAST(metadata->>'score' AS TEXT) END AS nps_score
         FROM usage_events WHERE customer_id = $1 AND \"timestamp\" >= $2 AND \"timestamp\" < $3"
    )
    .bind(customer_id)
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?)
    })
}

/// Writes metrics rows, replacing those of the same customer and day.
pub async fn upsert_metrics(mut c: DbConn<'_>, rows: &[UsageMetric]) -> Result<()> {
    for chunk in rows.chunks(200) {
        macro_rules! build {
            ($qb:ident) => {{
                $qb.push("INSERT INTO usage_metrics (id, customer_id, metric_date, dau, wau, mau, login_count, api_calls, session_duration_avg, active_users, feature_adoption, usage_trend, adoption_score, created_at, event_count, support_tickets, high_priority_tickets) ");
                $qb.push_values(chunk, |mut b, m| {
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
                $qb.push(
                    " ON CONFLICT (customer_id, metric_date) DO UPDATE SET dau = excluded.dau, wau = excluded.wau, mau = excluded.mau,
                      login_count = excluded.login_count, api_calls = excluded.api_calls, session_duration_avg = excluded.session_duration_avg,
                      active_users = excluded.active_users, feature_adoption = excluded.feature_adoption, usage_trend = excluded.usage_trend,
                      adoption_score = excluded.adoption_score, created_at = excluded.created_at, event_count = excluded.event_count,
                      support_tickets = excluded.support_tickets, high_priority_tickets = excluded.high_priority_tickets",
                );
            }};
        }
        crate::execute_built!(c.re(), |qb| {
            build!(qb);
        })?;
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
    run!(c, |conn| {
        Ok(sqlx::query_as::<_, UsageMetric>(
        "SELECT * FROM usage_metrics WHERE customer_id = $1 AND metric_date >= $2 AND metric_date <= $3 ORDER BY metric_date"
    )
    .bind(customer_id)
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?)
    })
}

/// The first and last day with engagement (active users) up to and including `until`, from
/// the daily metrics (cheaper than scanning events, and days are the unit recency is read in).
pub async fn activity_span(
    c: DbConn<'_>,
    customer_id: Id,
    until: NaiveDate,
) -> Result<(Option<NaiveDate>, Option<NaiveDate>)> {
    run!(c, |conn| Ok(sqlx::query_as::<
        _,
        (Option<NaiveDate>, Option<NaiveDate>),
    >(
        "SELECT MIN(metric_date), MAX(metric_date) FROM usage_metrics
         WHERE customer_id = $1 AND metric_date <= $2 AND active_users > 0"
    )
    .bind(customer_id)
    .bind(until)
    .fetch_one(&mut *conn)
    .await?))
}

/// NPS answers (`nps_response` with a numeric `metadata.score`) in `[from, until)`.
pub async fn nps_responses(
    c: DbConn<'_>,
    customer_id: Id,
    from: Timestamp,
    until: Timestamp,
) -> Result<Vec<(Timestamp, String)>> {
    run!(c, |conn| {
        Ok(sqlx::query_as::<_, (Timestamp, String)>(
        "SELECT \"timestamp\", CAST(metadata->>'score' AS TEXT) FROM usage_events
         WHERE customer_id = $1 AND event_type = 'nps_response' AND \"timestamp\" >= $2 AND \"timestamp\" < $3
           AND metadata->>'score' IS NOT NULL ORDER BY \"timestamp\""
    )
    .bind(customer_id)
    .bind(from)
    .bind(until)
    .fetch_all(&mut *conn)
    .await?)
    })
}

/// Ids of customers that have any usage event, for full rebuilds.
pub async fn customers_with_events(c: DbConn<'_>) -> Result<Vec<Id>> {
    run!(c, |conn| Ok(sqlx::query_scalar::<_, Id>(
        "SELECT DISTINCT customer_id FROM usage_events"
    )
    .fetch_all(&mut *conn)
    .await?))
}
