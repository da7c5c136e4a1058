//! Storage types of compliance retention: legal holds, which files a retention pass touches,
//! and what it changed.

use steward_model::LogType;

/// A legal hold: while it exists, retention neither erases content nor deletes files of the
/// workspace (`user_id` = `None`) or of one user's records.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LegalHold {
    pub id: String,
    pub workspace_id: String,
    /// Steward user id; `None` holds the whole workspace.
    pub user_id: Option<String>,
    pub reason: String,
    pub created_at_ms: i64,
    /// Who placed it (an actor description, as in audit records).
    pub created_by: String,
}

/// What a sealed file holds records of, recorded at sealing so that legal holds and deletion
/// requests find their files without reading every file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SubjectKind {
    /// A Codex thread (`session_id` of the records).
    Thread,
    /// A Steward user (`actor.user_id` of the records).
    User,
}

impl SubjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Thread => "thread",
            SubjectKind::User => "user",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "thread" => Some(SubjectKind::Thread),
            "user" => Some(SubjectKind::User),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileSubject {
    pub file_id: String,
    pub kind: SubjectKind,
    pub value: String,
}

/// Which retention step a candidate query is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetentionStage {
    /// Files whose content is not yet erased (and that are not expired).
    Content,
    /// Files not yet expired.
    Metadata,
}

/// Files of one workspace and log type sealed before `before_end_time` (µs), oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionQuery {
    pub workspace_id: String,
    pub log_type: LogType,
    pub before_end_time: i64,
    pub stage: RetentionStage,
    pub limit: u32,
}

/// A file rewritten by an erasure (its bytes, hence SHA-256 and size, changed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasureUpdate {
    pub workspace_id: String,
    pub file_id: String,
    pub sha256: String,
    pub size: u64,
    /// Set when no content is left to erase in the file (so retention skips it from now on);
    /// `None` when records under legal hold kept theirs.
    pub content_erased_at_ms: Option<i64>,
}
