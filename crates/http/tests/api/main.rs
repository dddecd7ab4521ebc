//! The HTTP API over a real socket, on SQLite and (when configured) PostgreSQL. One test binary
//! with a module per capability; the app under test is `cscx_testkit::TestApp`.

mod agents;
mod contracts;
mod events;
mod foundation;
mod hardening;
mod intelligence;
mod segment;
mod tasks;
mod timeline;
mod web;

pub use cscx_testkit::app::{each_backend, error_code, TestApp};
