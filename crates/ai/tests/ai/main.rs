//! cscx-ai tests: CUAD quality floors, our own documents in every format, and the language-model
//! providers against a local mock server replaying recorded exchanges.

mod cuad;
mod documents;
mod llm_extraction;
mod providers;
