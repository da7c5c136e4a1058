//! Deletion requests: erase the content of one thread's or one user's records from every
//! sealed file, keeping the chain verifiable (tombstones keep each field's hash), refused while
//! a legal hold covers them, and audited with who asked.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use serde_json::{json, Value};
use steward_store::SubjectKind;

use super::audit::{self, Actor};
use super::records::{record_thread, record_user};
use super::sealer::now_micros;
use super::{ComplianceError, ComplianceService};

/// What a deletion request erased.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ErasureOutcome {
    pub workspace_id: String,
    /// `thread` or `user`.
    pub subject: String,
    pub id: String,
    pub files: Vec<String>,
    pub records_erased: u64,
    pub fields_erased: u64,
    /// Records of the thread that belong to a user under legal hold, left untouched.
    pub held_records_kept: u64,
}

impl ComplianceService {
    /// Erases the content of every record of a Codex thread (a Compliance API "codex task").
    /// Pending records are sealed first so that none escapes. `NotFound` when no sealed file
    /// holds the thread; `Conflict` under a legal hold of the workspace or the thread's user.
    pub async fn erase_thread(
        &self,
        workspace_id: &str,
        thread_id: &str,
        actor: &Actor,
    ) -> Result<ErasureOutcome, ComplianceError> {
        self.erase_subject(workspace_id, SubjectKind::Thread, thread_id, actor)
            .await
    }

    /// Erases the content of every record of a Steward user (by user id).
    pub async fn erase_user(
        &self,
        workspace_id: &str,
        user_id: &str,
        actor: &Actor,
    ) -> Result<ErasureOutcome, ComplianceError> {
        self.erase_subject(workspace_id, SubjectKind::User, user_id, actor)
            .await
    }

    async fn erase_subject(
        &self,
        ws: &str,
        kind: SubjectKind,
        id: &str,
        actor: &Actor,
    ) -> Result<ErasureOutcome, ComplianceError> {
        self.seal_workspace(ws).await?;
        let files = self.store.files_with_subject(ws, kind, id).await?;
        if files.is_empty() {
            return Err(ComplianceError::NotFound(format!(
                "no compliance records of {} {id} in workspace {ws}",
                kind.as_str()
            )));
        }
        let holds = self.store.legal_holds(Some(ws)).await?;
        if let Some(h) = holds
            .iter()
            .find(|h| h.user_id.is_none() || (kind == SubjectKind::User && h.user_id.as_deref() == Some(id)))
        {
            return Err(ComplianceError::Conflict(format!(
                "{} is under legal hold {} ({}): content cannot be deleted",
                if h.user_id.is_none() {
                    format!("workspace {ws}")
                } else {
                    format!("user {id}")
                },
                h.id,
                h.reason
            )));
        }
        let held_users: HashSet<&str> = holds.iter().filter_map(|h| h.user_id.as_deref()).collect();
        let reason = format!("deletion request ({})", actor.describe());
        let mut outcome = ErasureOutcome {
            workspace_id: ws.to_owned(),
            subject: kind.as_str().to_owned(),
            id: id.to_owned(),
            ..Default::default()
        };
        // A thread's records of a user under hold are kept (and counted).
        // Atomic rather than a Cell: the closure lives across awaits of a future that must be Send.
        let kept = AtomicU64::new(0);
        let select = |r: &Value| {
            let matches = match kind {
                SubjectKind::Thread => record_thread(r) == Some(id),
                SubjectKind::User => record_user(r) == Some(id),
            };
            if matches && record_user(r).is_some_and(|u| held_users.contains(u)) {
                kept.fetch_add(1, Ordering::Relaxed);
                return false;
            }
            matches
        };
        for file in &files {
            let erased = self.erase_in_file(file, &select, &reason, false).await?;
            outcome.files.push(file.id.clone());
            outcome.records_erased += erased.records_erased;
            outcome.fields_erased += erased.fields_erased;
        }
        outcome.held_records_kept = kept.load(Ordering::Relaxed);
        if outcome.records_erased == 0 && outcome.held_records_kept > 0 {
            return Err(ComplianceError::Conflict(format!(
                "the records of {} {id} belong to a user under legal hold: content cannot be deleted",
                kind.as_str()
            )));
        }
        let record = audit::record(
            ws,
            actor,
            "compliance.content_deleted",
            None,
            Some(json!({
                "subject": outcome.subject,
                "id": outcome.id,
                "files": outcome.files,
                "records_erased": outcome.records_erased,
                "fields_erased": outcome.fields_erased,
            })),
            now_micros() / 1000,
        );
        self.store.append_audit_record(record).await?;
        Ok(outcome)
    }
}
