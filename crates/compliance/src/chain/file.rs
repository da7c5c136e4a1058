//! Sealed log files: immutable JSONL, one canonical record per line, plus the per-record
//! commitments that survive content erasure.
//!
//! Why a commitment rather than the line hash: the digest must stay verifiable after content has
//! been erased for privacy, so it signs `records_root`, the SHA-256 over the concatenated 32-byte
//! commitments of the lines, in which every content field is already reduced to
//! `"sha256:<hex>"`. Erasing keeps that hash in a tombstone, so the commitment is unchanged. The
//! digest also signs the file's SHA-256, which catches any byte change of an unerased file
//! cheaply by streaming.
//!
//! A flat hash over commitments is enough to verify whole files. Should per-record proofs
//! ("this record was in that file") be wanted later, a Merkle tree over the same commitments
//! would provide them without changing the lines; that would be digest version 2.

use bytes::Bytes;
use chrono::DateTime;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::canonical::{canonical_sha256, parse_canonical, write_canonical};
use super::erase::tombstone_sha256;
use super::error::{ChainError, Result};

/// Keys of `event_details` that hold conversation content (and so may be erased).
pub const CONTENT_FIELDS: &[&str] = &[
    "prompt_text",
    "response_text",
    "tool_input",
    "tool_output",
    "result_preview",
    "arguments",
];

/// What the caller decides about a file before sealing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMeta {
    pub workspace_id: String,
    pub event_type: String,
    /// Unique within the workspace and event type (e.g. a UUIDv7); becomes the file name.
    pub file_id: String,
    /// Unix seconds of the newest record (or of the sealing); picks the date directory.
    pub end_time: i64,
}

/// A file ready to be written to the store and listed in a digest.
#[derive(Debug, Clone)]
pub struct SealedFile {
    pub id: String,
    pub event_type: String,
    /// Object key relative to the store root, see [`log_path`].
    pub path: String,
    pub bytes: Bytes,
    /// Lowercase hex SHA-256 of `bytes`.
    pub sha256: String,
    /// Lowercase hex SHA-256 over the concatenated record commitments.
    pub records_root: String,
    pub record_count: u64,
    pub size: u64,
    pub end_time: i64,
    /// `timestamp` of the first and last record, when present.
    pub first_timestamp: Option<String>,
    pub last_timestamp: Option<String>,
}

/// Identifiers that become path segments: 1-128 chars of `[A-Za-z0-9._-]`, not starting with
/// `.`. This keeps object keys portable across S3, GCS, Azure and local file systems and rules
/// out traversal (`..`) and separators.
pub(crate) fn validate_segment(what: &'static str, value: &str) -> Result<()> {
    let ok = !value.is_empty()
        && value.len() <= 128
        && !value.starts_with('.')
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(ChainError::InvalidSegment {
            what,
            value: value.to_owned(),
        })
    }
}

/// `{workspace_id}/logs/{event_type}/{YYYY-MM-DD of end_time, UTC}/{file_id}.jsonl`
pub fn log_path(workspace_id: &str, event_type: &str, end_time: i64, file_id: &str) -> Result<String> {
    validate_segment("workspace_id", workspace_id)?;
    validate_segment("event_type", event_type)?;
    validate_segment("file_id", file_id)?;
    let day = DateTime::from_timestamp(end_time, 0).ok_or(ChainError::InvalidTime(end_time))?;
    Ok(format!(
        "{workspace_id}/logs/{event_type}/{}/{file_id}.jsonl",
        day.format("%Y-%m-%d")
    ))
}

/// Lowercase hex SHA-256 of the canonical JSON of a content value: what a commitment and a
/// tombstone record in place of the content.
pub fn content_sha256(value: &Value) -> String {
    hex::encode(canonical_sha256(value))
}

/// The record's commitment: SHA-256 of its canonical JSON after every non-null content field of
/// `event_details` has been replaced by `"sha256:<hex>"` (for a tombstone, the hash it records).
pub fn commitment(record: &Value) -> [u8; 32] {
    let has_content = record
        .get("event_details")
        .and_then(Value::as_object)
        .is_some_and(|d| {
            CONTENT_FIELDS
                .iter()
                .any(|f| d.get(*f).is_some_and(|v| !v.is_null()))
        });
    if !has_content {
        return canonical_sha256(record);
    }
    let mut committed = record.clone();
    if let Some(details) = committed.get_mut("event_details").and_then(Value::as_object_mut) {
        for field in CONTENT_FIELDS {
            if let Some(value) = details.get_mut(*field) {
                if value.is_null() {
                    continue;
                }
                let hash = match tombstone_sha256(value) {
                    Some(recorded) => recorded.to_owned(),
                    None => content_sha256(value),
                };
                *value = Value::String(format!("sha256:{hash}"));
            }
        }
    }
    canonical_sha256(&committed)
}

/// SHA-256 over the concatenation of the given 32-byte commitments, in order.
pub fn records_root<I: IntoIterator<Item = [u8; 32]>>(commitments: I) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for c in commitments {
        hasher.update(c);
    }
    hasher.finalize().into()
}

fn timestamp_of(record: &Value) -> Option<String> {
    match record.get("timestamp")? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Seal `records` into one file. Every record must be a JSON object with a non-empty string
/// `event_id`; at least one record is required (an empty file proves nothing).
pub fn build_file(meta: FileMeta, records: &[Value]) -> Result<SealedFile> {
    let path = log_path(&meta.workspace_id, &meta.event_type, meta.end_time, &meta.file_id)?;
    if records.is_empty() {
        return Err(ChainError::InvalidRecord {
            index: 0,
            reason: "a sealed file needs at least one record".into(),
        });
    }
    let mut bytes = Vec::with_capacity(records.len() * 512);
    let mut root = Sha256::new();
    for (index, record) in records.iter().enumerate() {
        let Some(object) = record.as_object() else {
            return Err(ChainError::InvalidRecord {
                index,
                reason: "not a JSON object".into(),
            });
        };
        match object.get("event_id") {
            Some(Value::String(id)) if !id.is_empty() => {}
            _ => {
                return Err(ChainError::InvalidRecord {
                    index,
                    reason: "lacks a non-empty string event_id".into(),
                })
            }
        }
        write_canonical(record, &mut bytes);
        bytes.push(b'\n');
        root.update(commitment(record));
    }
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let size = bytes.len() as u64;
    Ok(SealedFile {
        id: meta.file_id,
        event_type: meta.event_type,
        path,
        sha256,
        records_root: hex::encode(root.finalize()),
        record_count: records.len() as u64,
        size,
        end_time: meta.end_time,
        first_timestamp: records.first().and_then(timestamp_of),
        last_timestamp: records.last().and_then(timestamp_of),
        bytes: Bytes::from(bytes),
    })
}

/// What [`scan_file`] found in a file's lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileScan {
    /// Hex records root recomputed from the lines.
    pub records_root: String,
    pub record_count: u64,
    /// Content fields holding a tombstone.
    pub erased_fields: u64,
}

/// Incremental [`scan_file`]: feed chunks as they stream in, so a large file never has to be in
/// memory at once (only its longest line).
#[derive(Debug, Default)]
pub struct FileScanner {
    pending: Vec<u8>,
    root: Sha256,
    count: u64,
    erased: u64,
}

impl FileScanner {
    pub fn new() -> Self {
        Self::default()
    }

    /// Process the complete lines in `chunk` (a partial last line is kept for the next chunk).
    pub fn feed(&mut self, mut chunk: &[u8]) -> Result<()> {
        while let Some(pos) = chunk.iter().position(|&b| b == b'\n') {
            if self.pending.is_empty() {
                self.line(&chunk[..pos])?;
            } else {
                let mut line = std::mem::take(&mut self.pending);
                line.extend_from_slice(&chunk[..pos]);
                self.line(&line)?;
                line.clear();
                self.pending = line;
            }
            chunk = &chunk[pos + 1..];
        }
        self.pending.extend_from_slice(chunk);
        Ok(())
    }

    fn line(&mut self, line: &[u8]) -> Result<()> {
        self.count += 1;
        let invalid = |reason: String| ChainError::InvalidLine {
            line: self.count,
            reason,
        };
        let value = parse_canonical(line).map_err(invalid)?;
        if !value.is_object() {
            return Err(invalid("not a JSON object".into()));
        }
        if let Some(details) = value.get("event_details").and_then(Value::as_object) {
            self.erased += CONTENT_FIELDS
                .iter()
                .filter(|f| details.get(**f).is_some_and(|v| tombstone_sha256(v).is_some()))
                .count() as u64;
        }
        self.root.update(commitment(&value));
        Ok(())
    }

    /// Finish; fails if the file does not end with a newline.
    pub fn finish(self) -> Result<FileScan> {
        if !self.pending.is_empty() {
            return Err(ChainError::InvalidLine {
                line: self.count + 1,
                reason: "last line is not terminated by a newline".into(),
            });
        }
        Ok(FileScan {
            records_root: hex::encode(self.root.finalize()),
            record_count: self.count,
            erased_fields: self.erased,
        })
    }
}

/// Check every line of a sealed (possibly erased) file is canonical JSON and recompute its
/// records root.
pub fn scan_file(bytes: &[u8]) -> Result<FileScan> {
    let mut scanner = FileScanner::new();
    scanner.feed(bytes)?;
    scanner.finish()
}

/// Parse the records of a sealed file (for export and display; does not require canonical form).
pub fn read_records(bytes: &[u8]) -> Result<Vec<Value>> {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    if body.is_empty() {
        return Ok(Vec::new());
    }
    body.split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, line)| {
            serde_json::from_slice(line).map_err(|e| ChainError::InvalidLine {
                line: i as u64 + 1,
                reason: e.to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn meta() -> FileMeta {
        FileMeta {
            workspace_id: "ws-1".into(),
            event_type: "CODEX_LOG".into(),
            file_id: "f1".into(),
            end_time: 1_700_000_000,
        }
    }

    #[test]
    fn layout_and_validation() {
        assert_eq!(
            log_path("ws-1", "CODEX_LOG", 1_700_000_000, "f1").unwrap(),
            "ws-1/logs/CODEX_LOG/2023-11-14/f1.jsonl"
        );
        for bad in ["", "..", "a/b", ".hidden", "a b", "ü"] {
            assert!(log_path(bad, "CODEX_LOG", 0, "f").is_err(), "{bad:?}");
            assert!(log_path("ws", "CODEX_LOG", 0, bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn refuses_bad_records() {
        assert!(build_file(meta(), &[]).is_err());
        assert!(build_file(meta(), &[json!([1])]).is_err());
        assert!(build_file(meta(), &[json!({"type": "CODEX_LOG"})]).is_err());
        assert!(build_file(meta(), &[json!({"event_id": 7})]).is_err());
    }

    #[test]
    fn sealed_file_scans_back() {
        let records = [
            json!({"event_id": "a", "timestamp": "t1", "event_details": {"prompt_text": "hi", "model": "m"}}),
            json!({"event_id": "b", "timestamp": "t2", "event_details": {"prompt_text": null}}),
        ];
        let f = build_file(meta(), &records).unwrap();
        assert_eq!(f.record_count, 2);
        assert_eq!(f.first_timestamp.as_deref(), Some("t1"));
        assert_eq!(f.last_timestamp.as_deref(), Some("t2"));
        assert_eq!(f.size, f.bytes.len() as u64);
        let scan = scan_file(&f.bytes).unwrap();
        assert_eq!(scan.records_root, f.records_root);
        assert_eq!(scan.record_count, 2);
        assert_eq!(read_records(&f.bytes).unwrap(), records.to_vec());
        // Streaming in odd chunk sizes gives the same result.
        let mut s = FileScanner::new();
        for chunk in f.bytes.chunks(7) {
            s.feed(chunk).unwrap();
        }
        assert_eq!(s.finish().unwrap(), scan);
        assert!(scan_file(&f.bytes[..f.bytes.len() - 1]).is_err());
    }

    #[test]
    fn commitment_hides_content_but_binds_it() {
        let a = json!({"event_id": "a", "event_details": {"prompt_text": "secret"}});
        let b = json!({"event_id": "a", "event_details": {"prompt_text": "other"}});
        let hashed = json!({"event_id": "a", "event_details": {"prompt_text": format!("sha256:{}", content_sha256(&json!("secret")))}});
        assert_ne!(commitment(&a), commitment(&b));
        assert_eq!(commitment(&a), canonical_sha256(&hashed));
    }
}
