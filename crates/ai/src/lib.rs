//! CSCX AI: everything that reads or writes language.
//!
//! - [`document`]: recognise an uploaded file by its content and extract its text, safely.
//! - [`isolate`]: read untrusted documents in a child process under kernel limits.
//! - [`contract`]: the builtin contract extractor (typed facts with confidence and evidence).
//! - [`eval`]: the CUAD evaluation harness that measures the extractor against lawyers' labels.

pub mod agent;
pub mod contract;
pub mod document;
pub mod eval;
pub mod isolate;
pub mod llm;
