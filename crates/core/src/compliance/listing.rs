//! Listing and downloading sealed files with the Compliance API's semantics (wire-formats
//! §2.2–2.3): `event_type` (repeatable), `after` (RFC 3339, inclusive: the boundary file comes
//! again and clients de-duplicate by id), `limit`, `has_more`, `last_end_time`.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use steward_compliance::chain::{ChainHead, ObjectStream, VerifyOptions, VerifyReport};
use steward_model::LogType;
use steward_store::{ComplianceFile, FileQuery};

use super::{ComplianceError, ComplianceService};

/// Page size when `limit` is absent, and its bounds (OpenAI's are undocumented; these follow
/// wire-formats §2.2's proposal).
pub const DEFAULT_LIMIT: u32 = 100;
pub const MAX_LIMIT: u32 = 1000;

/// The query string as received (strings, so that every problem is reported here, by name).
#[derive(Debug, Clone, Default)]
pub struct FileListParams {
    pub event_types: Vec<String>,
    pub after: Option<String>,
    pub limit: Option<String>,
}

#[derive(Debug, Clone)]
pub struct FilePage {
    pub files: Vec<ComplianceFile>,
    pub has_more: bool,
    /// `end_time` of the last file listed (µs), `None` on an empty page.
    pub last_end_time: Option<i64>,
}

/// How a file is delivered.
pub enum Download {
    /// A signed URL of the object store (HTTP 307).
    Redirect(String),
    /// The bytes, streamed by Steward itself.
    Stream(ObjectStream),
}

impl ComplianceService {
    pub async fn list_files(
        &self,
        workspace_id: &str,
        params: &FileListParams,
    ) -> Result<FilePage, ComplianceError> {
        let query = parse(workspace_id, params)?;
        let mut query_plus = query.clone();
        query_plus.limit = query.limit + 1;
        let mut files = self.store.list_compliance_files(&query_plus).await?;
        let has_more = files.len() > query.limit as usize;
        files.truncate(query.limit as usize);
        let last_end_time = files.last().map(|f| f.end_time);
        Ok(FilePage {
            files,
            has_more,
            last_end_time,
        })
    }

    pub async fn file(&self, workspace_id: &str, file_id: &str) -> Result<ComplianceFile, ComplianceError> {
        self.store
            .get_compliance_file(workspace_id, file_id)
            .await?
            .ok_or_else(|| {
                ComplianceError::NotFound(format!("log file {file_id:?} not found in this workspace"))
            })
    }

    /// The file's bytes: a signed URL where the object store supports one, else a stream.
    pub async fn download(
        &self,
        workspace_id: &str,
        file_id: &str,
    ) -> Result<(ComplianceFile, Download), ComplianceError> {
        let file = self.file(workspace_id, file_id).await?;
        if let Some(at) = file.expired_at_ms {
            return Err(ComplianceError::Gone(format!(
                "log file {file_id:?} expired under the retention policy at {} and was deleted",
                super::records::timestamp(at)
            )));
        }
        if let Some(url) = self
            .logs
            .signed_url(&file.path, self.config.signed_url_ttl)
            .await?
        {
            return Ok((file, Download::Redirect(url.to_string())));
        }
        let stream = self.logs.get_stream(&file.path).await?;
        Ok((file, Download::Stream(stream)))
    }

    /// Verifies the object store against the signing key, and each workspace's chain against
    /// the head the database recorded (which catches a deleted newest digest).
    pub async fn verify(&self, workspace_id: Option<&str>) -> Result<VerifyReport, ComplianceError> {
        let mut expected_heads = BTreeMap::new();
        let workspaces: Vec<String> = match workspace_id {
            Some(ws) => vec![ws.to_owned()],
            None => self
                .store
                .list_workspaces()
                .await?
                .into_iter()
                .map(|w| w.id)
                .collect(),
        };
        for ws in workspaces {
            if let Some(h) = self.store.chain_head(&ws).await? {
                expected_heads.insert(
                    ws,
                    ChainHead {
                        sequence: h.sequence,
                        digest_sha256: h.digest_sha256,
                    },
                );
            }
        }
        let options = VerifyOptions {
            workspace: workspace_id.map(str::to_owned),
            expected_heads,
            concurrency: 8,
            exported_end_times: None,
        };
        let key = self.key.public_key();
        Ok(steward_compliance::chain::verify_with(&self.logs, &key, &options).await?)
    }
}

fn parse(workspace_id: &str, p: &FileListParams) -> Result<FileQuery, ComplianceError> {
    if p.event_types.is_empty() {
        return Err(ComplianceError::BadRequest(format!(
            "event_type is required (one or more of {})",
            known_types()
        )));
    }
    let mut log_types = Vec::new();
    for t in &p.event_types {
        let t = t.parse::<LogType>().map_err(|_| {
            ComplianceError::BadRequest(format!(
                "event_type {t:?} is not supported; use one of {}",
                known_types()
            ))
        })?;
        if !log_types.contains(&t) {
            log_types.push(t);
        }
    }
    let after_end_time = match p.after.as_deref().map(str::trim) {
        None | Some("") => 0,
        Some(s) => parse_after(s)?,
    };
    let limit = match p.limit.as_deref().map(str::trim) {
        None | Some("") => DEFAULT_LIMIT,
        Some(s) => match s.parse::<i64>() {
            Ok(n) if (1..=MAX_LIMIT as i64).contains(&n) => n as u32,
            _ => {
                return Err(ComplianceError::BadRequest(format!(
                    "limit must be an integer from 1 to {MAX_LIMIT}, got {s:?}"
                )))
            }
        },
    };
    Ok(FileQuery {
        workspace_id: workspace_id.to_owned(),
        log_types,
        after_end_time,
        limit,
    })
}

/// `after` as Unix microseconds: RFC 3339 with a time zone (`2026-03-01T00:00:00Z`,
/// fractional seconds allowed, as `last_end_time` carries them).
fn parse_after(s: &str) -> Result<i64, ComplianceError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc).timestamp_micros())
        .map_err(|e| {
            ComplianceError::BadRequest(format!(
                "after must be an RFC 3339 date-time with a time zone, like 2026-03-01T00:00:00Z; got {s:?} ({e})"
            ))
        })
}

/// Unix microseconds as the API writes times: RFC 3339 UTC, with microseconds only when there
/// are any (so a whole-second time looks exactly like OpenAI's).
pub fn format_time(us: i64) -> String {
    let t = Utc.timestamp_micros(us).single().unwrap_or_default();
    if us % 1_000_000 == 0 {
        t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
    }
}

fn known_types() -> String {
    LogType::ALL
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(types: &[&str], after: Option<&str>, limit: Option<&str>) -> FileListParams {
        FileListParams {
            event_types: types.iter().map(|s| s.to_string()).collect(),
            after: after.map(str::to_owned),
            limit: limit.map(str::to_owned),
        }
    }

    fn bad(p: FileListParams) -> String {
        match parse("ws", &p) {
            Err(ComplianceError::BadRequest(m)) => m,
            other => panic!("expected a bad request, got {other:?}"),
        }
    }

    #[test]
    fn parameters_are_parsed_and_each_problem_is_named() {
        let q = parse(
            "ws",
            &params(
                &["CODEX_LOG", "CODEX_SECURITY_LOG", "CODEX_LOG"],
                Some("2026-03-01T00:00:00.5Z"),
                Some("2"),
            ),
        )
        .unwrap();
        assert_eq!(q.log_types, vec![LogType::CodexLog, LogType::CodexSecurityLog]);
        assert_eq!(q.after_end_time, 1_772_323_200_500_000);
        assert_eq!(q.limit, 2);
        assert_eq!(
            parse("ws", &params(&["AUDIT_LOG"], None, None)).unwrap().limit,
            DEFAULT_LIMIT
        );
        assert!(bad(params(&[], None, None)).contains("event_type is required"));
        assert!(bad(params(&["CODEX"], None, None)).contains("\"CODEX\""));
        assert!(bad(params(&["CODEX_LOG"], Some("yesterday"), None)).contains("after must be"));
        assert!(bad(params(&["CODEX_LOG"], Some("2026-03-01T00:00:00"), None)).contains("time zone"));
        assert!(bad(params(&["CODEX_LOG"], None, Some("0"))).contains("limit"));
        assert!(bad(params(&["CODEX_LOG"], None, Some("1001"))).contains("1 to 1000"));
        assert!(bad(params(&["CODEX_LOG"], None, Some("ten"))).contains("\"ten\""));
    }

    #[test]
    fn times_round_trip_through_after() {
        for us in [
            1_772_323_200_000_000,
            1_772_323_200_000_001,
            1_772_323_200_123_456,
        ] {
            assert_eq!(parse_after(&format_time(us)).unwrap(), us);
        }
        assert_eq!(format_time(1_772_323_200_000_000), "2026-03-01T00:00:00Z");
    }
}
