use std::fmt;

/// Errors of a storage backend. Backends map their driver errors into these.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A referenced row does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// A uniqueness rule was violated (e.g. the same email twice).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database cannot be reached or is overloaded; the operation may be retried.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything else (a bug, corrupt data, a failed migration).
    #[error("storage error: {0}")]
    Other(String),
}

impl StoreError {
    pub fn other(err: impl fmt::Display) -> Self {
        StoreError::Other(err.to_string())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
