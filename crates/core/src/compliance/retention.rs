//! Retention: content erased after one window, files deleted after another, per log type;
//! legal holds stop both. Every change is itself an `AUDIT_LOG` record.
//!
//! Why this shape:
//!
//! * **Content first, metadata later.** Privacy rules want prompt and tool text gone early;
//!   auditors want to know for years that an interaction happened. Content is erased with
//!   tombstones that keep each field's hash ([`steward_compliance::chain::erase_content`]), so
//!   the digest chain still verifies; the file stays listed.
//! * **Expiry is signed.** A file past its metadata window is listed as `expired` in a new
//!   digest *before* it is deleted, so the verifier can tell deletion by retention from deletion
//!   by anyone else. A crash after the commit and before the delete leaves the file in place
//!   (harmless: the next pass does not list it again, and verify accepts an expired file that is
//!   still present).
//! * **Windows count from the sealing** (`end_time`), which is after every record in the file:
//!   content is never erased earlier than its window.
//! * **Holds are checked per file** through the subjects recorded at sealing, without reading
//!   files: a workspace hold stops everything; a user hold keeps that user's records' content
//!   and every file that holds any of them.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};
use steward_compliance::chain::{erase_content, ExpiredEntry};
use steward_model::LogType;
use steward_store::{
    ChainHeadRow, ComplianceFile, ErasureUpdate, RetentionQuery, RetentionStage, SealCommit,
};

use super::audit::{self, Actor};
use super::records::{record_user, timestamp};
use super::sealer::now_micros;
use super::{ComplianceError, ComplianceService};

/// Files handled per query; a larger backlog takes several rounds of one pass.
const FILES_PER_ROUND: u32 = 500;

/// How long content and metadata of one log type are kept (`None`: forever).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RetentionWindow {
    pub content: Option<Duration>,
    pub metadata: Option<Duration>,
}

/// Retention per log type; log types not listed are kept forever.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionPolicy {
    pub by_log_type: BTreeMap<LogType, RetentionWindow>,
}

impl RetentionPolicy {
    /// Content cannot outlive its file: a content window longer than the metadata window is
    /// a configuration mistake, named here.
    pub fn validate(&self) -> Result<(), String> {
        for (log_type, w) in &self.by_log_type {
            if let (Some(c), Some(m)) = (w.content, w.metadata) {
                if c > m {
                    return Err(format!(
                        "retention of {log_type}: content ({} days) cannot be kept longer than metadata ({} days)",
                        c.as_secs() / 86_400,
                        m.as_secs() / 86_400
                    ));
                }
            }
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.by_log_type
            .values()
            .all(|w| w.content.is_none() && w.metadata.is_none())
    }
}

/// What one retention pass did in one workspace.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct RetentionOutcome {
    pub workspace_id: String,
    /// A workspace-wide legal hold stopped the pass.
    pub workspace_held: bool,
    /// Files whose content was erased (fully, or but for held users' records).
    pub content_erased_files: Vec<String>,
    pub fields_erased: u64,
    /// Files kept past their window because they hold records of users under legal hold.
    pub held_files: Vec<String>,
    /// Files deleted (listed as expired in digest `expiry_digest`).
    pub expired_files: Vec<String>,
    pub expiry_digest: Option<u64>,
}

impl RetentionOutcome {
    fn changed(&self) -> bool {
        !self.content_erased_files.is_empty() || !self.expired_files.is_empty()
    }
}

/// The result of erasing in one file.
pub(super) struct FileErasure {
    pub fields_erased: u64,
    pub records_erased: u64,
}

fn days(d: Duration) -> u64 {
    d.as_secs() / 86_400
}

impl ComplianceService {
    /// Applies the configured retention to every workspace with sealed files, as of now.
    pub async fn apply_retention(&self) -> Vec<Result<RetentionOutcome, ComplianceError>> {
        self.apply_retention_at(now_micros()).await
    }

    /// [`Self::apply_retention`] as of `now_us` (Unix µs): tests move time forward this way.
    pub async fn apply_retention_at(&self, now_us: i64) -> Vec<Result<RetentionOutcome, ComplianceError>> {
        if self.config.retention.is_empty() {
            return Vec::new();
        }
        let workspaces = match self.store.compliance_workspaces().await {
            Ok(w) => w,
            Err(e) => return vec![Err(e.into())],
        };
        let mut out = Vec::new();
        for ws in workspaces {
            out.push(self.retention_for_workspace(&ws, now_us).await);
        }
        out
    }

    /// Runs [`Self::apply_retention`] every `poll` until the future is dropped.
    pub async fn run_retention(&self, poll: Duration) {
        let mut tick = tokio::time::interval(poll);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            for result in self.apply_retention().await {
                match result {
                    Ok(o) if o.changed() => tracing::info!(
                        workspace = %o.workspace_id,
                        content_erased = o.content_erased_files.len(),
                        expired = o.expired_files.len(),
                        held = o.held_files.len(),
                        "applied compliance retention"
                    ),
                    Ok(_) => {}
                    Err(ComplianceError::Conflict(m)) => {
                        tracing::debug!(reason = %m, "another replica applied retention first")
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "applying compliance retention failed; retrying at the next pass")
                    }
                }
            }
        }
    }

    async fn retention_for_workspace(
        &self,
        ws: &str,
        now_us: i64,
    ) -> Result<RetentionOutcome, ComplianceError> {
        let mut outcome = RetentionOutcome {
            workspace_id: ws.to_owned(),
            ..Default::default()
        };
        let holds = self.store.legal_holds(Some(ws)).await?;
        if holds.iter().any(|h| h.user_id.is_none()) {
            outcome.workspace_held = true;
            return Ok(outcome);
        }
        let held_users: HashSet<String> = holds.into_iter().filter_map(|h| h.user_id).collect();
        let mut to_expire: Vec<(ComplianceFile, String)> = Vec::new();
        for (&log_type, window) in &self.config.retention.by_log_type {
            if let Some(content) = window.content {
                let reason = format!("retention: {log_type} content {} days", days(content));
                self.erase_due_content(
                    ws,
                    log_type,
                    now_us - content.as_micros() as i64,
                    &held_users,
                    &reason,
                    &mut outcome,
                )
                .await?;
            }
            if let Some(metadata) = window.metadata {
                let reason = format!("retention: {log_type} metadata {} days", days(metadata));
                let query = RetentionQuery {
                    workspace_id: ws.to_owned(),
                    log_type,
                    before_end_time: now_us - metadata.as_micros() as i64,
                    stage: RetentionStage::Metadata,
                    limit: FILES_PER_ROUND,
                };
                for file in self.store.retention_candidates(&query).await? {
                    if self.holds_any(ws, &file.id, &held_users).await? {
                        outcome.held_files.push(file.id);
                    } else {
                        to_expire.push((file, reason.clone()));
                    }
                }
            }
        }
        if !to_expire.is_empty() {
            outcome.expiry_digest = Some(self.expire_files(ws, &to_expire).await?);
            outcome.expired_files = to_expire.into_iter().map(|(f, _)| f.id).collect();
        }
        outcome.held_files.sort();
        outcome.held_files.dedup();
        if outcome.changed() {
            let record = audit::record(
                ws,
                &Actor::System {
                    reason: "retention".into(),
                },
                "compliance.retention_applied",
                None,
                Some(json!({
                    "content_erased_files": outcome.content_erased_files,
                    "fields_erased": outcome.fields_erased,
                    "expired_files": outcome.expired_files,
                    "expiry_digest": outcome.expiry_digest,
                    "held_files": outcome.held_files,
                })),
                now_us / 1000,
            );
            self.store.append_audit_record(record).await?;
        }
        Ok(outcome)
    }

    async fn erase_due_content(
        &self,
        ws: &str,
        log_type: LogType,
        before_us: i64,
        held_users: &HashSet<String>,
        reason: &str,
        outcome: &mut RetentionOutcome,
    ) -> Result<(), ComplianceError> {
        let query = RetentionQuery {
            workspace_id: ws.to_owned(),
            log_type,
            before_end_time: before_us,
            stage: RetentionStage::Content,
            limit: FILES_PER_ROUND,
        };
        loop {
            let files = self.store.retention_candidates(&query).await?;
            let mut finished = 0;
            for file in &files {
                let held = self.holds_any(ws, &file.id, held_users).await?;
                let select = |r: &Value| record_user(r).is_none_or(|u| !held_users.contains(u));
                let erased = self.erase_in_file(file, select, reason, !held).await?;
                outcome.fields_erased += erased.fields_erased;
                if erased.fields_erased > 0 || !held {
                    outcome.content_erased_files.push(file.id.clone());
                }
                if held {
                    outcome.held_files.push(file.id.clone());
                } else {
                    finished += 1;
                }
            }
            // Held files stay candidates; stop when a round made no progress.
            if files.len() < FILES_PER_ROUND as usize || finished == 0 {
                return Ok(());
            }
        }
    }

    /// Whether a file holds records of a user under legal hold.
    async fn holds_any(
        &self,
        ws: &str,
        file_id: &str,
        held_users: &HashSet<String>,
    ) -> Result<bool, ComplianceError> {
        if held_users.is_empty() {
            return Ok(false);
        }
        let subjects = self.store.file_subjects(ws, file_id).await?;
        Ok(subjects
            .iter()
            .any(|s| s.kind == steward_store::SubjectKind::User && held_users.contains(&s.value)))
    }

    /// Erases the content of the selected records of one file, rewrites it when something
    /// changed, and records the file's current SHA-256 (also when nothing changed, which
    /// repairs the row after a crash between the rewrite and the update). `done` marks the
    /// file as having no content left, so retention passes skip it.
    pub(super) async fn erase_in_file(
        &self,
        file: &ComplianceFile,
        select: impl Fn(&Value) -> bool,
        reason: &str,
        done: bool,
    ) -> Result<FileErasure, ComplianceError> {
        let bytes = self.logs.get(&file.path).await?;
        let erased_at = timestamp(now_micros() / 1000);
        let erased = erase_content(&bytes, select, &erased_at, reason)?;
        let current = if erased.fields_erased > 0 {
            let new = bytes::Bytes::from(erased.bytes);
            self.logs.put(&file.path, new.clone()).await?;
            new
        } else {
            bytes
        };
        self.store
            .record_erasure(&ErasureUpdate {
                workspace_id: file.workspace_id.clone(),
                file_id: file.id.clone(),
                sha256: hex::encode(Sha256::digest(&current)),
                size: current.len() as u64,
                content_erased_at_ms: done.then(|| now_micros() / 1000),
            })
            .await?;
        Ok(FileErasure {
            fields_erased: erased.fields_erased,
            records_erased: erased.records_erased,
        })
    }

    /// Lists `files` as expired in a new digest, records that, then deletes them. Returns the
    /// digest's sequence.
    async fn expire_files(
        &self,
        ws: &str,
        files: &[(ComplianceFile, String)],
    ) -> Result<u64, ComplianceError> {
        let head = self.store.chain_head(ws).await?;
        let Some(head) = head else {
            return Err(ComplianceError::Conflict(format!(
                "workspace {ws} has no digest chain"
            )));
        };
        let expired: Vec<ExpiredEntry> = files
            .iter()
            .map(|(f, reason)| ExpiredEntry {
                id: f.id.clone(),
                path: f.path.clone(),
                sha256: f.sha256.clone(),
                reason: reason.clone(),
            })
            .collect();
        let chain_head = steward_compliance::chain::ChainHead {
            sequence: head.sequence,
            digest_sha256: head.digest_sha256.clone(),
        };
        let new_head = self
            .logs
            .write_sealing(
                Some(&chain_head),
                ws,
                chrono::Utc::now(),
                &[],
                &expired,
                &self.key,
            )
            .await
            .map_err(|e| match e {
                steward_compliance::chain::ChainError::AlreadyExists { path } => ComplianceError::Conflict(
                    format!("digest {path} already exists: another replica is sealing workspace {ws}"),
                ),
                e => e.into(),
            })?;
        let commit = SealCommit {
            workspace_id: ws.to_owned(),
            expected_head: Some(head.sequence),
            new_head: ChainHeadRow {
                sequence: new_head.sequence,
                digest_sha256: new_head.digest_sha256,
                last_end_time: head.last_end_time,
            },
            files: Vec::new(),
            consumed_pending_ids: Vec::new(),
            subjects: Vec::new(),
            expired_file_ids: files.iter().map(|(f, _)| f.id.clone()).collect(),
            strip_event_attributes: Vec::new(),
        };
        if let Err(e) = self.store.commit_seal(commit).await {
            let _ = self
                .logs
                .delete(&steward_compliance::chain::digest_path(ws, new_head.sequence))
                .await;
            return Err(e.into());
        }
        for (f, _) in files {
            if let Err(e) = self.logs.delete(&f.path).await {
                tracing::warn!(path = %f.path, error = %e, "could not delete an expired compliance file; it stays listed as expired");
            }
        }
        Ok(new_head.sequence)
    }
}
