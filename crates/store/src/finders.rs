//! Typed finders for records that belong to another: `stakeholders::of_customer(c, id)` instead
//! of naming a column as a string. They return every row (a customer's own people, contracts
//! and meetings, a contract's entitlements, a session's messages), in creation order: no
//! silent caps. Lists that can grow without bound page through `entity::list_by` instead.

/// `finder!(fn_name("column") -> Record)` declares one finder (a capability module with more
/// queries of its own, like [`crate::contracts`], uses it directly).
macro_rules! finder {
    ($name:ident($column:literal) -> $record:ident) => {
        #[doc = concat!("Every ", stringify!($record), " whose `", $column, "` is `id`, oldest first.")]
        pub async fn $name(
            c: $crate::DbConn<'_>,
            id: $crate::Id,
        ) -> $crate::Result<Vec<$crate::model::$record>> {
            $crate::entity::list_by(c, $column, id, None, u32::MAX).await
        }

        /// `list_by` checks the column only when called; this checks it in the tests.
        #[test]
        fn the_finder_column_exists() {
            use $crate::entity::Entity;
            assert!($crate::model::$record::COLUMNS.contains(&$column));
        }
    };
}
pub(crate) use finder;

/// `paged_finder!(fn_name("column") -> Record)`: one page of the records, in creation order,
/// after the cursor (for API lists that can grow without bound).
macro_rules! paged_finder {
    ($name:ident($column:literal) -> $record:ident) => {
        #[doc = concat!("One page of the ", stringify!($record), "s whose `", $column, "` is `id`, oldest first, after `after`.")]
        pub async fn $name(
            c: $crate::DbConn<'_>,
            id: $crate::Id,
            after: Option<$crate::Id>,
            limit: u32,
        ) -> $crate::Result<Vec<$crate::model::$record>> {
            $crate::entity::list_by(c, $column, id, after, limit).await
        }
    };
}
pub(crate) use paged_finder;

/// `finders! { module: fn_name [/ paged_name]("column") -> Record, … }`: a module per line
/// with the whole list and, where an API lists it a page at a time, its pages.
macro_rules! finders {
    ($( $module:ident: $name:ident $(/ $paged:ident)? ($column:literal) -> $record:ident ),* $(,)?) => {
        $(
            pub mod $module {
                $crate::finders::finder!($name($column) -> $record);
                $( $crate::finders::paged_finder!($paged($column) -> $record); )?
            }
        )*
    };
}

finders! {
    stakeholders: of_customer / page_of_customer("customer_id") -> Stakeholder,
    entitlements: of_contract / page_of_contract("contract_id") -> Entitlement,
    meetings: of_customer("customer_id") -> Meeting,
    agent_messages: of_session("session_id") -> AgentMessage,
}
