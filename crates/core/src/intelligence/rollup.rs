//! Daily usage rollups: `usage_metrics` rebuilt from the raw events.

use super::*;

// ------------------------------------------------------------------------------------------
// Usage rollups

/// `customer_id`'s daily metrics for `from..=to`, computed from the raw events (not stored).
pub(super) async fn metric_rows(
    app: &App,
    customer_id: Id,
    from: NaiveDate,
    to: NaiveDate,
) -> CoreResult<Vec<UsageMetric>> {
    let facts = {
        let mut c = app.db.conn().await?;
        let since = day_start(from - Duration::days(usage_math::LOOKBACK_DAYS));
        usage::event_facts(c.c(), customer_id, since, day_start(to + Duration::days(1))).await?
    };
    let events: Vec<EventIn> = facts
        .into_iter()
        .map(|f| {
            let mut e = EventIn {
                ts_millis: f.timestamp.millis(),
                user_id: f.user_id,
                event_type: f.event_type,
                feature: None,
                duration_seconds: None,
                count: None,
                priority: None,
                nps_score: None,
            };
            let value = f.metric_value;
            match e.event_type.as_str() {
                "feature_used" => e.feature = value,
                "session_end" => e.duration_seconds = parse_f64(&value),
                "api_call" => e.count = parse_f64(&value).map(|c| c as i64),
                "support_ticket" => e.priority = value,
                "nps_response" => e.nps_score = parse_f64(&value).map(|s| s as i32),
                _ => {}
            }
            e
        })
        .collect();
    let now = app.now();
    Ok(usage_math::daily_metrics(&events, from, to)
        .into_iter()
        .map(|m| UsageMetric {
            id: Id::new(),
            customer_id,
            metric_date: m.date,
            dau: Some(m.dau),
            wau: Some(m.wau),
            mau: Some(m.mau),
            login_count: Some(m.login_count),
            api_calls: Some(m.api_calls),
            session_duration_avg: m.session_duration_avg,
            active_users: Some(m.active_users),
            feature_adoption: Some(
                serde_json::to_value(&m.feature_adoption).expect("serialisable"),
            ),
            usage_trend: Some(m.usage_trend.as_str().to_owned()),
            adoption_score: Some(m.adoption_score),
            created_at: now,
            event_count: Some(m.events),
            support_tickets: Some(m.support_tickets),
            high_priority_tickets: Some(m.high_priority_tickets),
        })
        .collect())
}

/// Recomputes and stores `customer_id`'s daily metrics for `from..=to` from the raw events.
pub async fn compute_metrics(
    app: &App,
    customer_id: Id,
    from: NaiveDate,
    to: NaiveDate,
) -> CoreResult<usize> {
    let rows = metric_rows(app, customer_id, from, to).await?;
    let mut tx = app.db.begin().await?;
    usage::upsert_metrics(tx.c(), &rows).await?;
    tx.commit().await?;
    Ok(rows.len())
}

/// The last day with metrics, if any.
pub(super) async fn last_metric_date(app: &App, customer_id: Id) -> CoreResult<Option<NaiveDate>> {
    let mut c = app.db.conn().await?;
    Ok(store::last_metric_date(c.c(), customer_id).await?)
}

/// Brings a customer's metrics up to today: from the earliest day touched by new events, or
/// (with none pending) from the last computed day, so silent days get their zero rows.
///
/// Events that arrive during a pass only bump the pending mark (ingestion queues no job for
/// an already marked customer), so this rolls up again until the mark is cleared. After a few
/// passes under a steady stream it hands over to a fresh job instead of holding the worker.
pub async fn rollup_customer(app: &App, customer_id: Id) -> CoreResult<usize> {
    const MAX_PASSES: usize = 4;
    let today = app.now().date();
    let mut rows = 0;
    for _ in 0..MAX_PASSES {
        let pending = {
            let mut c = app.db.conn().await?;
            usage::pending(c.c(), customer_id).await?
        };
        let from = match pending {
            Some((from, _)) => Some(from),
            // Nothing new: only days since the last computed one need rows (none if current).
            None => match last_metric_date(app, customer_id).await? {
                Some(last) if last >= today => return Ok(rows),
                other => other,
            },
        };
        if let Some(from) = from {
            rows += compute_metrics(app, customer_id, from.min(today), today).await?;
        }
        let Some((_, version)) = pending else {
            return Ok(rows);
        };
        let mut c = app.db.conn().await?;
        if usage::clear_pending(c.c(), customer_id, version).await? {
            return Ok(rows);
        }
    }
    let mut tx = app.db.begin().await?;
    enqueue_in(tx.c(), &crate::ingest::rollup_job(customer_id), app.now()).await?;
    tx.commit().await?;
    Ok(rows)
}

/// Rolls up, in this process, every customer whose events are not in their daily metrics yet
/// (`parallel` at a time); safe beside the workers doing the same (each pass is idempotent and
/// clears its mark only if nothing newer came). Returns how many customers it rolled up.
pub async fn finish_pending_rollups(app: &App, parallel: usize) -> CoreResult<usize> {
    let ids = {
        let mut c = app.db.conn().await?;
        usage::pending_customers(c.c()).await?
    };
    let n = ids.len();
    let roll = |id| {
        let app = app.clone();
        async move { rollup_customer(&app, id).await.map(|_| ()) }
    };
    for_each_parallel(ids, parallel, roll, async |()| Ok(())).await?;
    Ok(n)
}

/// Refuses while events wait to be rolled up: a back-test, calibration or point-in-time score
/// reads the daily metrics, and would silently find customers "without data".
pub async fn ensure_rolled_up(app: &App) -> CoreResult<()> {
    let pending = {
        let mut c = app.db.conn().await?;
        usage::pending_rollups(c.c()).await?
    };
    if pending > 0 {
        return Err(CoreError::Conflict(format!(
            "{pending} customers have events not yet rolled up into their daily metrics; \
             scores as of a date would miss them. Try again when the rollups are done \
             (the CLI finishes them itself first)"
        )));
    }
    Ok(())
}

/// Rebuilds every customer's metrics from `from` to today (`cscx usage rollup --from`):
/// `parallel` customers are read and computed at a time, and their rows are written in
/// transactions of a few thousand (one commit per customer would cost more than the rows).
/// Returns (customers, rows).
pub async fn rebuild_all(
    app: &App,
    from: NaiveDate,
    parallel: usize,
) -> CoreResult<(usize, usize)> {
    const ROWS_PER_COMMIT: usize = 5_000;
    let ids = {
        let mut c = app.db.conn().await?;
        usage::customers_with_events(c.c()).await?
    };
    let customers = ids.len();
    let today = app.now().date();
    let mut rows = 0;
    let mut pending: Vec<UsageMetric> = Vec::new();
    let compute = |id| {
        let app = app.clone();
        async move { metric_rows(&app, id, from, today).await }
    };
    for_each_parallel(ids, parallel, compute, async |computed| {
        pending.extend(computed);
        if pending.len() >= ROWS_PER_COMMIT {
            rows += store_metrics(app, &mut pending).await?;
        }
        Ok(())
    })
    .await?;
    rows += store_metrics(app, &mut pending).await?;
    Ok((customers, rows))
}

/// Upserts `rows` in one transaction and empties the vector; returns how many were written.
pub(super) async fn store_metrics(app: &App, rows: &mut Vec<UsageMetric>) -> CoreResult<usize> {
    if rows.is_empty() {
        return Ok(0);
    }
    let mut tx = app.db.begin().await?;
    usage::upsert_metrics(tx.c(), rows).await?;
    tx.commit().await?;
    let n = rows.len();
    rows.clear();
    Ok(n)
}

/// Runs `work(id)` for every id, at most `parallel` at once on the runtime's threads, and hands
/// each result to `take` as it finishes (in completion order). The first error stops it.
pub(super) async fn for_each_parallel<T, Fut>(
    ids: Vec<Id>,
    parallel: usize,
    work: impl Fn(Id) -> Fut,
    mut take: impl AsyncFnMut(T) -> CoreResult<()>,
) -> CoreResult<()>
where
    T: Send + 'static,
    Fut: std::future::Future<Output = CoreResult<T>> + Send + 'static,
{
    let mut set = tokio::task::JoinSet::new();
    let mut ids = ids.into_iter();
    loop {
        while set.len() < parallel.max(1) {
            let Some(id) = ids.next() else { break };
            set.spawn(work(id));
        }
        let Some(done) = set.join_next().await else {
            return Ok(());
        };
        take(done.map_err(|e| CoreError::Internal(e.to_string()))??).await?;
    }
}
