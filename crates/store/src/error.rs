//! Store errors, with the database's constraint violations turned into values the API can
//! report precisely (409 for a duplicate, 422 for a missing reference) instead of a 500.

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("not found")]
    NotFound,
    /// A unique constraint rejected the write; `constraint` names it when the backend says.
    #[error("conflicts with an existing record ({constraint})")]
    Conflict { constraint: String },
    /// A foreign key points nowhere: `field` is the column, `table` the one it refers to.
    #[error("{field} refers to a {table} record that does not exist")]
    MissingReference { field: String, table: String },
    #[error("invalid stored data: {0}")]
    Corrupt(String),
    #[error("configuration: {0}")]
    Config(String),
    #[error("migration: {0}")]
    Migration(String),
    #[error("database: {0}")]
    Db(sqlx::Error),
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            if db.is_unique_violation() {
                let constraint = db
                    .constraint()
                    .map(str::to_owned)
                    .unwrap_or_else(|| db.message().to_owned());
                return Error::Conflict { constraint };
            }
            if db.is_foreign_key_violation() {
                return Error::MissingReference {
                    field: db.constraint().unwrap_or("reference").to_owned(),
                    table: String::new(),
                };
            }
        }
        if matches!(e, sqlx::Error::RowNotFound) {
            return Error::NotFound;
        }
        Error::Db(e)
    }
}

impl Error {
    /// True for failures worth retrying as they are (lock contention, lost connections).
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Db(sqlx::Error::Io(_))
            | Error::Db(sqlx::Error::PoolTimedOut)
            | Error::Db(sqlx::Error::PoolClosed) => true,
            Error::Db(sqlx::Error::Database(db)) => {
                let code = db.code().unwrap_or_default();
                // SQLITE_BUSY / SQLITE_LOCKED; PostgreSQL serialization failure / deadlock.
                matches!(code.as_ref(), "5" | "6" | "517" | "40001" | "40P01")
            }
            _ => false,
        }
    }
}
