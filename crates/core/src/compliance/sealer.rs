//! Sealing: pending records → JSONL files per log type → one signed digest → one database
//! commit that lists the files, moves the chain head and consumes the records.
//!
//! Order matters for crash safety: files and digest are written before the database commit, so
//! a crash in between leaves only unlisted objects (verification names them) and the records
//! stay pending, to be sealed again. A sealer that loses a race (another replica sealed the same
//! workspace first) gets `Conflict` from the digest's create-only write or from the commit, and
//! removes what it wrote.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{TimeZone, Utc};
use serde::Serialize;
use serde_json::Value;
use steward_compliance::capture::ALL_CONTENT_ATTRIBUTES;
use steward_compliance::chain::{build_file, ChainError, ChainHead, FileMeta, SealedFile};
use steward_model::LogType;
use steward_store::{ChainHeadRow, ComplianceFile, FileSubject, PendingRecord, PendingSource, SealCommit};

use super::records;
use super::{ComplianceError, ComplianceService};

/// An unrecorded digest older than this is an orphan of an interrupted sealing.
const ORPHAN_GRACE: Duration = Duration::from_secs(600);

/// Pending records read (and sealed) per round; a larger backlog takes several rounds.
const RECORDS_PER_ROUND: u32 = 50_000;

/// What one call sealed.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct SealOutcome {
    pub workspace_id: String,
    pub files: Vec<SealedFileInfo>,
    pub records: u64,
    /// Digest sequences written (one per round).
    pub digests: Vec<u64>,
    /// Records left pending for now because their turn span has not arrived
    /// (`turn_span_wait`); a later sealing takes them.
    pub waiting_for_turn: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SealedFileInfo {
    pub id: String,
    pub event_type: String,
    pub record_count: u64,
    pub size: u64,
}

impl ComplianceService {
    /// Seals every pending record of a workspace now, except records still waiting for their
    /// turn span (`turn_span_wait`).
    pub async fn seal_workspace(&self, workspace_id: &str) -> Result<SealOutcome, ComplianceError> {
        let mut outcome = SealOutcome {
            workspace_id: workspace_id.to_owned(),
            ..Default::default()
        };
        let wait_ms = self.config.turn_span_wait.as_millis() as i64;
        loop {
            let batch = self
                .store
                .pending_records(workspace_id, RECORDS_PER_ROUND)
                .await?;
            let full = batch.len() as u32 == RECORDS_PER_ROUND;
            let now_ms = now_micros() / 1000;
            let (waiting, ready): (Vec<_>, Vec<_>) = batch
                .into_iter()
                .partition(|p| awaits_turn_span(p) && now_ms - p.queued_at_ms < wait_ms);
            outcome.waiting_for_turn = waiting.len() as u64;
            if ready.is_empty() {
                break;
            }
            self.seal_round(workspace_id, ready, &mut outcome).await?;
            if !full {
                break;
            }
        }
        Ok(outcome)
    }

    /// Seals the workspaces whose oldest pending record is older than the seal interval
    /// (all of them when `force`). Errors of one workspace do not stop the others.
    pub async fn seal_due(&self, force: bool) -> Vec<Result<SealOutcome, ComplianceError>> {
        let now_ms = now_micros() / 1000;
        let interval_ms = self.config.seal_interval.as_millis() as i64;
        let workspaces = match self.store.pending_workspaces().await {
            Ok(w) => w,
            Err(e) => return vec![Err(e.into())],
        };
        let mut results = Vec::new();
        for (ws, oldest_ms) in workspaces {
            if force || now_ms - oldest_ms >= interval_ms {
                results.push(self.seal_workspace(&ws).await);
            }
        }
        results
    }

    /// Runs [`Self::seal_due`] every `poll` until the future is dropped.
    pub async fn run_sealer(&self, poll: Duration) {
        let mut tick = tokio::time::interval(poll);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            for result in self.seal_due(false).await {
                match result {
                    Ok(o) if !o.files.is_empty() => tracing::info!(
                        workspace = %o.workspace_id, files = o.files.len(), records = o.records, "sealed compliance records"
                    ),
                    Ok(_) => {}
                    Err(ComplianceError::Conflict(m)) => {
                        tracing::debug!(reason = %m, "another sealer was first")
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "sealing compliance records failed; they stay pending")
                    }
                }
            }
        }
    }

    async fn seal_round(
        &self,
        workspace_id: &str,
        batch: Vec<PendingRecord>,
        outcome: &mut SealOutcome,
    ) -> Result<(), ComplianceError> {
        let head = self.store.chain_head(workspace_id).await?;
        let consumed: Vec<i64> = batch.iter().map(|p| p.pending_id).collect();
        // Records grouped by log type, each group in queue order.
        let mut by_type: BTreeMap<LogType, Vec<Value>> = BTreeMap::new();
        for pending in &batch {
            match records::build(workspace_id, pending) {
                Ok(Some(record)) => by_type.entry(pending.log_type).or_default().push(record),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "dropping an unreadable pending compliance record"),
            }
        }
        // End times strictly increase per workspace, also across replicas with skewed clocks,
        // so `after=last_end_time` paging never skips a file sealed later.
        let mut end_time = now_micros().max(head.as_ref().map_or(0, |h| h.last_end_time) + 1);
        let mut sealed: Vec<(LogType, SealedFile)> = Vec::new();
        let mut subjects: Vec<FileSubject> = Vec::new();
        for (log_type, recs) in &by_type {
            for chunk in self.chunks(recs) {
                let meta = FileMeta {
                    workspace_id: workspace_id.to_owned(),
                    event_type: log_type.as_str().to_owned(),
                    file_id: format!("eclf_{}", uuid::Uuid::now_v7().simple()),
                    end_time: end_time.div_euclid(1_000_000),
                };
                let file = build_file(meta, chunk)?;
                subjects.extend(records::subjects(chunk, &file.id));
                sealed.push((*log_type, file));
                end_time += 1;
            }
        }
        let last_end_time = end_time - 1;
        let chain_head = head.as_ref().map(|h| ChainHead {
            sequence: h.sequence,
            digest_sha256: h.digest_sha256.clone(),
        });
        let files: Vec<SealedFile> = sealed.iter().map(|(_, f)| f.clone()).collect();
        let sealed_at = Utc::now();
        let new_head = match self
            .logs
            .write_sealing(
                chain_head.as_ref(),
                workspace_id,
                sealed_at,
                &files,
                &[],
                &self.key,
            )
            .await
        {
            Ok(h) => h,
            Err(ChainError::AlreadyExists { path }) => {
                self.remove_files(&files).await;
                // A digest the database does not know: another sealer's, about to commit, or an
                // orphan of a crash between writing it and committing. Orphans are cleared once
                // old enough, so a crash cannot block sealing for good.
                self.clear_orphan_digest(&path).await;
                return Err(ComplianceError::Conflict(format!(
                    "digest {path} already exists: another sealer is sealing workspace {workspace_id}"
                )));
            }
            Err(e) => return Err(e.into()),
        };
        let first_end = last_end_time - sealed.len() as i64 + 1;
        let rows: Vec<ComplianceFile> = sealed
            .iter()
            .enumerate()
            .map(|(i, (log_type, f))| {
                file_row(
                    workspace_id,
                    *log_type,
                    f,
                    first_end + i as i64,
                    new_head.sequence,
                    sealed_at.timestamp_millis(),
                )
            })
            .collect();
        let commit = SealCommit {
            workspace_id: workspace_id.to_owned(),
            expected_head: head.as_ref().map(|h| h.sequence),
            new_head: ChainHeadRow {
                sequence: new_head.sequence,
                digest_sha256: new_head.digest_sha256.clone(),
                last_end_time: if sealed.is_empty() {
                    head.as_ref().map_or(0, |h| h.last_end_time)
                } else {
                    last_end_time
                },
            },
            files: rows,
            consumed_pending_ids: consumed,
            subjects,
            expired_file_ids: Vec::new(),
            strip_event_attributes: ALL_CONTENT_ATTRIBUTES.iter().map(|a| (*a).to_owned()).collect(),
        };
        if let Err(e) = self.store.commit_seal(commit).await {
            // The digest at this sequence is ours but unrecorded: remove it with our files so
            // the store stays verifiable and the next sealing can take the sequence.
            self.remove_files(&files).await;
            let _ = self
                .logs
                .delete(&steward_compliance::chain::digest_path(
                    workspace_id,
                    new_head.sequence,
                ))
                .await;
            return Err(e.into());
        }
        outcome.records += batch.len() as u64;
        outcome.digests.push(new_head.sequence);
        outcome.files.extend(sealed.iter().map(|(t, f)| SealedFileInfo {
            id: f.id.clone(),
            event_type: t.as_str().to_owned(),
            record_count: f.record_count,
            size: f.size,
        }));
        Ok(())
    }

    /// Splits records into file-sized chunks by count and (approximate, serialised) bytes.
    fn chunks<'a>(&self, recs: &'a [Value]) -> Vec<&'a [Value]> {
        let mut out = Vec::new();
        let (mut start, mut bytes) = (0usize, 0usize);
        for (i, r) in recs.iter().enumerate() {
            let size = r.to_string().len() + 1;
            let count = i - start;
            if count > 0
                && (count >= self.config.max_records_per_file || bytes + size > self.config.max_file_bytes)
            {
                out.push(&recs[start..i]);
                start = i;
                bytes = 0;
            }
            bytes += size;
        }
        if start < recs.len() {
            out.push(&recs[start..]);
        }
        out
    }

    /// Removes the digest at `path` and the files it lists if it is older than
    /// [`ORPHAN_GRACE`]: no sealing takes that long, so nobody is about to commit it. The
    /// records it held are still pending (the database never consumed them) and are sealed
    /// again by the next round.
    async fn clear_orphan_digest(&self, path: &str) {
        let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
        let Ok(objects) = self.logs.list(dir).await else {
            return;
        };
        let Some(info) = objects.iter().find(|o| o.path == path) else {
            return;
        };
        let age = Utc::now() - info.last_modified;
        if age.to_std().unwrap_or_default() < ORPHAN_GRACE {
            return;
        }
        tracing::warn!(%path, "removing an unrecorded digest left by an interrupted sealing");
        if let Ok(bytes) = self.logs.get(path).await {
            if let Ok(digest) = steward_compliance::chain::open_digest(&bytes, &self.key.public_key()) {
                for f in &digest.files {
                    let _ = self.logs.delete(&f.path).await;
                }
            }
        }
        let _ = self.logs.delete(path).await;
    }

    async fn remove_files(&self, files: &[SealedFile]) {
        for f in files {
            if let Err(e) = self.logs.delete(&f.path).await {
                tracing::warn!(path = %f.path, error = %e, "could not remove an unrecorded compliance file");
            }
        }
    }
}

/// A Codex record with a trace id whose turn span is not stored (yet).
fn awaits_turn_span(p: &PendingRecord) -> bool {
    matches!(&p.source, PendingSource::Event(e) if e.trace_id.is_some() && e.turn_id.is_none())
}

fn file_row(
    workspace_id: &str,
    log_type: LogType,
    f: &SealedFile,
    end_time_us: i64,
    digest_sequence: u64,
    sealed_at_ms: i64,
) -> ComplianceFile {
    ComplianceFile {
        id: f.id.clone(),
        workspace_id: workspace_id.to_owned(),
        log_type,
        end_time: end_time_us,
        path: f.path.clone(),
        file_name: format!("{}_{}.jsonl", log_type.as_str(), rfc3339_offset(end_time_us)),
        sha256: f.sha256.clone(),
        records_root: f.records_root.clone(),
        size: f.size,
        record_count: f.record_count,
        first_timestamp: f.first_timestamp.clone(),
        last_timestamp: f.last_timestamp.clone(),
        digest_sequence,
        sealed_at_ms,
        content_erased_at_ms: None,
        expired_at_ms: None,
    }
}

/// OpenAI's file-name time style, `2026-03-02T14:00:00+00:00`, with microseconds.
fn rfc3339_offset(us: i64) -> String {
    Utc.timestamp_micros(us)
        .single()
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.6f+00:00")
        .to_string()
}

pub(super) fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}
