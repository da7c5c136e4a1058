//! The compliance log service: seals pending records into signed, chained files, lists and
//! serves them with OpenAI Compliance API semantics, and verifies the store.
//!
//! Storage of rows is the `Store`'s; files, digests and verification are
//! `steward_compliance::chain`'s; this module decides what goes into which file when.

pub mod audit;
mod erasure;
mod export;
mod holds;
mod listing;
pub mod records;
mod retention;
mod sealer;
mod status;
pub mod tasks;

use std::sync::Arc;
use std::time::Duration;

use steward_compliance::chain::{ChainError, LogStore, SigningKeyFile};
use steward_store::{Store, StoreError};

pub use erasure::ErasureOutcome;
pub use export::{ExportManifest, ExportOutcome, EXPORT_MANIFEST_PATH};
pub use listing::{format_time, Download, FileListParams, FilePage, DEFAULT_LIMIT, MAX_LIMIT};
pub use retention::{RetentionOutcome, RetentionPolicy, RetentionWindow};
pub use sealer::SealOutcome;
pub use status::ComplianceStatus;

/// Tuning of sealing and downloads (from `[compliance]` in the configuration).
#[derive(Debug, Clone)]
pub struct ComplianceConfig {
    /// A workspace's pending records are sealed once the oldest is this old.
    pub seal_interval: Duration,
    /// How long a Codex record whose turn span has not arrived waits before it is sealed
    /// without a turn id. Codex exports logs and traces in separate requests that arrive in
    /// either order, and a sealed file never changes, so sealing at once could lose the turn id
    /// for good. Records without a trace id (or whose span is there) never wait.
    pub turn_span_wait: Duration,
    /// Records per file at most; a larger backlog becomes several files.
    pub max_records_per_file: usize,
    /// Bytes per file at most (a single larger record still gets a file of its own).
    pub max_file_bytes: usize,
    /// Lifetime of signed download URLs (object stores that support them).
    pub signed_url_ttl: Duration,
    /// How long content and files are kept, per log type (default: forever).
    pub retention: RetentionPolicy,
}

impl Default for ComplianceConfig {
    fn default() -> Self {
        ComplianceConfig {
            seal_interval: Duration::from_secs(3600),
            turn_span_wait: Duration::from_secs(30),
            max_records_per_file: 10_000,
            max_file_bytes: 64 << 20,
            signed_url_ttl: Duration::from_secs(3600),
            retention: RetentionPolicy::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ComplianceError {
    /// Bad parameters (HTTP 400), naming the parameter.
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    /// Existed, but retention deleted it (HTTP 410, as OpenAI answers for expired files).
    #[error("{0}")]
    Gone(String),
    /// Another sealer (replica or process) moved the chain first; retry later.
    #[error("{0}")]
    Conflict(String),
    #[error("compliance log files: {0}")]
    Chain(#[from] ChainError),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ComplianceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => ComplianceError::Conflict(m),
            other => ComplianceError::Store(other),
        }
    }
}

/// Cheap to clone; share one per process.
#[derive(Clone)]
pub struct ComplianceService {
    store: Arc<dyn Store>,
    logs: Arc<LogStore>,
    key: Arc<SigningKeyFile>,
    config: ComplianceConfig,
}

impl ComplianceService {
    pub fn new(
        store: Arc<dyn Store>,
        logs: Arc<LogStore>,
        key: Arc<SigningKeyFile>,
        config: ComplianceConfig,
    ) -> Self {
        ComplianceService {
            store,
            logs,
            key,
            config,
        }
    }

    pub fn log_store(&self) -> &LogStore {
        &self.logs
    }

    pub fn signing_key(&self) -> &SigningKeyFile {
        &self.key
    }

    pub fn config(&self) -> &ComplianceConfig {
        &self.config
    }
}
