//! Outbound e-mail.

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;

use crate::{ConnectResult, Delivery};

/// One plain-text message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    /// Idempotency key; also the local part of the Message-ID, so a mail server can recognise
    /// a resend.
    pub key: String,
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
    pub date: DateTime<Utc>,
}

impl OutgoingMail {
    /// The message as RFC 5322 text, CRLF line ends; header values cannot break a line.
    pub fn to_rfc5322(&self) -> String {
        let to: Vec<String> = self.to.iter().map(|t| header_safe(t)).collect();
        let body = self.body.replace("\r\n", "\n").replace('\n', "\r\n");
        format!(
            "From: {}\r\nTo: {}\r\nSubject: {}\r\nDate: {}\r\nMessage-ID: <{}@cscx>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}",
            header_safe(&self.from),
            to.join(", "),
            header_safe(&self.subject),
            self.date.to_rfc2822(),
            header_safe(&self.key),
        )
    }
}

fn header_safe(s: &str) -> String {
    s.chars().filter(|c| *c != '\r' && *c != '\n').collect()
}

/// Something that sends e-mail.
pub trait MailTransport: Send + Sync {
    /// Sends `mail`. The outbox returns the earlier delivery for a key it has seen; a transport
    /// that reaches outside sends whatever it is given, so its caller keeps the ledger.
    fn send<'a>(&'a self, mail: &'a OutgoingMail) -> BoxFuture<'a, ConnectResult<Delivery>>;

    /// Whether a message leaves this machine (false for the outbox).
    fn reaches_outside(&self) -> bool {
        true
    }

    /// Which implementation this is, e.g. `smtp`.
    fn channel(&self) -> &'static str;

    /// Where messages go, for people (a server or a folder; never credentials).
    fn target(&self) -> String;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_cannot_be_injected_and_lines_end_in_crlf() {
        let m = OutgoingMail {
            key: "k1".into(),
            from: "csm@example.com".into(),
            to: vec!["a@example.com\r\nBcc: evil@example.com".into()],
            subject: "Hi\nBcc: x@example.com".into(),
            body: "one\ntwo".into(),
            date: DateTime::from_timestamp(0, 0).unwrap(),
        };
        let text = m.to_rfc5322();
        assert!(!text.contains("\nBcc:"), "{text}");
        assert!(text.contains("Message-ID: <k1@cscx>"));
        assert!(text.ends_with("one\r\ntwo"));
    }
}
