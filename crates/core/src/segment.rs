//! Segment-compatible ingestion: the calls of Segment's HTTP tracking API (`track`, `identify`,
//! `group`, `page`, `screen`, `alias`, and `batch` of any of them), as the Segment and
//! RudderStack libraries send them, turned into the same usage events as
//! `/api/v1/usage/events` with the same validation, deduplication and durability.
//!
//! - `track` → an event: `event` is the event type, `properties` the metadata, `messageId` the
//!   event id; `page` and `screen` are events of type `page` / `screen` (their `name` and
//!   `category` join the properties).
//! - The customer is `context.groupId` (a customer key, as `customer_key` natively) or, the
//!   common case, the customer a `group` call put the `userId` in. A message that resolves to
//!   no customer is rejected, by index.
//! - `group` records which customer a user belongs to; `identify` keeps the user's traits and
//!   links the stakeholder whose e-mail they carry (and, through it, the customer); `alias`
//!   gives the new id what the previous one had.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use cscx_store::tracked_users::{self, TrackedUser};
use cscx_store::{customers, DbConn, Id};

use crate::error::CoreResult;
use crate::ingest::{self, IngestReport, Rejection};
use crate::App;

/// Traits kept per user, at most (JSON text).
const MAX_TRAITS_BYTES: usize = 16 * 1024;

/// One of the calls of the tracking API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    Track,
    Identify,
    Group,
    Page,
    Screen,
    Alias,
}

impl Call {
    pub fn parse(word: &str) -> Option<Call> {
        Some(match word {
            "track" => Call::Track,
            "identify" => Call::Identify,
            "group" => Call::Group,
            "page" => Call::Page,
            "screen" => Call::Screen,
            "alias" => Call::Alias,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Call::Track => "track",
            Call::Identify => "identify",
            Call::Group => "group",
            Call::Page => "page",
            Call::Screen => "screen",
            Call::Alias => "alias",
        }
    }
}

/// The messages of a request by index, each checked for its shape or rejected with a reason.
type Messages = Vec<(usize, Result<Message, String>)>;

/// A message checked for its shape, before its customer is known.
struct Message {
    index: usize,
    call: Call,
    obj: Map<String, Value>,
    /// `userId`, else `anonymousId`.
    user: Option<String>,
    /// `context.groupId` (or a `group` call's `groupId`).
    group: Option<String>,
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The messages of a request: the body itself for a single call (`call`), or its `batch` array
/// (each message with its own `type`; the batch's `context` applies to messages without one).
fn messages(call: Option<Call>, body: Value) -> Result<Messages, String> {
    let Value::Object(mut body) = body else {
        return Err("the body must be a JSON object".into());
    };
    let (raw, shared_context) = match call {
        Some(_) => (vec![Value::Object(body)], None),
        None => {
            let batch = match body.remove("batch") {
                Some(Value::Array(items)) => items,
                _ => return Err("a batch needs a `batch` array of messages".into()),
            };
            (batch, body.remove("context"))
        }
    };
    if raw.len() > ingest::MAX_BATCH_EVENTS {
        return Err(format!(
            "a batch may hold at most {} messages",
            ingest::MAX_BATCH_EVENTS
        ));
    }
    Ok(raw
        .into_iter()
        .enumerate()
        .map(|(index, v)| (index, message(index, call, v, shared_context.as_ref())))
        .collect())
}

fn message(
    index: usize,
    call: Option<Call>,
    v: Value,
    shared_context: Option<&Value>,
) -> Result<Message, String> {
    let Value::Object(mut obj) = v else {
        return Err("a message must be a JSON object".into());
    };
    let named = match obj.get("type") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) => Some(Call::parse(t).ok_or_else(|| {
            format!("type {t:?} is not one of track, identify, group, page, screen, alias")
        })?),
        Some(_) => return Err("type must be a string".into()),
    };
    let call = match (call, named) {
        (Some(c), Some(n)) if c != n => {
            return Err(format!(
                "a message of type {} sent to /v1/{}",
                n.as_str(),
                c.as_str()
            ))
        }
        (Some(c), _) | (None, Some(c)) => c,
        (None, None) => return Err("a batch message needs a type".into()),
    };
    if !obj.contains_key("context") {
        if let Some(ctx) = shared_context {
            obj.insert("context".into(), ctx.clone());
        }
    }
    let user = text(obj.get("userId")).or_else(|| text(obj.get("anonymousId")));
    let group = match call {
        Call::Group => Some(text(obj.get("groupId")).ok_or("a group call needs a groupId")?),
        _ => text(obj.get("context").and_then(|c| c.get("groupId"))),
    };
    if user.is_none() && call != Call::Group {
        return Err("userId or anonymousId is required".into());
    }
    Ok(Message {
        index,
        call,
        obj,
        user,
        group,
    })
}

/// Receives one call (`call`) or a batch (`None`). Every message is accepted, a duplicate, or
/// rejected with its index and reason, as natively.
pub async fn receive(app: &App, call: Option<Call>, body: Value) -> CoreResult<IngestReport> {
    let parsed = match messages(call, body) {
        Ok(m) => m,
        Err(reason) => {
            return Ok(IngestReport {
                rejected: vec![Rejection { index: 0, reason }],
                ..Default::default()
            })
        }
    };
    let mut report = IngestReport::default();
    let mut events = Vec::new();
    let mut identities = Vec::new();
    for (index, m) in parsed {
        match m {
            Err(reason) => report.rejected.push(Rejection { index, reason }),
            Ok(m) if matches!(m.call, Call::Identify | Call::Group | Call::Alias) => {
                identities.push(m)
            }
            Ok(m) => events.push(m),
        }
    }
    // Who belongs where first: a batch may group a user and track them in one go.
    if !identities.is_empty() {
        let mut tx = app.db.begin().await?;
        for m in &identities {
            match remember(tx.c(), app, m).await? {
                Ok(()) => report.accepted += 1,
                Err(reason) => report.rejected.push(Rejection {
                    index: m.index,
                    reason,
                }),
            }
        }
        tx.commit().await?;
    }
    if !events.is_empty() {
        let members = members_of(app, &events).await?;
        let native: Vec<(usize, Result<Value, String>)> = events
            .into_iter()
            .map(|m| (m.index, native_event(&m, &members)))
            .collect();
        report.merge(ingest::ingest(app, native).await?);
    }
    report.rejected.sort_by_key(|r| r.index);
    report.duplicates.sort_by_key(|d| d.index);
    Ok(report)
}

/// The customers of the users of `events` that name none themselves.
async fn members_of(app: &App, events: &[Message]) -> CoreResult<HashMap<String, Id>> {
    let mut users: Vec<String> = events
        .iter()
        .filter(|m| m.group.is_none())
        .filter_map(|m| m.user.clone())
        .collect();
    users.sort();
    users.dedup();
    if users.is_empty() {
        return Ok(HashMap::new());
    }
    let mut c = app.db.conn().await?;
    Ok(tracked_users::customers_of(c.c(), &users)
        .await?
        .into_iter()
        .collect())
}

/// The usage event a `track`, `page` or `screen` message stands for, in the native shape.
fn native_event(m: &Message, members: &HashMap<String, Id>) -> Result<Value, String> {
    let mut metadata = match m.obj.get("properties") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(p)) => p.clone(),
        Some(_) => return Err("properties must be a JSON object".into()),
    };
    let event_type = match m.call {
        Call::Track => text(m.obj.get("event")).ok_or("a track call needs an event name")?,
        call => {
            for key in ["name", "category"] {
                if let Some(v) = m.obj.get(key).filter(|v| !v.is_null()) {
                    metadata.insert(key.into(), v.clone());
                }
            }
            call.as_str().to_owned()
        }
    };
    let mut event = json!({
        "event_type": event_type,
        "user_id": m.user,
        "metadata": metadata,
    });
    if let Some(id) = text(m.obj.get("messageId")) {
        event["event_id"] = json!(id);
    }
    if let Some(ts) = m
        .obj
        .get("timestamp")
        .or_else(|| m.obj.get("originalTimestamp"))
        .filter(|v| !v.is_null())
    {
        event["timestamp"] = ts.clone();
    }
    match (&m.group, m.user.as_ref().and_then(|u| members.get(u))) {
        (Some(key), _) => event["customer_key"] = json!(key),
        (None, Some(id)) => event["customer_id"] = json!(id),
        (None, None) => {
            return Err(format!(
                "user {:?} belongs to no customer yet: send a group call first, or context.groupId",
                m.user.as_deref().unwrap_or_default()
            ))
        }
    }
    Ok(event)
}

/// Applies an `identify`, `group` or `alias` message. The inner error is a rejection.
async fn remember(mut c: DbConn<'_>, app: &App, m: &Message) -> CoreResult<Result<(), String>> {
    let now = app.now();
    let customer = match &m.group {
        Some(key) => match customers::find_by_external_key(c.re(), key).await? {
            Some(found) => Some(found.id),
            None => {
                return Ok(Err(format!(
                    "no customer with salesforce_id, hubspot_id or metadata.external_id {key:?}"
                )))
            }
        },
        None => None,
    };
    let Some(user) = &m.user else {
        // A group call without a user names a customer that exists: nothing more to record.
        return Ok(Ok(()));
    };
    let mut row = tracked_users::get(c.re(), user)
        .await?
        .unwrap_or_else(|| TrackedUser {
            user_id: user.clone(),
            customer_id: None,
            stakeholder_id: None,
            traits: json!({}),
            created_at: now,
            updated_at: now,
        });
    match m.call {
        Call::Alias => {
            let Some(previous) = text(m.obj.get("previousId")) else {
                return Ok(Err("an alias call needs a previousId".into()));
            };
            if let Some(old) = tracked_users::get(c.re(), &previous).await? {
                row.customer_id = row.customer_id.or(old.customer_id);
                row.stakeholder_id = row.stakeholder_id.or(old.stakeholder_id);
                merge_traits(&mut row.traits, &old.traits, false);
            }
        }
        Call::Identify | Call::Group => {
            let traits = match m.obj.get("traits") {
                None | Some(Value::Null) => Value::Object(Map::new()),
                Some(t @ Value::Object(_)) => t.clone(),
                Some(_) => return Ok(Err("traits must be a JSON object".into())),
            };
            if let Some(path) = cscx_domain::validate::find_nul(&traits) {
                return Ok(Err(format!("{path} contains a NUL character")));
            }
            if m.call == Call::Identify {
                merge_traits(&mut row.traits, &traits, true);
            }
            if row.traits.to_string().len() > MAX_TRAITS_BYTES {
                return Ok(Err(format!(
                    "traits are larger than {} KiB",
                    MAX_TRAITS_BYTES / 1024
                )));
            }
        }
        _ => {}
    }
    if customer.is_some() {
        row.customer_id = customer;
    }
    if let Some(email) = row.traits.get("email").and_then(Value::as_str) {
        if let Some((stakeholder, of)) =
            tracked_users::stakeholder_by_email(c.re(), email, row.customer_id).await?
        {
            row.stakeholder_id = Some(stakeholder);
            row.customer_id = row.customer_id.or(Some(of));
        }
    }
    row.updated_at = now;
    tracked_users::save(c.re(), &row).await?;
    Ok(Ok(()))
}

/// Shallow merge of `new` into `kept`; `overwrite` decides who wins a key both have.
fn merge_traits(kept: &mut Value, new: &Value, overwrite: bool) {
    let (Some(kept), Some(new)) = (kept.as_object_mut(), new.as_object()) else {
        return;
    };
    for (k, v) in new {
        if overwrite || !kept.contains_key(k) {
            kept.insert(k.clone(), v.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(call: Option<Call>, body: Value) -> Result<Message, String> {
        let mut m = messages(call, body)?;
        assert_eq!(m.len(), 1);
        m.remove(0).1
    }

    #[test]
    fn messages_are_checked_for_their_call() {
        let m = one(
            Some(Call::Track),
            json!({"userId": 7, "event": "Report Run"}),
        )
        .unwrap();
        assert_eq!((m.call, m.user.as_deref()), (Call::Track, Some("7")));
        let err = one(
            Some(Call::Track),
            json!({"type": "identify", "userId": "u"}),
        );
        assert_eq!(
            err.err().unwrap(),
            "a message of type identify sent to /v1/track"
        );
        assert!(one(None, json!({"batch": [{"userId": "u"}]}))
            .err()
            .unwrap()
            .contains("needs a type"));
        assert!(one(Some(Call::Group), json!({"userId": "u"}))
            .err()
            .unwrap()
            .contains("groupId"));
        assert!(one(Some(Call::Track), json!({"event": "x"}))
            .err()
            .unwrap()
            .contains("userId or anonymousId"));
        assert!(messages(None, json!({"messages": []})).is_err());
        assert!(messages(None, json!([1])).is_err());
    }

    #[test]
    fn a_batch_context_reaches_messages_without_their_own() {
        let body = json!({
            "context": {"groupId": "acct-1"},
            "batch": [
                {"type": "track", "userId": "u", "event": "a"},
                {"type": "track", "userId": "u", "event": "b", "context": {"groupId": "acct-2"}},
            ]
        });
        let groups: Vec<Option<String>> = messages(None, body)
            .unwrap()
            .into_iter()
            .map(|(_, m)| m.unwrap().group)
            .collect();
        assert_eq!(groups, vec![Some("acct-1".into()), Some("acct-2".into())]);
    }

    #[test]
    fn events_take_the_native_shape() {
        let m = one(
            Some(Call::Page),
            json!({"anonymousId": "a-1", "name": "Pricing", "properties": {"path": "/pricing"},
                   "messageId": "m-1", "timestamp": "2026-11-30T10:00:00.123Z",
                   "context": {"groupId": "acct-9"}}),
        )
        .unwrap();
        let e = native_event(&m, &HashMap::new()).unwrap();
        assert_eq!(
            e,
            json!({"event_type": "page", "user_id": "a-1", "event_id": "m-1",
                   "timestamp": "2026-11-30T10:00:00.123Z", "customer_key": "acct-9",
                   "metadata": {"path": "/pricing", "name": "Pricing"}})
        );
        let id = Id::new();
        let m = one(Some(Call::Track), json!({"userId": "u", "event": "Export"})).unwrap();
        let members = HashMap::from([("u".to_owned(), id)]);
        assert_eq!(
            native_event(&m, &members).unwrap()["customer_id"],
            json!(id)
        );
        assert!(native_event(&m, &HashMap::new())
            .unwrap_err()
            .contains("belongs to no customer"));
    }
}
