//! Outside systems behind traits. The approval executor hands a message or an invitation to a
//! [`MailTransport`] or a [`Calendar`] and records the [`Delivery`] it gets back; which system
//! carries it (the local outbox by default; an SMTP server, a CalDAV calendar) is configuration,
//! not code in the executor. Slack notifications go through [`SlackWebhook`].
//!
//! Every call carries an idempotency key (the approval's id). The outbox delivers a key at most
//! once by itself; a transport that reaches outside ([`MailTransport::reaches_outside`]) cannot
//! ask the server, so the caller keeps a ledger of what it handed over (`cscx-core`'s
//! `deliveries`) and never calls it twice for a key.

pub mod caldav;
pub mod calendar;
pub mod mail;
pub mod outbox;
pub mod slack;
pub mod smtp;

pub use caldav::CalDav;
pub use calendar::{Calendar, Invitation};
pub use mail::{MailTransport, OutgoingMail};
pub use outbox::Outbox;
pub use slack::SlackWebhook;
pub use smtp::Smtp;

/// What happened to a message or an invitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// It reached the outside system (false for the outbox: nothing left this machine).
    pub delivered: bool,
    /// Which implementation took it, e.g. `outbox`.
    pub channel: &'static str,
    /// Where to find it: a file path, a provider's message or event id.
    pub reference: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The system refused this message for good (bad recipient, no permission): not retried.
    #[error("{0}")]
    Refused(String),
    /// The system could not be reached or failed before it took the message: the executor
    /// retries later.
    #[error("{0}")]
    Unavailable(String),
    /// The message may or may not have been taken (the connection broke after it was sent):
    /// a person must check; sending again could deliver it twice.
    #[error("{0}")]
    Unknown(String),
}

pub type ConnectResult<T> = Result<T, ConnectError>;
