//! In-process fakes of the `cscx-connect` traits: a mail transport and a calendar that keep
//! what they were given, deliver each key once (as real implementations must), and can be told
//! to refuse or to be unreachable.

use std::sync::Mutex;

use futures::future::BoxFuture;

use cscx_connect::{
    Calendar, ConnectError, ConnectResult, Delivery, Invitation, MailTransport, OutgoingMail,
};

/// How the fake answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Behaviour {
    #[default]
    Deliver,
    /// A permanent refusal (the executor records the action as failed).
    Refuse,
    /// Down (the executor retries).
    Unavailable,
}

#[derive(Default)]
pub struct RecordingTransport {
    pub behaviour: Mutex<Behaviour>,
    mail: Mutex<Vec<OutgoingMail>>,
    invitations: Mutex<Vec<Invitation>>,
    /// How many times `send`/`invite` were called, repeats included.
    calls: Mutex<usize>,
}

impl RecordingTransport {
    pub fn set(&self, b: Behaviour) {
        *self.behaviour.lock().expect("lock") = b;
    }

    /// Messages delivered, once per key.
    pub fn mail(&self) -> Vec<OutgoingMail> {
        self.mail.lock().expect("lock").clone()
    }

    pub fn invitations(&self) -> Vec<Invitation> {
        self.invitations.lock().expect("lock").clone()
    }

    pub fn calls(&self) -> usize {
        *self.calls.lock().expect("lock")
    }

    fn answer<T: Clone>(
        &self,
        store: &Mutex<Vec<T>>,
        item: &T,
        key: &str,
        key_of: fn(&T) -> &str,
    ) -> ConnectResult<Delivery> {
        *self.calls.lock().expect("lock") += 1;
        match *self.behaviour.lock().expect("lock") {
            Behaviour::Refuse => return Err(ConnectError::Refused("recipient refused".into())),
            Behaviour::Unavailable => {
                return Err(ConnectError::Unavailable("server unreachable".into()))
            }
            Behaviour::Deliver => {}
        }
        let mut kept = store.lock().expect("lock");
        if !kept.iter().any(|m| key_of(m) == key) {
            kept.push(item.clone());
        }
        Ok(Delivery {
            delivered: true,
            channel: "recording",
            reference: format!("recording:{key}"),
        })
    }
}

impl MailTransport for RecordingTransport {
    fn send<'a>(&'a self, mail: &'a OutgoingMail) -> BoxFuture<'a, ConnectResult<Delivery>> {
        let r = self.answer(&self.mail, mail, &mail.key, |m| &m.key);
        Box::pin(async move { r })
    }

    fn channel(&self) -> &'static str {
        "recording"
    }

    fn target(&self) -> String {
        "memory".into()
    }
}

impl Calendar for RecordingTransport {
    fn invite<'a>(&'a self, inv: &'a Invitation) -> BoxFuture<'a, ConnectResult<Delivery>> {
        let r = self.answer(&self.invitations, inv, &inv.key, |i| &i.key);
        Box::pin(async move { r })
    }

    fn channel(&self) -> &'static str {
        "recording"
    }

    fn target(&self) -> String {
        "memory".into()
    }
}
