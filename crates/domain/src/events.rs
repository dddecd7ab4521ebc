//! Domain events: the record of what happened, one typed value per kind. Each is stored with
//! its type name (`auth.signed_in`), a payload version and the payload's fields, in the same
//! transaction as the change it records. The security-relevant kinds here form the audit
//! record; the capabilities of this wave add theirs (issue 23 of the tracker builds the fan-out
//! to subscribers on the same table).
//!
//! Type names and payload fields are an API: renaming one is a breaking change, so a change of
//! shape bumps [`Event::VERSION`] for that kind instead.

use serde::Serialize;
use uuid::Uuid;

/// Something that happened. Serialised with its `type`; the rest is the payload.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type")]
pub enum Event {
    /// A person signed in with their password.
    #[serde(rename = "auth.signed_in")]
    SignedIn {
        user_id: Uuid,
        ip: Option<String>,
        /// The browser presented this account's device cookie.
        known_device: bool,
    },
    /// A session was ended by its owner.
    #[serde(rename = "auth.signed_out")]
    SignedOut { user_id: Uuid },
    #[serde(rename = "user.created")]
    UserCreated {
        user_id: Uuid,
        email: String,
        role: String,
    },
    /// Role, disabled flag, name, time zone or password changed (the password itself never
    /// appears: only that it changed).
    #[serde(rename = "user.changed")]
    UserChanged {
        user_id: Uuid,
        email: String,
        changes: Vec<Change>,
    },
    #[serde(rename = "user.deleted")]
    UserDeleted { user_id: Uuid, email: String },
    #[serde(rename = "token.created")]
    TokenCreated {
        token_id: Uuid,
        user_id: Uuid,
        name: String,
        scope: String,
        role: Option<String>,
    },
    #[serde(rename = "token.revoked")]
    TokenRevoked {
        token_id: Uuid,
        user_id: Uuid,
        name: String,
    },
    /// A note was written on the account.
    #[serde(rename = "note.added")]
    NoteAdded {
        note_id: Uuid,
        /// The first 280 characters.
        excerpt: String,
        mentions: Vec<Uuid>,
    },
    /// A task was added (by a person, or by an approved `create_task`).
    #[serde(rename = "task.created")]
    TaskCreated {
        task_id: Uuid,
        title: String,
        owner_id: Option<Uuid>,
        due_date: Option<chrono::NaiveDate>,
    },
    /// A task changed status (done, reopened, cancelled), was snoozed or reassigned.
    #[serde(rename = "task.changed")]
    TaskChanged {
        task_id: Uuid,
        title: String,
        fields: Vec<String>,
        status: String,
    },
    /// An open task's due day has come (the daily reminder; once per due date).
    #[serde(rename = "task.due")]
    TaskDue {
        task_id: Uuid,
        title: String,
        owner_id: Option<Uuid>,
        due_date: chrono::NaiveDate,
    },
    /// An agent proposed an action that waits for a person's decision.
    #[serde(rename = "approval.requested")]
    ApprovalRequested {
        approval_id: Uuid,
        action: String,
        required_role: String,
        summary: Option<String>,
    },
    /// An approval was approved (possibly with edits) or rejected.
    #[serde(rename = "approval.decided")]
    ApprovalDecided {
        approval_id: Uuid,
        action: String,
        decision: String,
        edited: bool,
    },
    /// An approval policy (who approves an action, auto-approval, expiry) changed.
    #[serde(rename = "settings.policy_changed")]
    PolicyChanged {
        action: String,
        required_role: String,
        auto_approve: bool,
        expires_after_hours: i64,
    },
    /// Data left the system in bulk (a backup).
    #[serde(rename = "data.exported")]
    DataExported { what: String, target: String },

    /// A customer's record was edited; `fields` are the ones sent.
    #[serde(rename = "customer.changed")]
    CustomerChanged { fields: Vec<String> },
    /// An approved action moved the customer to another lifecycle stage.
    #[serde(rename = "customer.stage_changed")]
    StageChanged { from: String, to: String },
    #[serde(rename = "stakeholder.added")]
    StakeholderAdded {
        stakeholder_id: Uuid,
        name: String,
        is_primary: bool,
    },
    #[serde(rename = "stakeholder.changed")]
    StakeholderChanged {
        stakeholder_id: Uuid,
        fields: Vec<String>,
    },
    #[serde(rename = "stakeholder.removed")]
    StakeholderRemoved {
        stakeholder_id: Uuid,
        was_primary: bool,
    },
    #[serde(rename = "contract.added")]
    ContractAdded { contract_id: Uuid },
    #[serde(rename = "contract.changed")]
    ContractChanged {
        contract_id: Uuid,
        fields: Vec<String>,
    },
    /// A reviewed contract's terms were confirmed onto the customer.
    #[serde(rename = "contract.confirmed")]
    ContractConfirmed { contract_id: Uuid },
    /// The daily job moved some of the customer's contracts to another status by their dates.
    #[serde(rename = "contract.statuses_changed")]
    ContractStatusesChanged {},
    #[serde(rename = "risk_signal.raised")]
    SignalRaised {
        signal_id: Uuid,
        signal_type: String,
        severity: String,
        source: Option<String>,
    },
    #[serde(rename = "risk_signal.resolved")]
    SignalResolved {
        signal_id: Uuid,
        signal_type: String,
    },
}

/// One field's change: `from` and `to` as text (`null` for a password, which is never shown).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub field: String,
    pub from: Option<String>,
    pub to: Option<String>,
}

impl Event {
    /// The payload version of every kind defined so far.
    pub const VERSION: i32 = 1;

    /// The type name and the payload (every field but `type`).
    pub fn split(&self) -> (String, serde_json::Value) {
        let mut v = serde_json::to_value(self).expect("events serialise");
        let kind = v
            .as_object_mut()
            .and_then(|o| o.remove("type"))
            .and_then(|t| t.as_str().map(str::to_owned))
            .expect("events are tagged");
        (kind, v)
    }

    /// Whether a change of this kind can move the customer's health score (its inputs: stage,
    /// renewal date, stakeholders, contracts, risk signals).
    pub fn affects_health(kind: &str) -> bool {
        ["customer.", "stakeholder.", "contract.", "risk_signal."]
            .iter()
            .any(|p| kind.starts_with(p))
    }

    /// Whether the kind belongs in the audit record of security-relevant actions.
    pub fn is_security(kind: &str) -> bool {
        [
            "auth.",
            "user.",
            "token.",
            "approval.decided",
            "settings.",
            "data.exported",
        ]
        .iter()
        .any(|p| kind.starts_with(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_into_type_and_payload() {
        let id = Uuid::nil();
        let (kind, payload) = Event::TokenRevoked {
            token_id: id,
            user_id: id,
            name: "ci".into(),
        }
        .split();
        assert_eq!(kind, "token.revoked");
        assert_eq!(payload["name"], "ci");
        assert!(payload.get("type").is_none());
        assert!(Event::is_security(&kind));
        assert!(!Event::is_security("health.band_changed"));
    }
}
