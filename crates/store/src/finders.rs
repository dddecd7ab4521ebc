//! Typed finders for records that belong to another: `stakeholders::of_customer(c, id)` instead
//! of naming a column as a string. They return every row (a customer's own people, contracts
//! and meetings, a contract's entitlements, a session's messages), in creation order: no
//! silent caps. Lists that can grow without bound page through `entity::list_by` instead.

use crate::entity::{self, Entity};
use crate::{DbConn, Id, Result};

/// Every `E` whose `column` is `id`.
async fn all_of<E: Entity>(c: DbConn<'_>, column: &str, id: Id) -> Result<Vec<E>> {
    entity::list_by(c, column, id, None, u32::MAX).await
}

pub mod stakeholders {
    use super::*;
    use crate::model::Stakeholder;

    pub async fn of_customer(c: DbConn<'_>, customer_id: Id) -> Result<Vec<Stakeholder>> {
        all_of(c, "customer_id", customer_id).await
    }
}

pub mod contracts {
    use super::*;
    use crate::model::Contract;

    pub async fn of_customer(c: DbConn<'_>, customer_id: Id) -> Result<Vec<Contract>> {
        all_of(c, "customer_id", customer_id).await
    }
}

pub mod entitlements {
    use super::*;
    use crate::model::Entitlement;

    pub async fn of_contract(c: DbConn<'_>, contract_id: Id) -> Result<Vec<Entitlement>> {
        all_of(c, "contract_id", contract_id).await
    }
}

pub mod meetings {
    use super::*;
    use crate::model::Meeting;

    pub async fn of_customer(c: DbConn<'_>, customer_id: Id) -> Result<Vec<Meeting>> {
        all_of(c, "customer_id", customer_id).await
    }
}

pub mod agent_messages {
    use super::*;
    use crate::model::AgentMessage;

    pub async fn of_session(c: DbConn<'_>, session_id: Id) -> Result<Vec<AgentMessage>> {
        all_of(c, "session_id", session_id).await
    }
}
