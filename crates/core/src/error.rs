//! Use-case errors: what went wrong in terms a client can act on. The HTTP layer maps each
//! variant to a status and a stable code.

use cscx_domain::FieldErrors;

pub type CoreResult<T> = std::result::Result<T, CoreError>;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("validation failed: {0}")]
    Validation(FieldErrors),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("too many attempts; try again in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Store(cscx_store::Error),
    #[error("{0}")]
    Internal(String),
    /// An uploaded document that cannot be read (too large, malformed, encrypted, a scan).
    #[error(transparent)]
    Document(cscx_ai::document::DocumentError),
}

impl CoreError {
    pub fn field(field: &str, message: impl Into<String>) -> CoreError {
        let mut e = FieldErrors::new();
        e.add(field, message);
        CoreError::Validation(e)
    }
}

impl From<cscx_store::Error> for CoreError {
    fn from(e: cscx_store::Error) -> Self {
        match e {
            cscx_store::Error::NotFound => CoreError::NotFound("record"),
            cscx_store::Error::MissingReference { field, table } => CoreError::field(
                &field,
                format!(
                    "refers to a {} record that does not exist",
                    table.trim_end_matches('s')
                ),
            ),
            cscx_store::Error::Conflict { constraint } => {
                CoreError::Conflict(format!("conflicts with an existing record ({constraint})"))
            }
            other => CoreError::Store(other),
        }
    }
}

impl From<FieldErrors> for CoreError {
    fn from(e: FieldErrors) -> Self {
        CoreError::Validation(e)
    }
}
