//! Content erasure that keeps the chain verifiable.
//!
//! A selected record's content fields are replaced by a tombstone
//! `{"$erased": {"sha256": "<hex>", "erased_at": "...", "reason": "..."}}` where the hash is the
//! one the record's commitment already used for that field. The line changes (so the file's
//! SHA-256 no longer matches its digest entry) but the commitment and therefore the file's
//! `records_root` do not, which is what lets [`verify`](super::verify) accept the rewrite.
//!
//! `erased_at` and `reason` are informational: they are not part of the commitment (otherwise
//! the root would change), so they are not covered by any signature. A caller that needs a
//! signed erasure record should log the erasure itself as an event in a later sealing.
//!
//! Unselected lines are copied byte for byte, so erasing one record never rewrites the others.

use serde_json::{Map, Value};

use super::canonical::{parse_canonical, write_canonical};
use super::error::{ChainError, Result};
use super::file::{content_sha256, CONTENT_FIELDS};

/// The single key of a tombstone object.
pub const ERASED_KEY: &str = "$erased";

/// The result of [`erase_content`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erased {
    /// The rewritten file (equal to the input when nothing was erased).
    pub bytes: Vec<u8>,
    /// Records in which at least one field was erased.
    pub records_erased: u64,
    /// Content fields replaced by tombstones.
    pub fields_erased: u64,
}

/// If `value` is a tombstone, the content hash it records. Strict on purpose: exactly one key
/// `$erased` holding an object whose `sha256` is 64 lowercase hex digits.
pub fn tombstone_sha256(value: &Value) -> Option<&str> {
    let object = value.as_object()?;
    if object.len() != 1 {
        return None;
    }
    let hash = object.get(ERASED_KEY)?.as_object()?.get("sha256")?.as_str()?;
    let valid = hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    valid.then_some(hash)
}

fn tombstone(hash: String, erased_at: &str, reason: &str) -> Value {
    let mut inner = Map::new();
    inner.insert("sha256".into(), Value::String(hash));
    inner.insert("erased_at".into(), Value::String(erased_at.to_owned()));
    inner.insert("reason".into(), Value::String(reason.to_owned()));
    let mut outer = Map::new();
    outer.insert(ERASED_KEY.into(), Value::Object(inner));
    Value::Object(outer)
}

/// Rewrite a sealed file, erasing the content of every record for which `select` is true.
/// Fields that are null or already erased are left alone, so erasing twice is a no-op.
/// Every line must be canonical JSON (as [`build_file`](super::build_file) writes it).
pub fn erase_content(
    file_bytes: &[u8],
    select: impl Fn(&Value) -> bool,
    erased_at: &str,
    reason: &str,
) -> Result<Erased> {
    let mut out = Vec::with_capacity(file_bytes.len());
    let mut records_erased = 0;
    let mut fields_erased = 0;
    if file_bytes.is_empty() {
        return Ok(Erased {
            bytes: Vec::new(),
            records_erased,
            fields_erased,
        });
    }
    let Some(body) = file_bytes.strip_suffix(b"\n") else {
        return Err(ChainError::InvalidLine {
            line: file_bytes.iter().filter(|&&b| b == b'\n').count() as u64 + 1,
            reason: "last line is not terminated by a newline".into(),
        });
    };
    for (index, line) in body.split(|&b| b == b'\n').enumerate() {
        let invalid = |reason: String| ChainError::InvalidLine {
            line: index as u64 + 1,
            reason,
        };
        let mut record = parse_canonical(line).map_err(invalid)?;
        let mut erased_here = 0;
        if select(&record) {
            if let Some(details) = record.get_mut("event_details").and_then(Value::as_object_mut) {
                for field in CONTENT_FIELDS {
                    if let Some(value) = details.get_mut(*field) {
                        if value.is_null() || tombstone_sha256(value).is_some() {
                            continue;
                        }
                        *value = tombstone(content_sha256(value), erased_at, reason);
                        erased_here += 1;
                    }
                }
            }
        }
        if erased_here > 0 {
            records_erased += 1;
            fields_erased += erased_here;
            write_canonical(&record, &mut out);
        } else {
            out.extend_from_slice(line);
        }
        out.push(b'\n');
    }
    Ok(Erased {
        bytes: out,
        records_erased,
        fields_erased,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::{build_file, scan_file, FileMeta};
    use serde_json::json;

    #[test]
    fn erasure_keeps_root_and_removes_text() {
        let records = [
            json!({"event_id": "a", "event_details": {"prompt_text": "top secret", "tool_input": {"cmd": "ls"}, "model": "m"}}),
            json!({"event_id": "b", "event_details": {"prompt_text": "keep me", "response_text": null}}),
        ];
        let meta = FileMeta {
            workspace_id: "w".into(),
            event_type: "CODEX_LOG".into(),
            file_id: "f".into(),
            end_time: 0,
        };
        let f = build_file(meta, &records).unwrap();
        let e = erase_content(&f.bytes, |r| r["event_id"] == "a", "2024-01-01T00:00:00Z", "gdpr").unwrap();
        assert_eq!((e.records_erased, e.fields_erased), (1, 2));
        let text = String::from_utf8(e.bytes.clone()).unwrap();
        assert!(!text.contains("top secret") && !text.contains("\"ls\""));
        assert!(text.contains("keep me"));
        let scan = scan_file(&e.bytes).unwrap();
        assert_eq!(scan.records_root, f.records_root);
        assert_eq!(scan.erased_fields, 2);
        // Idempotent.
        let again = erase_content(&e.bytes, |_| true, "later", "again").unwrap();
        assert_eq!(again.fields_erased, 1); // only "keep me" was left
        assert_eq!(scan_file(&again.bytes).unwrap().records_root, f.records_root);
    }

    #[test]
    fn tombstone_recognition_is_strict() {
        let h = "a".repeat(64);
        assert_eq!(
            tombstone_sha256(&json!({"$erased": {"sha256": h}})),
            Some(h.as_str())
        );
        assert!(tombstone_sha256(&json!({"$erased": {"sha256": "A".repeat(64)}})).is_none());
        assert!(tombstone_sha256(&json!({"$erased": {"sha256": h}, "x": 1})).is_none());
        assert!(tombstone_sha256(&json!("sha256:abc")).is_none());
    }
}
