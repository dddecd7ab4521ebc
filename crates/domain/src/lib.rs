//! Pure CSCX types and rules: no IO, no async. Everything here is testable without a database.

pub mod clock;
pub mod events;
pub mod health;
pub mod import;
pub mod money;
pub mod rhythm;
pub mod risk;
pub mod role;
pub mod stats;
pub mod tasks;
pub mod usage;
pub mod validate;
pub mod word;

pub use clock::{Clock, FakeClock, SystemClock};
pub use role::{Role, TokenScope};
pub use validate::{FieldErrors, Stage};
pub use word::{ApprovalStatus, Word};
