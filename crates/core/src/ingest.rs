//! Usage ingestion: validate a batch event by event, resolve customers, store what is valid in
//! one transaction, and queue the rollup of the days it touched. Nothing is dropped silently:
//! every event is accepted, a duplicate (same `event_id` for the customer), or rejected with
//! its index and reason.

use std::collections::{BTreeMap, HashMap};

pub use cscx_domain::import::{parse_batch, RawEvent};

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde::Serialize;
use serde_json::{json, Value};

use cscx_jobs::queue::NewJob;
use cscx_store::model::UsageEvent;
use cscx_store::{customers, usage, Id, Timestamp};

use crate::error::CoreResult;
use crate::App;

pub const MAX_BATCH_EVENTS: usize = 10_000;
pub const MAX_BATCH_BYTES: usize = 5 * 1024 * 1024;
pub const ROLLUP_JOB: &str = "usage.rollup";
const MAX_METADATA_BYTES: usize = 16 * 1024;
const FIELDS: &[&str] = &[
    "event_id",
    "customer_id",
    "customer_key",
    "event_type",
    "user_id",
    "timestamp",
    "metadata",
];

/// What ingestion accepts beyond the fixed rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IngestSettings {
    /// The earliest timestamp accepted (`CSCX_INGEST_EARLIEST`, default 2000-01-01): earlier
    /// ones are usually seconds sent as milliseconds, or a zero date.
    pub earliest: NaiveDate,
}

impl Default for IngestSettings {
    fn default() -> Self {
        IngestSettings {
            earliest: NaiveDate::from_ymd_opt(2000, 1, 1).expect("a date"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Rejection {
    /// Position in the batch (0-based), or line number for file imports.
    pub index: usize,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Duplicate {
    pub index: usize,
    pub event_id: String,
}

/// What happened to every event of a batch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct IngestReport {
    /// Events stored now.
    pub accepted: usize,
    /// Events already stored earlier (or earlier in this batch) with the same `event_id`.
    pub duplicates: Vec<Duplicate>,
    pub rejected: Vec<Rejection>,
}

impl IngestReport {
    pub fn merge(&mut self, other: IngestReport) {
        self.accepted += other.accepted;
        self.duplicates.extend(other.duplicates);
        self.rejected.extend(other.rejected);
    }
}

/// An event that passed validation, before its customer is resolved.
struct Candidate {
    index: usize,
    customer: CustomerRef,
    event_id: Option<String>,
    event_type: String,
    user_id: Option<String>,
    timestamp: Timestamp,
    metadata: Value,
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum CustomerRef {
    Id(Id),
    Key(String),
}

fn short_text(v: &Value, field: &str, max: usize) -> Result<Option<String>, String> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Err(format!("{field} must not be blank")),
        Value::String(s) if s.chars().count() > max => {
            Err(format!("{field} is longer than {max} characters"))
        }
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        _ => Err(format!("{field} must be a string")),
    }
}

/// Parses `timestamp`: RFC 3339 text or integer epoch milliseconds.
fn parse_timestamp(v: &Value) -> Result<DateTime<Utc>, String> {
    match v {
        Value::String(s) => DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| format!("timestamp {s:?} is not RFC 3339 (e.g. 2026-11-25T09:30:00Z)")),
        Value::Number(n) => n
            .as_i64()
            .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
            .ok_or_else(|| "a numeric timestamp must be whole epoch milliseconds".into()),
        _ => Err("timestamp must be an RFC 3339 string or epoch milliseconds".into()),
    }
}

/// Checks one event; `now` bounds timestamps (no more than 5 minutes ahead, for clock skew), and
/// `earliest` from below.
fn validate(
    index: usize,
    raw: &Value,
    now: DateTime<Utc>,
    earliest: NaiveDate,
) -> Result<Candidate, String> {
    let obj = raw.as_object().ok_or("an event must be a JSON object")?;
    if let Some(path) = cscx_domain::validate::find_nul(raw) {
        return Err(format!("{path} contains a NUL character"));
    }
    if let Some(unknown) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(format!("unknown field {unknown:?}"));
    }
    let get = |k: &str| obj.get(k).unwrap_or(&Value::Null);
    let customer = match (
        short_text(get("customer_id"), "customer_id", 36)?,
        short_text(get("customer_key"), "customer_key", 200)?,
    ) {
        (Some(_), Some(_)) => return Err("give customer_id or customer_key, not both".into()),
        (None, None) => return Err("customer_id or customer_key is required".into()),
        (Some(id), None) => CustomerRef::Id(
            id.parse()
                .map_err(|_| format!("customer_id {id:?} is not a UUID"))?,
        ),
        (None, Some(key)) => CustomerRef::Key(key),
    };
    let event_type =
        short_text(get("event_type"), "event_type", 100)?.ok_or("event_type is required")?;
    let timestamp = match get("timestamp") {
        Value::Null => now,
        v => parse_timestamp(v)?,
    };
    if timestamp > now + Duration::minutes(5) {
        return Err(format!(
            "timestamp {} is in the future",
            timestamp.to_rfc3339()
        ));
    }
    if timestamp.date_naive() < earliest {
        return Err(format!(
            "timestamp is before {earliest} (the earliest accepted: CSCX_INGEST_EARLIEST)"
        ));
    }
    let metadata = match get("metadata") {
        Value::Null => json!({}),
        m @ Value::Object(_) => m.clone(),
        _ => return Err("metadata must be a JSON object".into()),
    };
    if metadata.to_string().len() > MAX_METADATA_BYTES {
        return Err(format!(
            "metadata is larger than {} KiB",
            MAX_METADATA_BYTES / 1024
        ));
    }
    let meta_num = |k: &str| metadata.get(k).and_then(Value::as_f64);
    match event_type.as_str() {
        "feature_used"
            if metadata
                .get("feature")
                .and_then(Value::as_str)
                .is_none_or(|f| f.trim().is_empty()) =>
        {
            return Err("feature_used needs metadata.feature (the feature's name)".into())
        }
        "session_end"
            if meta_num("duration_seconds")
                .is_none_or(|d| !(0.0..=86_400.0 * 7.0).contains(&d)) =>
        {
            return Err("session_end needs metadata.duration_seconds between 0 and 604800".into())
        }
        "nps_response"
            if meta_num("score").is_none_or(|s| !(0.0..=10.0).contains(&s) || s.fract() != 0.0) =>
        {
            return Err("nps_response needs metadata.score, a whole number from 0 to 10".into())
        }
        _ => {}
    }
    Ok(Candidate {
        index,
        customer,
        event_id: short_text(get("event_id"), "event_id", 200)?,
        event_type,
        user_id: short_text(get("user_id"), "user_id", 200)?,
        timestamp: Timestamp::from_datetime(timestamp),
        metadata,
    })
}

/// Finds the customers a batch refers to: ids that exist, keys by CRM id or external id.
async fn resolve(
    app: &App,
    refs: impl Iterator<Item = CustomerRef>,
) -> CoreResult<HashMap<CustomerRef, Id>> {
    let mut found = HashMap::new();
    let mut ids = Vec::new();
    let mut keys = Vec::new();
    for r in refs {
        match r {
            CustomerRef::Id(id) => ids.push(id),
            CustomerRef::Key(k) => keys.push(k),
        }
    }
    ids.sort();
    ids.dedup();
    keys.sort();
    keys.dedup();
    let mut c = app.db.conn().await?;
    for id in customers::existing_ids(c.c(), &ids).await? {
        found.insert(CustomerRef::Id(id), id);
    }
    for key in keys {
        if let Some(customer) = customers::find_by_external_key(c.c(), &key).await? {
            found.insert(CustomerRef::Key(key), customer.id);
        }
    }
    Ok(found)
}

/// Ingests a batch. `events` pairs each event with the index to report for it (its position,
/// or a line number); an `Err` is an event that could not even be parsed.
pub async fn ingest(
    app: &App,
    events: Vec<(usize, Result<Value, String>)>,
) -> CoreResult<IngestReport> {
    let now = app.clock.now();
    let mut report = IngestReport::default();
    let mut candidates = Vec::with_capacity(events.len());
    for (index, raw) in events {
        match raw.and_then(|v| validate(index, &v, now, app.ingest.earliest)) {
            Ok(c) => candidates.push(c),
            Err(reason) => report.rejected.push(Rejection { index, reason }),
        }
    }
    let resolved = resolve(app, candidates.iter().map(|c| c.customer.clone())).await?;

    let created_at = Timestamp::from_datetime(now);
    let mut rows = Vec::with_capacity(candidates.len());
    // Where each row came from, to report it if it turns out to be a stored duplicate.
    let mut origins: Vec<(usize, Option<String>)> = Vec::with_capacity(candidates.len());
    let mut seen_ids: std::collections::HashSet<(Id, String)> = Default::default();
    for c in candidates {
        let Some(&customer_id) = resolved.get(&c.customer) else {
            let reason = match &c.customer {
                CustomerRef::Id(id) => format!("no customer with id {id}"),
                CustomerRef::Key(k) => format!(
                    "no customer with salesforce_id, hubspot_id or metadata.external_id {k:?}"
                ),
            };
            report.rejected.push(Rejection {
                index: c.index,
                reason,
            });
            continue;
        };
        if let Some(eid) = &c.event_id {
            if !seen_ids.insert((customer_id, eid.clone())) {
                report.duplicates.push(Duplicate {
                    index: c.index,
                    event_id: eid.clone(),
                });
                continue;
            }
        }
        origins.push((c.index, c.event_id.clone()));
        rows.push(UsageEvent {
            id: Id::new(),
            customer_id,
            event_type: c.event_type,
            user_id: c.user_id,
            timestamp: c.timestamp,
            metadata: c.metadata,
            created_at,
            event_id: c.event_id,
        });
    }

    if !rows.is_empty() {
        let inserted = app.event_writer().write(rows).await?;
        for ((index, event_id), ok) in origins.into_iter().zip(inserted) {
            if ok {
                report.accepted += 1;
            } else {
                report.duplicates.push(Duplicate {
                    index,
                    event_id: event_id.unwrap_or_default(),
                });
            }
        }
    }
    report.rejected.sort_by_key(|r| r.index);
    report.duplicates.sort_by_key(|d| d.index);
    Ok(report)
}

/// The job that rolls up a customer's pending days (one waits per customer at most).
pub fn rollup_job(customer_id: Id) -> NewJob {
    NewJob::new(ROLLUP_JOB, json!({ "customer_id": customer_id }))
        .key(format!("rollup:{customer_id}"))
}

/// How long the event writer keeps its connection without batches to write.
const WRITER_IDLE: std::time::Duration = std::time::Duration::from_secs(1);

/// How many events one commit may hold when concurrent batches are grouped.
const GROUP_MAX_EVENTS: usize = 20_000;

struct WriteRequest {
    rows: Vec<UsageEvent>,
    /// On failure, whether it was transient (the database busy or unreachable): clients are
    /// told to retry an outage, never a batch that can never be stored.
    reply: tokio::sync::oneshot::Sender<Result<Vec<bool>, bool>>,
}

/// The single writer of usage events. Batches that arrive while a commit is in progress are
/// committed together in the next one (group commit): the write cost of an index page touched
/// by several batches is paid once, and SQLite has one writer at a time anyway. A batch is
/// answered only after the commit that holds it, so acknowledged events are durable. While
/// batches keep coming the writer keeps one connection, whose page cache then stays warm
/// between commits (another connection's commit would invalidate it); after an error or
/// [`WRITER_IDLE`] without batches it gives the connection back.
#[derive(Clone)]
pub struct EventWriter {
    tx: tokio::sync::mpsc::Sender<WriteRequest>,
}

impl EventWriter {
    pub fn start(app: &App) -> EventWriter {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<WriteRequest>(64);
        let app = app.clone();
        tokio::spawn(async move {
            let mut conn: Option<cscx_store::Conn> = None;
            loop {
                // Between bursts the connection goes back to the pool.
                let first = match tokio::time::timeout(WRITER_IDLE, rx.recv()).await {
                    Ok(Some(first)) => first,
                    Ok(None) => break,
                    Err(_) => {
                        conn = None;
                        match rx.recv().await {
                            Some(first) => first,
                            None => break,
                        }
                    }
                };
                let mut group = vec![first];
                let mut size = group[0].rows.len();
                while size < GROUP_MAX_EVENTS {
                    match rx.try_recv() {
                        Ok(more) => {
                            size += more.rows.len();
                            group.push(more);
                        }
                        Err(_) => break,
                    }
                }
                let mut replies = Vec::with_capacity(group.len());
                let mut rows = Vec::with_capacity(size);
                for req in group {
                    replies.push((req.reply, req.rows.len()));
                    rows.extend(req.rows);
                }
                match write_group(&app, &mut conn, &rows).await {
                    Ok(flags) => {
                        let mut flags = flags.into_iter();
                        for (reply, n) in replies {
                            let _ = reply.send(Ok(flags.by_ref().take(n).collect()));
                        }
                    }
                    Err(e) => {
                        conn = None;
                        let transient = match &e {
                            crate::CoreError::Store(s) => s.is_transient(),
                            crate::CoreError::Unavailable(_) => true,
                            _ => false,
                        };
                        tracing::warn!(error = %e, transient, batches = replies.len(), "storing usage events failed");
                        for (reply, _) in replies {
                            let _ = reply.send(Err(transient));
                        }
                    }
                }
            }
        });
        EventWriter { tx }
    }

    /// Stores `rows` (skipping duplicates by event id) with their rollup bookkeeping. Returns,
    /// per row, whether it was stored now.
    pub async fn write(&self, rows: Vec<UsageEvent>) -> CoreResult<Vec<bool>> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.tx
            .send(WriteRequest { rows, reply })
            .await
            .map_err(|_| crate::CoreError::Unavailable("the event writer stopped".into()))?;
        answer
            .await
            .map_err(|_| crate::CoreError::Unavailable("the event writer stopped".into()))?
            .map_err(|transient| {
                // The database's own words stay in the log; they are no use to a client.
                if transient {
                    crate::CoreError::Unavailable("the database is busy; retry shortly".into())
                } else {
                    crate::CoreError::Internal("storing usage events failed".into())
                }
            })
    }
}

/// One transaction for a group of batches: the events, the days to roll up, the rollup jobs.
/// Returns, per row, whether it was stored (false: a duplicate by event id).
async fn write_group(
    app: &App,
    conn: &mut Option<cscx_store::Conn>,
    all: &[UsageEvent],
) -> CoreResult<Vec<bool>> {
    let now = app.now();
    let conn = match conn {
        Some(c) => c,
        None => conn.insert(app.db.conn().await?),
    };
    let mut tx = conn.begin().await?;
    let inserted = usage::insert_events(tx.c(), all).await?;
    let mut earliest: BTreeMap<Id, NaiveDate> = BTreeMap::new();
    for (row, ok) in all.iter().zip(&inserted) {
        if *ok {
            let day = row.timestamp.date();
            earliest
                .entry(row.customer_id)
                .and_modify(|d| *d = (*d).min(day))
                .or_insert(day);
        }
    }
    let marks: Vec<(Id, NaiveDate)> = earliest.into_iter().collect();
    // Customers already marked have a rollup job waiting or running; it rolls up until its
    // mark is cleared, so only newly marked customers need one.
    let fresh = usage::mark_pending_many(tx.c(), &marks, now).await?;
    let jobs: Vec<NewJob> = fresh.iter().map(|id| rollup_job(*id)).collect();
    cscx_jobs::queue::enqueue_many_in(tx.c(), &jobs, now).await?;
    tx.commit().await?;
    if !jobs.is_empty() {
        app.queue.notify.notify_waiters();
    }
    Ok(inserted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
    }

    fn earliest() -> NaiveDate {
        IngestSettings::default().earliest
    }

    #[test]
    fn validation_names_the_problem() {
        let cases = [
            (json!("x"), "must be a JSON object"),
            (
                json!({"event_type": "login"}),
                "customer_id or customer_key is required",
            ),
            (
                json!({"customer_id": "x", "customer_key": "y", "event_type": "login"}),
                "not both",
            ),
            (
                json!({"customer_id": "nope", "event_type": "login"}),
                "not a UUID",
            ),
            (json!({"customer_key": "k"}), "event_type is required"),
            (
                json!({"customer_key": "k", "event_type": "login", "timestamp": "yesterday"}),
                "not RFC 3339",
            ),
            (
                json!({"customer_key": "k", "event_type": "login", "timestamp": "2026-06-02T12:00:00Z"}),
                "in the future",
            ),
            (
                json!({"customer_key": "k", "event_type": "login", "timestamp": "1999-01-01T00:00:00Z"}),
                "before 2000-01-01",
            ),
            (
                json!({"customer_key": "k", "event_type": "login", "colour": 1}),
                "unknown field",
            ),
            (
                json!({"customer_key": "k", "event_type": "feature_used"}),
                "metadata.feature",
            ),
            (
                json!({"customer_key": "k", "event_type": "nps_response", "metadata": {"score": 11}}),
                "0 to 10",
            ),
            (
                json!({"customer_key": "k", "event_type": "session_end", "metadata": {"duration_seconds": -1}}),
                "duration_seconds",
            ),
            (
                json!({"customer_key": "k", "event_type": "login", "metadata": [1]}),
                "metadata must be",
            ),
        ];
        for (raw, expected) in cases {
            let err = validate(0, &raw, now(), earliest())
                .err()
                .unwrap_or_else(|| panic!("{raw} should be rejected"));
            assert!(err.contains(expected), "{raw}: {err}");
        }
        let ok = validate(3, &json!({"customer_key": "acct-1", "event_type": "login", "user_id": 42, "timestamp": 1_780_000_000_000i64}), now(), earliest()).unwrap();
        assert_eq!(ok.user_id.as_deref(), Some("42"));
        assert_eq!(ok.timestamp.millis(), 1_780_000_000_000);
        let defaulted = validate(
            0,
            &json!({"customer_key": "k", "event_type": "custom_thing"}),
            now(),
            earliest(),
        )
        .unwrap();
        assert_eq!(defaulted.timestamp.datetime(), now());
        // A back-fill of older history lowers the bound.
        let old = json!({"customer_key": "k", "event_type": "login", "timestamp": "1997-01-01T12:00:00Z"});
        assert!(validate(0, &old, now(), earliest()).is_err());
        let lowered = NaiveDate::from_ymd_opt(1990, 1, 1).unwrap();
        assert!(validate(0, &old, now(), lowered).is_ok());
    }
}
