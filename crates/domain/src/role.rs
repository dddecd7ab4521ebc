//! Who may do what. Roles are ordered: each one can do everything the one below it can.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

crate::words! {
    /// Ordered: each role can do everything the one below it can.
    #[derive(PartialOrd, Ord)]
    pub enum Role as "role" {
        /// Reads the portfolio.
        Viewer = "viewer",
        /// Writes portfolio data for the accounts they run.
        Csm = "csm",
        /// Writes portfolio data; decides escalations.
        Manager = "manager",
        /// Everything, plus users and API tokens.
        Admin = "admin",
    }
}

impl Role {
    pub fn can_write_portfolio(self) -> bool {
        self >= Role::Csm
    }

    pub fn can_manage_users(self) -> bool {
        self == Role::Admin
    }
}

/// What an API token may reach. `Ingest` tokens reach the ingestion endpoints and nothing else,
/// so a key embedded in product telemetry cannot read the portfolio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenScope {
    Full,
    Ingest,
}

impl TokenScope {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Full => "full",
            TokenScope::Ingest => "ingest",
        }
    }
}

impl FromStr for TokenScope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "full" => Ok(TokenScope::Full),
            "ingest" => Ok(TokenScope::Ingest),
            _ => Err(format!("unknown scope {s:?}: expected full or ingest")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_by_power() {
        assert!(!Role::Viewer.can_write_portfolio());
        assert!(Role::Csm.can_write_portfolio());
        assert!(Role::Manager.can_write_portfolio());
        assert!(!Role::Manager.can_manage_users());
        assert!(Role::Admin.can_manage_users());
    }

    #[test]
    fn roles_round_trip_through_text() {
        for &r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        assert!("root".parse::<Role>().is_err());
    }
}
