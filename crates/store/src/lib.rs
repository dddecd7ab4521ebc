//! CSCX database layer: column codecs, one generic repository for every table, specialised
//! queries where the product needs them, and embedded migrations for SQLite and PostgreSQL.

pub mod agents;
pub mod approvals;
pub mod contracts;
pub mod customers;
pub mod dashboard;
pub mod db;
pub mod entity;
pub mod error;
pub mod events;
pub mod finders;
pub mod intelligence;
pub mod mail_deliveries;
pub mod migrate;
pub mod model;
pub mod product;
pub mod tasks;
pub mod tracked_users;
pub mod types;
pub mod usage;

pub use db::{Backend, Conn, Db, DbConn, PoolConfig, Tx};
pub use entity::Entity;
pub use error::{Error, Result};
pub use finders::{agent_messages, entitlements, meetings, stakeholders};
pub use types::{
    ApprovalStatusText, Embedding, GradeText, Id, Money, RoleText, SeverityText, StageText,
    TaskPriorityText, TaskStatusText, Text, TextList, Timestamp,
};
