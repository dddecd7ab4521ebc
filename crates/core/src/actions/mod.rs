//! The actions an agent can propose and a person approves, one module each:
//!
//! - `check`: the arguments' meaning, beyond the tool's JSON schema (also run on an approver's
//!   edits);
//! - `prepare`: the arguments completed from data (recipients, drafts, times) and the preview
//!   the approver reads;
//! - `deliver`: the effect outside the database, through `cscx-connect` (mail, calendars), made
//!   before the executing transaction and keyed by the approval so a retry repeats nothing;
//! - `apply`: the database effect, in the transaction that marks the approval executed.
//!
//! [`Action`] is the registry: adding an action is a module and a variant, and the compiler
//! finds every place that needs an arm. A test checks it against the agents' action tools.

mod change_owner;
mod change_stage;
mod create_risk_signal;
mod create_save_play;
mod create_task;
mod escalate;
mod schedule_meeting;
mod send_email;

use cscx_connect::{ConnectError, Delivery};
use cscx_domain::Role;
use cscx_store::model::{Approval, Customer, Stakeholder};
use cscx_store::{entity, DbConn, Id, Timestamp};
use serde_json::{Map, Value};

use crate::auth::Principal;
use crate::error::{CoreError, CoreResult};
use crate::events::Actor;
use crate::App;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    SendEmail,
    ScheduleMeeting,
    CreateSavePlay,
    Escalate,
    CreateRiskSignal,
    ChangeStage,
    ChangeOwner,
    CreateTask,
}

impl Action {
    pub const ALL: [Action; 8] = [
        Action::SendEmail,
        Action::ScheduleMeeting,
        Action::CreateSavePlay,
        Action::Escalate,
        Action::CreateRiskSignal,
        Action::ChangeStage,
        Action::ChangeOwner,
        Action::CreateTask,
    ];

    /// The tool name agents call it by, and the `approvals.action` value.
    pub fn name(self) -> &'static str {
        match self {
            Action::SendEmail => "send_email",
            Action::ScheduleMeeting => "schedule_meeting",
            Action::CreateSavePlay => "create_save_play",
            Action::Escalate => "escalate",
            Action::CreateRiskSignal => "create_risk_signal",
            Action::ChangeStage => "change_stage",
            Action::ChangeOwner => "change_owner",
            Action::CreateTask => "create_task",
        }
    }

    pub fn parse(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Who approves it when no policy is stored: escalations and ownership changes reach a
    /// manager; everything else a CSM.
    pub fn default_role(self) -> Role {
        match self {
            Action::Escalate | Action::ChangeOwner => Role::Manager,
            _ => Role::Csm,
        }
    }

    fn check(self, args: &Map<String, Value>) -> Result<(), String> {
        match self {
            Action::SendEmail => send_email::check(args),
            Action::ScheduleMeeting => schedule_meeting::check(args),
            Action::ChangeOwner => change_owner::check(args),
            Action::CreateTask => create_task::check(args),
            Action::CreateSavePlay
            | Action::Escalate
            | Action::CreateRiskSignal
            | Action::ChangeStage => Ok(()),
        }
    }

    async fn prepare(self, d: &mut Draft<'_>) -> Result<Value, String> {
        match self {
            Action::SendEmail => send_email::prepare(d),
            Action::ScheduleMeeting => schedule_meeting::prepare(d),
            Action::CreateSavePlay => create_save_play::prepare(d),
            Action::Escalate => Ok(escalate::prepare(d)),
            Action::CreateRiskSignal => Ok(create_risk_signal::prepare(d)),
            Action::ChangeStage => Ok(change_stage::prepare(d)),
            Action::ChangeOwner => Ok(change_owner::prepare(d)),
            Action::CreateTask => Ok(create_task::prepare(d)),
        }
    }

    async fn deliver(self, app: &App, run: &Run<'_>) -> Result<Option<Delivery>, ActionError> {
        Ok(match self {
            Action::SendEmail => Some(send_email::deliver(app, run).await?),
            Action::ScheduleMeeting => Some(schedule_meeting::deliver(app, run).await?),
            _ => None,
        })
    }

    async fn apply(self, c: DbConn<'_>, run: &Run<'_>) -> Result<Applied, ActionError> {
        match self {
            Action::SendEmail => send_email::apply(run),
            Action::ScheduleMeeting => schedule_meeting::apply(c, run).await,
            Action::CreateSavePlay => create_save_play::apply(c, run).await,
            Action::Escalate => escalate::apply(c, run).await,
            Action::CreateRiskSignal => create_risk_signal::apply(c, run).await,
            Action::ChangeStage => change_stage::apply(c, run).await,
            Action::ChangeOwner => change_owner::apply(c, run).await,
            Action::CreateTask => create_task::apply(c, run).await,
        }
    }
}

/// Checks an action's arguments beyond the JSON schema.
pub fn check(action: &str, args: &Map<String, Value>) -> Result<(), String> {
    Action::parse(action)
        .ok_or_else(|| format!("{action} is not an action"))?
        .check(args)
}

/// What the approver sees, plus the arguments completed from data (recipients, drafts, times).
pub struct PreparedAction {
    pub args: Map<String, Value>,
    pub preview: Value,
    pub customer_id: Option<Id>,
}

/// What `prepare` works from: the caller, the customer the action names and its people.
pub(crate) struct Draft<'a> {
    pub app: &'a App,
    pub who: &'a Principal,
    pub time_zone: chrono_tz::Tz,
    pub customer: Option<Customer>,
    pub people: Vec<Stakeholder>,
    pub args: Map<String, Value>,
}

impl Draft<'_> {
    pub fn str(&self, key: &str) -> Option<&str> {
        self.args.get(key).and_then(Value::as_str)
    }

    /// The customer's name, or empty for actions that name none.
    pub fn name(&self) -> String {
        self.customer
            .as_ref()
            .map(|c| c.name.clone())
            .unwrap_or_default()
    }

    /// Names in `args[key]` become addresses through the customer's stakeholders; unknown
    /// names are returned apart, so the preview says who was left out.
    pub fn resolve(&self, key: &str) -> (Vec<String>, Vec<String>) {
        let mut found = Vec::new();
        let mut unknown = Vec::new();
        for w in self
            .args
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let w = w.as_str().unwrap_or("").trim();
            if w.contains('@') {
                found.push(w.to_string());
            } else if let Some(p) = self.people.iter().find(|p| {
                p.name.eq_ignore_ascii_case(w)
                    || p.name.to_lowercase().starts_with(&w.to_lowercase())
            }) {
                match &p.email {
                    Some(e) => found.push(e.clone()),
                    None => unknown.push(format!("{} (no e-mail on file)", p.name)),
                }
            } else if !w.is_empty() {
                unknown.push(w.to_string());
            }
        }
        (found, unknown)
    }

    /// The address to use when none is named: the primary contact, else anyone with one.
    pub fn primary_email(&self) -> Option<String> {
        self.people
            .iter()
            .find(|p| p.is_primary && p.email.is_some())
            .or_else(|| self.people.iter().find(|p| p.email.is_some()))
            .and_then(|p| p.email.clone())
    }

    pub fn sender(&self) -> String {
        self.who
            .name
            .clone()
            .unwrap_or_else(|| self.who.email.clone())
    }
}

/// Completes an action from the data and drafts its content. `Err` is a message for the
/// model or the user (an unknown customer, a meeting in the past).
pub async fn prepare(
    app: &App,
    who: &Principal,
    time_zone: chrono_tz::Tz,
    action: &str,
    args: Map<String, Value>,
) -> CoreResult<Result<PreparedAction, String>> {
    let Some(kind) = Action::parse(action) else {
        return Ok(Err(format!("{action} is not an action")));
    };
    let customer = match args.get("customer_id") {
        Some(_) => match crate::agents::tools::load_customer(app, &args).await? {
            Ok(c) => Some(c),
            Err(e) => return Ok(Err(e)),
        },
        None => None,
    };
    let people = match &customer {
        Some(cu) => {
            let mut c = app.db.conn().await?;
            cscx_store::stakeholders::of_customer(c.c(), cu.id).await?
        }
        None => Vec::new(),
    };
    let mut d = Draft {
        app,
        who,
        time_zone,
        customer,
        people,
        args,
    };
    let preview = match kind.prepare(&mut d).await {
        Ok(p) => p,
        Err(e) => return Ok(Err(e)),
    };
    if let Err(e) = kind.check(&d.args) {
        return Ok(Err(e));
    }
    Ok(Ok(PreparedAction {
        args: d.args,
        preview,
        customer_id: d.customer.map(|c| c.id),
    }))
}

/// An approved action being executed.
pub(crate) struct Run<'a> {
    pub approval: &'a Approval,
    pub args: &'a Map<String, Value>,
    /// What `deliver` reported (for actions that reach outside).
    pub delivery: Option<&'a Delivery>,
    pub now: Timestamp,
}

impl Run<'_> {
    pub fn str(&self, key: &str) -> Option<String> {
        self.args
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_string)
    }

    pub fn customer(&self) -> Result<Id, ActionError> {
        self.approval
            .customer_id
            .ok_or_else(|| ActionError::Failed("the action names no customer".into()))
    }

    pub async fn load_customer(
        &self,
        c: DbConn<'_>,
        for_update: bool,
    ) -> Result<Customer, ActionError> {
        let id = self.customer()?;
        let found = if for_update {
            entity::get_for_update(c, id).await?
        } else {
            entity::get(c, id).await?
        };
        found.ok_or_else(|| ActionError::Failed("the customer no longer exists".into()))
    }

    /// Who an executed action acts for: the person who approved it (the system when a policy
    /// approved it).
    pub fn actor(&self) -> Actor {
        self.approval
            .resolved_by
            .map(Actor::user)
            .unwrap_or_else(Actor::system)
    }
}

/// The action's result (stored on the approval) and the sentence posted to the conversation.
pub(crate) type Applied = (Value, String);

pub(crate) enum ActionError {
    /// The action cannot be done (e.g. the new owner does not exist): recorded as `failed`.
    Failed(String),
    /// Infrastructure trouble: retried.
    Core(CoreError),
    /// The outside system may or may not have acted (a connection broke mid-send): recorded as
    /// `failed` with `delivery_unknown`, for a person to check; never retried by itself.
    DeliveryUnknown(String),
}

impl From<CoreError> for ActionError {
    fn from(e: CoreError) -> Self {
        ActionError::Core(e)
    }
}

impl From<cscx_store::Error> for ActionError {
    fn from(e: cscx_store::Error) -> Self {
        ActionError::Core(e.into())
    }
}

impl From<ConnectError> for ActionError {
    fn from(e: ConnectError) -> Self {
        match e {
            ConnectError::Refused(m) => ActionError::Failed(m),
            ConnectError::Unavailable(m) => ActionError::Core(CoreError::Unavailable(m)),
            ConnectError::Unknown(m) => ActionError::DeliveryUnknown(m),
        }
    }
}

/// The two halves of executing an approved action, for [`crate::approvals::execute`]: the
/// outside effect (before its transaction) and the database effect (inside it). An action
/// stored under a name the registry no longer has fails, recorded, instead of retrying.
pub(crate) async fn deliver(app: &App, run: &Run<'_>) -> Result<Option<Delivery>, ActionError> {
    registered(run)?.deliver(app, run).await
}

pub(crate) async fn apply(c: DbConn<'_>, run: &Run<'_>) -> Result<Applied, ActionError> {
    registered(run)?.apply(c, run).await
}

fn registered(run: &Run<'_>) -> Result<Action, ActionError> {
    Action::parse(&run.approval.action)
        .ok_or_else(|| ActionError::Failed(format!("unknown action {}", run.approval.action)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_and_the_agents_action_tools_agree() {
        let mut tools: Vec<&str> = cscx_ai::agent::tools()
            .iter()
            .filter(|t| t.is_action())
            .map(|t| t.name.as_str())
            .collect();
        let mut registry: Vec<&str> = Action::ALL.iter().map(|a| a.name()).collect();
        tools.sort();
        registry.sort();
        assert_eq!(tools, registry);
        for a in Action::ALL {
            assert_eq!(Action::parse(a.name()), Some(a));
        }
    }

    #[test]
    fn arguments_are_checked_by_their_action() {
        let args = |v: Value| v.as_object().cloned().unwrap();
        assert!(check(
            "create_task",
            &args(serde_json::json!({ "due": "tomorrow" }))
        )
        .is_err());
        assert!(check(
            "create_task",
            &args(serde_json::json!({ "due": "2027-01-04" }))
        )
        .is_ok());
        assert!(check(
            "send_email",
            &args(serde_json::json!({ "subject": "a\nb" }))
        )
        .is_err());
        assert!(check(
            "change_owner",
            &args(serde_json::json!({ "owner_email": "x" }))
        )
        .is_err());
        assert!(check("drop_tables", &Map::new()).is_err());
    }
}
