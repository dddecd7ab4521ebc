//! Typed finders for records that belong to another: `stakeholders::of_customer(c, id)` instead
//! of naming a column as a string. They return every row (a customer's own people, contracts
//! and meetings, a contract's entitlements, a session's messages), in creation order: no
//! silent caps. Lists that can grow without bound page through `entity::list_by` instead.

/// `finders! { module: fn_name(column) -> Record, … }` declares one finder per line.
macro_rules! finders {
    ($( $module:ident: $name:ident($column:literal) -> $record:ident ),* $(,)?) => {
        $(
            pub mod $module {
                use crate::model::$record;
                use crate::{entity, DbConn, Id, Result};

                #[doc = concat!("Every ", stringify!($record), " whose `", $column, "` is `id`, oldest first.")]
                pub async fn $name(c: DbConn<'_>, id: Id) -> Result<Vec<$record>> {
                    entity::list_by(c, $column, id, None, u32::MAX).await
                }

                /// `list_by` checks the column only when called; this checks it in the tests.
                #[test]
                fn the_column_exists() {
                    use crate::entity::Entity;
                    assert!($record::COLUMNS.contains(&$column));
                }
            }
        )*
    };
}

finders! {
    stakeholders: of_customer("customer_id") -> Stakeholder,
    contracts: of_customer("customer_id") -> Contract,
    entitlements: of_contract("contract_id") -> Entitlement,
    meetings: of_customer("customer_id") -> Meeting,
    agent_messages: of_session("session_id") -> AgentMessage,
}
