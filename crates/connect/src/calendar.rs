//! Meeting invitations.

use chrono::{DateTime, Duration, Utc};
use futures::future::BoxFuture;

use crate::{ConnectResult, Delivery};

/// One event to put on the attendees' calendars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// Idempotency key; the iCalendar UID is `<key>@cscx`, so calendars update rather than
    /// duplicate a re-sent invitation.
    pub key: String,
    pub title: String,
    pub start: DateTime<Utc>,
    pub minutes: i64,
    pub organizer: Option<String>,
    pub attendees: Vec<String>,
    /// When the invitation was made (DTSTAMP).
    pub stamp: DateTime<Utc>,
}

impl Invitation {
    /// The UID calendars know this event by.
    pub fn uid(&self) -> String {
        format!("{}@cscx", self.key)
    }

    /// The invitation as an iCalendar request (RFC 5545), CRLF line ends.
    pub fn to_ics(&self) -> String {
        self.ics(true)
    }

    /// The event as a calendar object resource, for a CalDAV server: the same without the
    /// `METHOD` property, which RFC 4791 §4.1 does not allow in stored objects.
    pub fn to_calendar_object(&self) -> String {
        self.ics(false)
    }

    fn ics(&self, with_method: bool) -> String {
        let fmt = |d: DateTime<Utc>| d.format("%Y%m%dT%H%M%SZ").to_string();
        let mut lines = vec![
            "BEGIN:VCALENDAR".to_string(),
            "VERSION:2.0".into(),
            "PRODID:-//CSCX//Agents//EN".into(),
        ];
        if with_method {
            lines.push("METHOD:REQUEST".into());
        }
        lines.extend([
            "BEGIN:VEVENT".into(),
            format!("UID:{}", self.uid()),
            format!("DTSTAMP:{}", fmt(self.stamp)),
            format!("DTSTART:{}", fmt(self.start)),
            format!(
                "DTEND:{}",
                fmt(self.start + Duration::minutes(self.minutes))
            ),
            format!("SUMMARY:{}", ics_text(&self.title)),
        ]);
        if let Some(org) = &self.organizer {
            lines.push(format!("ORGANIZER:mailto:{}", ics_text(org)));
        }
        for a in &self.attendees {
            lines.push(format!(
                "ATTENDEE;ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:{}",
                ics_text(a)
            ));
        }
        lines.extend(["END:VEVENT".into(), "END:VCALENDAR".into(), String::new()]);
        lines.join("\r\n")
    }
}

/// Text values escaped as RFC 5545 §3.3.11 says; line breaks cannot start a new property.
fn ics_text(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace(['\r', '\n'], " ")
}

/// Something that puts events on calendars.
pub trait Calendar: Send + Sync {
    /// Sends `invitation` unless its key was sent before (then returns that delivery again).
    fn invite<'a>(&'a self, invitation: &'a Invitation) -> BoxFuture<'a, ConnectResult<Delivery>>;

    /// Which implementation this is, e.g. `caldav`.
    fn channel(&self) -> &'static str;

    /// Whether events leave this machine (false for the outbox).
    fn reaches_outside(&self) -> bool {
        true
    }

    /// Where events go, for people (a calendar or a folder; never credentials).
    fn target(&self) -> String;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_the_end_follows_the_duration() {
        let start = DateTime::parse_from_rfc3339("2027-01-04T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let inv = Invitation {
            key: "k1".into(),
            title: "Review; plan, next\nsteps".into(),
            start,
            minutes: 45,
            organizer: Some("csm@example.com".into()),
            attendees: vec!["a@example.com".into()],
            stamp: start,
        };
        let ics = inv.to_ics();
        assert!(
            ics.contains("SUMMARY:Review\\; plan\\, next steps\r\n"),
            "{ics}"
        );
        assert!(ics.contains("DTEND:20270104T104500Z"));
        assert!(ics.contains("UID:k1@cscx"));
        assert!(ics.contains("METHOD:REQUEST"));
        let object = inv.to_calendar_object();
        assert!(!object.contains("METHOD"), "{object}");
        assert_eq!(object, ics.replace("METHOD:REQUEST\r\n", ""));
    }
}
