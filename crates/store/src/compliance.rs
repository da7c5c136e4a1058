//! Storage types of the compliance log: records waiting to be sealed, sealed files, the
//! per-workspace digest-chain head, and turn spans (the only source of turn ids).

use steward_model::{LogType, TokenUsage};

/// The Codex event behind a pending record, with what the record builder needs.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingEvent {
    /// Stable across re-sends (the event's dedup key): the record's `event_id` derives from it.
    pub dedup_key: String,
    pub user_id: String,
    pub user_email: Option<String>,
    pub event_name: String,
    pub thread_id: Option<String>,
    pub timestamp_ms: i64,
    pub client_id: String,
    pub model: Option<String>,
    pub usage: Option<TokenUsage>,
    /// The raw record JSON (attributes hold the content: prompt, tool arguments and output).
    pub raw: String,
    /// From the turn span with the event's trace id, when traces were exported.
    pub turn_id: Option<String>,
    /// The event's trace id; set with no `turn_id` means its turn span has not arrived (yet).
    pub trace_id: Option<String>,
}

/// What a pending record is made from.
#[derive(Debug, Clone, PartialEq)]
pub enum PendingSource {
    /// A stored Codex event.
    Event(Box<PendingEvent>),
    /// A record composed in full when it happened (an administrative action), as JSON.
    Record(String),
}

/// A compliance record not yet sealed into a file.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingRecord {
    /// Position in the pending queue (ascending in insertion order within a backend).
    pub pending_id: i64,
    pub log_type: LogType,
    pub timestamp_ms: i64,
    /// When it was queued (the server's clock, Unix ms).
    pub queued_at_ms: i64,
    pub source: PendingSource,
}

/// An administrative record to append to a workspace's `AUDIT_LOG` (or another log type).
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditRecord {
    pub workspace_id: String,
    pub log_type: LogType,
    pub timestamp_ms: i64,
    /// The complete record JSON (OpenAI compliance envelope).
    pub record: String,
}

/// A sealed log file, as listed by the compliance API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComplianceFile {
    pub id: String,
    pub workspace_id: String,
    pub log_type: LogType,
    /// Unix microseconds, unique and increasing per workspace (each file later than the one
    /// sealed before it); files list in ascending `(end_time, id)` order.
    pub end_time: i64,
    /// Object-store path of the file.
    pub path: String,
    pub file_name: String,
    /// SHA-256 (hex) of the file's current bytes (changes when content is erased).
    pub sha256: String,
    /// Erasure-invariant commitment of the records (see `steward_compliance::chain`).
    pub records_root: String,
    pub size: u64,
    pub record_count: u64,
    pub first_timestamp: Option<String>,
    pub last_timestamp: Option<String>,
    /// The digest that sealed it.
    pub digest_sequence: u64,
    pub sealed_at_ms: i64,
    /// Set when its content was erased (retention or a deletion request).
    pub content_erased_at_ms: Option<i64>,
    /// Set when retention deleted it (its metadata window ended): no longer listed, and a
    /// download answers 410 Gone, as OpenAI's API does for expired files.
    pub expired_at_ms: Option<i64>,
}

/// Where a workspace's digest chain stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHeadRow {
    pub sequence: u64,
    pub digest_sha256: String,
    /// The latest file `end_time` (µs) sealed: the next sealing's files are never earlier, so a
    /// collector paging with `after=last_end_time` cannot miss them (even across replicas
    /// whose clocks differ).
    pub last_end_time: i64,
}

/// One sealing to record atomically: files in, chain head moved, pending records consumed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealCommit {
    pub workspace_id: String,
    /// The head this sealing continued; the commit fails with `Conflict` if another sealer
    /// moved it meanwhile (then nothing of this sealing is recorded).
    pub expected_head: Option<u64>,
    pub new_head: ChainHeadRow,
    pub files: Vec<ComplianceFile>,
    pub consumed_pending_ids: Vec<i64>,
    /// Threads and users each new file holds records of.
    pub subjects: Vec<crate::FileSubject>,
    /// Files this digest records as expired by retention: marked expired in the same commit.
    pub expired_file_ids: Vec<String>,
    /// Attributes removed from the raw JSON of the consumed records' events (`attributes.<name>`):
    /// once sealed, content lives only in the sealed file, where retention and deletion
    /// requests can erase it verifiably.
    pub strip_event_attributes: Vec<String>,
}

/// A listing query: files of some log types with `end_time >= after` (inclusive, as OpenAI's
/// API behaves), ascending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileQuery {
    pub workspace_id: String,
    pub log_types: Vec<LogType>,
    pub after_end_time: i64,
    pub limit: u32,
}

/// A `session_task.turn` span: the turn id of a trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnSpan {
    pub workspace_id: String,
    pub trace_id: String,
    pub turn_id: String,
    pub thread_id: Option<String>,
}
