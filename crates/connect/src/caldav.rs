//! Approved meetings as real events on a CalDAV calendar (Fastmail, iCloud, Nextcloud, Radicale,
//! …), configured by the calendar collection's URL with the credentials in it:
//! `https://user:app-password@caldav.example.com/calendars/user/work/`.
//!
//! Each event is the resource `<key>.ics` in the collection, created with `If-None-Match: *`:
//! the server itself refuses a second creation (412), so a retry after a crash finds the event
//! there and creates nothing new. The calendar server then sends the attendees their invitations
//! (CalDAV scheduling) where it does so.

use std::time::Duration;

use futures::future::BoxFuture;
use reqwest::StatusCode;

use crate::{Calendar, ConnectError, ConnectResult, Delivery, Invitation};

pub struct CalDav {
    client: reqwest::Client,
    /// The collection URL without credentials, ending in `/`.
    collection: url::Url,
    auth: Option<(String, String)>,
}

impl std::fmt::Debug for CalDav {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CalDav")
            .field("collection", &self.collection.as_str())
            .finish_non_exhaustive()
    }
}

impl CalDav {
    pub fn from_url(url: &str) -> Result<CalDav, String> {
        let mut u =
            url::Url::parse(url).map_err(|e| format!("CSCX_CALDAV_URL is not a URL: {e}"))?;
        if !matches!(u.scheme(), "http" | "https") {
            return Err("CSCX_CALDAV_URL must be an http or https URL".into());
        }
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| "CSCX_CALDAV_URL: bad %-escape in the credentials".to_owned())
        };
        let auth = if u.username().is_empty() {
            None
        } else {
            Some((decode(u.username())?, decode(u.password().unwrap_or(""))?))
        };
        let _ = u.set_username("");
        let _ = u.set_password(None);
        if !u.path().ends_with('/') {
            let path = format!("{}/", u.path());
            u.set_path(&path);
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| format!("CalDAV client: {e}"))?;
        Ok(CalDav {
            client,
            collection: u,
            auth,
        })
    }

    async fn put(&self, inv: &Invitation) -> ConnectResult<Delivery> {
        if inv.key.is_empty()
            || !inv
                .key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(ConnectError::Refused(format!(
                "{:?} is not a resource-safe key",
                inv.key
            )));
        }
        let resource = self
            .collection
            .join(&format!("{}.ics", inv.key))
            .map_err(|e| ConnectError::Refused(e.to_string()))?;
        let mut req = self
            .client
            .put(resource.clone())
            .header("Content-Type", "text/calendar; charset=utf-8")
            .header("If-None-Match", "*")
            .body(inv.to_calendar_object());
        if let Some((user, pass)) = &self.auth {
            req = req.basic_auth(user, Some(pass));
        }
        let resp = req.send().await.map_err(|e| {
            ConnectError::Unavailable(format!(
                "cannot reach the calendar {}: {e}",
                self.collection
            ))
        })?;
        let status = resp.status();
        let delivered = |how: &str| Delivery {
            delivered: true,
            channel: "caldav",
            reference: format!("{resource} ({how})"),
        };
        match status {
            StatusCode::CREATED | StatusCode::NO_CONTENT | StatusCode::OK => {
                Ok(delivered("created"))
            }
            // Already there: the retry of a creation whose answer was lost.
            StatusCode::PRECONDITION_FAILED => Ok(delivered("already on the calendar")),
            s if s == StatusCode::TOO_MANY_REQUESTS || s.is_server_error() => Err(
                ConnectError::Unavailable(format!("the calendar {} answered {s}", self.collection)),
            ),
            s => {
                let text: String = resp
                    .text()
                    .await
                    .unwrap_or_default()
                    .chars()
                    .take(300)
                    .collect();
                Err(ConnectError::Refused(format!(
                    "the calendar {} refused the event: {s} {}",
                    self.collection,
                    text.trim()
                )))
            }
        }
    }
}

impl Calendar for CalDav {
    fn invite<'a>(&'a self, inv: &'a Invitation) -> BoxFuture<'a, ConnectResult<Delivery>> {
        Box::pin(self.put(inv))
    }

    fn channel(&self) -> &'static str {
        "caldav"
    }

    fn target(&self) -> String {
        self.collection.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_leave_the_url_and_the_collection_ends_in_a_slash() {
        let c =
            CalDav::from_url("https://me%40x.example:s%3Acret@dav.example.com/cal/work").unwrap();
        assert_eq!(c.collection.as_str(), "https://dav.example.com/cal/work/");
        assert_eq!(c.auth, Some(("me@x.example".into(), "s:cret".into())));
        assert!(!format!("{c:?}").contains("cret"));
        assert!(CalDav::from_url("ftp://x/").is_err());
    }
}
