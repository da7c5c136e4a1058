//! `steward compliance export`: a self-contained, verifiable copy of a workspace's log for an
//! auditor or an eDiscovery tool: the files sealed in a time range, *every* digest of the
//! workspace (small, and the chain must be complete from sequence 1 to verify), the public key,
//! and a manifest naming the range. `verify` on the folder reads the manifest and accepts the
//! absence of files outside the range, but names any file inside it that is missing.
//!
//! The manifest is not signed: someone who narrows its range can hide a removed file, but the
//! range is printed by `verify` and the auditor knows which range they asked for.

use serde::{Deserialize, Serialize};
use steward_compliance::chain::{LogStore, PUBLIC_KEY_PATH};
use steward_model::LogType;
use steward_store::FileQuery;

use super::records::timestamp;
use super::sealer::now_micros;
use super::{ComplianceError, ComplianceService};

/// Where the manifest goes, at the export's root.
pub const EXPORT_MANIFEST_PATH: &str = "steward-export.json";

const PAGE: u32 = 1000;

/// What an export holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportManifest {
    pub workspace_id: String,
    /// File `end_time`s exported, Unix seconds, inclusive (as the digests list them).
    pub end_time_from: i64,
    pub end_time_to: i64,
    pub since: String,
    pub until: String,
    pub exported_at: String,
    pub files: u64,
    pub digests: u64,
    pub bytes: u64,
}

/// What [`ComplianceService::export`] wrote.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ExportOutcome {
    pub manifest: ExportManifest,
}

impl ComplianceService {
    /// Copies the workspace's files sealed from `since_us` to `until_us` (Unix µs, whole
    /// seconds are exported: the range is widened to the seconds containing its ends) with every
    /// digest and the public key into `dest`. `progress` is called with bytes copied so far.
    pub async fn export(
        &self,
        workspace_id: &str,
        since_us: i64,
        until_us: i64,
        dest: &LogStore,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<ExportOutcome, ComplianceError> {
        if until_us < since_us {
            return Err(ComplianceError::BadRequest(
                "--until must not be before --since".into(),
            ));
        }
        let from_s = since_us.div_euclid(1_000_000);
        let to_s = until_us.div_euclid(1_000_000);
        let files = self
            .files_between(workspace_id, from_s * 1_000_000, (to_s + 1) * 1_000_000)
            .await?;
        let total: u64 = files.iter().map(|f| f.size).sum();
        let mut bytes = 0;
        for f in &files {
            let body = self.logs.get(&f.path).await?;
            bytes += body.len() as u64;
            dest.put(&f.path, body).await?;
            progress(bytes, total);
        }
        let mut digests = 0;
        for object in self.logs.list(&format!("{workspace_id}/digests/")).await? {
            let body = self.logs.get(&object.path).await?;
            dest.put(&object.path, body).await?;
            digests += 1;
        }
        if digests == 0 {
            return Err(ComplianceError::NotFound(format!(
                "workspace {workspace_id} has nothing sealed to export"
            )));
        }
        dest.put(PUBLIC_KEY_PATH, self.logs.get(PUBLIC_KEY_PATH).await?)
            .await?;
        let manifest = ExportManifest {
            workspace_id: workspace_id.to_owned(),
            end_time_from: from_s,
            end_time_to: to_s,
            since: timestamp(from_s * 1000),
            until: timestamp(to_s * 1000 + 999),
            exported_at: timestamp(now_micros() / 1000),
            files: files.len() as u64,
            digests,
            bytes,
        };
        let mut json =
            serde_json::to_vec_pretty(&manifest).map_err(|e| ComplianceError::BadRequest(e.to_string()))?;
        json.push(b'\n');
        dest.put(EXPORT_MANIFEST_PATH, json.into()).await?;
        Ok(ExportOutcome { manifest })
    }

    /// Files (not expired) with `from_us <= end_time < to_us`, oldest first.
    async fn files_between(
        &self,
        workspace_id: &str,
        from_us: i64,
        to_us: i64,
    ) -> Result<Vec<steward_store::ComplianceFile>, ComplianceError> {
        let mut out = Vec::new();
        let mut after = from_us;
        loop {
            let query = FileQuery {
                workspace_id: workspace_id.to_owned(),
                log_types: LogType::ALL.to_vec(),
                after_end_time: after,
                limit: PAGE,
            };
            let page = self.store.list_compliance_files(&query).await?;
            let full = page.len() == PAGE as usize;
            let Some(last) = page.last().map(|f| f.end_time) else {
                break;
            };
            // `after` is inclusive; end times are unique per workspace, so the next page starts past the last.
            out.extend(page.into_iter().filter(|f| f.end_time < to_us));
            if !full || last >= to_us {
                break;
            }
            after = last + 1;
        }
        Ok(out)
    }
}
