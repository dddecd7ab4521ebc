//! Who may do what. Every use-case that acts for a caller asks here, so the web pages, the API,
//! the agent's tools and (later) Slack buttons and automations share one set of rules:
//!
//! - every role reads the portfolio;
//! - CSMs, managers and admins write any customer (teams cover for each other);
//! - an agent session, and the general assistant's history, is private to its owner: managers
//!   and admins may read another's, nobody posts into another's;
//! - the assistant acts, so it needs a writer role (CSM or above);
//! - a CSM sees and decides the approvals they requested or that concern accounts they own
//!   (`customers.csm_id`); managers and admins see and decide all, within the action's policy
//!   role;
//! - a role that cannot be read from storage grants nothing (fails closed).

use cscx_domain::Role;
use cscx_store::Id;

use crate::auth::Principal;
use crate::error::{CoreError, CoreResult};

/// Refuses callers below `min`; `what` completes "this needs the … role to …".
pub fn require(who: &Principal, min: Role, what: &str) -> CoreResult<()> {
    if who.role >= min {
        Ok(())
    } else {
        Err(CoreError::Forbidden(format!(
            "{what} needs the {min} role; you are {}",
            who.role
        )))
    }
}

/// Writing portfolio data (customers, stakeholders, contracts, signals, usage).
pub fn write_portfolio(who: &Principal) -> CoreResult<()> {
    require(who, Role::Csm, "changing portfolio data")
}

/// Running the assistant, whose tools propose and (under auto-approving policies) take actions.
pub fn use_assistant(who: &Principal) -> CoreResult<()> {
    require(who, Role::Csm, "using the assistant")
}

/// Reading a session owned by `owner`. Another's session is reported as missing, so its
/// existence is not disclosed.
pub fn read_session(who: &Principal, owner: Option<Id>) -> CoreResult<()> {
    if owner == Some(who.user_id) || who.role >= Role::Manager {
        Ok(())
    } else {
        Err(CoreError::NotFound("session"))
    }
}

/// Posting into (or ending) a session: its owner only.
pub fn post_in_session(who: &Principal, owner: Option<Id>) -> CoreResult<()> {
    read_session(who, owner)?;
    if owner == Some(who.user_id) {
        Ok(())
    } else {
        Err(CoreError::Forbidden(
            "only the person who started this session can post in it".into(),
        ))
    }
}

/// Whether the caller sees every approval (true) or only their own and their accounts' (false).
pub fn sees_all_approvals(who: &Principal) -> bool {
    who.role >= Role::Manager
}

/// Seeing one approval: requested by the caller, or about an account the caller owns, or the
/// caller is a manager or admin. Otherwise it is reported as missing.
pub fn see_approval(
    who: &Principal,
    requested_by: Option<Id>,
    account_owner: Option<Id>,
) -> CoreResult<()> {
    if sees_all_approvals(who)
        || requested_by == Some(who.user_id)
        || account_owner == Some(who.user_id)
    {
        Ok(())
    } else {
        Err(CoreError::NotFound("approval"))
    }
}

/// The role an approval's stored `required_role` asks for; an unreadable one asks for admin.
pub fn stored_role(text: &str) -> Role {
    text.parse().unwrap_or(Role::Admin)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::AuthVia;
    use cscx_domain::TokenScope;

    fn caller(role: Role) -> Principal {
        Principal {
            user_id: Id::new(),
            email: "x@example.com".into(),
            name: None,
            role,
            scope: TokenScope::Full,
            via: AuthVia::Token {
                token_id: Id::new(),
            },
        }
    }

    /// Every rule against every role: the table in the module comment, as code.
    #[test]
    fn rules_by_role() {
        let other = Some(Id::new());
        for &role in Role::ALL {
            let me = caller(role);
            let mine = Some(me.user_id);
            let writer = role >= Role::Csm;
            let lead = role >= Role::Manager;
            assert_eq!(write_portfolio(&me).is_ok(), writer, "{role} write");
            assert_eq!(use_assistant(&me).is_ok(), writer, "{role} assistant");
            assert!(read_session(&me, mine).is_ok());
            assert!(post_in_session(&me, mine).is_ok());
            assert_eq!(read_session(&me, other).is_ok(), lead, "{role} read other");
            assert!(post_in_session(&me, other).is_err(), "{role} post other");
            assert!(see_approval(&me, mine, None).is_ok());
            assert!(see_approval(&me, None, mine).is_ok());
            assert_eq!(
                see_approval(&me, other, other).is_ok(),
                lead,
                "{role} approval"
            );
        }
    }

    #[test]
    fn unreadable_stored_roles_fail_closed() {
        assert_eq!(stored_role("manager"), Role::Manager);
        assert_eq!(stored_role("superuser"), Role::Admin);
        assert_eq!(stored_role(""), Role::Admin);
    }
}
