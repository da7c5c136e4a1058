//! Signed digests: one chain per workspace, one digest per sealing.
//!
//! Why per workspace: a workspace's log can be exported, handed to its auditor and verified on
//! its own without revealing other tenants' file lists. Why a chain: the signature proves a
//! digest is authentic, the `previous_digest_sha256` link proves none was removed, replaced or
//! inserted before it; only the *newest* digest can vanish unnoticed offline, which the caller
//! covers by keeping the [`ChainHead`] in its database.
//!
//! The signature is Ed25519 over the canonical JSON of the digest object without its `signature`
//! key. Verification recomputes that from the stored JSON *as parsed* (not from our struct), so
//! an added, removed or altered field of any kind invalidates the signature.

use base64::Engine as _;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::canonical::{to_canonical_vec, write_canonical};
use super::error::{ChainError, Result};
use super::file::{validate_segment, SealedFile};
use super::key::{PublicKey, SigningKeyFile};

/// The only digest format this code writes and accepts.
pub const DIGEST_VERSION: u32 = 1;

/// One file as listed in a digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestFileEntry {
    pub id: String,
    pub event_type: String,
    pub path: String,
    pub sha256: String,
    pub records_root: String,
    pub size: u64,
    pub record_count: u64,
    pub end_time: i64,
}

impl From<&SealedFile> for DigestFileEntry {
    fn from(f: &SealedFile) -> Self {
        Self {
            id: f.id.clone(),
            event_type: f.event_type.clone(),
            path: f.path.clone(),
            sha256: f.sha256.clone(),
            records_root: f.records_root.clone(),
            size: f.size,
            record_count: f.record_count,
            end_time: f.end_time,
        }
    }
}

/// A file whose retention ended, as recorded in the digest of the sealing that expired it. The
/// signed record is what lets [`verify`](super::verify) tell a deletion by retention from a
/// deletion by anyone else: a listed file may be absent only if a *later* digest expired it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpiredEntry {
    pub id: String,
    pub path: String,
    /// The SHA-256 the file had when it was deleted (after any erasure).
    pub sha256: String,
    /// Why, e.g. `retention: CODEX_LOG metadata 365 days`.
    pub reason: String,
}

/// A digest as stored at [`digest_path`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digest {
    pub version: u32,
    pub workspace_id: String,
    /// 1 for the first digest of the workspace, then +1 per sealing.
    pub sequence: u64,
    /// RFC 3339, UTC.
    pub sealed_at: String,
    /// SHA-256 of the previous digest's stored bytes; `null` for sequence 1.
    pub previous_digest_sha256: Option<String>,
    pub key_fingerprint: String,
    pub files: Vec<DigestFileEntry>,
    /// Files deleted by retention with this digest (absent from digests that expired nothing,
    /// so digests written before retention existed verify unchanged).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expired: Vec<ExpiredEntry>,
    /// Base64 (standard, padded) Ed25519 signature.
    pub signature: String,
}

/// What the caller persists (in its database) to continue and to pin the chain.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChainHead {
    pub sequence: u64,
    /// Hex SHA-256 of the digest's stored bytes.
    pub digest_sha256: String,
}

/// `{workspace_id}/digests/{sequence, zero-padded to 12 digits}.json`
pub fn digest_path(workspace_id: &str, sequence: u64) -> String {
    format!("{workspace_id}/digests/{sequence:012}.json")
}

/// The inverse of [`digest_path`]: `Some((workspace_id, sequence))` for a well-formed name.
pub fn parse_digest_path(path: &str) -> Option<(&str, u64)> {
    let (workspace, rest) = path.split_once("/digests/")?;
    let digits = rest.strip_suffix(".json")?;
    if workspace.contains('/') || digits.len() != 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((workspace, digits.parse().ok()?))
}

/// The message that is signed: canonical JSON of the digest object without `signature`.
fn signed_message(mut digest: Value) -> Vec<u8> {
    if let Some(object) = digest.as_object_mut() {
        object.remove("signature");
    }
    to_canonical_vec(&digest)
}

/// Build, sign and serialise the next digest of `workspace_id`'s chain after `head` (`None` for
/// the first). Returns the bytes to store at `digest_path(workspace_id, new_head.sequence)` and
/// the new head to persist. `files` and `expired` may be empty. Every file must belong to the
/// workspace.
pub fn build_digest(
    head: Option<&ChainHead>,
    workspace_id: &str,
    sealed_at: DateTime<Utc>,
    files: &[SealedFile],
    expired: &[ExpiredEntry],
    key: &SigningKeyFile,
) -> Result<(Vec<u8>, ChainHead)> {
    validate_segment("workspace_id", workspace_id)?;
    let logs = format!("{workspace_id}/logs/");
    let paths = files
        .iter()
        .map(|f| &f.path)
        .chain(expired.iter().map(|e| &e.path));
    if let Some(stray) = paths.into_iter().find(|p| !p.starts_with(&logs)) {
        return Err(ChainError::Digest(format!(
            "file {stray} does not belong to workspace {workspace_id}"
        )));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = files.iter().find(|f| !seen.insert(f.path.as_str())) {
        return Err(ChainError::Digest(format!("file {} is listed twice", dup.path)));
    }
    let mut digest = Digest {
        version: DIGEST_VERSION,
        workspace_id: workspace_id.to_owned(),
        sequence: head.map_or(1, |h| h.sequence + 1),
        sealed_at: sealed_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        previous_digest_sha256: head.map(|h| h.digest_sha256.clone()),
        key_fingerprint: key.fingerprint(),
        files: files.iter().map(DigestFileEntry::from).collect(),
        expired: expired.to_vec(),
        signature: String::new(),
    };
    let message = signed_message(serde_json::to_value(&digest)?);
    digest.signature = base64::engine::general_purpose::STANDARD.encode(key.sign(&message));
    let mut bytes = Vec::with_capacity(message.len() + 128);
    write_canonical(&serde_json::to_value(&digest)?, &mut bytes);
    bytes.push(b'\n');
    let head = ChainHead {
        sequence: digest.sequence,
        digest_sha256: hex::encode(Sha256::digest(&bytes)),
    };
    Ok((bytes, head))
}

/// Parse stored digest bytes and check the signature with `key`. The error is a human-readable
/// reason (the digest is then treated as edited by the verifier).
pub fn open_digest(bytes: &[u8], key: &PublicKey) -> Result<Digest, String> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let signature = value
        .get("signature")
        .and_then(Value::as_str)
        .ok_or("no signature")?;
    let signature = base64::engine::general_purpose::STANDARD
        .decode(signature)
        .map_err(|_| "signature is not base64")?;
    let claimed_key = value
        .get("key_fingerprint")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_owned();
    if !key.verify(&signed_message(value.clone()), &signature) {
        return Err(if claimed_key == key.fingerprint() {
            "signature does not match the content (edited)".into()
        } else {
            format!(
                "signature does not verify with key {} (digest names key {claimed_key})",
                key.fingerprint()
            )
        });
    }
    let digest: Digest = serde_json::from_value(value).map_err(|e| format!("signed but malformed: {e}"))?;
    if digest.version != DIGEST_VERSION {
        return Err(format!("unsupported digest version {}", digest.version));
    }
    Ok(digest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::{build_file, FileMeta};
    use serde_json::json;

    #[test]
    fn chain_links_and_signature() {
        let key = SigningKeyFile::generate().unwrap();
        let file = build_file(
            FileMeta {
                workspace_id: "w".into(),
                event_type: "CODEX_LOG".into(),
                file_id: "f".into(),
                end_time: 0,
            },
            &[json!({"event_id": "e"})],
        )
        .unwrap();
        let now = Utc::now();
        let (b1, h1) = build_digest(None, "w", now, std::slice::from_ref(&file), &[], &key).unwrap();
        let (b2, h2) = build_digest(Some(&h1), "w", now, &[], &[], &key).unwrap();
        assert_eq!((h1.sequence, h2.sequence), (1, 2));
        let d1 = open_digest(&b1, &key.public_key()).unwrap();
        let d2 = open_digest(&b2, &key.public_key()).unwrap();
        assert_eq!(d1.previous_digest_sha256, None);
        assert_eq!(
            d2.previous_digest_sha256.as_deref(),
            Some(h1.digest_sha256.as_str())
        );
        assert_eq!(d1.files[0].sha256, file.sha256);
        assert_eq!(h1.digest_sha256, hex::encode(Sha256::digest(&b1)));
        // A different key is rejected.
        let other = SigningKeyFile::generate().unwrap();
        assert!(open_digest(&b1, &other.public_key())
            .unwrap_err()
            .contains("digest names key"));
        // Any edit, including an added field, is rejected.
        let mut v: Value = serde_json::from_slice(&b1).unwrap();
        v["extra"] = json!(1);
        assert!(open_digest(&serde_json::to_vec(&v).unwrap(), &key.public_key()).is_err());
        // Files of another workspace are refused.
        assert!(build_digest(None, "x", now, &[file], &[], &key).is_err());
    }

    #[test]
    fn digest_path_round_trip() {
        assert_eq!(digest_path("w", 7), "w/digests/000000000007.json");
        assert_eq!(parse_digest_path("w/digests/000000000007.json"), Some(("w", 7)));
        assert_eq!(parse_digest_path("w/digests/7.json"), None);
        assert_eq!(parse_digest_path("a/b/digests/000000000007.json"), None);
    }
}
