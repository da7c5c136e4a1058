//! The one error type of the chain module. Verification findings are *not* errors: they are
//! [`Problem`](super::Problem)s in a report, because a verifier must name everything it finds
//! rather than stop at the first discrepancy. `ChainError` is for inputs the caller must fix
//! and for I/O that prevented the work from being done at all.

use std::path::PathBuf;

/// Result alias for the chain module.
pub type Result<T, E = ChainError> = std::result::Result<T, E>;

/// Everything that can go wrong sealing, erasing, signing, storing or verifying.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// A record handed to [`build_file`](super::build_file) is unusable.
    #[error("record {index}: {reason}")]
    InvalidRecord { index: usize, reason: String },

    /// A line of a sealed file is unusable (not canonical JSON, not an object, ...).
    #[error("line {line}: {reason}")]
    InvalidLine { line: u64, reason: String },

    /// An identifier that becomes a path segment is empty or contains unsafe characters.
    #[error("invalid {what} {value:?}: use 1-128 characters from A-Z a-z 0-9 . _ - (not starting with '.')")]
    InvalidSegment { what: &'static str, value: String },

    /// `end_time` is outside the range chrono can represent.
    #[error("invalid end_time {0} (Unix seconds)")]
    InvalidTime(i64),

    /// A sealed file handed to [`build_digest`](super::build_digest) belongs elsewhere.
    #[error("digest: {0}")]
    Digest(String),

    /// A signing key or public key could not be read or parsed.
    #[error("key {}: {reason}", path.as_ref().map(|p| p.display().to_string()).unwrap_or_default())]
    Key { path: Option<PathBuf>, reason: String },

    /// Local file I/O (keys).
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },

    /// The store configuration string cannot be used.
    #[error("log store {config:?}: {reason}")]
    StoreConfig { config: String, reason: String },

    /// An object path is not valid in an object store.
    #[error("invalid object path {path:?}: {reason}")]
    InvalidPath { path: String, reason: String },

    /// The object does not exist.
    #[error("object {path:?} not found")]
    NotFound { path: String },

    /// A create-only write found the object already there.
    #[error("object {path:?} already exists")]
    AlreadyExists { path: String },

    /// Any other object store failure.
    #[error("object store: {0}")]
    Store(object_store::Error),

    /// JSON (de)serialisation failure.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),

    /// A blocking task panicked or was cancelled.
    #[error("background task failed: {0}")]
    Task(String),
}

impl ChainError {
    /// Map an object store error, turning "not found"/"already exists" into our variants.
    pub(crate) fn from_store(path: &str, err: object_store::Error) -> Self {
        match err {
            object_store::Error::NotFound { .. } => ChainError::NotFound {
                path: path.to_owned(),
            },
            object_store::Error::AlreadyExists { .. } => ChainError::AlreadyExists {
                path: path.to_owned(),
            },
            other => ChainError::Store(other),
        }
    }
}
