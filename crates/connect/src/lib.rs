//! Outside systems behind traits. The approval executor hands a message or an invitation to a
//! [`MailTransport`] or a [`Calendar`] and records the [`Delivery`] it gets back; which system
//! carries it (the local outbox today; SMTP, Google or a CalDAV server later) is configuration,
//! not code in the executor.
//!
//! Every call carries an idempotency key (the approval's id). An implementation must deliver a
//! key at most once, however often it is called with it: the executor retries after a crash.

pub mod calendar;
pub mod mail;
pub mod outbox;

pub use calendar::{Calendar, Invitation};
pub use mail::{MailTransport, OutgoingMail};
pub use outbox::Outbox;

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
    /// The system could not be reached or failed: the executor retries later.
    #[error("{0}")]
    Unavailable(String),
}

pub type ConnectResult<T> = Result<T, ConnectError>;
