//! Where each shipped rollout file stands on the server (`POST /v1/rollouts`): how far it has
//! been read and the parser's state there, so the next piece continues exactly where the last
//! one ended, whichever replica receives it.

use async_trait::async_trait;

use crate::StoreResult;

/// One rollout file of one machine, as far as the server has read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolloutFileRow {
    pub workspace_id: String,
    /// The shipper's identity of the file (hash of machine and first line): stable across
    /// renames (archiving) and distinct for a replaced file.
    pub file_key: String,
    pub machine: String,
    /// Path relative to the Codex home, as the shipper saw it last.
    pub path: String,
    pub thread_id: Option<String>,
    /// Bytes read and committed (always at a line boundary).
    pub acked_offset: i64,
    /// The parser's state at `acked_offset` (`steward_rollout::ThreadState` as JSON).
    pub state_json: String,
    /// Lines read so far, lines that could not be read, lines of unknown types.
    pub lines: i64,
    pub problems: i64,
    pub unknown: i64,
    pub updated_at_ms: i64,
}

#[async_trait]
pub trait RolloutStore: Send + Sync {
    async fn rollout_file(&self, workspace_id: &str, file_key: &str) -> StoreResult<Option<RolloutFileRow>>;

    /// Stores `row` unless the stored row is already further (`acked_offset` never moves back,
    /// so a slow, stale writer cannot undo a newer one). Returns the stored offset afterwards.
    async fn save_rollout_file(&self, row: &RolloutFileRow) -> StoreResult<i64>;

    /// The turn id a `session_task.turn` span (`insert_turn_spans`) gave this trace, if any.
    async fn turn_for_trace(&self, workspace_id: &str, trace_id: &str) -> StoreResult<Option<String>>;
}
