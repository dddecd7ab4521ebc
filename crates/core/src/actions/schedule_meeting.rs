//! `schedule_meeting`: an invitation to the customer's contacts at a time in the user's zone,
//! sent through the configured calendar, and the meeting on the account.

use chrono::{DateTime, Duration, Utc};
use cscx_connect::{Delivery, Invitation};
use cscx_store::model::Meeting;
use cscx_store::{entity, DbConn, Id, Timestamp};
use serde_json::{json, Map, Value};

use super::{ActionError, Applied, Draft, Run};
use crate::App;

pub(super) fn check(args: &Map<String, Value>) -> Result<(), String> {
    if let Some(start) = args.get("start").and_then(Value::as_str) {
        DateTime::parse_from_rfc3339(start)
            .map_err(|_| "start must be an RFC 3339 date-time".to_string())?;
    }
    if let Some(tz) = args.get("time_zone").and_then(Value::as_str) {
        tz.parse::<chrono_tz::Tz>()
            .map_err(|_| format!("{tz} is not a time zone"))?;
    }
    Ok(())
}

pub(super) fn prepare(d: &mut Draft<'_>) -> Result<Value, String> {
    let name = d.name();
    let (mut attendees, unknown) = d.resolve("attendees");
    if attendees.is_empty() {
        attendees.extend(d.primary_email());
    }
    let tz: chrono_tz::Tz = d
        .str("time_zone")
        .and_then(|z| z.parse().ok())
        .unwrap_or(d.time_zone);
    let now = d.app.clock.now();
    let start = match d.str("start") {
        Some(s) => DateTime::parse_from_rfc3339(s)
            .map_err(|_| "start must be an RFC 3339 date-time".to_string())?
            .with_timezone(&Utc),
        None => next_business_morning(now, tz),
    };
    if start < now {
        return Err("the meeting would start in the past; pick a later time".into());
    }
    let minutes = d
        .args
        .get("duration_minutes")
        .and_then(Value::as_i64)
        .unwrap_or(30);
    let title = d.str("title").unwrap_or("Check-in").to_string();
    let title = if title.contains(&name) {
        title
    } else {
        format!("{title}: {name}")
    };
    d.args.insert("title".into(), json!(title));
    d.args.insert("start".into(), json!(start.to_rfc3339()));
    d.args.insert("duration_minutes".into(), json!(minutes));
    d.args.insert("attendees".into(), json!(attendees));
    d.args.insert("time_zone".into(), json!(tz.name()));
    let local = start.with_timezone(&tz);
    Ok(json!({
        "summary": format!("Meeting \"{title}\" on {}", local.format("%a %e %b %Y, %H:%M %Z")),
        "title": title, "start_utc": start.to_rfc3339(),
        "start_local": local.format("%A %e %B %Y, %H:%M").to_string(), "time_zone": tz.name(),
        "duration_minutes": minutes, "attendees": attendees, "unresolved_attendees": unknown,
        "organizer": d.who.email,
    }))
}

/// 10:00 on the next working day in the user's zone.
fn next_business_morning(now: DateTime<Utc>, tz: chrono_tz::Tz) -> DateTime<Utc> {
    use chrono::{Datelike, TimeZone, Weekday};
    let mut day = now.with_timezone(&tz).date_naive() + Duration::days(1);
    while matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
        day += Duration::days(1);
    }
    tz.from_local_datetime(&day.and_hms_opt(10, 0, 0).expect("valid time"))
        .earliest()
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or(now + Duration::days(1))
}

fn start(run: &Run<'_>) -> Option<DateTime<Utc>> {
    run.str("start")
        .and_then(|v| DateTime::parse_from_rfc3339(&v).ok())
        .map(|d| d.with_timezone(&Utc))
}

pub(super) async fn deliver(app: &App, run: &Run<'_>) -> Result<Delivery, ActionError> {
    let a = run.approval;
    let invitation = Invitation {
        key: a.id.to_string(),
        title: run.str("title").unwrap_or_else(|| "Meeting".into()),
        start: start(run).unwrap_or(run.now.datetime()),
        minutes: run
            .args
            .get("duration_minutes")
            .and_then(Value::as_i64)
            .unwrap_or(30),
        organizer: a
            .preview
            .as_ref()
            .and_then(|p| p["organizer"].as_str())
            .map(str::to_string),
        attendees: run
            .args
            .get("attendees")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        stamp: run.now.datetime(),
    };
    Ok(app.agents.calendar.invite(&invitation).await?)
}

pub(super) async fn apply(c: DbConn<'_>, run: &Run<'_>) -> Result<Applied, ActionError> {
    let a = run.approval;
    let customer_id = run.customer()?;
    let reference = run.delivery.map(|d| d.reference.clone());
    let delivered = run.delivery.is_some_and(|d| d.delivered);
    let m = Meeting {
        id: Id::new(),
        customer_id,
        session_id: a.session_id,
        title: run.str("title").unwrap_or_else(|| "Meeting".into()),
        description: a.details.clone(),
        scheduled_at: start(run).map(Timestamp::from_datetime),
        duration: run
            .args
            .get("duration_minutes")
            .and_then(Value::as_i64)
            .map(|d| d as i32),
        status: "scheduled".into(),
        meeting_url: None,
        calendar_event_id: Some(format!("{}@cscx", a.id)),
        attendees: run.args.get("attendees").cloned(),
        agenda: None,
        metadata: json!({ "approval_id": a.id, "ics": reference, "time_zone": run.str("time_zone") }),
        created_at: run.now,
        updated_at: run.now,
    };
    entity::insert(c, &m).await?;
    let text = if delivered {
        format!(
            "Meeting \"{}\" is scheduled; the invitation was sent.",
            m.title
        )
    } else {
        format!(
            "Meeting \"{}\" is scheduled; the invitation is in the outbox.",
            m.title
        )
    };
    Ok((json!({ "meeting_id": m.id, "ics": reference }), text))
}
